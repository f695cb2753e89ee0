import numpy as np
import pytest

from nncz.calibrate import apply_temperature
from nncz.grid import RedshiftGrid
from nncz.pdfio import PDFSet, read_pdfs, uncalibrate, write_pdfs


def test_round_trip_and_uncalibrate(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(50, 40))
    grid = RedshiftGrid(0, 2, 40)
    calibrated = apply_temperature(logits, 1.7)
    path = write_pdfs(tmp_path / "p.h5", PDFSet(calibrated, grid, 1.7))
    back = read_pdfs(path)
    assert back.grid == grid and back.temperature == pytest.approx(1.7) and back.calibrated
    np.testing.assert_array_equal(back.pdf, calibrated)
    np.testing.assert_allclose(uncalibrate(back), apply_temperature(logits, 1.0), rtol=1e-4,
                               atol=1e-7)


def test_not_a_pdf_file(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["other"] = np.zeros(3)
    with pytest.raises(ValueError, match="not an nncz PDF file"):
        read_pdfs(tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError):
        read_pdfs(tmp_path / "missing.h5")
