"""DESI DR1 mock: main-survey target selection on the mock LS photometry, redshift success.

Target selections (all magnitudes dereddened AB from the LS fluxes, fibre magnitudes from a
1.5-arcsec fibre on a Gaussian source):

- BGS (Hahn et al. 2023): BRIGHT r < 19.5; FAINT 19.5 <= r < 20.175 with
  r_fib < 20.75 if (z - W1) - 1.2 (g - r) + 1.2 >= 0 else r_fib < 21.5; r_fib < 22.9;
  -1 < g - r < 4, -1 < r - z < 4; extended (stands for the Gaia G - r_raw > 0.6 star veto).
- LRG (Zhou et al. 2023, south / north numbers): z_fib < 21.60 / 21.61,
  z - W1 > 0.8 (r - z) - 0.6, (g - W1 > 2.9 / 2.97 or r - W1 > 1.8),
  ((r - W1 > 1.8 / 1.83 (W1 - 17.14 / 17.13)) and (r - W1 > W1 - 16.33 / 16.31))
  or r - W1 > 3.3 / 3.4.
- ELG (Raichoor et al. 2023, LOP | VLO): g > 20, g_fib < 24.1, r - z > 0.15,
  g - r < 0.5 (r - z) + 0.1, g - r < -1.2 (r - z) + 1.6.
- QSO: a colour-cut stand-in for the random-forest selection (PSF, 17 < r < 23, g - r < 1.3,
  -0.4 < r - z < 1.1, z - W1 > 0.8, W1 - W2 > 0 (AB, i.e. > 0.64 Vega)).
MASKBITS 1 (BRIGHT), 12 (GALAXY), 13 (CLUSTER) veto all targets; 11 (MEDIUM) also ELGs.

Redshift success: DELTACHI2 = continuum term (fibre z flux) + emission-line term ([OII] and,
while inside the 3600-9800 A spectrograph range, H-beta/[OIII]/H-alpha S/N^2); ZWARN bit 2
(SMALL_DELTA_CHI2) where DELTACHI2 < 9; a catastrophic-failure probability falling with
DELTACHI2. Every target inside the DR1 footprint is observed (denser than the real DR1, whose
fibre completeness is lower): set ``completeness`` to thin it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.mock.footprints import in_desi_dr1

DESI_BITS = {"LRG": 1 << 0, "ELG": 1 << 1, "QSO": 1 << 2, "BGS_ANY": 1 << 60}
BGS_BITS = {"BGS_FAINT": 1 << 0, "BGS_BRIGHT": 1 << 1}
ZWARN_SMALL_DELTA_CHI2 = 1 << 2
TARGETID0 = 39_627_000_000_000_000
_FIBER_RADIUS = 0.75  # arcsec
_SEEING_SIGMA = 1.1 / 2.355


def fiber_fraction(r_half: np.ndarray) -> np.ndarray:
    """Fraction of a Gaussian source's flux inside a 1.5-arcsec-diameter fibre (1.1'' seeing)."""
    sig2 = (np.asarray(r_half) / 1.177) ** 2 + _SEEING_SIGMA**2
    return 1.0 - np.exp(-(_FIBER_RADIUS**2) / (2.0 * sig2))


