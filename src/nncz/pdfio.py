"""PDF files: binned PDFs as a qp ``hist`` ensemble in HDF5, with nncz's extras; one reader.

Every nncz PDF file (``nncz predict --pdf-output``, the catalog's ``catalog_pdf.hdf5``, the n(z)
``nz_qp.hdf5``, the peers benchmark) is written by :class:`PdfFileWriter` and is exactly the
HDF5 layout of a qp ``hist`` ensemble, so qp (and so RAIL) opens it unchanged:

- ``meta/bins`` (1, n_bins + 1) float64: the grid edges; ``meta/pdf_name`` ``[b"hist"]``;
  ``meta/pdf_version`` ``[0]``;
- ``data/pdfs`` (N, n_bins): row ``i`` for input row ``i``, stored with one of three packings:
  ``"float32"`` (default) or ``"float64"``: the density per unit redshift (probability / bin
  width); rows without a prediction are NaN (qp warns about them);
  ``"uint16"`` (catalogs): the probability of each bin times :data:`SCALE` = 65535, rounded by
  the largest-remainder rule so that every row sums to exactly 65535 (:func:`quantise`);
- ``ancil/<name>`` (N,): optional per-row columns (object ids such as ``ls_id``, numbers,
  strings stored as fixed-width bytes), qp's ancillary table;
- attributes of the root group (ignored by qp): ``nncz_format`` (:data:`FORMAT`), ``packing``,
  ``z_min``, ``z_max``, ``n_bins``, ``calibrated`` (int8, 0 or 1), ``calibration`` (JSON of what
  was applied: method, temperature, PIT map), ``native_n_bins`` (bins of the model grid, when the
  PDFs were rebinned), ``run_id`` (of the ``nncz predict`` run that wrote it and its table),
  ``provenance`` (JSON, e.g. the catalog's models) and ``nncz_version``.

What qp sees: a ``hist`` ensemble with float64 densities in every packing. qp normalises
``hist`` rows when it reads them, which turns uint16 counts into the right densities, so a
uint16 file needs no nncz code either. qp (tables_io) picks the reader from the file name:
``qp.read("pdfs.hdf5")`` works as it is, a ``.h5`` name needs ``qp.read(path, fmt="hdf5")``
(tables_io takes ``.h5`` for a pandas HDF5 file).

Precision, as read back by :func:`read_pdfs` (probabilities per bin): ``"float64"`` exact to
rounding; ``"float32"`` within two float32 roundings (relative 1.2e-7) of what was written;
``"uint16"`` within 1/65535 = 1.53e-5 (absolute) of each probability, rows summing to 1, the
CDF at any bin edge off by less than n_bins / 65535 (in practice ~1e-5 as the errors of a row
cancel); probabilities below 7.6e-6 may be stored as 0. A uint16 row takes 2 bytes per bin
before compression (gzip level 1 + shuffle, as every packing).

The PDFs are stored as they were used: calibrated on the model's own grid, then (optionally)
summed exactly onto a coarser grid. Evaluating a file therefore never has to undo a calibration,
which is exact only on the native grid for a temperature and impossible for a PIT map.

:class:`PdfFileWriter` streams the rows chunk by chunk (memory does not grow with the table)
into a temporary file renamed into place on :meth:`PdfFileWriter.close`.
:func:`read_pdfs` reads this format, any qp ``hist`` HDF5 file on equal-width bins, and the two
older nncz layouts (dataset ``pdf`` with grid attributes; the catalog's ``nncz-pdf-u16/1``
with ``pdf_u16``, ``ls_id``, ``ps1_objid``), the latter with a one-line deprecation warning on
the ``nncz.pdfio`` logger (``nncz VERB: warning: FILE: an nncz PDF file of the old ...``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nncz import __version__
from nncz.grid import RedshiftGrid
from nncz.paths import AtomicPath

__all__ = ["FORMAT", "PACKINGS", "SCALE", "PDFSet", "PdfFileWriter",
           "dequantise", "grid_of_edges", "quantise", "read_pdfs", "write_pdfs"]

FORMAT = "nncz-pdf/2"
PACKINGS = {"float32": np.float32, "float64": np.float64, "uint16": np.uint16}
SCALE = 65535
_BLOCK_ROWS = 8192  # rows converted at once on writing and reading (bounds the float64 work)

log = logging.getLogger(__name__)


@dataclass
class PDFSet:
    """Binned PDFs with their grid, the calibration applied to them and their ancillary columns.

    Attributes
    ----------
    pdf : numpy.ndarray (N, grid.n_bins)
        Probability of each bin (float32; float64 when read from a float64 or uint16 file).
    grid : RedshiftGrid
    calibrated : bool
    calibration : dict
        What was applied (``nncz.calibrate.Calibration.to_dict()``), empty if nothing.
    native_n_bins : int, optional
        Bins of the model's grid, if the rows were rebinned onto ``grid``.
    run_id : str
        Identity of the ``nncz predict`` run that wrote the PDFs and their table.
    ancil : dict of numpy.ndarray (N,)
        Per-row columns (object ids, ...), qp's ancillary table.
    provenance : dict
        Free JSON-able description of how the PDFs were made (the catalog's models, ...).
    """

    pdf: np.ndarray
    grid: RedshiftGrid
    calibrated: bool = True
    calibration: dict = field(default_factory=dict)
    native_n_bins: int | None = None
    run_id: str = ""
    ancil: dict[str, np.ndarray] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @property
    def temperature(self) -> float:
        """The temperature of the calibration record (1.0 if it has none)."""
        return float(self.calibration.get("temperature", 1.0))


def quantise(pdf: np.ndarray) -> np.ndarray:
    """Probabilities (N, B) -> uint16 counts summing to exactly :data:`SCALE` per row.

    Rows are normalised first (a row of zeros, negative or non-finite values raises). Each
    count is the floor of ``p * SCALE`` plus one for the row's largest remainders, so the error
    per bin is below 1 / SCALE.
    """
    pdf = np.asarray(pdf, dtype=np.float64)
    if pdf.ndim != 2:
        raise ValueError(f"pdf must be 2-D (N, n_bins), got shape {pdf.shape}")
    total = pdf.sum(axis=1, keepdims=True)
    bad = ~(np.isfinite(total[:, 0]) & (total[:, 0] > 0)) | (pdf < 0).any(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} PDF row(s) are not valid probabilities "
                         f"(first: row {int(np.flatnonzero(bad)[0])})")
    scaled = pdf * (SCALE / total)
    counts = np.floor(scaled)
    deficit = (SCALE - counts.sum(axis=1)).round().astype(np.int64)  # in [0, n_bins)
    if deficit.any():
        order = np.argsort(counts - scaled, axis=1, kind="stable")  # largest remainder first
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(pdf.shape[1])[None, :], axis=1)
        counts += rank < deficit[:, None]
    return counts.astype(np.uint16)


def dequantise(counts: np.ndarray) -> np.ndarray:
    """uint16 counts (N, B) of :func:`quantise` -> probabilities (N, B) float64 that sum to 1."""
    return np.asarray(counts, dtype=np.float64) / SCALE


def grid_of_edges(edges: np.ndarray) -> RedshiftGrid:
    """The RedshiftGrid of equal-width bin ``edges`` (ValueError if they are not equal-width)."""
    edges = np.asarray(edges, dtype=np.float64).ravel()
    if edges.size < 3:
        raise ValueError(f"{edges.size} bin edges: a grid needs at least 2 bins")
    grid = RedshiftGrid(float(edges[0]), float(edges[-1]), edges.size - 1)
    if not np.allclose(edges, grid.edges, rtol=0, atol=1e-9 * max(1.0, abs(edges[-1]))):
        raise ValueError("the bins are not equally spaced, so not an nncz redshift grid")
    return grid


class PdfFileWriter:
    """Append PDF chunks to a qp ``hist`` HDF5 file; the file appears under its name on close.

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
    chunk_rows : int
        Rows per HDF5 chunk.
    run_id : str
        Identity of the ``nncz predict`` run, also written into its table's metadata, so that
        ``nncz evaluate`` can refuse the PDFs of another table.
    packing : {"float32", "float64", "uint16"}
        How ``data/pdfs`` is stored (module docstring).
    provenance : dict, optional
        JSON-able description stored as the ``provenance`` attribute.

    Examples
    --------
    >>> with PdfFileWriter("pdfs.h5", grid) as writer:  # doctest: +SKIP
    ...     for pdf, ids in chunks:
    ...         writer.append(pdf, {"object_id": ids})
    """

    def __init__(self, path: str | Path, grid: RedshiftGrid, calibrated: bool = True,
                 calibration: dict | None = None, native_n_bins: int | None = None,
                 chunk_rows: int = 4096, run_id: str = "", packing: str = "float32",
                 provenance: dict | None = None) -> None:
        import h5py

        if packing not in PACKINGS:
            raise ValueError(f"packing {packing!r}: choose one of {sorted(PACKINGS)}")
        self.path, self.grid, self.packing = Path(path), grid, packing
        self._chunk_rows = max(1, int(chunk_rows))
        self._atomic = AtomicPath(self.path)
        self._handle = h5py.File(self._atomic.temp, "w")
        meta = self._handle.create_group("meta")
        meta["bins"] = grid.edges[None, :]
        meta["pdf_name"] = np.array([b"hist"])
        meta["pdf_version"] = np.array([0], dtype=np.int64)
        self._data = self._resizable(self._handle.create_group("data"), "pdfs",
                                     PACKINGS[packing], (grid.n_bins,))
        self._handle.attrs.update({
            "nncz_format": FORMAT, "packing": packing, **grid.to_dict(),
            "calibrated": np.int8(bool(calibrated)), "calibration": json.dumps(calibration or {}),
            "native_n_bins": int(native_n_bins or grid.n_bins), "run_id": str(run_id),
            "provenance": json.dumps(provenance or {}, default=str),
            "nncz_version": __version__})
        self._ancil: dict[str, object] | None = None  # created by the first append
        self.n_rows = 0

    def _resizable(self, group, name: str, dtype, tail: tuple[int, ...]):
        return group.create_dataset(name, shape=(0, *tail), maxshape=(None, *tail), dtype=dtype,
                                    chunks=(self._chunk_rows, *tail), compression="gzip",
                                    compression_opts=1, shuffle=True)

    def append(self, pdf: np.ndarray, ancil: Mapping[str, np.ndarray] | None = None) -> None:
        """Add rows at the end.

        Parameters
        ----------
        pdf : array (M, n_bins)
            Probability of each bin. With ``packing="uint16"`` an array of dtype uint16 is taken
            as counts of :func:`quantise` (each row must sum to :data:`SCALE`).
        ancil : mapping of str to array (M,), optional
            Per-row columns; the first call fixes their names and dtypes for the file.
        """
        pdf = np.asarray(pdf)
        if pdf.ndim != 2 or pdf.shape[1] != self.grid.n_bins:
            raise ValueError(f"{self.path}: rows have shape {pdf.shape}, the file "
                             f"{self.grid.n_bins} bins")
        if self.packing == "uint16":
            pdf = self._counts(pdf)  # every check passes before anything is written
        columns = self._ancil_columns(ancil or {}, len(pdf))
        end = self.n_rows + len(pdf)
        for dataset, block in ((self._data, None), *columns):
            dataset.resize(end, axis=0)
            if block is not None:
                dataset[self.n_rows:end] = block
        for begin in range(0, len(pdf), _BLOCK_ROWS):
            block = pdf[begin:begin + _BLOCK_ROWS]
            if self.packing != "uint16":  # densities, computed in float64
                block = (block.astype(np.float64) / self.grid.width).astype(self._data.dtype)
            self._data[self.n_rows + begin:self.n_rows + begin + len(block)] = block
        self.n_rows = end

    def _counts(self, pdf: np.ndarray) -> np.ndarray:
        if pdf.dtype != np.uint16:
            return quantise(pdf)
        wrong = pdf.sum(axis=1, dtype=np.int64) != SCALE
        if wrong.any():
            raise ValueError(f"{self.path}: uint16 row {int(np.flatnonzero(wrong)[0])} does not "
                             f"sum to {SCALE}; pass probabilities or counts from quantise()")
        return pdf

    def _ancil_columns(self, ancil: Mapping[str, np.ndarray], n_rows: int) -> list[tuple]:
        blocks = {name: _ancil_values(name, values, n_rows) for name, values in ancil.items()}
        if self._ancil is None:
            group = self._handle.create_group("ancil") if blocks else None
            self._ancil = {name: self._resizable(group, name, block.dtype, ())
                           for name, block in blocks.items()}
        if set(blocks) != set(self._ancil):
            raise ValueError(f"{self.path}: ancillary columns {sorted(blocks)}, the first "
                             f"chunk had {sorted(self._ancil)}")
        for name, block in blocks.items():
            if block.dtype.kind == "S" and block.dtype.itemsize > self._ancil[name].dtype.itemsize:
                raise ValueError(f"{self.path}: ancillary column {name!r} has strings longer "
                                 f"than the {self._ancil[name].dtype.itemsize} bytes of the "
                                 "first chunk")
        return [(self._ancil[name], block) for name, block in blocks.items()]

    def close(self) -> Path:
        """Finish the file and move it under its final name."""
        return self._atomic.commit(self._handle.close)

    def abort(self) -> None:
        """Drop the partial file (the final name is never touched)."""
        self._atomic.discard(self._handle.close)

    def __enter__(self) -> PdfFileWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def _ancil_values(name: str, values: np.ndarray, n_rows: int) -> np.ndarray:
    """An ancillary column as stored: numbers and booleans as they are, strings as bytes."""
    values = np.asarray(values)
    if values.shape != (n_rows,):
        raise ValueError(f"ancillary column {name!r} has shape {values.shape}, expected "
                         f"({n_rows},)")
    if values.dtype.kind in "US" or values.dtype == object:
        values = np.char.encode(values.astype(str), "utf-8")
        return values.astype(f"S{max(values.dtype.itemsize, 1)}")
    if values.dtype.kind not in "biuf":
        raise ValueError(f"ancillary column {name!r} has dtype {values.dtype}; use numbers, "
                         "booleans or strings")
    return values


def write_pdfs(path: str | Path, pdfs: PDFSet, packing: str = "float32",
               chunk_rows: int = 65536) -> Path:
    """Write ``pdfs`` to an HDF5 file atomically, through :class:`PdfFileWriter`."""
    writer = PdfFileWriter(path, pdfs.grid, pdfs.calibrated, pdfs.calibration,
                           pdfs.native_n_bins, min(chunk_rows, len(pdfs.pdf)), pdfs.run_id,
                           packing, pdfs.provenance)
    try:
        writer.append(pdfs.pdf, pdfs.ancil)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def read_pdfs(path: str | Path, start: int = 0, stop: int | None = None) -> PDFSet:
    """Rows ``start:stop`` of an nncz PDF file, of any qp ``hist`` HDF5 file on equal-width
    bins, or of an older nncz PDF file (with a deprecation warning logged).

    Returns
    -------
    PDFSet
        Probabilities per bin: float32 from a float32 file (NaN rows stay NaN), float64 from a
        float64 or uint16 one (uint16 rows sum to 1).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such PDF file")
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise ValueError(f"{path}: not an HDF5 file, so not an nncz PDF file") from None
    rows = slice(start, stop)
    with handle:
        if "meta" in handle and "data" in handle:
            return _read_hist(path, handle, rows)
        if "pdf" in handle:
            return _read_legacy_float(path, handle, rows)
        if handle.attrs.get("format") == "nncz-pdf-u16/1" and "pdf_u16" in handle:
            return _read_legacy_catalog(path, handle, rows)
    raise ValueError(f"{path}: not an nncz PDF file (no qp 'meta'/'data' groups)")


def _read_hist(path: Path, handle, rows: slice) -> PDFSet:
    name = np.asarray(handle["meta"].get("pdf_name", [b""])).ravel()[0]
    name = name.decode() if isinstance(name, bytes) else str(name)
    if name != "hist" or "pdfs" not in handle["data"] or "bins" not in handle["meta"]:
        raise ValueError(f"{path}: a qp {name!r} ensemble, not 'hist'; read it with "
                         "nncz.qpio.read_qp and nncz.qpio.from_qp")
    attrs = dict(handle.attrs)
    try:
        grid = (RedshiftGrid.from_dict(attrs) if "n_bins" in attrs
                else grid_of_edges(handle["meta/bins"][()]))
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: the grid is missing or invalid ({error})") from None
    stored = handle["data/pdfs"]
    if stored.ndim != 2 or stored.shape[1] != grid.n_bins:
        raise ValueError(f"{path}: data/pdfs has shape {stored.shape}, the grid "
                         f"{grid.n_bins} bins")
    ancil = {key: _decoded(column[rows]) for key, column in handle.get("ancil", {}).items()}
    return PDFSet(_probabilities(stored, rows, grid), grid,
                  calibrated=bool(attrs.get("calibrated", True)),
                  calibration=json.loads(attrs.get("calibration", "{}") or "{}"),
                  native_n_bins=int(attrs.get("native_n_bins", grid.n_bins)),
                  run_id=str(attrs.get("run_id", "")), ancil=ancil,
                  provenance=json.loads(attrs.get("provenance", "{}") or "{}"))


def _probabilities(stored, rows: slice, grid: RedshiftGrid) -> np.ndarray:
    """Probabilities per bin of ``stored[rows]``, converted block by block."""
    first, last, _ = rows.indices(stored.shape[0])
    quantised = stored.dtype == np.uint16
    out = np.empty((max(0, last - first), grid.n_bins),
                   np.float64 if quantised or stored.dtype == np.float64 else np.float32)
    for begin in range(first, last, _BLOCK_ROWS):
        block = stored[begin:min(begin + _BLOCK_ROWS, last)].astype(np.float64)
        if quantised:  # qp's own reading: rows normalised (exact for rows of quantise)
            block /= block.sum(axis=1, keepdims=True)
        else:
            block *= grid.width
        out[begin - first:begin - first + len(block)] = block
    return out


def _decoded(values: np.ndarray) -> np.ndarray:
    return np.char.decode(values, "utf-8") if values.dtype.kind == "S" else values


def _legacy(path: Path, layout: str) -> None:
    log.warning("%s: an nncz PDF file of the old %s layout (deprecated), which qp and RAIL "
                "cannot read; rewrite it with nncz.pdfio.write_pdfs(new, read_pdfs(old))",
                path, layout)


def _read_legacy_float(path: Path, handle, rows: slice) -> PDFSet:
    """The layout of nncz <= 0.x ``--pdf-output``: dataset ``pdf`` (N, B) float32 + attrs."""
    _legacy(path, "'pdf' dataset")
    attrs = dict(handle.attrs)
    try:
        grid = RedshiftGrid.from_dict(attrs)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: the grid attributes are missing or invalid ({error})"
                         ) from None
    pdf = handle["pdf"][rows]
    if pdf.ndim != 2 or pdf.shape[1] != grid.n_bins:
        raise ValueError(f"{path}: dataset 'pdf' has shape {pdf.shape}, the grid "
                         f"{grid.n_bins} bins")
    calibration = json.loads(attrs.get("calibration", "{}") or "{}")
    if not calibration and float(attrs.get("temperature", 1.0)) != 1.0:  # oldest files
        calibration = {"method": "temperature", "temperature": float(attrs["temperature"])}
    return PDFSet(pdf=pdf, grid=grid, calibrated=bool(attrs.get("calibrated", True)),
                  calibration=calibration,
                  native_n_bins=int(attrs.get("native_n_bins", grid.n_bins)),
                  run_id=str(attrs.get("run_id", "")))


def _read_legacy_catalog(path: Path, handle, rows: slice) -> PDFSet:
    """The catalog's ``nncz-pdf-u16/1`` layout: ``pdf_u16`` counts, ``ls_id``, ``ps1_objid``."""
    _legacy(path, "catalog 'nncz-pdf-u16/1'")
    attrs = dict(handle.attrs)
    grid = RedshiftGrid.from_dict(attrs)
    ancil = {name: handle[name][rows] for name in ("ls_id", "ps1_objid")}
    return PDFSet(dequantise(handle["pdf_u16"][rows]), grid, ancil=ancil,
                  provenance=json.loads(attrs.get("provenance", "{}") or "{}"))
