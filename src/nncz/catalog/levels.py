"""Five-level priority assignment: each source gets the best model its photometry allows.

Levels are tried in order 1 -> 5; a source takes the first configured level for which it has
the surveys the level needs and passes that level's quality cuts with usable model inputs (its
features and colour bands):

1. LSDR10 g r i z W1 W2 (native i, in practice the south);
2. LSDR10 g r z W1 W2 + PS1 i Kron (the LSDR10 north, ``photsys == level2_photsys``, where a
   PS1 counterpart with a valid i exists);
3. LSDR10 g r z W1 W2;
4. PS1 g r i z y + unWISE W1 W2 (sources without a usable LSDR10 measurement);
5. PS1 optical only (no valid unWISE counterpart).

A source in both surveys (1" match) therefore takes the LSDR10 levels first and falls to the
PS1 levels only when its LSDR10 photometry is unusable. Sources no level accepts get
priority 0 and are left out of the catalog (counted).

In ``surveys`` mode the cuts and magnitudes are those of :mod:`nncz.surveys` (the functions the
training sets of :mod:`nncz.datasets` use); in ``prebuilt`` mode the survey tables already hold
the model's columns and only finiteness and the model's bad-value test are checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from nncz.catalog.config import LEVELS, CatalogConfig
from nncz.catalog.sources import SkyChunk

__all__ = ["candidates", "level_features", "assign_levels"]

_LS_NOI_BANDS = ("g", "r", "z", "w1", "w2")


def candidates(sky: SkyChunk, level: int, cfg: CatalogConfig) -> np.ndarray:
    """Boolean mask (N,) of sources that have every survey ``level`` needs."""
    have = {"ls": sky.i_ls >= 0, "ps1": sky.i_ps1 >= 0, "unwise": sky.i_unwise >= 0}
    mask = np.ones(len(sky), dtype=bool)
    for survey in LEVELS[level].needs:
        mask &= have[survey]
    if level == 2 and cfg.level2_photsys is not None and "photsys" in sky.ls.columns:
        photsys = np.full(len(sky), "", dtype=object)
        has = sky.i_ls >= 0
        photsys[has] = sky.ls["photsys"].to_numpy()[sky.i_ls[has]]
        mask &= np.char.strip(photsys.astype(str)) == str(cfg.level2_photsys)
    return mask


def _finite_rows(table: pd.DataFrame) -> np.ndarray:
    values = table.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.isfinite(values).all(axis=1) if values.size else np.ones(len(table), bool)


def _prebuilt(sky: SkyChunk, level: int, rows: np.ndarray,
              columns: Sequence[str]) -> pd.DataFrame:
    parts = [sky.rows_of(s, rows) for s in LEVELS[level].needs]
    table = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"level {level} ({LEVELS[level].feature_set}): model column(s) "
                       f"{missing} not in the {'+'.join(LEVELS[level].needs)} tables; "
                       f"columns: {sorted(table.columns)}")
    return table[list(columns)]


ROW = "_nncz_row"  # source number carried through the survey cuts (they reset the index)


def _rows_of(sky: SkyChunk, survey: str, rows: np.ndarray) -> pd.DataFrame:
    table = sky.rows_of(survey, rows)
    return table.assign(**{ROW: rows})


def _by_row(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index(ROW, drop=True).rename_axis(None)


def _ls_selected(sky: SkyChunk, rows: np.ndarray, cfg: CatalogConfig) -> pd.DataFrame:
    from nncz.surveys import select_lsdr10

    return _by_row(select_lsdr10(_rows_of(sky, "ls", rows), feature_bands=_LS_NOI_BANDS,
                                 source="ls_dr10 (catalog)"))


def _ps1_selected(sky: SkyChunk, rows: np.ndarray, cfg: CatalogConfig) -> pd.DataFrame:
    from nncz.surveys import select_ps1

    return _by_row(select_ps1(_rows_of(sky, "ps1", rows), source="ps1_dr2 (catalog)",
                              ebv_column=cfg.ps1_ebv_column,
                              psf_kron_bands=cfg.ps1_psf_kron_bands))


def _selected(kind: str, sky: SkyChunk, rows: np.ndarray, cfg: CatalogConfig,
              cache: dict | None) -> pd.DataFrame:
    """LSDR10 (g r z W1 W2 cuts) or PS1 selection of ``rows``, computed once per chunk.

    The cuts of a row do not depend on the other rows, and the LSDR10 cuts of level 1 are those
    of level 3 plus a finite i (checked with the features), so one pass over every still
    unassigned source of the survey (``cache["priority"] == 0``) serves all later levels.
    """
    select = _ls_selected if kind == "ls" else _ps1_selected
    if cache is None:
        return select(sky, rows, cfg)
    if kind not in cache:
        index = sky.i_ls if kind == "ls" else sky.i_ps1
        cache[kind] = select(sky, np.flatnonzero((cache["priority"] == 0) & (index >= 0)), cfg)
    table = cache[kind]
    return table[table.index.isin(rows)]


def _surveys(sky: SkyChunk, level: int, rows: np.ndarray, cfg: CatalogConfig,
             cache: dict | None = None) -> pd.DataFrame:
    """Survey cuts + magnitudes, indexed by source; rows failing a cut are absent."""
    if level in (1, 2, 3):
        table = _selected("ls", sky, rows, cfg, cache)
        if level == 2:
            from nncz.surveys import select_ps1_band

            ps1_i = _by_row(select_ps1_band(_rows_of(sky, "ps1", table.index.to_numpy()), "i",
                                            "Kron", source="ps1_dr2 (catalog)",
                                            ebv_column=cfg.ps1_ebv_column))
            table = table.loc[ps1_i.index].assign(i_kron=ps1_i["i_kron"],
                                                  i_kron_err=ps1_i["i_kron_err"])
        return table
    table = _selected("ps1", sky, rows, cfg, cache)
    if level == 4:
        from nncz.surveys import select_unwise

        wise = _rows_of(sky, "unwise", table.index.to_numpy())
        wise = wise.rename(columns={c: "unwise_" + c for c in wise.columns if c != ROW})
        wise = _by_row(select_unwise(wise, source="unwise (catalog)", prefix="unwise_",
                                     ebv=table["ebv_ps1"].to_numpy()))
        table = pd.concat([table.loc[wise.index], wise[["w1", "w1_err", "w2", "w2_err"]]],
                          axis=1)
    return table


def level_features(sky: SkyChunk, level: int, rows: np.ndarray, columns: Sequence[str],
                   cfg: CatalogConfig, cache: dict | None = None,
                   bad_mask: Callable[[pd.DataFrame], np.ndarray] | None = None
                   ) -> tuple[np.ndarray, pd.DataFrame]:
    """Model input columns of ``level`` for the candidate sources ``rows``.

    ``columns`` are the columns the level model reads (``NNCEstimator.required_columns_``: its
    features, then its colour bands that are not features). ``bad_mask`` is the level model's
    own bad-value test (``NNCEstimator.bad_value_mask``, which covers its colours): a source
    with any bad value for this level's model (NaN, inf, a 99 sentinel, in a feature or in a
    colour band) is not given this level and falls to the next one, whatever the model's fill
    policy.

    Returns
    -------
    valid_rows : numpy.ndarray of int64
        The sources (subset of ``rows``, ascending) that pass the cuts with usable values.
    table : pandas.DataFrame
        Their ``columns``, in that order, one row per valid source.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return rows, pd.DataFrame(columns=list(columns), dtype=np.float64)
    if cfg.features == "prebuilt":
        table = _prebuilt(sky, level, rows, columns)
    else:
        table = _surveys(sky, level, rows, cfg, cache)
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise KeyError(f"level {level}: model column(s) {missing} are not built by "
                           f"nncz.surveys for feature set {cfg.feature_sets[level]!r}")
        table = table[list(columns)]
    usable = _finite_rows(table)
    if bad_mask is not None and len(table):
        usable &= ~np.asarray(bad_mask(table)).any(axis=1)
    table = table[usable].sort_index()
    return table.index.to_numpy(np.int64), table.reset_index(drop=True)


