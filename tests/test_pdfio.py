"""Tests of nncz.pdfio: the one PDF file (qp ``hist`` layout), its packings and its one reader."""

from __future__ import annotations

import json
import logging
import os

import h5py
import numpy as np
import pytest

from nncz.calibrate import apply_temperature
from nncz.grid import RedshiftGrid
from nncz.pdfio import (
    SCALE,
    PdfFileWriter,
    PDFSet,
    dequantise,
    quantise,
    read_pdfs,
    write_pdfs,
)

GRID = RedshiftGrid(0.0, 2.0, 40)


def random_pdfs(n=500, bins=40, seed=1):
    rng = np.random.default_rng(seed)
    pdf = rng.dirichlet(np.full(bins, 0.3), size=n)
    pdf[:5] = 0.0
    pdf[:5, 7] = 1.0  # delta functions
    return pdf


# ------------------------------------------------------------------ round trips
def test_float32_round_trip_keeps_pdfs_and_the_calibration_record(tmp_path):
    rng = np.random.default_rng(0)
    calibrated = apply_temperature(rng.normal(scale=2.0, size=(50, 40)), 1.7).astype(np.float32)
    record = {"method": "crps", "temperature": 1.7, "pit_x": None, "pit_y": None}
    path = write_pdfs(tmp_path / "p.h5", PDFSet(calibrated, GRID, calibration=record,
                                                run_id="run-1"))
    back = read_pdfs(path)
    assert back.grid == GRID and back.temperature == pytest.approx(1.7) and back.calibrated
    assert back.calibration == record and back.native_n_bins == 40 and back.run_id == "run-1"
    assert back.pdf.dtype == np.float32 and back.ancil == {}
    # Stored as densities: two float32 roundings at most (the documented precision).
    np.testing.assert_allclose(back.pdf, calibrated, rtol=2.0**-23, atol=0)


def test_float64_round_trip_is_exact_to_rounding(tmp_path):
    pdf = random_pdfs(30)
    back = read_pdfs(write_pdfs(tmp_path / "p.h5", PDFSet(pdf, GRID, calibrated=False),
                                packing="float64"))
    assert back.pdf.dtype == np.float64 and not back.calibrated
    np.testing.assert_allclose(back.pdf, pdf, rtol=1e-15, atol=0)


def test_quantise_sums_exactly_and_is_within_one_count():
    pdf = random_pdfs()
    counts = quantise(pdf)
    assert counts.dtype == np.uint16
    assert (counts.sum(axis=1, dtype=np.int64) == SCALE).all()
    assert np.abs(dequantise(counts) - pdf).max() < 1.0 / SCALE
    cdf_err = np.abs(np.cumsum(dequantise(counts) - pdf, axis=1)).max()
    assert cdf_err < 40.0 / SCALE
    assert (counts[:5, 7] == SCALE).all()