def _mag(flux: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(flux > 0, 22.5 - 2.5 * np.log10(np.where(flux > 0, flux, 1.0)), np.nan)


def dered_mags(ls: pd.DataFrame) -> dict[str, np.ndarray]:
    """Dereddened AB magnitudes g r z w1 w2 from LS fluxes (NaN where flux <= 0)."""
    out = {}
    for b in ("g", "r", "z", "w1", "w2"):
        flux = ls[f"flux_{b}"].to_numpy(np.float64) / ls[f"mw_transmission_{b}"].to_numpy(
            np.float64)
        out[b] = _mag(flux)
    return out


def select_targets(ls: pd.DataFrame, r_half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DESI_TARGET and BGS_TARGET bit masks (N,) int64 for LS rows.

    Parameters
    ----------
    ls : LS catalogue rows (fluxes, transmissions, type, maskbits, photsys)
    r_half : (N,) true half-light radius [arcsec] (for the fibre magnitudes)
    """
    m = dered_mags(ls)
    g, r, z, w1 = m["g"], m["r"], m["z"], m["w1"]
    ffrac = fiber_fraction(r_half)
    fib = 2.5 * np.log10(1.0 / ffrac)
    north = ls["photsys"].to_numpy() == "N"
    psf = ls["type"].to_numpy() == "PSF"
    mb = ls["maskbits"].to_numpy().astype(np.int64)
    veto = (mb & ((1 << 1) | (1 << 12) | (1 << 13))) != 0
    obs = (ls["nobs_g"].to_numpy() > 0) & (ls["nobs_r"].to_numpy() > 0) & (
        ls["nobs_z"].to_numpy() > 0)
    ok = obs & ~veto & ls["brick_primary"].to_numpy(bool)
    with np.errstate(invalid="ignore"):
        lrg = _lrg(g, r, z, w1, z + fib, north) & ok
        elg = (g > 20) & (g + fib < 24.1) & (r - z > 0.15) & (g - r < 0.5 * (r - z) + 0.1) & (
            g - r < -1.2 * (r - z) + 1.6) & ok & ((mb & (1 << 11)) == 0)
        qso = psf & (r > 17) & (r < 23) & (g - r < 1.3) & (r - z > -0.4) & (r - z < 1.1) & (
            z - w1 > 0.8) & (w1 - m["w2"] > 0.0) & ok
        colour_ok = (g - r > -1) & (g - r < 4) & (r - z > -1) & (r - z < 4)
        base = ok & ~psf & colour_ok & (r + fib < 22.9)
        bright = base & (r < 19.5)
        fcut = np.where((z - w1) - 1.2 * (g - r) + 1.2 >= 0, 20.75, 21.5)
        faint = base & (r >= 19.5) & (r < 20.175) & (r + fib < fcut)
    desi = (lrg * DESI_BITS["LRG"] | elg * DESI_BITS["ELG"] | qso * DESI_BITS["QSO"]
            | (bright | faint) * DESI_BITS["BGS_ANY"]).astype(np.int64)
    bgs = (faint * BGS_BITS["BGS_FAINT"] | bright * BGS_BITS["BGS_BRIGHT"]).astype(np.int64)
    return desi, bgs


def _lrg(g, r, z, w1, zfib, north):
    zf = np.where(north, 21.61, 21.60)
    gw = np.where(north, 2.97, 2.9)
    s, a, c = np.where(north, 1.83, 1.8), np.where(north, 17.13, 17.14), np.where(
        north, 16.31, 16.33)
    hi = np.where(north, 3.4, 3.3)
    return ((zfib < zf) & (z - w1 > 0.8 * (r - z) - 0.6) & ((g - w1 > gw) | (r - w1 > 1.8))
            & (((r - w1 > s * (w1 - a)) & (r - w1 > w1 - c)) | (r - w1 > hi)))


def _sky_noise(lam_aa: np.ndarray) -> np.ndarray:
    """Relative line-flux noise vs observed wavelength (inf outside 3600-9800 A)."""
    lam = np.asarray(lam_aa)
    red = 1.0 + 2.0 * np.clip((lam - 7000.0) / 2800.0, 0, None) ** 2
    return np.where((lam > 3600) & (lam < 9800), red, np.inf)


def delta_chi2(rng: np.random.Generator, z: np.ndarray, zfib_flux: np.ndarray,
               lines: dict[str, np.ndarray], ffrac: np.ndarray, bright_time: np.ndarray
               ) -> np.ndarray:
    """Mock redshift-fit DELTACHI2 from continuum and emission-line S/N.

    Parameters
    ----------
    z : (N,) true redshift
    zfib_flux : (N,) fibre z-band flux [nmgy]
    lines : line name -> ((N,) observed flux [erg s^-1 cm^-2], rest wavelength [A]) pairs
    ffrac : (N,) fibre fraction
    bright_time : (N,) bool, BGS program (shorter exposures: continuum term x 0.5)
    """
    cont = 25.0 * np.clip(zfib_flux, 0, None) ** 1.3
    cont *= np.where(bright_time, 0.5, 1.0) * np.exp(-np.clip(z - 1.1, 0, None) / 0.25)
    line = np.zeros(len(z))
    for flux, lam0 in lines.values():
        snr = np.nan_to_num(flux) * ffrac / (1.2e-17 * _sky_noise(lam0 * (1 + z)))
        line += 0.5 * snr**2
    return (cont + line) * 10 ** rng.normal(0, 0.25, len(z)) + rng.exponential(2.0, len(z))


def desi_zcat(rng: np.random.Generator, ls: pd.DataFrame, src: pd.DataFrame,
              completeness: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    """DESI DR1 redshift catalogue for targets of the LS rows inside the DR1 footprint.

    Parameters
    ----------
    ls : LS rows (see :func:`nncz.mock.observe.observe_ls`)
    src : truth rows aligned with ``ls`` (z_true, obj_class, r_half_arcsec, line fluxes)

    Returns
    -------
    (zcat, index): the catalogue and, for each of its rows, the row position in ``ls``.
    """
    r_half = src["r_half_arcsec"].to_numpy()
    desi_t, bgs_t = select_targets(ls, r_half)
    foot = in_desi_dr1(ls["ra"].to_numpy(), ls["dec"].to_numpy())
    take = np.flatnonzero((desi_t != 0) & foot & (rng.uniform(0, 1, len(ls)) < completeness))
    t, s = ls.iloc[take], src.iloc[take]
    n = len(take)
    z = s["z_true"].to_numpy()
    cls = s["obj_class"].to_numpy()
    ffrac = fiber_fraction(r_half[take])
    lines = {k: (s[c].to_numpy() if c in s else np.zeros(n), lam) for k, c, lam in (
        ("oii", "oii_flux", 3727.4), ("oiii", "oiii_flux", 5006.8), ("ha", "ha_flux", 6562.8))}
    zfib = t["flux_z"].to_numpy(np.float64) * ffrac
    bright = bgs_t[take] != 0
    dchi2 = delta_chi2(rng, z, zfib, lines, ffrac, bright)
    qso = cls == "QSO"
    dchi2 = np.where(qso, dchi2 + 200.0, dchi2)
    zwarn = np.where(dchi2 < 9.0, ZWARN_SMALL_DELTA_CHI2, 0).astype(np.int64)
    zerr = 2.5e-5 * (1 + z) * np.sqrt(100.0 / np.clip(dchi2, 1.0, None)) * np.where(qso, 8, 1)
    zmeas = z + rng.normal(0, 1, n) * zerr
    p_cat = 0.6 * np.exp(-dchi2 / 12.0)
    bad = rng.uniform(0, 1, n) < p_cat
    zmeas = np.where(bad, rng.uniform(0.0, 1.7, n), zmeas)
    zerr = np.where(bad, zerr * rng.uniform(1, 30, n), zerr)
    spectype = np.where(bad & (rng.uniform(0, 1, n) < 0.2), "QSO", cls)
    zmeas = np.where(cls == "STAR", rng.normal(0, 1e-4, n), zmeas)
    zcat = pd.DataFrame({
        "TARGETID": np.zeros(n, np.int64), "TARGET_RA": t["ra"].to_numpy(),
        "TARGET_DEC": t["dec"].to_numpy(), "Z": zmeas, "ZERR": np.abs(zerr), "ZWARN": zwarn,
        "SPECTYPE": spectype, "DELTACHI2": dchi2, "MORPHTYPE": t["type"].to_numpy(),
        "MASKBITS": t["maskbits"].to_numpy().astype(np.int16),
        **{f"FLUX_{b.upper()}": t[f"flux_{b}"].to_numpy(np.float32)
           for b in ("g", "r", "z", "w1", "w2")},
        **{f"FLUX_IVAR_{b.upper()}": t[f"flux_ivar_{b}"].to_numpy(np.float32)
           for b in ("g", "r", "z", "w1", "w2")},
        "DESI_TARGET": desi_t[take], "BGS_TARGET": bgs_t[take],
    })
    return zcat, take
