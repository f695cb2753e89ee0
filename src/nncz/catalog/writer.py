"""Final catalog files: main table (Parquet and FITS) and PDFs, written in a streaming way.

The main table is assembled from per-chunk parts without holding it in memory: Parquet through
``pyarrow.parquet.ParquetWriter`` (one row group per part), FITS by writing the binary-table
header for the known row count and then the big-endian rows of each part. Both carry the
provenance (models, feature sets, temperatures, grids, versions) in their metadata/header.
Every file is written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.catalog.pdfstore import PdfWriter
from nncz.grid import RedshiftGrid
from nncz.io import atomic_write

__all__ = ["fits_header", "write_main_fits", "write_main_parquet", "write_pdf_file",
           "OUTPUT_NAMES"]

OUTPUT_NAMES = {"parquet": "catalog.parquet", "fits": "catalog.fits", "pdf": "catalog_pdf.h5"}
_FITS_FORMATS = {"ls_id": "K", "ps1_objid": "K", "ra": "D", "dec": "D", "priority": "I",
                 "in_lsdr10": "L", "in_ps1dr2": "L"}
_BIG_ENDIAN = {"K": ">i8", "D": ">f8", "E": ">f4", "I": ">i2", "L": "S1"}


def _fits_format(name: str, str_width: int) -> str:
    if name == "unwise_objid":
        return f"{max(str_width, 1)}A"
    return _FITS_FORMATS.get(name, "E")


def fits_header(columns: list[str], n_rows: int, str_width: int, provenance: dict):
    """Binary-table header for ``n_rows`` rows of the main table, with provenance cards."""
    from astropy.io import fits

    cols = fits.ColDefs([fits.Column(name=c, format=_fits_format(c, str_width)) for c in columns])
    header = fits.BinTableHDU.from_columns(cols, nrows=0).header
    header["NAXIS2"] = n_rows
    header["EXTNAME"] = "NNCZ_CATALOG"
    header["NNCZVER"] = (str(provenance.get("nncz_version", "")), "nncz version")
    grid, pdf_grid = provenance.get("grid", {}), provenance.get("pdf_grid", {})
    header["ZMIN"] = (grid.get("z_min", 0.0), "redshift grid lower edge")
    header["ZMAX"] = (grid.get("z_max", 2.0), "redshift grid upper edge")
    header["NZBINS"] = (grid.get("n_bins", 0), "bins of the models' PDFs")
    header["PDFBINS"] = (pdf_grid.get("n_bins", 0), "bins of the stored PDFs")
    for level, entry in provenance.get("levels", {}).items():
        header[f"MODEL{level}"] = (str(entry["model"]), f"model of priority level {level}")
        header[f"FSET{level}"] = (str(entry["feature_set"]), f"feature set of level {level}")
        header[f"TEMP{level}"] = (float(entry["temperature"]), f"temperature of level {level}")
    header["NNCZPROV"] = json.dumps(provenance, default=str)  # long string: CONTINUE cards
    return header


def _fits_rows(part: pd.DataFrame, columns: list[str], str_width: int) -> bytes:
    dtype = [(c, f"S{max(str_width, 1)}" if c == "unwise_objid"
              else _BIG_ENDIAN[_fits_format(c, str_width)]) for c in columns]
    rows = np.empty(len(part), dtype=dtype)
    for c in columns:
        values = part[c].to_numpy()
        if c == "unwise_objid":
            rows[c] = np.asarray(values, dtype=str).astype(f"S{max(str_width, 1)}")
        elif c in ("in_lsdr10", "in_ps1dr2"):
            rows[c] = np.where(values.astype(bool), b"T", b"F")
        else:
            rows[c] = values
    return rows.tobytes()


def write_main_fits(path: str | Path, parts: Callable[[], Iterable[pd.DataFrame]],
                    n_rows: int, str_width: int, provenance: dict) -> Path:
    """Write the FITS main table from an iterable of parts (called once), atomically."""
    from astropy.io import fits

    def write(temp: Path) -> None:
        written, columns = 0, None
        with open(temp, "wb") as handle:
            handle.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
            for part in parts():
                if columns is None:
                    columns = list(part.columns)
                    header = fits_header(columns, n_rows, str_width, provenance)
                    handle.write(header.tostring().encode("ascii"))
                handle.write(_fits_rows(part, columns, str_width))
                written += len(part)
            if columns is None:
                raise ValueError(f"{path}: no parts to write")
            size = handle.tell()
            handle.write(b"\0" * (-size % 2880))
        if written != n_rows:
            raise ValueError(f"{path}: header says {n_rows} rows, parts held {written}")

    return atomic_write(path, write)


def write_main_parquet(path: str | Path, parts: Callable[[], Iterable[pd.DataFrame]],
                       provenance: dict) -> Path:
    """Write the Parquet main table (one row group per part), provenance in metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(temp: Path) -> None:
        writer = None
        try:
            for part in parts():
                table = pa.Table.from_pandas(part, preserve_index=False)
                if writer is None:
                    meta = {**(table.schema.metadata or {}),
                            b"nncz": json.dumps(provenance, default=str).encode()}
                    schema = table.schema.with_metadata(meta)
                    writer = pq.ParquetWriter(temp, schema)
                writer.write_table(table.cast(schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"{path}: no parts to write")

    return atomic_write(path, write)


def write_pdf_file(path: str | Path, parts: Iterable[tuple[np.ndarray, pd.DataFrame]],
                   grid: RedshiftGrid, provenance: dict) -> Path:
    """Write the PDF file from (uint16 counts, main-table part) pairs in catalog order."""
    with PdfWriter(path, grid, provenance) as writer:
        for counts, main in parts:
            writer.append(counts, main["ls_id"].to_numpy(), main["ps1_objid"].to_numpy())
    return Path(path)
