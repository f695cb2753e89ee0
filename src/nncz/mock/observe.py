"""Observe the mock sources: Legacy Surveys DR10, PS1 DR2 and unWISE catalogues.

Noise follows each survey's 5-sigma point-source depth (:data:`LS_DEPTH`, :data:`PS1_DEPTH`,
:data:`UNWISE_DEPTH`), degraded for extended sources by the noise-equivalent area, varying with
the number of exposures (for W1/W2 growing towards the ecliptic poles,
:func:`nncz.mock.footprints.wise_coverage`; the depths are the footprint medians), plus a hidden
fractional scatter (:data:`SYS_FRAC`) that stands for the model/calibration errors real
catalogues do not report. Galactic extinction is SFD E(B-V) times the published A/E(B-V)
coefficients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.mock import photometry as ph
from nncz.mock.footprints import in_ls, ls_photsys, wise_coverage
from nncz.surveys.dust import LS_COEFFS

#: LSDR10 5-sigma point-source depths [AB]. South g r z W1 W2: issue 3 (DR10 medians); DECam i
#: 23.5: DELVE DR2 median i-band depth (Drlica-Wagner et al. 2022), the bulk of the DR10 i data.
#: North (BASS/MzLS, DR9): Dey et al. (2019) design depths g 24.0, r 23.4, z 22.9.
LS_DEPTH = {"S": {"g": 24.7, "r": 23.9, "i": 23.5, "z": 23.0, "w1": 20.4, "w2": 19.5},
            "N": {"g": 24.0, "r": 23.4, "z": 22.9, "w1": 20.4, "w2": 19.5}}
#: PSF FWHM [arcsec]
LS_FWHM = {"g": 1.45, "r": 1.3, "i": 1.2, "z": 1.2, "w1": 6.1, "w2": 6.4}
PS1_DEPTH = {"g": 23.3, "r": 23.2, "i": 23.1, "z": 22.3, "y": 21.3}
PS1_FWHM = {"g": 1.31, "r": 1.19, "i": 1.11, "z": 1.07, "y": 1.02}
#: unWISE catalogue 5-sigma depths [AB]: W1 17.9, W2 16.7 Vega (Schlafly et al. 2019).
UNWISE_DEPTH = {"w1": 20.6, "w2": 20.04}
VEGA_TO_AB = {"w1": 2.699, "w2": 3.339}
#: hidden fractional flux scatter (model / calibration errors), per survey: PS1 stack Kron/PSF/Ap
#: photometry of galaxies scatters more than the Tractor model fits (stack artefacts, PSF
#: variations, blended apertures)
SYS_FRAC = {"ls": 0.01, "wise": 0.03, "ps1": 0.03}
LS_BANDS = ("g", "r", "i", "z", "w1", "w2")
PS1_BANDS = ("g", "r", "i", "z", "y")
_NOBS_MEAN = {"g": 3.0, "r": 3.0, "i": 2.5, "z": 3.5, "w1": 12.0, "w2": 12.0}


def _sigma_psf(m5: np.ndarray | float) -> np.ndarray:
    """1-sigma flux error [nmgy] of a point source for a 5-sigma depth ``m5`` [AB]."""
    return 10.0 ** (-0.4 * (np.asarray(m5) - 22.5)) / 5.0


def _area_factor(r_half: np.ndarray, fwhm: float) -> np.ndarray:
    """Noise growth of extended sources: sqrt(1 + sigma_gal^2 / sigma_psf^2)."""
    return np.sqrt(1.0 + (np.asarray(r_half) / 1.177 / (fwhm / 2.355)) ** 2)


def _noisy(rng: np.random.Generator, flux: np.ndarray, sigma: np.ndarray,
           sys_frac: float) -> np.ndarray:
    scatter = np.sqrt(sigma**2 + (sys_frac * np.abs(flux)) ** 2)
    return flux + rng.normal(0.0, 1.0, flux.shape) * scatter


def _band_key(band: str, photsys: np.ndarray) -> np.ndarray:
    """Per-row table band index for an LS band (north/south filter systems)."""
    if band in ("w1", "w2"):
        return np.full(photsys.shape, ph.BAND_INDEX[band])
    south = ph.BAND_INDEX[f"{band}_S"]
    north = ph.BAND_INDEX.get(f"{band}_N", south)
    return np.where(photsys == "N", north, south)


def ls_type(rng: np.random.Generator, r_half: np.ndarray, snr_r: np.ndarray,
            is_red: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Tractor morphological type: PSF unless resolved at the source's S/N.

    ``snr_r`` is the detection S/N (g r z combined); a source is resolved when its half-light
    radius exceeds 0.3 FWHM_r sqrt(10 / S/N) (0.39'' at S/N 10, 0.12'' at S/N 100).
    """
    limit = 0.3 * LS_FWHM["r"] * np.sqrt(10.0 / np.clip(snr_r, 1.0, None))
    resolved = (r_half > limit) & ~point
    u = rng.uniform(0, 1, len(r_half))
    bright = snr_r > 30.0
    red_t = np.where(bright & (u < 0.6), "DEV", np.where(bright & (u < 0.8), "SER", "EXP"))
    red_t = np.where(~bright & (u < 0.5), "REX", red_t)
    blue_t = np.where((r_half < 0.7) | ~bright, "REX", np.where(u < 0.8, "EXP", "SER"))
    return np.where(resolved, np.where(is_red, red_t, blue_t), "PSF")


