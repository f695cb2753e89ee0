"""Merge the SDSS and DESI samples: 1" cross-match, conflict rejection, best redshift kept.

For each SDSS row, its nearest DESI row within the radius forms a pair. A pair whose redshifts
differ by more than ``dz_max`` (0.005) is unreliable: both rows are dropped. Otherwise the row
with the smaller redshift error is kept (DESI on an exact tie: the newer, deeper spectrum), and
the DESI target class/bits/TARGETID of the pair are carried onto a kept SDSS row, because the
class describes how the object was targeted, not which spectrum is kept. A row in several pairs
survives only if it wins all of them and none conflicts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.crossmatch import match_sky
from nncz.funnel import Funnel

__all__ = ["SPEC_COLUMNS", "merge_spec"]

SPEC_COLUMNS: tuple[str, ...] = ("spec_id", "ra", "dec", "z_spec", "zerr", "survey",
                                 "sdss_survey", "desi_class", "desi_targets", "specObjID",
                                 "TARGETID")


def merge_spec(sdss: pd.DataFrame, desi: pd.DataFrame, radius_arcsec: float = 1.0,
               dz_max: float = 0.005, funnel: Funnel | None = None,
               stage: str = "merge") -> pd.DataFrame:
    """One spectroscopic table from the selected SDSS and DESI samples.

    Parameters
    ----------
    sdss, desi : pandas.DataFrame
        Outputs of :func:`nncz.spec.select_sdss` / :func:`nncz.spec.select_desi` (N_s, N_d rows).
    radius_arcsec : float
        Match radius [arcsec].
    dz_max : float
        Pairs with ``|z_sdss - z_desi| > dz_max`` are both dropped.
    funnel : Funnel, optional
        Receives the merge steps and the match counts (in ``notes``).
    stage : str
        Stage name in the funnel.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SPEC_COLUMNS`; SDSS rows first, then DESI rows.
    """
    funnel = funnel if funnel is not None else Funnel(stage)
    sdss = sdss.reset_index(drop=True)
    desi = desi.reset_index(drop=True)
    n_s, n_d = len(sdss), len(desi)
    funnel.start(stage, n_s + n_d, "SDSS + DESI selected rows")
    m = match_sky(sdss["ra"], sdss["dec"], desi["ra"], desi["dec"], radius_arcsec)
    funnel.notes["sdss_x_desi"] = m.summary()
    i = np.flatnonzero(m.matched)
    j = m.index[i]
    zs, zd = sdss["z_spec"].to_numpy()[i], desi["z_spec"].to_numpy()[j]
    conflict = np.abs(zs - zd) > dz_max
    sdss_wins = sdss["zerr"].to_numpy()[i] < desi["zerr"].to_numpy()[j]

    drop_s = np.zeros(n_s, dtype=bool)
    drop_d = np.zeros(n_d, dtype=bool)
    drop_s[i[conflict]] = True
    drop_d[j[conflict]] = True
    n_after_conflict = n_s + n_d - drop_s.sum() - drop_d.sum()
    funnel.record(stage, f"drop SDSS-DESI pairs with |dz| > {dz_max:g}", n_s + n_d,
                  n_after_conflict)
    lose_s = np.zeros(n_s, dtype=bool)
    lose_d = np.zeros(n_d, dtype=bool)
    lose_s[i[~conflict & ~sdss_wins]] = True
    lose_d[j[~conflict & sdss_wins]] = True
    lose_s &= ~drop_s
    lose_d &= ~drop_d
    funnel.record(stage, f"duplicates within {radius_arcsec:g}\": keep smaller zerr",
                  n_after_conflict, n_after_conflict - lose_s.sum() - lose_d.sum())

    # carry the DESI targeting of the pair onto a kept SDSS row
    sdss = sdss.copy()
    win = ~conflict & sdss_wins
    for col in ("desi_class", "desi_targets", "TARGETID"):
        values = sdss[col].to_numpy().copy()
        values[i[win]] = desi[col].to_numpy()[j[win]]
        sdss[col] = values
    keep_s = ~(drop_s | lose_s)
    keep_d = ~(drop_d | lose_d)
    parts = [sdss.loc[keep_s, list(SPEC_COLUMNS)], desi.loc[keep_d, list(SPEC_COLUMNS)]]
    return pd.concat(parts, ignore_index=True)