def test_quantise_rejects_invalid_rows():
    with pytest.raises(ValueError, match="row 1"):
        quantise(np.array([[0.5, 0.5], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="not valid"):
        quantise(np.array([[np.nan, 1.0]]))


def test_uint16_round_trip_with_ids_is_within_the_quantisation(tmp_path, caplog):
    pdf = random_pdfs()
    ids = {"ls_id": np.arange(500, dtype=np.int64), "ps1_objid": np.full(500, -1, np.int64)}
    path = write_pdfs(tmp_path / "p.h5", PDFSet(pdf, GRID, ancil=ids, provenance={"who": "t"}),
                      packing="uint16")
    with h5py.File(path) as handle:
        assert handle["data/pdfs"].dtype == np.uint16 and handle.attrs["packing"] == "uint16"
    back = read_pdfs(path)
    assert not _deprecation_lines(caplog)  # the current format loads silently
    assert back.pdf.dtype == np.float64 and back.provenance == {"who": "t"}
    np.testing.assert_array_equal(back.pdf, quantise(pdf) / SCALE)
    assert np.abs(back.pdf - pdf).max() < 1.0 / SCALE
    np.testing.assert_allclose(back.pdf.sum(axis=1), 1.0, atol=1e-12)
    for name, values in ids.items():
        np.testing.assert_array_equal(back.ancil[name], values)


def test_rows_can_be_read_in_slices(tmp_path):
    pdf = random_pdfs(100)
    path = write_pdfs(tmp_path / "p.h5", PDFSet(pdf, GRID, ancil={"id": np.arange(100)}),
                      packing="float64")
    part = read_pdfs(path, start=30, stop=45)
    np.testing.assert_allclose(part.pdf, pdf[30:45], rtol=1e-15)
    np.testing.assert_array_equal(part.ancil["id"], np.arange(30, 45))


def test_appends_and_reads_longer_than_a_conversion_block(tmp_path):
    """Rows are converted in blocks of 8192 on both sides; the seams must not show."""
    grid = RedshiftGrid(0.0, 1.0, 10)
    pdf = np.random.default_rng(3).dirichlet(np.ones(10), size=20_000).astype(np.float32)
    path = write_pdfs(tmp_path / "big.h5", PDFSet(pdf, grid, ancil={"id": np.arange(20_000)}))
    part = read_pdfs(path, start=5000, stop=17_000)
    np.testing.assert_allclose(part.pdf, pdf[5000:17_000], rtol=2.0**-23)
    np.testing.assert_array_equal(part.ancil["id"], np.arange(5000, 17_000))


# ------------------------------------------------------------------ qp reads every file
@pytest.mark.parametrize("packing", ["float32", "float64", "uint16"])
def test_qp_reads_the_file_as_the_same_hist_ensemble(tmp_path, packing):
    qp = pytest.importorskip("qp")
    pdf = random_pdfs(60)
    ids = np.arange(60, dtype=np.int64) * 7
    names = np.array([f"obj{i}" for i in range(60)])
    path = write_pdfs(tmp_path / "p.hdf5", PDFSet(pdf, GRID, ancil={"id": ids, "name": names}),
                      packing=packing)
    ensemble = qp.read(str(path))  # plain qp, as RAIL reads it
    assert ensemble.gen_class.name == "hist" and ensemble.npdf == 60
    np.testing.assert_allclose(np.asarray(ensemble.metadata["bins"]).ravel(), GRID.edges)
    back = read_pdfs(path)
    cdf = ensemble.cdf(GRID.edges)
    expected = np.concatenate([np.zeros((60, 1)), np.cumsum(back.pdf, axis=1)], axis=1)
    np.testing.assert_allclose(cdf, expected, atol=1e-6)  # float32 rows sum to 1 +- 1e-7
    np.testing.assert_array_equal(ensemble.ancil["id"], ids)
    np.testing.assert_array_equal(ensemble.ancil["name"], names)
    np.testing.assert_array_equal(back.ancil["name"], names)


def test_a_hist_file_written_by_qp_itself_is_read(tmp_path):
    qp = pytest.importorskip("qp")
    pdf = random_pdfs(20)
    ensemble = qp.Ensemble(qp.hist, data={"bins": GRID.edges, "pdfs": pdf / GRID.width})
    ensemble.write_to(str(tmp_path / "q.hdf5"))
    back = read_pdfs(tmp_path / "q.hdf5")
    assert back.grid == GRID and back.calibration == {}
    np.testing.assert_allclose(back.pdf, pdf, atol=1e-12)
    other = qp.Ensemble(qp.stats.norm, data={"loc": np.array([[0.3]]),
                                             "scale": np.array([[0.1]])})
    other.write_to(str(tmp_path / "n.hdf5"))
    with pytest.raises(ValueError, match="not 'hist'"):
        read_pdfs(tmp_path / "n.hdf5")


# ------------------------------------------------------------------ streaming and atomicity
def test_streamed_writer_appends_chunks_and_appears_only_on_close(tmp_path):
    grid = RedshiftGrid(0, 2, 20)
    rng = np.random.default_rng(1)
    chunks = [rng.dirichlet(np.ones(20), size=n).astype(np.float32) for n in (7, 0, 13, 5)]
    chunks[2][3] = np.nan  # a row without a prediction stays NaN
    target = tmp_path / "s.h5"
    writer = PdfFileWriter(target, grid, calibration={"method": "pit"}, native_n_bins=400,
                           chunk_rows=4)
    for k, chunk in enumerate(chunks):
        writer.append(chunk, {"id": np.full(len(chunk), k)})
    assert not target.exists() and writer.n_rows == 25
    writer.close()
    back = read_pdfs(target)
    np.testing.assert_allclose(back.pdf, np.concatenate(chunks), rtol=2.0**-23)
    assert np.isnan(back.pdf[7 + 3]).all()
    np.testing.assert_array_equal(back.ancil["id"], np.repeat([0, 1, 2, 3], [7, 0, 13, 5]))
    assert back.native_n_bins == 400 and back.calibration == {"method": "pit"}


def test_uint16_writer_takes_probabilities_or_counts(tmp_path):
    pdf = random_pdfs(20)
    with PdfFileWriter(tmp_path / "c.h5", GRID, packing="uint16") as writer:
        writer.append(pdf[:10])
        writer.append(quantise(pdf[10:]))
    np.testing.assert_array_equal(read_pdfs(tmp_path / "c.h5").pdf, quantise(pdf) / SCALE)
    bad = quantise(pdf[:2])
    bad[1, 0] += 1
    with pytest.raises(ValueError, match="row 1 does not sum"), \
            PdfFileWriter(tmp_path / "d.h5", GRID, packing="uint16") as writer:
        writer.append(bad)
    assert not (tmp_path / "d.h5").exists()


def test_aborted_writer_leaves_nothing(tmp_path):
    writer = PdfFileWriter(tmp_path / "a.h5", RedshiftGrid(0, 1, 10))
    writer.append(np.full((2, 10), 0.1, np.float32))
    writer.abort()
    with pytest.raises(RuntimeError), PdfFileWriter(tmp_path / "b.h5", GRID) as writer:
        writer.append(random_pdfs(10))
        raise RuntimeError("died")
    assert list(tmp_path.iterdir()) == []


def test_finished_file_has_the_usual_mode(tmp_path):
    """Like every nncz output: 0o666 less the umask (mkstemp alone would leave 0o600)."""
    mask = os.umask(0o022)
    try:
        write_pdfs(tmp_path / "p.h5", PDFSet(random_pdfs(5), GRID), packing="uint16")
    finally:
        os.umask(mask)
    assert os.stat(tmp_path / "p.h5").st_mode & 0o777 == 0o644


def test_writer_refuses_wrong_shapes_and_columns(tmp_path):
    writer = PdfFileWriter(tmp_path / "b.h5", RedshiftGrid(0, 1, 10))
    with pytest.raises(ValueError, match="10 bins"):
        writer.append(np.zeros((2, 9)))
    writer.append(np.full((2, 10), 0.1), {"id": np.arange(2)})
    with pytest.raises(ValueError, match="first chunk had"):
        writer.append(np.full((2, 10), 0.1))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        writer.append(np.full((2, 10), 0.1), {"id": np.arange(3)})
    writer.abort()
    with pytest.raises(ValueError, match="packing"):
        PdfFileWriter(tmp_path / "c.h5", GRID, packing="int8")


# ------------------------------------------------------------------ old layouts
def _old_pdfio_file(path, pdf, grid):
    """The layout of pdfio before the qp format: dataset ``pdf`` + attributes."""
    with h5py.File(path, "w") as handle:
        handle["pdf"] = pdf.astype(np.float32)
        handle.attrs.update({**grid.to_dict(), "calibrated": True, "run_id": "old-run",
                             "calibration": json.dumps({"method": "temperature",
                                                        "temperature": 1.3}),
                             "temperature": 1.3, "native_n_bins": 400, "nncz_version": "0.1"})


def _old_catalog_file(path, pdf, grid):
    """The layout of catalog/pdfstore: ``nncz-pdf-u16/1``."""
    with h5py.File(path, "w") as handle:
        handle["pdf_u16"] = quantise(pdf)
        handle["ls_id"] = np.arange(len(pdf), dtype=np.int64)
        handle["ps1_objid"] = np.full(len(pdf), -1, np.int64)
        handle.attrs.update({"format": "nncz-pdf-u16/1", **grid.to_dict(), "scale": SCALE,
                             "provenance": json.dumps({"who": "old"})})


def _deprecation_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "nncz.pdfio" and r.levelno == logging.WARNING]


def test_old_pdfio_files_load_with_a_deprecation_message(tmp_path, caplog):
    pdf = random_pdfs(12).astype(np.float32)
    _old_pdfio_file(tmp_path / "old.h5", pdf, GRID)
    back = read_pdfs(tmp_path / "old.h5")
    [line] = _deprecation_lines(caplog)
    assert line.startswith(f"{tmp_path / 'old.h5'}: an nncz PDF file of the old")
    assert "deprecated" in line and "\n" not in line
    np.testing.assert_array_equal(back.pdf, pdf)
    assert back.temperature == pytest.approx(1.3) and back.run_id == "old-run"
    assert back.native_n_bins == 400 and back.grid == GRID
    assert len(read_pdfs(tmp_path / "old.h5", 2, 5).pdf) == 3


def test_old_catalog_files_load_with_a_deprecation_message(tmp_path, caplog):
    pdf = random_pdfs(12)
    _old_catalog_file(tmp_path / "cat.h5", pdf, GRID)
    back = read_pdfs(tmp_path / "cat.h5")
    [line] = _deprecation_lines(caplog)
    assert line.startswith(f"{tmp_path / 'cat.h5'}: ") and "catalog 'nncz-pdf-u16/1'" in line
    np.testing.assert_array_equal(back.pdf, quantise(pdf) / SCALE)
    np.testing.assert_array_equal(back.ancil["ls_id"], np.arange(12))
    assert (back.ancil["ps1_objid"] == -1).all() and back.provenance == {"who": "old"}


def test_not_a_pdf_file(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["other"] = np.zeros(3)
    with pytest.raises(ValueError, match="not an nncz PDF file"):
        read_pdfs(tmp_path / "x.h5")
    (tmp_path / "t.h5").write_text("plain text")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        read_pdfs(tmp_path / "t.h5")
    with pytest.raises(FileNotFoundError):
        read_pdfs(tmp_path / "missing.h5")