def observe_ls(rng: np.random.Generator, src: pd.DataFrame, maggies: np.ndarray,
               ebv: np.ndarray, first_id: int) -> tuple[pd.DataFrame, np.ndarray]:
    """LSDR10 tractor rows for the sources inside the footprint that are detected.

    Parameters
    ----------
    src : (N rows) truth table with ra, dec, r_half_arcsec, obj_class, is_red
    maggies : (N, n_band) noiseless AB maggies (no Galactic extinction)
    ebv : (N,) SFD E(B-V)
    first_id : running index of the first row (for ``ls_id`` / ``objid``)

    Returns
    -------
    (table, rows): the catalogue and, for each of its rows, the source row index in ``src``.
    """
    ra, dec = src["ra"].to_numpy(), src["dec"].to_numpy()
    rows = np.flatnonzero(in_ls(ra, dec))
    n = len(rows)
    photsys = ls_photsys(ra[rows], dec[rows])
    r_half = src["r_half_arcsec"].to_numpy()[rows]
    coverage = wise_coverage(ra[rows], dec[rows])
    out: dict[str, np.ndarray] = {}
    for b in LS_BANDS:
        key = _band_key(b, photsys)
        true = maggies[rows, key] * 1e9
        trans = 10.0 ** (-0.4 * LS_COEFFS[b] * ebv[rows])
        mean_nobs = _NOBS_MEAN[b] * (coverage if b.startswith("w") else 1.0)
        nobs = 1 + rng.poisson(mean_nobs - 1, n)
        m5 = np.array([LS_DEPTH[p].get(b, np.nan) for p in photsys])
        m5 = m5 + 1.25 * np.log10(nobs / _NOBS_MEAN[b]) + rng.normal(0, 0.1, n)
        sigma = _sigma_psf(m5) * _area_factor(r_half, LS_FWHM[b])
        sys = SYS_FRAC["wise" if b.startswith("w") else "ls"]
        flux = _noisy(rng, true * trans, sigma, sys)
        if b == "i":
            no_i = photsys == "N"
            flux, sigma, nobs = np.where(no_i, 0.0, flux), np.where(no_i, np.inf, sigma), \
                np.where(no_i, 0, nobs)
        out[f"flux_{b}"] = flux.astype(np.float32)
        out[f"flux_ivar_{b}"] = (1.0 / sigma**2).astype(np.float32)
        out[f"mw_transmission_{b}"] = trans.astype(np.float32)
        out[f"nobs_{b}"] = nobs.astype(np.int16)
    snr = {b: out[f"flux_{b}"] * np.sqrt(out[f"flux_ivar_{b}"]) for b in ("g", "r", "z")}
    snr_det = np.sqrt(sum(np.clip(s, 0, None) ** 2 for s in snr.values()))
    detected = snr_det >= 6.0
    point = src["obj_class"].to_numpy()[rows] != "GALAXY"
    is_red = src["is_red"].fillna(False).to_numpy(dtype=bool)[rows]
    tab = pd.DataFrame({
        "ls_id": np.zeros(n, np.int64), "release": np.where(photsys == "N", 9010, 10000
                                                           ).astype(np.int16),
        "brickid": _brickid(ra[rows], dec[rows]), "objid": np.zeros(n, np.int32),
        "ra": ra[rows] + rng.normal(0, 0.03 / 3600, n), "dec": dec[rows] + rng.normal(
            0, 0.03 / 3600, n),
        "type": ls_type(rng, r_half, snr_det, is_red, point), "brick_primary": np.ones(n, bool),
        "maskbits": _maskbits(rng, n), **out,
    })
    for b in ("g", "r", "i", "z"):
        _add_frac(rng, tab, b, photsys)
    tab["ebv"] = ebv[rows].astype(np.float32)
    tab["photsys"] = photsys
    tab, rows = tab[detected].reset_index(drop=True), rows[detected]
    tab, rows = _add_duplicates(rng, tab, rows)
    idx = first_id + np.arange(len(tab), dtype=np.int64)
    tab["ls_id"] = (tab["release"].to_numpy().astype(np.int64) << 40) | idx
    tab["objid"] = (idx % 2**31).astype(np.int32)
    return add_datalab_columns(tab), rows


