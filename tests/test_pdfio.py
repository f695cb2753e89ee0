import numpy as np
import pytest

from nncz.calibrate import apply_temperature
from nncz.grid import RedshiftGrid
from nncz.pdfio import PdfFileWriter, PDFSet, read_pdfs, write_pdfs


def test_round_trip_keeps_pdfs_and_the_calibration_record(tmp_path):
    rng = np.random.default_rng(0)
    grid = RedshiftGrid(0, 2, 40)
    calibrated = apply_temperature(rng.normal(scale=2.0, size=(50, 40)), 1.7)
    record = {"method": "crps", "temperature": 1.7, "pit_x": None, "pit_y": None}
    path = write_pdfs(tmp_path / "p.h5", PDFSet(calibrated, grid, calibration=record))
    back = read_pdfs(path)
    assert back.grid == grid and back.temperature == pytest.approx(1.7) and back.calibrated
    assert back.calibration == record and back.native_n_bins == 40
    np.testing.assert_array_equal(back.pdf, calibrated)


def test_streamed_writer_appends_chunks_and_appears_only_on_close(tmp_path):
    grid = RedshiftGrid(0, 2, 20)
    rng = np.random.default_rng(1)
    chunks = [rng.dirichlet(np.ones(20), size=n).astype(np.float32) for n in (7, 0, 13)]
    chunks[2][3] = np.nan  # a row without a prediction stays NaN
    target = tmp_path / "s.h5"
    writer = PdfFileWriter(target, grid, calibration={"method": "pit"}, native_n_bins=400)
    for chunk in chunks:
        writer.append(chunk)
    assert not target.exists()
    writer.close()
    back = read_pdfs(target)
    np.testing.assert_array_equal(back.pdf, np.concatenate(chunks))
    assert back.native_n_bins == 400 and back.calibration == {"method": "pit"}


def test_aborted_writer_leaves_nothing(tmp_path):
    writer = PdfFileWriter(tmp_path / "a.h5", RedshiftGrid(0, 1, 10))
    writer.append(np.full((2, 10), 0.1, np.float32))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="10 bins"):
        PdfFileWriter(tmp_path / "b.h5", RedshiftGrid(0, 1, 10)).append(np.zeros((2, 9)))


def test_not_a_pdf_file(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["other"] = np.zeros(3)
    with pytest.raises(ValueError, match="not an nncz PDF file"):
        read_pdfs(tmp_path / "x.h5")
    (tmp_path / "t.h5").write_text("plain text")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        read_pdfs(tmp_path / "t.h5")
    with pytest.raises(FileNotFoundError):
        read_pdfs(tmp_path / "missing.h5")
