"""The intrinsic source population: galaxies (luminosity functions), stars and QSOs.

Galaxies are drawn from evolving red and blue Schechter luminosity functions in rest-frame SDSS
r (roughly Blanton et al. 2003 at z ~ 0.1, with the brightening of M* and the decline of red phi*
of Faber et al. 2007), times the comoving volume, down to a limit in observed DECam i. Each gets
a COSMOS template mixture, Calzetti dust, nebular emission lines scaled to its specific star
formation, a stellar mass (Bell et al. 2003 colour - M/L) and a half-light radius (van der Wel
et al. 2014 size-mass relations).

Returned magnitudes are noiseless and free of Galactic extinction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from nncz.mock import photometry as ph
from nncz.mock import sed

#: (phi* [Mpc^-3 mag^-1], M*_r(z=0) [AB], alpha, Q [mag per unit z], P [phi* ~ (1+z)^P]).
LF_PARAMS = {"red": (2.0e-3, -21.40, -0.55, 1.2, -1.2), "blue": (2.6e-3, -20.95, -1.30, 1.5, 0.0)}
_LINE_NAMES = list(sed.GALAXY_LINES)


@dataclass
class Sources:
    """A block of sources: truth properties (``table``) and noiseless maggies.

    Attributes
    ----------
    table : DataFrame, one row per source (see :func:`make_galaxies`)
    maggies : (N, n_band) AB maggies in :data:`nncz.mock.photometry.BAND_KEYS` order
    """

    table: pd.DataFrame
    maggies: np.ndarray

    def __len__(self) -> int:
        return len(self.table)


@lru_cache(maxsize=1)
def cosmology_grid() -> dict[str, np.ndarray]:
    """Planck18 distance modulus, angular diameter distance [kpc] and dV/dz [Mpc^3/deg^2]."""
    from astropy.cosmology import Planck18

    z = np.linspace(0.002, 4.0, 2000)
    dm = Planck18.distmod(z).value
    da_kpc = Planck18.angular_diameter_distance(z).to_value("kpc")
    dvdz = Planck18.differential_comoving_volume(z).value / (180.0 / np.pi) ** 2
    return {"z": z, "distmod": dm, "da_kpc": da_kpc, "dvdz": dvdz}


def _cosmo(name: str, z: np.ndarray) -> np.ndarray:
    c = cosmology_grid()
    return np.interp(z, c["z"], c[name])


def lf_density(kind: str, abs_mag: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Schechter luminosity function phi(M, z) [Mpc^-3 mag^-1] of the ``red``/``blue`` class."""
    phi0, m0, alpha, q, p = LF_PARAMS[kind]
    mstar = m0 - q * z / (1.0 + 0.3 * z)
    x = 10.0 ** (-0.4 * (abs_mag - mstar))
    return 0.4 * np.log(10) * phi0 * (1 + z) ** p * x ** (alpha + 1) * np.exp(-x)


def _k_correction(kind: str, z: np.ndarray) -> np.ndarray:
    """Observed DECam i minus rest SDSS r for a representative template of the class."""
    t, e = (2, 0.0) if kind == "red" else (18, 0.15)
    n = len(z)
    obs = ph.galaxy_maggies(np.full(n, t), np.zeros(n), np.full(n, e), z)
    rest = ph.galaxy_maggies(np.full(n, t), np.zeros(n), np.full(n, e), z, z_rest=True)
    i, r = ph.BAND_INDEX["i_S"], ph.BAND_INDEX["sdss_r"]
    return -2.5 * np.log10(obs[:, i] / rest[:, r])


@lru_cache(maxsize=8)
def _lf_cells(i_max: float, z_max: float) -> tuple[np.ndarray, ...]:
    """Grid cells (kind, z, M) and expected counts per deg^2 brighter than ``i_max + 0.7``."""
    zc = np.arange(0.0025, z_max, 0.005)
    mc = np.arange(-25.0, -12.0, 0.05) + 0.025
    kinds, zs, ms, dens = [], [], [], []
    for k, kind in enumerate(("red", "blue")):
        zz, mm = np.meshgrid(zc, mc, indexing="ij")
        app = mm + _cosmo("distmod", zz) + _k_correction(kind, zc)[:, None]
        d = lf_density(kind, mm, zz) * _cosmo("dvdz", zz) * 0.005 * 0.05
        keep = app < i_max + 0.7
        kinds.append(np.full(keep.sum(), k))
        zs.append(zz[keep])
        ms.append(mm[keep])
        dens.append(d[keep])
    return tuple(np.concatenate(a) for a in (kinds, zs, ms, dens))


def galaxy_density_per_deg2(i_max: float = 24.0, z_max: float = 3.0) -> float:
    """Expected galaxy surface density [deg^-2] of the luminosity-function model (before the
    exact per-object magnitude cut; an upper bound within ~10%)."""
    return float(_lf_cells(i_max, z_max)[3].sum())


