"""Final catalog files: main table (Parquet and FITS) and PDFs, written in a streaming way.

The main table is assembled from per-chunk parts without holding it in memory, through the one
table writer (:class:`nncz.tablestream.TableStream`: one Parquet row group per part; FITS rows
appended part by part). Both carry the provenance (models, feature sets, temperatures, grids,
versions) in their metadata/header. Every file is written to a temporary name and renamed when
complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid
from nncz.pdfio import PdfFileWriter
from nncz.tablestream import TableStream

__all__ = ["provenance_cards", "write_main_fits", "write_main_parquet", "write_pdf_file",
           "OUTPUT_NAMES"]

OUTPUT_NAMES = {"parquet": "catalog.parquet", "fits": "catalog.fits", "pdf": "catalog_pdf.hdf5"}
#: FITS types of the main table (K, D, I, L, A; every other column E = float32)
_FITS_DTYPES = {"ls_id": np.int64, "ps1_objid": np.int64, "ra": np.float64, "dec": np.float64,
                "priority": np.int16, "in_lsdr10": bool, "in_ps1dr2": bool, "unwise_objid": object}


def provenance_cards(provenance: dict) -> list[tuple[str, object]]:
    """FITS header cards ``(keyword, (value, comment))`` of the main table's provenance."""
    grid, pdf_grid = provenance.get("grid", {}), provenance.get("pdf_grid", {})
    cards: list[tuple[str, object]] = [
        ("EXTNAME", "NNCZ_CATALOG"),
        ("NNCZVER", (str(provenance.get("nncz_version", "")), "nncz version")),
        ("ZMIN", (grid.get("z_min", 0.0), "redshift grid lower edge")),
        ("ZMAX", (grid.get("z_max", 2.0), "redshift grid upper edge")),
        ("NZBINS", (grid.get("n_bins", 0), "bins of the models' PDFs")),
        ("PDFBINS", (pdf_grid.get("n_bins", 0), "bins of the stored PDFs"))]
    for level, entry in provenance.get("levels", {}).items():
        cards += [(f"MODEL{level}", (str(entry["model"]), f"model of priority level {level}")),
                  (f"FSET{level}", (str(entry["feature_set"]), f"feature set of level {level}")),
                  (f"TEMP{level}", (float(entry["temperature"]), f"temperature of level {level}"))]
    cards.append(("NNCZPROV", json.dumps(provenance, default=str)))  # long: CONTINUE cards
    return cards


def write_main_fits(path: str | Path, parts: Callable[[], Iterable[pd.DataFrame]],
                    n_rows: int, str_width: int, provenance: dict) -> Path:
    """Write the FITS main table from an iterable of parts (called once), atomically.

    ``str_width`` [characters] is the FITS width of ``unwise_objid``; ``n_rows`` the number of
    rows the parts must hold (checked).
    """
    stream = TableStream(path, string_widths={"unwise_objid": max(int(str_width), 1)},
                         fits_cards=provenance_cards(provenance))
    try:
        for part in parts():
            stream.append(part.astype({c: _FITS_DTYPES.get(c, np.float32) for c in part.columns}))
        if stream.n_rows != n_rows:
            raise ValueError(f"{path}: header says {n_rows} rows, parts held {stream.n_rows}")
    except BaseException:
        stream.abort()
        raise
    return stream.close()


def write_main_parquet(path: str | Path, parts: Callable[[], Iterable[pd.DataFrame]],
                       provenance: dict) -> Path:
    """Write the Parquet main table (one row group per part), provenance in metadata."""
    with TableStream(path, provenance) as stream:
        for part in parts():
            stream.append(part)
    return stream.path


def write_pdf_file(path: str | Path, parts: Iterable[tuple[np.ndarray, pd.DataFrame]],
                   grid: RedshiftGrid, provenance: dict) -> Path:
    """Write the PDF file from (uint16 counts, main-table part) pairs in catalog order.

    The file is an :mod:`nncz.pdfio` file with uint16 packing and the ancillary columns
    ``ls_id`` and ``ps1_objid`` (-1 where absent) to join it with the main table.
    """
    with PdfFileWriter(path, grid, packing="uint16", provenance=provenance) as writer:
        for counts, main in parts:
            writer.append(counts, {name: main[name].to_numpy(np.int64)
                                   for name in ("ls_id", "ps1_objid")})
    return Path(path)
