"""SDSS DR19 ``specObj`` mock: legacy MGS, BOSS LOWZ/CMASS, eBOSS LRG/ELG and QSOs.

SDSS targets were chosen on SDSS imaging; the mock stands that in with the noiseless DECam-like
magnitudes of the source plus SDSS-depth noise (SDSS r for the MGS Petrosian magnitude, DECam
g r i z otherwise). Selections:

- MGS (Strauss et al. 2002): extended, r_petro < 17.77 (dereddened);
- LOWZ (Reid et al. 2016): 16 < r < 19.6, r < 13.5 + c_par / 0.3, |c_perp| < 0.2;
- CMASS: extended, 17.5 < i < 19.9, d_perp > 0.55, i < 19.86 + 1.6 (d_perp - 0.8), r - i < 2;
- eBOSS LRG (Prakash et al. 2016): 19.9 < i < 21.8, z < 19.95, r - i > 0.98,
  r - W1 > 2 (r - i), i - z > 0.625;
- eBOSS ELG (Raichoor et al. 2017, SGC): 21.825 < g < 22.825,
  -0.068 (r - z) + 0.457 < g - r < 0.112 (r - z) + 0.773,
  0.218 (g - r) + 0.571 < r - z < -0.555 (g - r) + 1.901;
- QSOs with r < 21.8 (half of them), and a few blue stars (QSO-target contaminants).

BOSS/eBOSS rows carry a QSO-template fit (``z``, ``class``) and a galaxy-only fit (``*Noqso``);
for 2% of their galaxies the QSO fit wins with a wrong redshift while ``zNoqso`` is right.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.mock import photometry as ph
from nncz.mock.footprints import icrs_to_galactic, in_sdss

SPECOBJID0 = 1_000_000_000_000_000_000
_SDSS_DEPTH = {"g": 22.2, "r": 22.2, "i": 21.3, "z": 20.5, "w1": 20.4}


def _sdss_mags(rng: np.random.Generator, maggies: np.ndarray) -> dict[str, np.ndarray]:
    keys = {"g": "g_S", "r": "r_S", "i": "i_S", "z": "z_S", "w1": "w1", "petro_r": "sdss_r"}
    out = {}
    for name, key in keys.items():
        flux = maggies[:, ph.BAND_INDEX[key]] * 1e9  # nmgy; noise in flux space
        depth = _SDSS_DEPTH.get(name, _SDSS_DEPTH["r"])
        sigma = np.hypot(0.01 * flux, 10 ** (-0.4 * (depth - 22.5)) / 5.0)
        noisy = flux + rng.normal(0, 1, len(flux)) * sigma
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(noisy > 0, 22.5 - 2.5 * np.log10(np.abs(noisy) + 1e-30), 99.0)
    return out


def select_sdss(rng: np.random.Generator, src: pd.DataFrame, maggies: np.ndarray
                ) -> dict[str, np.ndarray]:
    """Boolean masks (N,) of the SDSS programmes for sources inside the SDSS footprint."""
    m = _sdss_mags(rng, maggies)
    g, r, i, z, w1 = m["g"], m["r"], m["i"], m["z"], m["w1"]
    ra, dec = src["ra"].to_numpy(), src["dec"].to_numpy()
    foot = in_sdss(ra, dec)
    cls = src["obj_class"].to_numpy()
    ext = (cls == "GALAXY") & (src["r_half_arcsec"].to_numpy() > 0.3)
    c_par = 0.7 * (g - r) + 1.2 * (r - i - 0.18)
    c_perp = (r - i) - (g - r) / 4.0 - 0.18
    d_perp = (r - i) - (g - r) / 8.0
    _, b = icrs_to_galactic(ra, dec)
    sel = {
        "mgs": ext & (m["petro_r"] < 17.77),
        "lowz": ext & (r > 16) & (r < 19.6) & (r < 13.5 + c_par / 0.3) & (np.abs(c_perp) < 0.2),
        "cmass": ext & (i > 17.5) & (i < 19.9) & (d_perp > 0.55)
        & (i < 19.86 + 1.6 * (d_perp - 0.8)) & (r - i < 2),
        "eboss_lrg": (cls == "GALAXY") & (i > 19.9) & (i < 21.8) & (z < 19.95) & (r - i > 0.98)
        & (r - w1 > 2 * (r - i)) & (i - z > 0.625),
        "eboss_elg": (b < 0) & (g > 21.825) & (g < 22.825)
        & (g - r > -0.068 * (r - z) + 0.457) & (g - r < 0.112 * (r - z) + 0.773)
        & (r - z > 0.218 * (g - r) + 0.571) & (r - z < -0.555 * (g - r) + 1.901),
        "qso": (cls == "QSO") & (r < 21.8) & (rng.uniform(0, 1, len(r)) < 0.5),
        "star": (cls == "STAR") & (r > 17) & (r < 21) & (g - r < 0.5)
        & (rng.uniform(0, 1, len(r)) < 0.01),
    }
    return {k: v & foot for k, v in sel.items()}


_PROGRAMS = {  # name -> (survey, programname, failure-rate at the faint end)
    "mgs": ("sdss", "legacy", 0.005), "lowz": ("boss", "boss", 0.01),
    "cmass": ("boss", "boss", 0.02), "eboss_lrg": ("eboss", "eboss", 0.10),
    "eboss_elg": ("eboss", "eboss", 0.10), "qso": ("eboss", "eboss", 0.05),
    "star": ("boss", "boss", 0.02),
}


def sdss_specobj(rng: np.random.Generator, src: pd.DataFrame, maggies: np.ndarray
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """SDSS specObj rows (one per targeted source, highest-priority programme first).

    Returns
    -------
    (specobj, rows): the catalogue and the source row of each of its rows.
    """
    sel = select_sdss(rng, src, maggies)
    chosen = np.full(len(src), "", dtype=object)
    for name in reversed(list(_PROGRAMS)):  # first programme in the dict wins
        chosen[sel[name]] = name
    rows = np.flatnonzero(chosen != "")
    prog = chosen[rows]
    n = len(rows)
    z = src["z_true"].to_numpy()[rows]
    cls = src["obj_class"].to_numpy()[rows]
    survey = np.array([_PROGRAMS[p][0] for p in prog], dtype=object)
    fail_p = np.array([_PROGRAMS[p][2] for p in prog])
    r = -2.5 * np.log10(np.clip(maggies[rows, ph.BAND_INDEX["r_S"]], 1e-30, None))
    fail_p = fail_p * np.clip(np.exp((r - 21.0) / 1.0), 0.2, 3.0)
    fail = rng.uniform(0, 1, n) < fail_p
    zerr = np.where(cls == "QSO", 4e-4, 3e-5 * (1 + z)) * 10 ** rng.normal(0, 0.2, n)
    zerr = zerr * np.clip(10 ** (0.4 * (r - 19.0)), 0.5, 10)
    zmeas = np.where(cls == "STAR", rng.normal(0, 1e-4, n), z + rng.normal(0, 1, n) * zerr)
    zmeas = np.where(fail, rng.uniform(0, 1.5, n), zmeas)
    zwarn = np.where(fail & (rng.uniform(0, 1, n) < 0.7), 4, 0).astype(np.int32)
    boss = survey != "sdss"
    qso_wins = boss & (cls == "GALAXY") & (rng.uniform(0, 1, n) < 0.02)
    z_main = np.where(qso_wins, rng.uniform(0.5, 3.0, n), zmeas)
    z_noqso = np.where(cls == "QSO", rng.uniform(0, 1.0, n), zmeas)
    tab = pd.DataFrame({
        "specObjID": SPECOBJID0 + np.zeros(n, np.int64),
        "ra": src["ra"].to_numpy()[rows] + rng.normal(0, 0.1 / 3600, n),
        "dec": src["dec"].to_numpy()[rows] + rng.normal(0, 0.1 / 3600, n),
        "z": z_main, "zErr": zerr, "zWarning": zwarn,
        "class": np.where(qso_wins, "QSO", cls),
        "zNoqso": np.where(boss, z_noqso, zmeas), "zErrNoqso": zerr,
        "zWarningNoqso": np.where(boss & (cls == "QSO"), 4, zwarn).astype(np.int32),
        "classNoqso": np.where(boss & (cls == "QSO"), "GALAXY", cls),
        "survey": survey, "programname": np.array([_PROGRAMS[p][1] for p in prog], dtype=object),
    })
    return tab, rows