def _line_fluxes(rng: np.random.Generator, u: np.ndarray, is_red: np.ndarray, z: np.ndarray,
                 ebv: np.ndarray, cont_ha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integrated line fluxes (table units) and the H-alpha equivalent width [A, rest]."""
    n = len(u)
    ew_ha = 10.0 ** (0.8 + 1.3 * u + rng.normal(0, 0.1, n)) * (1 + np.minimum(z, 2.0)) ** 0.8
    ew_ha = np.where(is_red, 10.0 ** rng.normal(-0.2, 0.35, n), np.minimum(ew_ha, 900.0))
    hb = 1.0 / 2.86
    o3 = hb * 10.0 ** (-0.5 + 1.2 * u + rng.normal(0, 0.1, n))
    ratios = {
        "OII_3727": 10.0 ** rng.normal(0.0, 0.08, n), "Hb_4861": np.full(n, hb),
        "OIII_4959": o3 / 2.98, "OIII_5007": o3, "Ha_6563": np.ones(n),
        "NII_6584": np.clip(0.4 - 0.3 * u, 0.05, 0.5), "SII_6720": np.full(n, 0.25),
    }
    k = sed.calzetti_k(np.array(list(sed.GALAXY_LINES.values())))
    k_ha = sed.calzetti_k(np.array([6562.8]))[0]
    ebv_neb = ebv / 0.44
    flux = np.empty((n, len(_LINE_NAMES)))
    c_ha = cont_ha * 10.0 ** (-0.4 * k_ha * ebv)
    for j, name in enumerate(_LINE_NAMES):
        att = 10.0 ** (-0.4 * ebv_neb * (k[j] - k_ha))
        flux[:, j] = ew_ha * c_ha * ratios[name] * att
    return flux, ew_ha


def _draw_cells(rng: np.random.Generator, n: int, i_max: float, z_max: float):
    kinds, zs, ms, dens = _lf_cells(i_max, z_max)
    cell = rng.choice(len(dens), size=n, p=dens / dens.sum())
    z = np.clip(zs[cell] + rng.uniform(-0.0025, 0.0025, n), 0.002, None)
    return kinds[cell] == 0, z, ms[cell] + rng.uniform(-0.025, 0.025, n)


def make_galaxies(rng: np.random.Generator, n: int, i_max: float = 24.0,
                  z_max: float = 3.0) -> Sources:
    """Draw ``n`` galaxies brighter than DECam ``i_max`` (true, no extinction).

    Returns
    -------
    Sources with table columns ``z_true, obj_class, sed_type, template, mix, ebv_int,
    abs_mag_r, log_mstar, r_half_arcsec, sersic_n, is_red, is_elg_like, ew_ha, ew_oii,
    oii_flux, oiii_flux, ha_flux`` (line fluxes [erg s^-1 cm^-2], observed, before Galactic
    extinction).
    """
    parts, mags, got = [], [], 0
    while got < n:
        m = int((n - got) * 1.3) + 16
        tab, mg = _galaxy_block(rng, m, i_max, z_max)
        keep = np.flatnonzero(-2.5 * np.log10(mg[:, ph.BAND_INDEX["i_S"]]) < i_max)
        keep = keep[: n - got]
        parts.append(tab.iloc[keep])
        mags.append(mg[keep])
        got += len(keep)
    return Sources(pd.concat(parts, ignore_index=True), np.concatenate(mags))


def _galaxy_block(rng: np.random.Generator, n: int,
                  i_max: float = 24.0, z_max: float = 3.0) -> tuple[pd.DataFrame, np.ndarray]:
    is_red, z, abs_r = _draw_cells(rng, n, i_max, z_max)
    mstar = LF_PARAMS["blue"][1] - LF_PARAMS["blue"][3] * z / (1 + 0.3 * z)
    u = np.clip(rng.normal(0.32 + 0.08 * (abs_r - mstar) + 0.15 * np.minimum(z, 1.5), 0.22),
                0.0, 0.999)
    cont_ha_t = ph.galaxy_tables()["cont_ha"]
    # the red sequence is narrow: old templates (Ell5-S0), older for brighter galaxies
    red_t = np.clip(rng.normal(5.6 - 0.4 * (abs_r - LF_PARAMS["red"][1]), 0.6), 2.0, 7.999)
    t_pos = np.where(is_red, red_t, 8.0 + 21.999 * u)
    template = t_pos.astype(int)
    mix = t_pos - template
    # dust follows the star-formation type and luminosity (dusty massive spirals, clean dwarfs)
    ebv_blue = 0.22 - 0.18 * u + 0.04 * np.clip(mstar - abs_r, -3, 3) + rng.normal(0, 0.03, n)
    ebv = np.where(is_red, rng.uniform(0.0, 0.05, n), np.clip(ebv_blue, 0.0, 0.6))
    cont_ha = (1 - mix) * cont_ha_t[template] + mix * cont_ha_t[np.minimum(template + 1, 30)]
    lines, ew_ha = _line_fluxes(rng, u, is_red, z, ebv, cont_ha)
    obs = ph.galaxy_maggies(template, mix, ebv, z, lines)
    rest = ph.galaxy_maggies(template, mix, ebv, z, lines, z_rest=True)
    scale = 10.0 ** (-0.4 * (abs_r + _cosmo("distmod", z))) / rest[:, ph.BAND_INDEX["sdss_r"]]
    maggies = obs * scale[:, None]
    rest_gr = -2.5 * np.log10(rest[:, ph.BAND_INDEX["sdss_g"]] / rest[:, ph.BAND_INDEX["sdss_r"]])
    log_mstar = -0.306 + 1.097 * rest_gr - 0.4 * (abs_r - 4.65) - 0.1
    size_kpc = np.where(
        is_red, 10 ** (0.60 + 0.75 * (log_mstar - 10.7) - 1.48 * np.log10(1 + z)
                       + rng.normal(0, 0.15, n)),
        10 ** (0.86 + 0.22 * (log_mstar - 10.7) - 0.75 * np.log10(1 + z)
               + rng.normal(0, 0.18, n)))
    r_half = size_kpc / _cosmo("da_kpc", z) * 206264.8
    cont_oii = _cont_at(template, mix, ebv, 3727.4)
    ew_oii = lines[:, 0] / cont_oii
    names = ph.galaxy_templates_cached()[1]
    table = pd.DataFrame({
        "z_true": z, "obj_class": "GALAXY",
        "sed_type": names[np.where(mix > 0.5, np.minimum(template + 1, 30), template)],
        "template": template.astype(np.int16), "mix": mix.astype(np.float32),
        "ebv_int": ebv.astype(np.float32), "abs_mag_r": abs_r.astype(np.float32),
        "log_mstar": log_mstar.astype(np.float32), "r_half_arcsec": r_half.astype(np.float32),
        "sersic_n": np.where(is_red, 4.0, 1.0).astype(np.float32), "is_red": is_red,
        "is_elg_like": (~is_red) & (ew_oii > 25.0), "ew_ha": ew_ha.astype(np.float32),
        "ew_oii": ew_oii.astype(np.float32), "oii_flux": lines[:, 0] * scale,
        "oiii_flux": lines[:, 3] * scale, "ha_flux": lines[:, 4] * scale,
    })
    return table, maggies


def _cont_at(template: np.ndarray, mix: np.ndarray, ebv: np.ndarray, lam: float) -> np.ndarray:
    temps = ph.galaxy_templates_cached()[0]
    c = np.array([np.interp(lam, sed.WAVE_REST, t) for t in temps])
    k = sed.calzetti_k(np.array([lam]))[0]
    mixed = (1 - mix) * c[template] + mix * c[np.minimum(template + 1, 30)]
    return mixed * 10 ** (-0.4 * k * ebv)


def make_stars(rng: np.random.Generator, n: int, r_min: float = 14.0,
               r_max: float = 24.0) -> Sources:
    """Black-body stars: DECam r from dN/dm ~ 10^(0.12 m); 60% M, 28% K/G, 12% F/A types."""
    a = 0.12 * np.log(10)
    u = rng.uniform(0, 1, n)
    r = np.log(np.exp(a * r_min) + u * (np.exp(a * r_max) - np.exp(a * r_min))) / a
    pick = rng.uniform(0, 1, n)
    teff = np.where(pick < 0.6, rng.uniform(2700, 4000, n),
                    np.where(pick < 0.88, rng.uniform(4000, 6000, n), rng.uniform(6000, 11000, n)))
    tab = ph.star_maggies(teff)
    maggies = tab * (10 ** (-0.4 * r) / tab[:, ph.BAND_INDEX["r_S"]])[:, None]
    table = pd.DataFrame({
        "z_true": np.zeros(n), "obj_class": "STAR",
        "sed_type": np.char.add("BB", (teff // 100 * 100).astype(int).astype(str)),
        "teff": teff.astype(np.float32), "r_half_arcsec": np.zeros(n, np.float32),
    })
    return Sources(table, maggies)


def make_qsos(rng: np.random.Generator, n: int, r_min: float = 16.5,
              r_max: float = 23.5) -> Sources:
    """QSOs: z ~ Gamma(3, 0.55) clipped to [0.1, 3.9], DECam r from dN/dm ~ 10^(0.4 m)."""
    a = 0.4 * np.log(10)
    u = rng.uniform(0, 1, n)
    r = np.log(np.exp(a * r_min) + u * (np.exp(a * r_max) - np.exp(a * r_min))) / a
    z = np.clip(rng.gamma(3.0, 0.55, n), 0.1, 3.9)
    alpha = np.clip(rng.normal(-0.5, 0.3, n), -1.4, 0.4)
    tab = ph.qso_maggies(alpha, z)
    maggies = tab * (10 ** (-0.4 * r) / tab[:, ph.BAND_INDEX["r_S"]])[:, None]
    table = pd.DataFrame({"z_true": z, "obj_class": "QSO", "sed_type": "qso_powerlaw",
                          "alpha_nu": alpha.astype(np.float32),
                          "r_half_arcsec": np.zeros(n, np.float32)})
    return Sources(table, maggies)
