"""The one table writer: dtype mapping per format, streaming, metadata, atomic close."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from nncz.io import read_metadata, read_table, write_table
from nncz.tablestream import TableStream

MIXED = pd.DataFrame({
    "i1": np.array([-3, 0, 7], np.int8), "u2": np.array([0, 65535, 7], np.uint16),
    "u8": np.array([0, 2**63 + 5, 1], np.uint64), "ok": [True, False, True],
    "s": ["a", None, "ccc"], "n": pd.array([1, None, 3], dtype="Int64"),
    "f": [1.0, np.nan, 2.5]})


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz", ".h5", ".parquet", ".csv", ".csv.gz"])
def test_every_format_keeps_values_of_the_mapping(tmp_path, suffix):
    back = read_table(write_table(MIXED, tmp_path / f"t{suffix}"))
    assert back.i1.tolist() == [-3, 0, 7]
    assert back.u2.tolist() == [0, 65535, 7] and back.u8.tolist() == [0, 2**63 + 5, 1]
    assert back.ok.astype(bool).tolist() == [True, False, True]
    np.testing.assert_array_equal(back.f.to_numpy(), [1.0, np.nan, 2.5])
    np.testing.assert_array_equal(back.n.to_numpy(dtype=float), [1.0, np.nan, 3.0])
    strings = back.s.tolist()
    assert strings[0] == "a" and strings[2] == "ccc"
    if suffix.startswith((".fits", ".h5")):
        assert strings[1] == ""  # missing strings are empty in fixed-width formats


def test_fits_columns_follow_the_documented_types(tmp_path):
    from astropy.io import fits

    path = write_table(MIXED, tmp_path / "t.fits", meta={"model": "m1", "grid": {"n": 4}})
    header = fits.getheader(path, 1)
    forms = {header[f"TTYPE{k}"]: header[f"TFORM{k}"] for k in range(1, header["TFIELDS"] + 1)}
    assert forms == {"i1": "I", "u2": "I", "u8": "K", "ok": "L", "s": "3A", "n": "D", "f": "D"}
    assert header["TZERO2"] == 32768 and header["TZERO3"] == 2**63
    assert header["MODEL"] == "m1" and json.loads(header["GRID"]) == {"n": 4}
    assert read_metadata(path)["MODEL"] == "m1"


def test_fits_gz_is_gzipped_and_parquet_keeps_meta(tmp_path):
    path = write_table(MIXED, tmp_path / "t.fits.gz")
    assert gzip.open(path).read(6) == b"SIMPLE"
    path = write_table(MIXED, tmp_path / "t.parquet", meta={"run_id": "abc"})
    assert read_metadata(path) == {"run_id": "abc"}


@pytest.mark.parametrize("suffix", [".fits", ".h5", ".parquet", ".csv"])
def test_streamed_chunks_equal_the_whole_table(tmp_path, suffix):
    frame = pd.DataFrame({"x": np.arange(10.0), "k": np.arange(10), "t": list("abcdefghij")})
    with TableStream(tmp_path / f"s{suffix}", {"seed": 1}) as stream:
        for start in range(0, 10, 4):
            stream.append(frame.iloc[start:start + 4])
    back = read_table(tmp_path / f"s{suffix}")
    assert stream.n_rows == 10
    np.testing.assert_array_equal(back.x.to_numpy(), frame.x.to_numpy())
    assert back.t.astype(str).str.strip().tolist() == frame.t.tolist()


def test_a_failed_stream_leaves_nothing(tmp_path):
    stream = TableStream(tmp_path / "w.fits", string_widths={"s": 2})
    stream.append(pd.DataFrame({"s": ["ab"]}))
    with pytest.raises(ValueError, match="'s' has values longer than its width 2"):
        stream.append(pd.DataFrame({"s": ["abc"]}))
    stream.abort()
    with pytest.raises(ValueError, match="has no FITS type"), \
            TableStream(tmp_path / "d.fits") as other:
        other.append(pd.DataFrame({"d": pd.date_range("2020", periods=2)}))
    with pytest.raises(ValueError, match="non-ASCII"):
        write_table(pd.DataFrame({"s": ["é"]}), tmp_path / "n.fits")
    assert list(tmp_path.iterdir()) == []
    assert read_table(write_table(pd.DataFrame({"s": ["é"]}), tmp_path / "n.h5")).s[0] == "é"


def test_fits_vector_columns_from_a_mapping(tmp_path):
    from astropy.table import Table

    with TableStream(tmp_path / "v.fits") as stream:
        stream.append({"V": np.arange(6.0, dtype=">f4").reshape(3, 2),
                       "S": np.array([b"ab", b"c", b""], "S8")})
    table = Table.read(tmp_path / "v.fits")
    np.testing.assert_array_equal(np.asarray(table["V"]), np.arange(6.0).reshape(3, 2))
    assert table["S"].dtype.itemsize == 8  # bytes columns keep their width
