"""PDF files: the binned PDFs of a catalog, with their grid and temperature.

Layout (HDF5, ``.h5``/``.hdf5``): dataset ``pdf`` (N, n_bins) float32, row ``i`` for input row
``i``; attributes ``z_min``, ``z_max``, ``n_bins``, ``temperature`` (the temperature that was
applied, 1.0 if none), ``calibrated`` (bool) and ``nncz_version``. Because
``p_calibrated = softmax(logits / T)``, the uncalibrated PDF is recovered exactly (up to float32
underflow) as ``p_calibrated ** T`` renormalised, which :func:`uncalibrate` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nncz import __version__
from nncz.grid import RedshiftGrid
from nncz.io import atomic_write


@dataclass
class PDFSet:
    """Binned PDFs with their grid and the temperature applied to them."""

    pdf: np.ndarray
    grid: RedshiftGrid
    temperature: float = 1.0
    calibrated: bool = True


def write_pdfs(path: str | Path, pdfs: PDFSet, chunk_rows: int = 65536) -> Path:
    """Write ``pdfs`` to an HDF5 file atomically (gzip-compressed, chunked by rows)."""
    import h5py

    def write(temp: Path) -> None:
        with h5py.File(temp, "w") as handle:
            n_rows = max(1, min(chunk_rows, len(pdfs.pdf)))
            handle.create_dataset("pdf", data=np.asarray(pdfs.pdf, np.float32),
                                  chunks=(n_rows, pdfs.grid.n_bins), compression="gzip",
                                  compression_opts=1, shuffle=True)
            handle.attrs.update({**pdfs.grid.to_dict(), "temperature": pdfs.temperature,
                                 "calibrated": pdfs.calibrated, "nncz_version": __version__})

    return atomic_write(path, write)


def read_pdfs(path: str | Path) -> PDFSet:
    """Read a file written by :func:`write_pdfs`."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such PDF file")
    with h5py.File(path, "r") as handle:
        if "pdf" not in handle:
            raise ValueError(f"{path}: not an nncz PDF file (no 'pdf' dataset)")
        attrs = dict(handle.attrs)
        return PDFSet(pdf=handle["pdf"][()], grid=RedshiftGrid.from_dict(attrs),
                      temperature=float(attrs.get("temperature", 1.0)),
                      calibrated=bool(attrs.get("calibrated", True)))


def uncalibrate(pdfs: PDFSet) -> np.ndarray:
    """The PDFs before temperature scaling: ``p ** T`` renormalised."""
    if pdfs.temperature == 1.0:
        return pdfs.pdf
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.power(np.asarray(pdfs.pdf, np.float64), pdfs.temperature)
    total = raw.sum(axis=1, keepdims=True)
    return np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
