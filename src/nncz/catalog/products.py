"""Per-chunk catalog products: inference per level, PDF products, quantised coarse PDFs.

:func:`process_chunk` turns a :class:`~nncz.catalog.sources.SkyChunk` into the rows of the main
table and the uint16 PDFs of the same rows; every path (in memory, streamed, lsdb) calls it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from nncz.catalog.config import LEVELS, CatalogConfig
from nncz.catalog.levels import assign_levels
from nncz.catalog.sources import SkyChunk
from nncz.grid import RedshiftGrid
from nncz.pdf import PRODUCT_COLUMNS
from nncz.pdfio import quantise

__all__ = ["MAIN_COLUMNS", "ModelLike", "ModelSet", "ChunkResult", "process_chunk",
           "empty_main"]

MAIN_COLUMNS: tuple[str, ...] = ("ls_id", "ps1_objid", "unwise_objid", "ra", "dec",
                                 *PRODUCT_COLUMNS, "priority", "in_lsdr10", "in_ps1dr2")


class ModelLike(Protocol):
    """What the catalog needs of a model (:class:`nncz.estimator.NNCEstimator` has it)."""

    grid: RedshiftGrid
    features_: list[str]  # the network's direct inputs (provenance)
    colours: Sequence[str]  # bands whose adjacent colours are inputs too (provenance)
    required_columns_: list[str]  # columns every input table must hold (features, bands)
    temperature_: float

    def iter_predict(self, table: pd.DataFrame, return_pdf: bool = False,
                     chunk_rows: int = 65536) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Yields (products, PDFs (rows, n_bins)) per run of ``chunk_rows`` rows."""
        ...


@dataclass
class ModelSet:
    """The trained model of each configured level (all on one redshift grid)."""

    models: dict[int, ModelLike]
    paths: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grids = {lv: m.grid for lv, m in self.models.items()}
        first = next(iter(grids.values()))
        odd = {lv: g for lv, g in grids.items() if g != first}
        if odd:
            raise ValueError(f"all level models must share one grid; level grids: {grids}")
        self.grid: RedshiftGrid = first

    @classmethod
    def load(cls, cfg: CatalogConfig) -> ModelSet:
        """Load the models named in ``cfg`` (NNCEstimator directories)."""
        from nncz.estimator import NNCEstimator

        return cls({lv: NNCEstimator.load(p) for lv, p in sorted(cfg.models.items())},
                   dict(cfg.models))

    @property
    def columns_of(self) -> dict[int, list[str]]:
        """The columns each level model reads: its features, then its colour bands."""
        return {lv: list(m.required_columns_) for lv, m in self.models.items()}

    @property
    def bad_mask_of(self) -> dict[int, object]:
        """Each level model's own bad-value test, where the model has one."""
        return {lv: m.bad_value_mask for lv, m in self.models.items()
                if hasattr(m, "bad_value_mask")}

    def provenance(self, cfg: CatalogConfig) -> dict[str, Any]:
        """Models, feature sets, features and colour bands, temperatures, grids and versions,
        JSON-able."""
        import nncz

        levels = {}
        for lv, model in sorted(self.models.items()):
            levels[str(lv)] = {"model": self.paths.get(lv, type(model).__name__),
                               "feature_set": cfg.feature_sets.get(lv, LEVELS[lv].feature_set),
                               "features": list(model.features_),
                               "colours": [str(band) for band in model.colours],
                               "temperature": float(getattr(model, "temperature_", 1.0)),
                               "description": LEVELS[lv].description}
        return {"nncz_version": nncz.__version__, "grid": self.grid.to_dict(),
                "pdf_grid": self.grid.coarsen(cfg.pdf_bins).to_dict(), "levels": levels,
                "config": cfg.to_dict(), "numpy": np.__version__, "pandas": pd.__version__}


@dataclass
class ChunkResult:
    """Main-table rows (:data:`MAIN_COLUMNS`), their PDFs and counts."""

    main: pd.DataFrame
    pdf_u16: np.ndarray
    stats: dict[str, int]


def empty_main() -> pd.DataFrame:
    """A zero-row main table with the catalog dtypes."""
    dtypes = {"ls_id": np.int64, "ps1_objid": np.int64, "unwise_objid": object,
              "ra": np.float64, "dec": np.float64, "priority": np.int8,
              "in_lsdr10": bool, "in_ps1dr2": bool}
    return pd.DataFrame({c: np.empty(0, dtype=dtypes.get(c, np.float32)) for c in MAIN_COLUMNS})


def _tick(timings: dict[str, float] | None, key: str, start: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + now - start
    return now


def process_chunk(sky: SkyChunk, models: ModelSet, cfg: CatalogConfig,
                  timings: dict[str, float] | None = None,
                  batch_rows: int = 8192) -> ChunkResult:
    """Priority levels, inference, products and coarse PDFs of the sources of ``sky``.

    Parameters
    ----------
    sky : SkyChunk
        N matched sources.
    models : ModelSet
    cfg : CatalogConfig
    timings : dict, optional
        Seconds spent per step are added here: ``features``, ``inference`` (network, PDFs and
        their products), ``products`` (coarse quantised PDFs).
    batch_rows : int
        Rows per chunk of the level model's ``iter_predict``: bounds the (rows, n_bins) float32
        PDFs held at once (8,192 x 400 bins: 13 MB).

    Returns
    -------
    ChunkResult
        One row per source with priority > 0, in source order; ``pdf_u16`` (rows, pdf_bins).
    """
    start = time.perf_counter()
    priority, per_level = assign_levels(sky, models.columns_of, cfg,
                                        bad_mask_of=models.bad_mask_of)
    start = _tick(timings, "features", start)
    keep = np.flatnonzero(priority > 0)
    n_bins = cfg.pdf_bins
    products = np.full((len(keep), len(PRODUCT_COLUMNS)), np.nan, dtype=np.float32)
    counts = np.zeros((len(keep), n_bins), dtype=np.uint16)
    for level, (rows, table) in per_level.items():
        begin = 0
        # the estimator's own chunk loop; batch_rows bounds the (rows, n_bins) PDFs held
        for values, pdf in models.models[level].iter_predict(table, return_pdf=True,
                                                             chunk_rows=batch_rows):
            start = _tick(timings, "inference", start)
            where = np.searchsorted(keep, rows[begin : begin + len(pdf)])
            begin += len(pdf)
            products[where] = values[list(PRODUCT_COLUMNS)].to_numpy(np.float32)
            counts[where] = quantise(models.grid.rebin(pdf, n_bins)[0])
            start = _tick(timings, "products", start)
    main = sky.subset(keep).ids()
    main["ra"], main["dec"] = sky.ra[keep], sky.dec[keep]
    for j, name in enumerate(PRODUCT_COLUMNS):
        main[name] = products[:, j]
    main["priority"] = priority[keep]
    main["in_lsdr10"] = sky.i_ls[keep] >= 0
    main["in_ps1dr2"] = sky.i_ps1[keep] >= 0
    stats = {f"n_level{lv}": int((priority == lv).sum()) for lv in LEVELS}
    stats.update(n_sources=len(sky), n_unassigned=int((priority == 0).sum()),
                 n_shared_ps1=sky.n_shared)
    return ChunkResult(main[list(MAIN_COLUMNS)], counts, stats)


def merge_stats(stats: list[Mapping[str, int]]) -> dict[str, int]:
    """Sum the counts of several chunks."""
    total: dict[str, int] = {}
    for s in stats:
        for k, v in s.items():
            total[k] = total.get(k, 0) + int(v)
    return total