def assign_levels(sky: SkyChunk, columns_of: dict[int, Sequence[str]], cfg: CatalogConfig,
                  use_cache: bool = True,
                  bad_mask_of: dict[int, Callable[[pd.DataFrame], np.ndarray]] | None = None
                  ) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, pd.DataFrame]]]:
    """Priority level of every source and the columns each level's model will read.

    Parameters
    ----------
    sky : SkyChunk
        N matched sources.
    columns_of : dict[int, list of str]
        The columns each configured level's model reads (its ``required_columns_``).
    cfg : CatalogConfig
    use_cache : bool
        Run each survey's cuts once per chunk (False: once per level; same result).
    bad_mask_of : dict[int, callable], optional
        Each level model's bad-value test (see :func:`level_features`).

    Returns
    -------
    priority : numpy.ndarray of int8, shape (N,)
        1-5, or 0 where no configured level accepts the source.
    per_level : dict[int, (rows, features)]
        Sources of each level (ascending) and their table of those columns.
    """
    priority = np.zeros(len(sky), dtype=np.int8)
    per_level = {}
    cache = {"priority": priority} if use_cache else None  # sees the levels as they fill
    for level in sorted(columns_of):
        open_rows = np.flatnonzero((priority == 0) & candidates(sky, level, cfg))
        rows, table = level_features(sky, level, open_rows, columns_of[level], cfg, cache,
                                     (bad_mask_of or {}).get(level))
        priority[rows] = level
        per_level[level] = (rows, table)
    return priority, per_level
