"""The catalog on HATS/lsdb: HEALPix partitions, margin caches, partition-wise inference on Dask.

lsdb does the spatial work with its margins: ``LSDR10 x PS1`` outer cross-match (nearest
neighbour within 1"; PS1 rows claimed by no LSDR10 row come back as PS1-only rows), then a
left cross-match of those sources with unWISE. Each resulting partition is turned back into a
:class:`~nncz.catalog.sources.SkyChunk` and handed to the same
:func:`~nncz.catalog.products.process_chunk` as the streaming path, so both give identical rows;
each partition's outputs go to a :class:`~nncz.catalog.parts.PartStore` (resumable) and are
concatenated into the same final files.

Dask runs on local threads by default (``n_workers``); give ``scheduler`` (an address such as
``tcp://host:8786``) to use a ``distributed`` cluster.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.catalog.config import CatalogConfig
from nncz.catalog.parts import PartStore
from nncz.catalog.products import ModelSet, process_chunk
from nncz.catalog.sources import SURVEYS, SkyChunk, canonical
from nncz.io import atomic_write

__all__ = ["to_lsdb", "write_hats", "open_hats", "lsdb_sources", "run_catalog_lsdb"]

SUFFIX = {"ls": "_ls", "ps1": "_ps1", "unwise": "_unwise"}


def to_lsdb(table: pd.DataFrame, survey: str, cfg: CatalogConfig,
            partition_rows: int = 250_000):
    """An lsdb Catalog (with margin cache) of a survey table held in memory."""
    import lsdb

    _, ra, dec = SURVEYS[survey]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lsdb.from_dataframe(table, ra_column=ra, dec_column=dec,
                                   margin_threshold=cfg.margin_arcsec,
                                   partition_rows=partition_rows)


def write_hats(table: pd.DataFrame, survey: str, path: str | Path, cfg: CatalogConfig,
               partition_rows: int = 250_000) -> Path:
    """Write a survey table as a HATS collection (catalog + margin cache) at ``path``."""
    catalog = to_lsdb(table, survey, cfg, partition_rows)
    catalog.write_catalog(path, catalog_name=survey, overwrite=True, progress_bar=False)
    return Path(path)


def open_hats(path: str | Path, columns: list[str] | None = None):
    """Open a HATS catalog/collection written by :func:`write_hats` (or by hats-import)."""
    import lsdb

    return lsdb.open_catalog(path, columns=columns)


def lsdb_sources(ls_cat, ps1_cat, unwise_cat, cfg: CatalogConfig):
    """Lazy lsdb catalog of matched sources (one row per source, survey-suffixed columns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = ls_cat.crossmatch(ps1_cat, how="outer", n_neighbors=1,
                                  radius_arcsec=cfg.match_radius_arcsec,
                                  suffixes=(SUFFIX["ls"], SUFFIX["ps1"]),
                                  suffix_method="all_columns")
        pairs = pairs.rename(columns={"_dist_arcsec": "sep_ls_ps1"})
        return pairs.crossmatch(unwise_cat, how="left", n_neighbors=1,
                                radius_arcsec=cfg.unwise_radius_arcsec,
                                suffixes=("", SUFFIX["unwise"]), suffix_method="all_columns")


def sky_from_partition(df: pd.DataFrame) -> SkyChunk:
    """Rebuild a :class:`SkyChunk` from one partition of :func:`lsdb_sources`."""
    frames, index = {}, {}
    for survey, suffix in SUFFIX.items():
        id_col = SURVEYS[survey][0] + suffix
        present = df[id_col].notna().to_numpy()
        cols = [c for c in df.columns if c.endswith(suffix)]
        part = df.loc[present, cols]
        frames[survey] = canonical(part.rename(columns={c: c[: -len(suffix)] for c in cols}))
        idx = np.full(len(df), -1, dtype=np.int64)
        idx[present] = np.arange(int(present.sum()))
        index[survey] = idx
    ra = df["_ra"].to_numpy(dtype=np.float64, na_value=np.nan)
    dec = df["_dec"].to_numpy(dtype=np.float64, na_value=np.nan)
    return SkyChunk(frames["ls"], frames["ps1"], frames["unwise"], index["ls"], index["ps1"],
                    index["unwise"], ra, dec)


def _run_partition(df: pd.DataFrame, k: int, store: PartStore, models: ModelSet,
                   cfg: CatalogConfig) -> int:
    if store.is_done(k):
        return 0
    timings: dict[str, float] = {}
    result = process_chunk(sky_from_partition(df), models, cfg, timings)
    store.write(k, result, {"n_input": int(df[SURVEYS["ls"][0] + "_ls"].notna().sum()
                                           + df[SURVEYS["ps1"][0] + "_ps1"].notna().sum()),
                            "timings": timings})
    return len(df)


def run_catalog_lsdb(ls_cat, ps1_cat, unwise_cat, cfg: CatalogConfig, out_dir: str | Path,
                     models: ModelSet | None = None, scheduler: str | None = None,
                     n_workers: int = 2, formats: tuple[str, ...] = ("parquet", "fits"),
                     progress: bool = True) -> dict:
    """Catalog of three lsdb catalogs (with margins), partition-wise on Dask.

    Parameters
    ----------
    ls_cat, ps1_cat, unwise_cat : lsdb.Catalog
        From :func:`open_hats` or :func:`to_lsdb`; PS1 and unWISE need margin caches of at
        least 2x their match radius.
    cfg : CatalogConfig
    out_dir : str or Path
        Output directory (``work/parts_lsdb`` holds the partition parts; reruns skip them).
    models : ModelSet, optional
    scheduler : str, optional
        Dask ``distributed`` scheduler address; default: local threads.
    n_workers : int
        Local threads (ignored with ``scheduler``).
    formats, progress
        As :func:`nncz.catalog.stream.run_catalog`.

    Returns
    -------
    dict
        ``manifest`` (counts, timings) and ``files``.
    """
    import dask

    out_dir = Path(out_dir)
    models = models or ModelSet.load(cfg)
    t0 = time.perf_counter()
    sources = lsdb_sources(ls_cat, ps1_cat, unwise_cat, cfg)
    store = PartStore(out_dir / "work" / "parts_lsdb")
    parts = sources.to_delayed()
    tasks = [dask.delayed(_run_partition)(p, k, store, models, cfg) for k, p in enumerate(parts)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb's pandas-4 deprecation noise
        if scheduler:
            from distributed import Client

            with Client(scheduler) as client:
                dask.compute(*tasks, scheduler=client)
        else:
            with _progress(progress):
                dask.compute(*tasks, scheduler="threads", num_workers=n_workers)
    t_compute = time.perf_counter() - t0
    chunks = list(range(len(parts)))
    files = store.finalize(out_dir, chunks, models.grid.coarsen(cfg.pdf_bins),
                           models.provenance(cfg), formats)
    manifest = {**store.summary(chunks), "compute_s": t_compute,
                "wall_s": time.perf_counter() - t0, "n_partitions": len(parts)}
    text = json.dumps(manifest, indent=1, default=str)
    atomic_write(out_dir / "manifest.json", lambda temp: temp.write_text(text))
    return {"manifest": manifest, "files": {k: str(v) for k, v in files.items()}}


def _progress(enabled: bool):
    from contextlib import nullcontext

    if not enabled:
        return nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar()
