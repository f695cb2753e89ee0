"""Survey footprints on the sky (simple cuts in declination, RA and Galactic latitude).

The footprints are deliberately simple approximations of the real ones, with areas close to the
published ones (see :func:`footprint_areas`):

- LSDR10: |b| > 22 deg and -35 < dec < 84 (~21,000 deg^2); north (BASS/MzLS, ``photsys`` N) where
  dec > 32.375 in the northern Galactic cap, south (DECam) elsewhere;
- PS1: dec > -30 (3/4 of the sky); unWISE: the whole sky;
- DESI DR1 (~9,300 deg^2): part of the LS footprint with dec > -5 (NGC 130 < RA < 250, SGC
  RA > 320 or < 35, dec < 25);
- SDSS spectroscopy (~10,000 deg^2): the legacy NGC region (b > 32, -5 < dec < 65) plus the
  BOSS SGC (b < -35, -10 < dec < 35).
"""

from __future__ import annotations

import numpy as np

#: ICRS -> Galactic rotation matrix (Hipparcos definition; as astropy).
_ICRS_TO_GAL = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669],
])
NORTH_DEC_MIN = 32.375
#: obliquity of the ecliptic (J2000) [deg]
OBLIQUITY = 23.4393
#: median of 1 / cos(ecliptic latitude) over the LS footprint (:func:`wise_coverage` = 1 there)
_MEDIAN_SEC_BETA = 1.075


def _unit(lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _angles(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(np.arctan2(v[1], v[0])) % 360.0
    lat = np.degrees(np.arcsin(np.clip(v[2], -1.0, 1.0)))
    return lon, lat


def icrs_to_galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic (l, b) [deg] of ICRS (ra, dec) [deg], arrays of shape (N,)."""
    return _angles(_ICRS_TO_GAL @ _unit(ra, dec))


def galactic_to_icrs(gl: np.ndarray, gb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (ra, dec) [deg] of Galactic (l, b) [deg]."""
    return _angles(_ICRS_TO_GAL.T @ _unit(gl, gb))


def uniform_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` positions uniform on the sphere: (ra, dec) [deg]."""
    return rng.uniform(0.0, 360.0, n), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))


def star_sky(rng: np.random.Generator, n: int, scale: float = 0.25,
             floor: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Star positions with density ~ exp(-|sin b| / scale) + floor (concentrated to the plane)."""
    out_s: list[np.ndarray] = []
    while sum(len(s) for s in out_s) < n:
        s = rng.uniform(-1.0, 1.0, 2 * n)
        acc = rng.uniform(0.0, 1.0 + floor, 2 * n) < np.exp(-np.abs(s) / scale) + floor
        out_s.append(s[acc])
    sinb = np.concatenate([np.zeros(0), *out_s])[:n]
    return galactic_to_icrs(rng.uniform(0.0, 360.0, n), np.degrees(np.arcsin(sinb)))


def ecliptic_latitude(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Ecliptic latitude beta [deg] of ICRS (ra, dec) [deg]."""
    ra_r, dec_r, eps = np.radians(ra), np.radians(dec), np.radians(OBLIQUITY)
    sin_beta = np.sin(dec_r) * np.cos(eps) - np.cos(dec_r) * np.sin(eps) * np.sin(ra_r)
    return np.degrees(np.arcsin(np.clip(sin_beta, -1.0, 1.0)))


def wise_coverage(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Relative number of WISE exposures at (ra, dec), 1 at the median of the LS footprint.

    WISE scans great circles through the ecliptic poles, so the exposures per position grow as
    1 / cos(beta) (capped at 20x near the poles); the unWISE coadds are deepest there (depth
    + 1.25 log10(coverage) mag). Median over the LS footprint: 1; 10% of it >= 1.9.
    """
    sec_beta = 1.0 / np.maximum(np.cos(np.radians(ecliptic_latitude(ra, dec))), 0.05)
    return sec_beta / _MEDIAN_SEC_BETA


def in_ls(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Legacy Surveys DR10 footprint mask (N,) bool."""
    _, b = icrs_to_galactic(ra, dec)
    return (np.abs(b) > 22.0) & (dec > -35.0) & (dec < 84.0)


def ls_photsys(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """``'N'`` (BASS/MzLS) or ``'S'`` (DECam) for each position (meaningful inside LS)."""
    _, b = icrs_to_galactic(ra, dec)
    return np.where((dec > NORTH_DEC_MIN) & (b > 0), "N", "S")


def in_ps1(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """PS1 3pi footprint: dec > -30."""
    return np.asarray(dec) > -30.0


def in_desi_dr1(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """DESI DR1 spectroscopic footprint (subset of LS)."""
    _, b = icrs_to_galactic(ra, dec)
    ngc = (b > 0) & (ra > 130.0) & (ra < 250.0) & (dec > -5.0)
    sgc = (b < 0) & ((ra > 320.0) | (ra < 35.0)) & (dec > -5.0) & (dec < 25.0)
    return in_ls(ra, dec) & (ngc | sgc)


def in_sdss(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """SDSS/BOSS/eBOSS spectroscopic footprint."""
    _, b = icrs_to_galactic(ra, dec)
    ngc = (b > 32.0) & (dec > -5.0) & (dec < 65.0)
    sgc = (b < -35.0) & (dec > -10.0) & (dec < 35.0)
    return ngc | sgc


def footprint_areas(n: int = 400_000, seed: int = 0) -> dict[str, float]:
    """Monte-Carlo areas [deg^2] of the footprints (for documentation and tests)."""
    rng = np.random.default_rng(seed)
    ra, dec = uniform_sky(rng, n)
    full = 4 * np.pi * (180 / np.pi) ** 2
    ls = in_ls(ra, dec)
    north = ls & (ls_photsys(ra, dec) == "N")
    masks = {"ls": ls, "ls_north": north, "ls_south": ls & ~north, "ps1": in_ps1(ra, dec),
             "desi_dr1": in_desi_dr1(ra, dec), "sdss": in_sdss(ra, dec)}
    return {k: float(m.mean() * full) for k, m in masks.items()}
