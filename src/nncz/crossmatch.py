"""Positional cross-matching on the sphere (in memory, vectorised).

Nearest neighbour within a radius (default 1 arcsec) using a k-d tree on unit vectors: the
chord length between unit vectors is monotonic in the angular separation, so a Euclidean
nearest-neighbour query is an exact angular one, with no RA wrap-around or pole problems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["MatchResult", "radec_to_xyz", "match_sky", "match_tables", "join_matched"]

ARCSEC_RAD = np.pi / (180.0 * 3600.0)


def radec_to_xyz(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Unit vectors of sky positions.

    Parameters
    ----------
    ra_deg, dec_deg : array_like, shape (N,)
        Right ascension and declination [deg].

    Returns
    -------
    numpy.ndarray, shape (N, 3)
    """
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.column_stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)])


@dataclass
class MatchResult:
    """Result of matching N left positions to a right catalogue.

    Attributes
    ----------
    index : numpy.ndarray of int64, shape (N,)
        Row of the nearest right object within the radius; -1 where none.
    sep_arcsec : numpy.ndarray of float64, shape (N,)
        Separation to that object [arcsec]; NaN where unmatched.
    n_candidates : numpy.ndarray of int64, shape (N,)
        Number of right objects within the radius.
    radius_arcsec : float
        Match radius [arcsec].
    """

    index: np.ndarray
    sep_arcsec: np.ndarray
    n_candidates: np.ndarray
    radius_arcsec: float

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask (N,) of left rows that have a counterpart."""
        return self.index >= 0

    @property
    def n_matched(self) -> int:
        """Number of left rows with a counterpart."""
        return int(self.matched.sum())

    @property
    def n_multiple(self) -> int:
        """Number of left rows with more than one candidate within the radius."""
        return int((self.n_candidates > 1).sum())

    @property
    def n_shared(self) -> int:
        """Number of left rows whose nearest right object is also nearest to another left row."""
        idx = self.index[self.matched]
        _, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
        return int((counts[inverse] > 1).sum())

    def summary(self) -> dict[str, float]:
        """Counts: n_left, n_matched, n_unmatched, n_multiple, n_shared, radius_arcsec."""
        n = len(self.index)
        return {"n_left": n, "n_matched": self.n_matched, "n_unmatched": n - self.n_matched,
                "n_multiple": self.n_multiple, "n_shared": self.n_shared,
                "radius_arcsec": float(self.radius_arcsec)}


def match_sky(ra1: np.ndarray, dec1: np.ndarray, ra2: np.ndarray, dec2: np.ndarray,
              radius_arcsec: float = 1.0) -> MatchResult:
    """Nearest right-hand neighbour of each left-hand position within ``radius_arcsec``.

    Parameters
    ----------
    ra1, dec1 : array_like, shape (N,)
        Left positions [deg].
    ra2, dec2 : array_like, shape (M,)
        Right positions [deg].
    radius_arcsec : float
        Match radius [arcsec].

    Returns
    -------
    MatchResult
        Non-finite positions (either side) never match.
    """
    if radius_arcsec <= 0:
        raise ValueError(f"radius_arcsec must be > 0, got {radius_arcsec}")
    xyz1, xyz2 = radec_to_xyz(ra1, dec1), radec_to_xyz(ra2, dec2)
    n1 = len(xyz1)
    index = np.full(n1, -1, dtype=np.int64)
    sep = np.full(n1, np.nan)
    ncand = np.zeros(n1, dtype=np.int64)
    good1 = np.isfinite(xyz1).all(axis=1)
    good2 = np.flatnonzero(np.isfinite(xyz2).all(axis=1))
    if good1.any() and len(good2):
        chord = 2.0 * np.sin(0.5 * radius_arcsec * ARCSEC_RAD)
        tree = cKDTree(xyz2[good2])
        q = xyz1[good1]
        dist, j = tree.query(q, k=1, distance_upper_bound=chord)
        hit = np.isfinite(dist)
        rows = np.flatnonzero(good1)
        index[rows[hit]] = good2[j[hit]]
        sep[rows[hit]] = 2.0 * np.arcsin(np.clip(dist[hit] / 2.0, 0, 1)) / ARCSEC_RAD
        if hit.any():
            ncand[rows[hit]] = tree.query_ball_point(q[hit], r=chord, return_length=True)
        _break_ties(index, sep, ncand, xyz1, xyz2, tree, good2, chord)
    return MatchResult(index, sep, ncand, float(radius_arcsec))


def _break_ties(index: np.ndarray, sep: np.ndarray, ncand: np.ndarray, xyz1: np.ndarray,
                xyz2: np.ndarray, tree: cKDTree, good2: np.ndarray, chord: float) -> None:
    """Among several candidates take the nearest, and at equal separation the first right row.

    The k-d tree's choice between equidistant candidates depends on how the tree was built, so
    the same pair of rows could match differently in two chunkings of a catalog; here the
    choice depends only on the separations and the right rows' order (updated in place).
    """
    multi = np.flatnonzero(ncand > 1)
    if not len(multi):
        return
    for i, cands in zip(multi, tree.query_ball_point(xyz1[multi], r=chord), strict=True):
        rows = good2[np.asarray(cands, dtype=np.int64)]
        dist = np.sqrt(((xyz2[rows] - xyz1[i]) ** 2).sum(axis=1))
        best = rows[np.lexsort((rows, dist))[0]]
        index[i] = best
        d = float(np.sqrt(((xyz2[best] - xyz1[i]) ** 2).sum()))
        sep[i] = 2.0 * np.arcsin(min(d / 2.0, 1.0)) / ARCSEC_RAD


def match_tables(left: pd.DataFrame, right: pd.DataFrame, radius_arcsec: float = 1.0,
                 left_radec: tuple[str, str] = ("ra", "dec"),
                 right_radec: tuple[str, str] = ("ra", "dec")) -> MatchResult:
    """:func:`match_sky` on the position columns of two tables (see there)."""
    return match_sky(left[left_radec[0]].to_numpy(), left[left_radec[1]].to_numpy(),
                     right[right_radec[0]].to_numpy(), right[right_radec[1]].to_numpy(),
                     radius_arcsec)


def join_matched(left: pd.DataFrame, right: pd.DataFrame, match: MatchResult,
                 sep_column: str = "sep_arcsec") -> pd.DataFrame:
    """Matched left rows side by side with their right counterparts.

    Parameters
    ----------
    left, right : pandas.DataFrame
        The tables given to the match (N and M rows).
    match : MatchResult
        Result of matching ``left`` to ``right``.
    sep_column : str
        Name of the separation column added [arcsec].

    Returns
    -------
    pandas.DataFrame
        One row per matched left row; right columns whose names clash with left ones are dropped
        (the left table wins, e.g. its ``ra``/``dec``).
    """
    keep = match.matched
    lhs = left.loc[keep].reset_index(drop=True)
    cols = [c for c in right.columns if c not in lhs.columns]
    rhs = right.iloc[match.index[keep]][cols].reset_index(drop=True)
    out = pd.concat([lhs, rhs], axis=1)
    out[sep_column] = match.sep_arcsec[keep]
    return out
