"""Synthetic photometry: SEDs integrated through the real filter curves (``speclite``).

The integration is done once into look-up tables (template x dust x redshift x band for
galaxies, temperature x band for stars, spectral index x redshift x band for QSOs, and
line-response tables); generation then only interpolates, which keeps 10^6 sources cheap.

Units: the tables hold AB maggies of the arbitrarily normalised rest-frame SEDs; magnitudes are
``-2.5 log10(maggies)``. Only ratios of table entries are used, so the normalisation cancels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from nncz.mock import sed

#: Band key -> speclite filter name. ``_S`` DECaLS/DES (south), ``_N`` BASS/MzLS (north).
BANDS: dict[str, str] = {
    "g_S": "decam2014-g", "r_S": "decam2014-r", "i_S": "decam2014-i", "z_S": "decam2014-z",
    "g_N": "BASS-g", "r_N": "BASS-r", "z_N": "MzLS-z",
    "w1": "wise2010-W1", "w2": "wise2010-W2",
    "ps1_g": "panstarrs-g", "ps1_r": "panstarrs-r", "ps1_i": "panstarrs-i",
    "ps1_z": "panstarrs-z", "ps1_y": "panstarrs-y",
    "sdss_g": "sdss2010-g", "sdss_r": "sdss2010-r",
}
BAND_KEYS: tuple[str, ...] = tuple(BANDS)
BAND_INDEX: dict[str, int] = {k: i for i, k in enumerate(BAND_KEYS)}

#: Redshift grids of the tables.
Z_GAL = np.linspace(0.0, 3.0, 601)
Z_QSO = np.linspace(0.0, 4.0, 401)
#: Intrinsic dust grid, E(B-V) [mag] of the Calzetti law.
EBV_GRID = np.linspace(0.0, 0.7, 8)
#: Star temperatures [K] and QSO spectral indices alpha_nu.
TEFF_GRID = np.geomspace(2400.0, 15000.0, 60)
ALPHA_GRID = np.linspace(-1.4, 0.4, 7)

_C_AA = 2.99792458e18  # speed of light [Angstrom / s]
_AB_FNU = 3631e-23  # erg / s / cm^2 / Hz


@lru_cache(maxsize=1)
def _filters() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Filter wavelengths [A], responses and AB normalisations ``int f_AB lambda R dlambda``."""
    import speclite.filters

    waves, resp, norm = [], [], []
    for name in BANDS.values():
        filt = speclite.filters.load_filter(name)
        w = np.asarray(filt.wavelength, dtype=float)
        r = np.asarray(filt.response, dtype=float)
        waves.append(w)
        resp.append(r)
        norm.append(_AB_FNU * _C_AA * np.trapezoid(r / w, w))
    return waves, resp, np.array(norm)


def _weights(z: float) -> np.ndarray:
    """(n_band, n_wave) weights so that ``maggies = spectra @ W.T`` for rest spectra at ``z``.

    The observed spectrum is f_obs(lambda) = f_rest(lambda / (1+z)) / (1+z) (integrated flux
    conserved; distance dimming is applied later through the absolute magnitude).
    """
    waves, resp, norm = _filters()
    w = sed.WAVE_REST
    dw = np.gradient(w)
    lam = w * (1.0 + z)
    out = np.empty((len(waves), w.size))
    for b, (fw, fr) in enumerate(zip(waves, resp, strict=True)):
        out[b] = lam * np.interp(lam, fw, fr, left=0.0, right=0.0) * dw / norm[b]
    return out


def line_response(wave_rest: float, z: np.ndarray) -> np.ndarray:
    """Maggies per unit integrated line flux for a line at ``wave_rest`` [A] seen at ``z``.

    Returns
    -------
    (len(z), n_band) array: ``lambda_obs R_b(lambda_obs) / norm_b``.
    """
    waves, resp, norm = _filters()
    lam = wave_rest * (1.0 + np.asarray(z, dtype=float))
    out = np.empty((lam.size, len(waves)))
    for b, (fw, fr) in enumerate(zip(waves, resp, strict=True)):
        out[:, b] = lam * np.interp(lam, fw, fr, left=0.0, right=0.0) / norm[b]
    return out


