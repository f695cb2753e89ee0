import os

import h5py
import numpy as np
import pandas as pd
import pytest

from nncz.io import (
    ColumnError,
    TableFormatError,
    atomic_write,
    iter_table_chunks,
    read_metadata,
    read_table,
    write_table,
)

FRAME = pd.DataFrame({"ra": [1.0, 2.0, 3.0], "mag_g": [20.1, 21.2, 22.3],
                      "name": ["a", "b", "c"], "n": np.array([1, 2, 3], np.int32)})


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv", ".h5"])
def test_round_trip_every_format(tmp_path, suffix):
    path = write_table(FRAME, tmp_path / f"t{suffix}", meta={"model": "m1", "grid_n": 400})
    back = read_table(path)
    assert list(back.columns) == list(FRAME.columns)
    np.testing.assert_allclose(back.mag_g, FRAME.mag_g)
    assert back.name.astype(str).str.strip().tolist() == ["a", "b", "c"]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_int8_survives_fits(tmp_path):
    frame = pd.DataFrame({"primaryDetection": np.array([1, 0, 1], np.int8)})
    back = read_table(write_table(frame, tmp_path / "t.fits"))
    assert back.primaryDetection.tolist() == [1, 0, 1]


def test_metadata_is_written(tmp_path):
    write_table(FRAME, tmp_path / "t.parquet", meta={"model": "m1"})
    assert read_metadata(tmp_path / "t.parquet") == {"model": "m1"}


@pytest.mark.parametrize("suffix", [".parquet", ".fits", ".csv"])
def test_chunks_cover_the_table_in_order(tmp_path, suffix):
    frame = pd.DataFrame({"x": np.arange(1000, dtype=float), "y": np.arange(1000) * 2.0})
    path = write_table(frame, tmp_path / f"big{suffix}")
    chunks = list(iter_table_chunks(path, chunk_rows=300, columns=["x"]))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    np.testing.assert_array_equal(pd.concat(chunks).x.to_numpy(), frame.x.to_numpy())


def test_missing_column_names_file_and_lists_columns(tmp_path):
    path = write_table(FRAME, tmp_path / "t.parquet")
    with pytest.raises(ColumnError) as info:
        read_table(path, columns=["ra", "mag_gg"])
    message = str(info.value)
    assert "mag_gg" in message and "t.parquet" in message and "mag_g" in message


def test_not_a_table(tmp_path):
    bad = tmp_path / "junk.fits"
    bad.write_text("this is not FITS")
    with pytest.raises(TableFormatError, match="junk.fits"):
        read_table(bad)
    with pytest.raises(TableFormatError, match="unknown table format"):
        read_table(tmp_path / "x.docx")
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_table(tmp_path / "nothere.csv")


def test_hdf5_group_of_datasets(tmp_path):
    path = tmp_path / "rail.hdf5"
    with h5py.File(path, "w") as handle:
        group = handle.create_group("photometry")
        group["redshift"] = np.array([0.1, 0.2])
        group["mag_u_lsst"] = np.array([24.0, 99.0])
    assert read_table(path).redshift.tolist() == [0.1, 0.2]
    assert read_table(f"{path}:photometry").mag_u_lsst.tolist() == [24.0, 99.0]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def failing(temp):
        temp.write_text("partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "out.txt", failing)
    assert os.listdir(tmp_path) == []


def test_atomic_path_commits_with_the_usual_mode_or_leaves_nothing(tmp_path):
    from nncz.io import AtomicPath

    mask = os.umask(0o027)
    try:
        with AtomicPath(tmp_path / "sub" / "a.txt") as temp:
            assert temp.parent == tmp_path / "sub" and temp.name.startswith(".a.txt.")
            temp.write_text("done")
    finally:
        os.umask(mask)
    assert (tmp_path / "sub" / "a.txt").read_text() == "done"
    assert os.stat(tmp_path / "sub" / "a.txt").st_mode & 0o777 == 0o640
    with pytest.raises(KeyboardInterrupt), AtomicPath(tmp_path / "b.txt") as temp:
        temp.write_text("half")
        raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["sub"]
    late = AtomicPath(tmp_path / "c.h5", suffix="-tmp.h5", create=False)
    assert not late.temp.exists() and late.temp.name.endswith("-tmp.h5")
    late.temp.write_text("x")
    assert late.commit() == tmp_path / "c.h5" and not late.temp.exists()


@pytest.mark.parametrize("group_rows, chunk_rows, sizes", [
    (250, 600, [500, 500]),  # small row groups are read together while they fit
    (500, 200, [200, 200, 100, 200, 200, 100]),  # a larger group is read whole and sliced
])
def test_parquet_chunks_follow_row_groups_in_order(tmp_path, group_rows, chunk_rows, sizes):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame({"x": np.arange(1000, dtype=float), "y": np.arange(1000) * 2.0})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "g.parquet",
                   row_group_size=group_rows)
    chunks = list(iter_table_chunks(tmp_path / "g.parquet", chunk_rows, columns=["y"]))
    assert [len(c) for c in chunks] == sizes and list(chunks[0].columns) == ["y"]
    np.testing.assert_array_equal(pd.concat(chunks).y.to_numpy(), frame.y.to_numpy())


def test_parquet_row_group_above_the_whole_read_limit_is_streamed(tmp_path, monkeypatch):
    import nncz.io

    monkeypatch.setattr(nncz.io, "GROUP_ROWS_WHOLE", 400)
    frame = pd.DataFrame({"x": np.arange(1000, dtype=float)})
    path = write_table(frame, tmp_path / "one_group.parquet")
    chunks = list(iter_table_chunks(path, chunk_rows=300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    np.testing.assert_array_equal(pd.concat(chunks).x.to_numpy(), frame.x.to_numpy())


def test_parquet_without_rows_gives_no_chunk(tmp_path):
    path = write_table(pd.DataFrame({"x": np.array([], dtype=float)}), tmp_path / "e.parquet")
    assert list(iter_table_chunks(path, chunk_rows=300)) == []
