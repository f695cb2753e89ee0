"""Streaming engine: stripes with margins equal the in-memory result; a killed run resumes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import fake_models, prebuilt_config, random_sky, sort_result

import nncz.catalog.stream as stream
from nncz.catalog import Inputs, build_catalog, run_catalog
from nncz.pdfio import read_pdfs


@pytest.fixture(scope="module")
def sky_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sky")
    ls, ps1, wise = random_sky()
    ls.to_parquet(folder / "ls.parquet")
    ps1.to_parquet(folder / "ps1.parquet")
    wise.to_parquet(folder / "unwise.parquet")
    memory = build_catalog(ls, ps1, wise, prebuilt_config(), fake_models())
    return folder, sort_result(memory.main, memory.pdf_u16), memory.stats


def run(folder, out, **kw):
    kw.setdefault("keep_work", True)
    inputs = Inputs(folder / "ls.parquet", folder / "ps1.parquet", folder / "unwise.parquet")
    return run_catalog(inputs, prebuilt_config(), out, fake_models(), chunk_rows=400,
                       read_rows=700, buffer_rows=900, progress=False, **kw)


def read_output(out):
    main = pd.read_parquet(out / "catalog.parquet")
    pdfs = read_pdfs(out / "catalog_pdf.hdf5")
    pdf, grid, ids = pdfs.pdf, pdfs.grid, pdfs.ancil
    assert (ids["ls_id"] == main.ls_id.to_numpy()).all()
    counts = np.round(pdf * 65535).astype(np.uint16)
    return sort_result(main, counts), grid


def assert_same(a, b):
    (main_a, pdf_a), (main_b, pdf_b) = a, b
    pd.testing.assert_frame_equal(main_a, main_b, check_dtype=False)
    np.testing.assert_array_equal(pdf_a, pdf_b)


def test_stripes_with_margins_equal_memory(sky_files, tmp_path):
    folder, expected, stats = sky_files
    report = run(folder, tmp_path / "out")
    manifest = report["manifest"]
    assert len(manifest["edges"]) > 5  # really several stripes
    got, grid = read_output(tmp_path / "out")
    assert grid.n_bins == 40
    assert_same(got, expected)
    assert manifest["stats"] == stats
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["n_rows"] == len(got[0])
    run(folder, tmp_path / "clean", keep_work=False)
    assert not (tmp_path / "clean" / "work").exists()
    assert_same(read_output(tmp_path / "clean")[0], expected)


def test_killed_run_resumes_and_skips_finished_chunks(sky_files, tmp_path, monkeypatch):
    folder, expected, _ = sky_files
    calls = {"n": 0}
    original = stream.process_chunk

    def dies_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "process_chunk", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        run(folder, tmp_path / "out")
    assert not (tmp_path / "out" / "catalog.parquet").exists()
    monkeypatch.setattr(stream, "process_chunk", original)
    report = run(folder, tmp_path / "out")
    assert report["manifest"]["chunks_skipped"] == [0, 1]
    assert 2 in report["manifest"]["chunks_run"]
    assert_same(read_output(tmp_path / "out")[0], expected)


def test_chunk_without_marker_is_redone_and_other_settings_refused(sky_files, tmp_path):
    folder, expected, _ = sky_files
    out = tmp_path / "out"
    run(folder, out)
    (out / "work" / "parts" / "chunk_00001.json").unlink()  # died before the marker
    report = run(folder, out)
    assert report["manifest"]["chunks_run"] == [1]
    assert_same(read_output(out)[0], expected)
    inputs = Inputs(folder / "ls.parquet", folder / "ps1.parquet", folder / "unwise.parquet")
    with pytest.raises(ValueError, match="other inputs or settings"):
        run_catalog(inputs, prebuilt_config(pdf_bins=80), out, fake_models(), chunk_rows=400,
                    progress=False)


def test_fits_equals_parquet_and_has_provenance(sky_files, tmp_path):
    from astropy.io import fits
    from astropy.table import Table

    folder, _, _ = sky_files
    run(folder, tmp_path / "out")
    main = pd.read_parquet(tmp_path / "out" / "catalog.parquet")
    table = Table.read(tmp_path / "out" / "catalog.fits")
    assert len(table) == len(main)
    for col in ("ls_id", "ps1_objid", "ra", "dec", "z_phot_mean", "z_phot_l95", "priority"):
        np.testing.assert_array_equal(np.asarray(table[col]), main[col].to_numpy())
    assert (np.asarray(table["in_ps1dr2"]) == main.in_ps1dr2.to_numpy()).all()
    assert [s.strip() for s in np.asarray(table["unwise_objid"]).astype(str)] == list(
        main.unwise_objid)
    header = fits.getheader(tmp_path / "out" / "catalog.fits", 1)
    assert header["PDFBINS"] == 40 and header["NZBINS"] == 400
    assert header["TEMP3"] == pytest.approx(1.3)
    prov = json.loads(header["NNCZPROV"])
    assert prov["levels"]["2"]["model"] == "fake2"
    assert prov["counts"]["n_level1"] == int((main.priority == 1).sum())
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(tmp_path / "out" / "catalog.parquet").metadata[b"nncz"])
    assert meta["grid"]["n_bins"] == 400 and meta["levels"]["4"]["temperature"] == 1.4


@pytest.mark.slow
def test_two_worker_processes_give_the_same_catalog(sky_files, tmp_path):
    folder, expected, _ = sky_files
    report = run(folder, tmp_path / "out", jobs=2)
    assert len(report["manifest"]["chunks_run"]) > 2
    assert_same(read_output(tmp_path / "out")[0], expected)


def test_catalog_pdf_file_opens_in_qp_as_it_is(sky_files, tmp_path):
    """The catalog's PDF file is read by plain ``qp.read`` (no format argument), as RAIL does."""
    qp = pytest.importorskip("qp")
    folder, _, _ = sky_files
    run(folder, tmp_path / "out")
    pdfs = read_pdfs(tmp_path / "out" / "catalog_pdf.hdf5")
    ensemble = qp.read(str(tmp_path / "out" / "catalog_pdf.hdf5"))
    assert ensemble.npdf == len(pdfs.pdf)
    edges = pdfs.grid.edges
    np.testing.assert_allclose(ensemble.cdf(edges[1:])[:, -1], 1.0, atol=1e-6)
    np.testing.assert_allclose(ensemble.cdf(edges[1:])[:, :-1],
                               np.cumsum(pdfs.pdf, axis=1)[:, :-1], atol=1e-6)


def test_read_chunk_without_positions_is_skipped(sky_files, tmp_path):
    """A read chunk whose declinations are all NaN (here the first 700 LSDR10 rows) adds no row
    and does not stop the run: the catalog equals the one made without those rows."""
    folder, _, _ = sky_files
    ls = pd.read_parquet(folder / "ls.parquet")
    for name in ("ps1", "unwise"):
        for sub in ("nan", "dropped"):
            (tmp_path / sub).mkdir(exist_ok=True)
            shutil.copy(folder / f"{name}.parquet", tmp_path / sub / f"{name}.parquet")
    no_position = ls.copy()
    no_position.loc[no_position.index[:700], "dec"] = np.nan  # read_rows=700: one whole chunk
    no_position.to_parquet(tmp_path / "nan" / "ls.parquet")
    ls.iloc[700:].to_parquet(tmp_path / "dropped" / "ls.parquet")
    run(tmp_path / "nan", tmp_path / "out_nan")
    run(tmp_path / "dropped", tmp_path / "out_dropped")
    got, _ = read_output(tmp_path / "out_nan")
    expected, _ = read_output(tmp_path / "out_dropped")
    assert_same(got, expected)