def _brickid(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    row = np.clip(((dec + 90.0) / 0.25).astype(int), 0, 719)
    ncol = np.maximum((1440 * np.cos(np.radians(-90 + (row + 0.5) * 0.25))).astype(int), 1)
    return (row * 1440 + (ra / 360.0 * ncol).astype(int)).astype(np.int32)


def _maskbits(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random maskbits: BRIGHT(1) 2%, ALLMASK_G/R/Z(5,6,7) 0.5%, WISEM1(8) 3%, MEDIUM(11) 2%,
    GALAXY(12) 0.5%."""
    bits = np.zeros(n, np.int32)
    for bit, p in ((1, 0.02), (5, 0.005), (6, 0.005), (7, 0.005), (8, 0.03), (11, 0.02),
                   (12, 0.005)):
        bits |= np.where(rng.uniform(0, 1, n) < p, 1 << bit, 0).astype(np.int32)
    return bits


def _add_frac(rng: np.random.Generator, tab: pd.DataFrame, b: str, photsys: np.ndarray) -> None:
    n = len(tab)
    fracflux = np.clip(10.0 ** rng.normal(-2.3, 0.8, n), 0, 5)
    fracmasked = np.where(rng.uniform(0, 1, n) < 0.01, rng.uniform(0, 1, n), 0.0)
    fracin = np.where(rng.uniform(0, 1, n) < 0.01, rng.uniform(0, 0.3, n),
                      1.0 - rng.uniform(0, 0.02, n))
    none = (photsys == "N") if b == "i" else np.zeros(n, bool)
    for name, v in (("fracflux", fracflux), ("fracmasked", fracmasked), ("fracin", fracin)):
        tab[f"{name}_{b}"] = np.where(none, 0.0, v).astype(np.float32)


def _add_duplicates(rng: np.random.Generator, tab: pd.DataFrame, rows: np.ndarray,
                    frac: float = 0.005) -> tuple[pd.DataFrame, np.ndarray]:
    """Brick-edge duplicates: a re-measurement with ``brick_primary`` False."""
    pick = np.flatnonzero(rng.uniform(0, 1, len(tab)) < frac)
    dup = tab.iloc[pick].copy()
    dup["brick_primary"] = False
    dup["brickid"] = dup["brickid"] + 1
    for b in LS_BANDS:
        ivar = dup[f"flux_ivar_{b}"].to_numpy()
        noise = rng.normal(0, 1, len(dup)) / np.sqrt(np.where(ivar > 0, ivar, np.inf))
        dup[f"flux_{b}"] = (dup[f"flux_{b}"].to_numpy() + noise).astype(np.float32)
    return pd.concat([tab, dup], ignore_index=True), np.concatenate([rows, rows[pick]])


def add_datalab_columns(tab: pd.DataFrame) -> pd.DataFrame:
    """Add the Data Lab ``ls_dr10.tractor`` derived ``mag_b``, ``snr_b``, ``dered_mag_b``."""
    new = {}
    for b in LS_BANDS:
        flux = tab[f"flux_{b}"].to_numpy(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(flux > 0, 22.5 - 2.5 * np.log10(np.where(flux > 0, flux, 1)), np.nan)
            trans = tab[f"mw_transmission_{b}"].to_numpy(np.float64)
            new[f"mag_{b}"] = mag.astype(np.float32)
            new[f"snr_{b}"] = (flux * np.sqrt(tab[f"flux_ivar_{b}"].to_numpy(np.float64))
                               ).astype(np.float32)
            new[f"dered_mag_{b}"] = (mag + 2.5 * np.log10(trans)).astype(np.float32)
    return pd.concat([tab, pd.DataFrame(new, index=tab.index)], axis=1)
