"""In-memory catalog: the whole sky at once (small catalogs, tests, the reference path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nncz.catalog.config import CatalogConfig
from nncz.catalog.parts import PartStore
from nncz.catalog.products import ChunkResult, ModelSet, process_chunk
from nncz.catalog.sources import SURVEYS, canonical, empty_survey, match_surveys

__all__ = ["build_catalog", "write_catalog"]


def build_catalog(ls: pd.DataFrame | None, ps1: pd.DataFrame | None,
                  unwise: pd.DataFrame | None, cfg: CatalogConfig,
                  models: ModelSet | None = None,
                  timings: dict[str, float] | None = None) -> ChunkResult:
    """Match, assign levels, infer and build products for tables held in memory.

    Parameters
    ----------
    ls, ps1, unwise : pandas.DataFrame or None
        Survey tables (docs/SCHEMAS.md names); None for a survey not given.
    cfg : CatalogConfig
    models : ModelSet, optional
        Default: loaded from ``cfg``.
    timings : dict, optional
        Seconds per step are added here.

    Returns
    -------
    ChunkResult
        Main-table rows (LSDR10 sources first, then PS1-only ones) and their uint16 PDFs.
    """
    models = models or ModelSet.load(cfg)
    frames = {}
    for survey, table in (("ls", ls), ("ps1", ps1), ("unwise", unwise)):
        frames[survey] = canonical(table) if table is not None else empty_survey(
            list(SURVEYS[survey]))
    sky = match_surveys(frames["ls"], frames["ps1"], frames["unwise"],
                        cfg.match_radius_arcsec, cfg.unwise_radius_arcsec)
    return process_chunk(sky, models, cfg, timings)


def write_catalog(result: ChunkResult, out_dir: str | Path, models: ModelSet,
                  cfg: CatalogConfig, formats: tuple[str, ...] = ("parquet", "fits")) -> dict:
    """Write an in-memory result as the final catalog files (same layout as the stream)."""
    store = PartStore(Path(out_dir) / "work" / "parts_memory")
    store.write(0, result)
    return store.finalize(out_dir, [0], models.grid.coarsen(cfg.pdf_bins),
                          models.provenance(cfg), formats)
