"""The rows of a catalog: LSDR10 x PS1 x unWISE sources matched on the sky.

Matching rules (the same on every path: in memory, streamed by declination stripes, lsdb):

- every LSDR10 row takes its nearest PS1 row within ``match_radius_arcsec`` (1") as its
  counterpart; a PS1 row may serve two LSDR10 rows (a blend; counted as ``n_shared``);
- every PS1 row claimed by no LSDR10 row becomes a source of its own (PS1 only);
- a source's position is its LSDR10 position if it has one, else its PS1 position; its unWISE
  counterpart is the nearest unWISE row to that position within ``unwise_radius_arcsec``.

A :class:`SkyChunk` keeps each survey's rows once (``ls``, ``ps1``, ``unwise`` frames) and, per
source, the row of each survey (-1 where absent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nncz.crossmatch import match_sky

__all__ = ["SURVEYS", "SkyChunk", "canonical", "match_surveys", "empty_survey"]

#: survey -> (id column, ra column, dec column)
SURVEYS: dict[str, tuple[str, str, str]] = {
    "ls": ("ls_id", "ra", "dec"),
    "ps1": ("objID", "raMean", "decMean"),
    "unwise": ("unwise_objid", "ra", "dec"),
}


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy dtypes (float64, int64, bool, object str), a fresh 0..N-1 index.

    Every path converts its input this way before computing features, so the same rows give
    bit-identical features whether they came from FITS, Parquet or an lsdb partition.
    """
    out = {}
    for name in df.columns:
        col = df[name]
        kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else None
        if kind is None:  # pandas extension / pyarrow dtypes
            text = str(col.dtype).lower()
            if "bool" in text:
                kind = "b"
            elif "int" in text:
                kind = "i"
            elif "float" in text or "double" in text:
                kind = "f"
            else:
                kind = "O"
        if kind == "f":
            out[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        elif kind in "iu":
            out[name] = col.to_numpy(dtype=np.int64, na_value=-1)
        elif kind == "b":
            out[name] = col.to_numpy(dtype=bool, na_value=False)
        else:
            out[name] = np.asarray(col.astype(str).to_numpy(), dtype=object)
    return pd.DataFrame(out)


def empty_survey(columns: list[str]) -> pd.DataFrame:
    """A zero-row survey frame with float64 columns."""
    return pd.DataFrame({c: np.empty(0) for c in columns})


@dataclass
class SkyChunk:
    """Matched sources of a piece of sky.

    Attributes
    ----------
    ls, ps1, unwise : pandas.DataFrame
        Each survey's rows (canonical dtypes, index 0..M-1).
    i_ls, i_ps1, i_unwise : numpy.ndarray of int64, shape (N,)
        Row of each survey per source, -1 where absent.
    ra, dec : numpy.ndarray of float64, shape (N,)
        Source positions [deg].
    """

    ls: pd.DataFrame
    ps1: pd.DataFrame
    unwise: pd.DataFrame
    i_ls: np.ndarray
    i_ps1: np.ndarray
    i_unwise: np.ndarray
    ra: np.ndarray
    dec: np.ndarray

    def __len__(self) -> int:
        return len(self.i_ls)

    def subset(self, rows: np.ndarray) -> SkyChunk:
        """The sources ``rows`` (survey frames are shared, not copied)."""
        return SkyChunk(self.ls, self.ps1, self.unwise, self.i_ls[rows], self.i_ps1[rows],
                        self.i_unwise[rows], self.ra[rows], self.dec[rows])

    def rows_of(self, survey: str, rows: np.ndarray) -> pd.DataFrame:
        """Survey columns of the sources ``rows`` (all must be present), indexed by ``rows``."""
        frame, index = {"ls": (self.ls, self.i_ls), "ps1": (self.ps1, self.i_ps1),
                        "unwise": (self.unwise, self.i_unwise)}[survey]
        out = frame.iloc[index[rows]]
        out.index = rows
        return out

    def ids(self) -> pd.DataFrame:
        """``ls_id``, ``ps1_objid`` (-1 where absent), ``unwise_objid`` ('' where absent)."""
        def take(frame: pd.DataFrame, col: str, index: np.ndarray, fill):
            values = frame[col].to_numpy() if len(frame) else np.empty(0, dtype=type(fill))
            out = np.full(len(index), fill, dtype=object if isinstance(fill, str) else np.int64)
            out[index >= 0] = values[index[index >= 0]]
            return out

        return pd.DataFrame({"ls_id": take(self.ls, "ls_id", self.i_ls, -1),
                             "ps1_objid": take(self.ps1, "objID", self.i_ps1, -1),
                             "unwise_objid": take(self.unwise, "unwise_objid", self.i_unwise, "")})

    @property
    def n_shared(self) -> int:
        """Sources whose PS1 counterpart (same objID) also serves another LSDR10 source."""
        both = (self.i_ls >= 0) & (self.i_ps1 >= 0)
        if not both.any():
            return 0
        _, counts = np.unique(self.ps1["objID"].to_numpy()[self.i_ps1[both]],
                              return_counts=True)
        return int(counts[counts > 1].sum())


def _radec(frame: pd.DataFrame, survey: str) -> tuple[np.ndarray, np.ndarray]:
    _, ra, dec = SURVEYS[survey]
    if not len(frame):
        return np.empty(0), np.empty(0)
    return frame[ra].to_numpy(np.float64), frame[dec].to_numpy(np.float64)


def match_surveys(ls: pd.DataFrame, ps1: pd.DataFrame, unwise: pd.DataFrame,
                  match_radius_arcsec: float = 1.0,
                  unwise_radius_arcsec: float = 1.0) -> SkyChunk:
    """Match the three surveys in memory (rules in the module docstring).

    Parameters
    ----------
    ls, ps1, unwise : pandas.DataFrame
        Rows of each survey with the columns of :data:`SURVEYS` (already :func:`canonical`).
    match_radius_arcsec, unwise_radius_arcsec : float
        Radii [arcsec].

    Returns
    -------
    SkyChunk
        LSDR10 sources first (input order), then PS1-only sources (input order).
    """
    ls_ra, ls_dec = _radec(ls, "ls")
    ps_ra, ps_dec = _radec(ps1, "ps1")
    match = match_sky(ls_ra, ls_dec, ps_ra, ps_dec, match_radius_arcsec)
    claimed = np.zeros(len(ps1), dtype=bool)
    claimed[match.index[match.matched]] = True
    ps1_only = np.flatnonzero(~claimed)
    i_ls = np.concatenate([np.arange(len(ls)), np.full(len(ps1_only), -1)]).astype(np.int64)
    i_ps1 = np.concatenate([match.index, ps1_only]).astype(np.int64)
    ra = np.concatenate([ls_ra, ps_ra[ps1_only]])
    dec = np.concatenate([ls_dec, ps_dec[ps1_only]])
    uw_ra, uw_dec = _radec(unwise, "unwise")
    i_unwise = match_sky(ra, dec, uw_ra, uw_dec, unwise_radius_arcsec).index
    return SkyChunk(ls, ps1, unwise, i_ls, i_ps1, i_unwise.astype(np.int64), ra, dec)
