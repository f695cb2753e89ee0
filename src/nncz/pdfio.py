"""PDF files: the binned PDFs of a table, with their grid and the calibration applied.

Layout (HDF5, ``.h5``/``.hdf5``): dataset ``pdf`` (N, n_bins) float32, row ``i`` for input row
``i`` (rows without a prediction are NaN); attributes ``z_min``, ``z_max``, ``n_bins``,
``calibrated`` (bool), ``calibration`` (JSON of what was applied: method, temperature, PIT map),
``temperature`` (kept for older readers), ``run_id`` (of the ``nncz predict`` run that
wrote it and its table), ``native_n_bins`` (bins of the model grid, when the
PDFs were rebinned) and ``nncz_version``.

The PDFs are stored as they were used: calibrated on the model's own grid, then (optionally)
summed exactly onto a coarser grid. Evaluating a file therefore never has to undo a calibration,
which is exact only on the native grid for a temperature and impossible for a PIT map.

:class:`PdfFileWriter` streams the rows chunk by chunk (memory does not grow with the table)
into a temporary file renamed into place on :meth:`PdfFileWriter.close`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nncz import __version__
from nncz.grid import RedshiftGrid
from nncz.paths import AtomicPath


@dataclass
class PDFSet:
    """Binned PDFs with their grid and the calibration applied to them."""

    pdf: np.ndarray
    grid: RedshiftGrid
    calibrated: bool = True
    calibration: dict = field(default_factory=dict)
    native_n_bins: int | None = None
    run_id: str = ""

    @property
    def temperature(self) -> float:
        """The temperature of the calibration record (1.0 if it has none)."""
        return float(self.calibration.get("temperature", 1.0))


def _attributes(grid: RedshiftGrid, calibrated: bool, calibration: dict,
                native_n_bins: int | None, run_id: str = "") -> dict:
    return {**grid.to_dict(), "calibrated": bool(calibrated), "run_id": str(run_id),
            "calibration": json.dumps(calibration or {}),
            "temperature": float((calibration or {}).get("temperature", 1.0)),
            "native_n_bins": int(native_n_bins or grid.n_bins), "nncz_version": __version__}


class PdfFileWriter:
    """Append PDF chunks to an HDF5 file; the file appears under its name only on close.

    Parameters
    ----------
    path : path
        Final file name (``.h5`` / ``.hdf5``).
    grid : RedshiftGrid
        Grid of the rows that will be appended.
    calibrated : bool
        Whether the rows are calibrated.
    calibration : dict
        What was applied (``nncz.calibrate.Calibration.to_dict()``), empty if nothing.
    native_n_bins : int, optional
        Bins of the model's grid, if the rows were rebinned onto ``grid``.
    run_id : str
        Identity of the ``nncz predict`` run, also written into its table's metadata, so that
        ``nncz evaluate`` can refuse the PDFs of another table.
    """

    def __init__(self, path: str | Path, grid: RedshiftGrid, calibrated: bool = True,
                 calibration: dict | None = None, native_n_bins: int | None = None,
                 chunk_rows: int = 4096, run_id: str = "") -> None:
        import h5py

        self.path = Path(path)
        self.grid = grid
        self._atomic = AtomicPath(self.path)
        self._handle = h5py.File(self._atomic.temp, "w")
        self._data = self._handle.create_dataset(
            "pdf", shape=(0, grid.n_bins), maxshape=(None, grid.n_bins), dtype="f4",
            chunks=(chunk_rows, grid.n_bins), compression="gzip", compression_opts=1,
            shuffle=True)
        self._handle.attrs.update(_attributes(grid, calibrated, calibration or {},
                                              native_n_bins, run_id))
        self.n_rows = 0

    def append(self, pdf: np.ndarray) -> None:
        """Add rows (M, n_bins) at the end."""
        pdf = np.asarray(pdf, dtype=np.float32)
        if pdf.ndim != 2 or pdf.shape[1] != self.grid.n_bins:
            raise ValueError(f"{self.path}: rows have shape {pdf.shape}, the file "
                             f"{self.grid.n_bins} bins")
        self._data.resize(self.n_rows + len(pdf), axis=0)
        self._data[self.n_rows :] = pdf
        self.n_rows += len(pdf)

    def close(self) -> Path:
        """Finish the file and move it under its final name."""
        return self._atomic.commit(self._handle.close)

    def abort(self) -> None:
        """Drop the partial file (the final name is never touched)."""
        self._atomic.discard(self._handle.close)


def write_pdfs(path: str | Path, pdfs: PDFSet, chunk_rows: int = 65536) -> Path:
    """Write ``pdfs`` to an HDF5 file atomically, through :class:`PdfFileWriter`."""
    writer = PdfFileWriter(path, pdfs.grid, pdfs.calibrated, pdfs.calibration,
                           pdfs.native_n_bins, max(1, min(chunk_rows, len(pdfs.pdf))),
                           pdfs.run_id)
    try:
        writer.append(pdfs.pdf)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def read_pdfs(path: str | Path) -> PDFSet:
    """Read a file written by :func:`write_pdfs` or :class:`PdfFileWriter`."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such PDF file")
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise ValueError(f"{path}: not an HDF5 file, so not an nncz PDF file") from None
    with handle:
        if "pdf" not in handle:
            raise ValueError(f"{path}: not an nncz PDF file (no 'pdf' dataset)")
        attrs = dict(handle.attrs)
        try:
            grid = RedshiftGrid.from_dict(attrs)
        except (KeyError, ValueError) as error:
            raise ValueError(f"{path}: the grid attributes are missing or invalid ({error})"
                             ) from None
        pdf = handle["pdf"][()]
    if pdf.ndim != 2 or pdf.shape[1] != grid.n_bins:
        raise ValueError(f"{path}: dataset 'pdf' has shape {pdf.shape}, the grid "
                         f"{grid.n_bins} bins")
    calibration = json.loads(attrs.get("calibration", "{}") or "{}")
    if not calibration and float(attrs.get("temperature", 1.0)) != 1.0:  # older files
        calibration = {"method": "temperature", "temperature": float(attrs["temperature"])}
    return PDFSet(pdf=pdf, grid=grid,
                  calibrated=bool(attrs.get("calibrated", True)), calibration=calibration,
                  native_n_bins=int(attrs.get("native_n_bins", grid.n_bins)),
                  run_id=str(attrs.get("run_id", "")))