@lru_cache(maxsize=1)
def galaxy_tables() -> dict[str, np.ndarray]:
    """Galaxy look-up tables.

    Returns
    -------
    dict with
      ``cont``: (n_template, n_ebv, n_z, n_band) continuum maggies,
      ``lines``: (n_line, n_z, n_band) maggies per unit line flux,
      ``cont_ha``: (n_template,) dust-free rest f_lambda at 6563 A (EW -> line flux).
    """
    temps, _ = galaxy_templates_cached()
    k = sed.calzetti_k(sed.WAVE_REST)
    dusty = temps[:, None, :] * 10.0 ** (-0.4 * EBV_GRID[None, :, None] * k[None, None, :])
    flat = dusty.reshape(-1, sed.WAVE_REST.size)
    cont = np.empty((flat.shape[0], Z_GAL.size, len(BANDS)))
    for iz, z in enumerate(Z_GAL):
        cont[:, iz, :] = flat @ _weights(z).T
    cont = cont.reshape(temps.shape[0], EBV_GRID.size, Z_GAL.size, len(BANDS))
    lines = np.stack([line_response(lam, Z_GAL) for lam in sed.GALAXY_LINES.values()])
    cont_ha = np.array([np.interp(6562.8, sed.WAVE_REST, t) for t in temps])
    return {"cont": cont, "lines": lines, "cont_ha": cont_ha}


def galaxy_templates_cached() -> tuple[np.ndarray, np.ndarray]:
    """Alias of :func:`nncz.mock.sed.galaxy_templates` (cached)."""
    return sed.galaxy_templates()


@lru_cache(maxsize=1)
def star_table() -> np.ndarray:
    """(n_teff, n_band) maggies of black bodies at :data:`TEFF_GRID` (z = 0)."""
    return sed.blackbody(TEFF_GRID) @ _weights(0.0).T


@lru_cache(maxsize=1)
def qso_table() -> np.ndarray:
    """(n_alpha, n_z, n_band) maggies of QSO spectra (with IGM absorption) on :data:`Z_QSO`."""
    specs = np.stack([sed.qso_spectrum(a) for a in ALPHA_GRID])
    out = np.empty((ALPHA_GRID.size, Z_QSO.size, len(BANDS)))
    for iz, z in enumerate(Z_QSO):
        igm = sed.igm_transmission(sed.WAVE_REST, z)
        out[:, iz, :] = (specs * igm) @ _weights(z).T
    return out


def _locate(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower index and linear weight of ``x`` on a uniform or monotonic ``grid`` (clipped)."""
    x = np.clip(np.asarray(x, dtype=float), grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    return i, (x - grid[i]) / (grid[i + 1] - grid[i])


def galaxy_maggies(template: np.ndarray, mix: np.ndarray, ebv: np.ndarray, z: np.ndarray,
                   line_flux: np.ndarray | None = None, z_rest: bool = False) -> np.ndarray:
    """Band maggies (table units) of galaxies, interpolated in dust and redshift.

    Parameters
    ----------
    template : (N,) int, template index 0..30; the SED is ``(1-mix) T[t] + mix T[t+1]``
    mix : (N,) float in [0, 1]
    ebv : (N,) intrinsic E(B-V) [mag]
    z : (N,) redshift
    line_flux : (N, n_line) integrated line fluxes (same units as the continuum x Angstrom)
    z_rest : evaluate at z = 0 (rest-frame magnitudes) instead of ``z``

    Returns
    -------
    (N, n_band) maggies.
    """
    tab = galaxy_tables()
    cont = tab["cont"]
    t0 = np.clip(template, 0, cont.shape[0] - 1)
    t1 = np.clip(t0 + 1, 0, cont.shape[0] - 1)
    zz = np.zeros_like(z, dtype=float) if z_rest else z
    idd, fd = _locate(EBV_GRID, ebv)
    iz, fz = _locate(Z_GAL, zz)
    out = np.zeros((len(t0), cont.shape[-1]))
    for t, wt in ((t0, 1.0 - mix), (t1, mix)):
        for di, wd in ((idd, 1.0 - fd), (idd + 1, fd)):
            for zi, wz in ((iz, 1.0 - fz), (iz + 1, fz)):
                out += (wt * wd * wz)[:, None] * cont[t, di, zi]
    if line_flux is not None:
        lines = tab["lines"]
        for il in range(lines.shape[0]):
            resp = lines[il, iz] * (1.0 - fz)[:, None] + lines[il, iz + 1] * fz[:, None]
            out += line_flux[:, [il]] * resp
    return out


def star_maggies(teff: np.ndarray) -> np.ndarray:
    """(N, n_band) maggies (table units) of black-body stars of temperature ``teff`` [K]."""
    tab = star_table()
    i, f = _locate(TEFF_GRID, teff)
    return tab[i] * (1.0 - f)[:, None] + tab[i + 1] * f[:, None]


def qso_maggies(alpha: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(N, n_band) maggies (table units) of QSOs with index ``alpha`` at redshift ``z``."""
    tab = qso_table()
    ia, fa = _locate(ALPHA_GRID, alpha)
    iz, fz = _locate(Z_QSO, z)
    out = np.zeros((len(ia), tab.shape[-1]))
    for ai, wa in ((ia, 1.0 - fa), (ia + 1, fa)):
        for zi, wz in ((iz, 1.0 - fz), (iz + 1, fz)):
            out += (wa * wz)[:, None] * tab[ai, zi]
    return out
