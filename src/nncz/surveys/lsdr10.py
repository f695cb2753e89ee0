"""Legacy Surveys DR10 (tractor/sweep columns): quality cuts, magnitudes, dereddening.

Cuts (in this order, each recorded in the funnel):

1. ``type != 'PSF'`` (point sources are dropped; the galaxy method),
2. ``brick_primary``,
3. ``fracflux < 0.5``, ``fracmasked < 0.4``, ``fracin > 0.3`` in g r i z. The i band is tested
   only where it was observed (``nobs_i > 0``, or ``flux_ivar_i > 0`` when ``nobs_i`` is absent):
   DR10 carries the DR9 north (BASS/MzLS, ``release`` 9010) without i, where the archive stores
   0 for the i-band fractions, which would otherwise fail ``fracin_i > 0.3``.
4. S/N >= 5 in g r z W1 W2,
5. a valid magnitude and S/N in every band of the feature set (flux > 0, flux_ivar > 0, finite
   transmission).

The redshift range 0.001 < z < 2 is applied by :mod:`nncz.datasets` to matched rows.

Output columns (see ``featuresets.yaml``): ``mag_<b>`` (AB, dereddened), ``magerr_<b>`` =
1.0857 / (S/N), ``snr_<b>`` for b in g r i z w1 w2, plus ``ls_id``, ``ra``, ``dec``, ``photsys``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys._util import as_bool, as_str, flux_to_mag, num, require, snr_to_magerr
from nncz.surveys.dust import LS_COEFFS

__all__ = ["LS_BANDS", "FRAC_BANDS", "SNR_BANDS", "Z_RANGE", "FRAC_CUTS", "required_columns",
           "optional_columns", "select_lsdr10", "ls_magnitudes", "ensure_ls_id"]

LS_BANDS: tuple[str, ...] = ("g", "r", "i", "z", "w1", "w2")
FRAC_BANDS: tuple[str, ...] = ("g", "r", "i", "z")
SNR_BANDS: tuple[str, ...] = ("g", "r", "z", "w1", "w2")
Z_RANGE: tuple[float, float] = (0.001, 2.0)
#: (column prefix, comparison, threshold)
FRAC_CUTS: tuple[tuple[str, str, float], ...] = (
    ("fracflux", "<", 0.5), ("fracmasked", "<", 0.4), ("fracin", ">", 0.3))
ID_COLUMNS: tuple[str, ...] = ("ls_id", "ra", "dec")


def required_columns() -> list[str]:
    """Columns the LSDR10 stage needs (transmissions/``ebv``: see :func:`optional_columns`)."""
    cols = [*ID_COLUMNS, "type", "brick_primary"]
    cols += [f"{p}_{b}" for b in LS_BANDS for p in ("flux", "flux_ivar")]
    cols += [f"{p}_{b}" for p, _, _ in FRAC_CUTS for b in FRAC_BANDS]
    return cols


def optional_columns() -> list[str]:
    """Columns used when present: transmissions, ``ebv``, ``nobs_i``, ``photsys``, ``release``."""
    return [*(f"mw_transmission_{b}" for b in LS_BANDS), "ebv", "nobs_i", "photsys", "release"]


def ensure_ls_id(df: pd.DataFrame, source: str = "ls_dr10") -> pd.DataFrame:
    """Add ``ls_id`` = release << 40 | brickid << 16 | objid (the Data Lab definition) if absent.

    Sweep files carry ``release``, ``brickid``, ``objid`` but not ``ls_id``.
    """
    if "ls_id" in df.columns:
        return df
    require(df, ["release", "brickid", "objid"], source + " (no ls_id column)")
    ls_id = ((df["release"].to_numpy().astype(np.int64) << 40)
             | (df["brickid"].to_numpy().astype(np.int64) << 16)
             | df["objid"].to_numpy().astype(np.int64))
    return df.assign(ls_id=ls_id)


def _i_observed(df: pd.DataFrame) -> np.ndarray:
    """Rows where the i band was observed (DR10 south); False in the DR9 north."""
    if "nobs_i" in df.columns:
        return np.nan_to_num(num(df, "nobs_i")) > 0
    return np.nan_to_num(num(df, "flux_ivar_i")) > 0


def _frac_mask(df: pd.DataFrame, prefix: str, op: str, thr: float) -> np.ndarray:
    keep = np.ones(len(df), dtype=bool)
    i_obs = _i_observed(df)
    for b in FRAC_BANDS:
        x = num(df, f"{prefix}_{b}")
        ok = x < thr if op == "<" else x > thr
        keep &= (ok | ~i_obs) if b == "i" else ok
    return keep


def ls_magnitudes(df: pd.DataFrame, bands: Sequence[str] = LS_BANDS,
                  dust: str = "auto") -> pd.DataFrame:
    """Dereddened AB magnitudes, errors and S/N from fluxes [nanomaggies].

    Parameters
    ----------
    df : pandas.DataFrame
        N rows with ``flux_<b>``, ``flux_ivar_<b>`` and ``mw_transmission_<b>`` or ``ebv``.
    bands : sequence of str
        Bands among g r i z w1 w2.
    dust : {"auto", "mw_transmission", "ebv", "none"}
        ``auto`` uses ``mw_transmission_<b>`` when present, else ``ebv`` x :data:`LS_COEFFS`.

    Returns
    -------
    pandas.DataFrame, N rows
        ``mag_<b>`` (NaN where flux <= 0), ``magerr_<b>`` = 1.0857 / snr, ``snr_<b>``.
    """
    out = {}
    for b in bands:
        flux, ivar = num(df, f"flux_{b}"), num(df, f"flux_ivar_{b}")
        snr = flux * np.sqrt(np.where(ivar > 0, ivar, np.nan))
        mag = flux_to_mag(flux)
        mode = dust
        if mode == "auto":
            mode = "mw_transmission" if f"mw_transmission_{b}" in df.columns else "ebv"
        if mode == "mw_transmission":
            trans = num(df, f"mw_transmission_{b}")
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = mag + 2.5 * np.log10(np.where(trans > 0, trans, np.nan))
        elif mode == "ebv":
            if "ebv" not in df.columns:
                raise KeyError(f"LSDR10 dereddening needs mw_transmission_{b} or ebv")
            mag = mag - LS_COEFFS[b] * num(df, "ebv")
        elif mode != "none":
            raise ValueError(f"dust must be auto/mw_transmission/ebv/none, got {dust!r}")
        out[f"mag_{b}"] = mag
        out[f"magerr_{b}"] = snr_to_magerr(snr)
        out[f"snr_{b}"] = snr
    return pd.DataFrame(out, index=df.index)


def select_lsdr10(df: pd.DataFrame, feature_bands: Sequence[str] = LS_BANDS,
                  funnel: Funnel | None = None, source: str = "ls_dr10",
                  stage: str = "lsdr10", snr_min: float = 5.0,
                  dust: str = "auto", snr_bands: Sequence[str] = SNR_BANDS) -> pd.DataFrame:
    """Apply the LSDR10 quality cuts and compute dereddened magnitudes.

    Parameters
    ----------
    df : pandas.DataFrame
        LSDR10 rows (any extra columns, e.g. spectroscopic ones after a match, are kept).
    feature_bands : sequence of str
        Bands whose magnitude/S/N must be valid (those of the feature set).
    funnel : Funnel, optional
        Receives one step per cut.
    source : str
        File name used in error messages.
    stage : str
        Stage name in the funnel.
    snr_min : float
        Minimum S/N in each of ``snr_bands``.
    dust : str
        See :func:`ls_magnitudes`.
    snr_bands : sequence of str
        Bands held to ``snr_min`` (the method: g r z W1 W2).

    Returns
    -------
    pandas.DataFrame
        Surviving rows with ``mag_<b>``, ``magerr_<b>``, ``snr_<b>`` for all six bands added
        (columns of those names already present are replaced).
    """
    require(df, required_columns(), source)
    if dust in ("auto", "mw_transmission") and not all(
            f"mw_transmission_{b}" in df.columns for b in LS_BANDS):
        if dust == "mw_transmission" or "ebv" not in df.columns:
            require(df, [f"mw_transmission_{b}" for b in LS_BANDS], source)
    funnel = funnel if funnel is not None else Funnel(stage)
    df = funnel.apply(df, as_str(df["type"]).str.upper() != "PSF", "type != PSF", stage)
    df = funnel.apply(df, as_bool(df["brick_primary"]), "brick_primary", stage)
    for prefix, op, thr in FRAC_CUTS:
        df = funnel.apply(df, _frac_mask(df, prefix, op, thr),
                          f"{prefix} {op} {thr} in g r z (+ i where observed)", stage)
    mags = ls_magnitudes(df, LS_BANDS, dust)
    keep = np.ones(len(df), dtype=bool)
    unknown = [b for b in snr_bands if b not in LS_BANDS]
    if unknown:
        raise ValueError(f"snr_bands {unknown} not among the LSDR10 bands {LS_BANDS}")
    for b in snr_bands:
        keep &= mags[f"snr_{b}"].to_numpy() >= snr_min
    df = df.drop(columns=[c for c in mags.columns if c in df.columns])
    df = pd.concat([df, mags], axis=1)
    df = funnel.apply(df, keep, f"S/N >= {snr_min:g} in {' '.join(snr_bands)}", stage)
    keep = np.ones(len(df), dtype=bool)
    for b in feature_bands:
        keep &= np.isfinite(df[f"mag_{b}"].to_numpy()) & np.isfinite(df[f"magerr_{b}"].to_numpy())
    return funnel.apply(df, keep, f"valid mag and S/N in {' '.join(feature_bands)}", stage)
