"""Rest-frame spectral energy distributions for the mock universe.

Galaxies use the 31 COSMOS templates of Ilbert et al. (2009) (Polletta et al. 2007 empirical
templates plus blue BC03 models), as shipped by ``pz-rail-base`` (MIT licence) and vendored here
as a compact log-wavelength resampling (``data/cosmos_seds.npz``). The templates carry no
emission lines; lines are added analytically by :mod:`nncz.mock.photometry`. Stars are black
bodies, QSOs a power law with broad lines and a hot-dust bump.

All spectra are f_lambda in arbitrary units on the common rest-frame grid :data:`WAVE_REST`
[Angstrom].
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

#: Common rest-frame wavelength grid [Angstrom], log-spaced (dln(lambda) ~ 0.0029).
WAVE_REST = np.geomspace(500.0, 56000.0, 1600)

#: Galaxy emission lines: name -> rest wavelength [Angstrom].
GALAXY_LINES = {
    "OII_3727": 3727.4,
    "Hb_4861": 4861.3,
    "OIII_4959": 4958.9,
    "OIII_5007": 5006.8,
    "Ha_6563": 6562.8,
    "NII_6584": 6583.4,
    "SII_6720": 6720.0,
}

#: QSO broad lines: name -> (rest wavelength [A], rest EW [A], Gaussian sigma [A]),
#: EWs after the Vanden Berk et al. (2001) composite.
QSO_LINES = {
    "Lya": (1215.7, 90.0, 18.0),
    "CIV": (1549.1, 24.0, 15.0),
    "CIII": (1908.7, 22.0, 20.0),
    "MgII": (2798.8, 33.0, 25.0),
    "Hb": (4861.3, 46.0, 40.0),
    "OIII": (5006.8, 13.0, 6.0),
    "Ha": (6562.8, 195.0, 45.0),
}

_SED_NPZ = "cosmos_seds.npz"


def _data_path(name: str) -> Path:
    return Path(str(resources.files("nncz.mock").joinpath("data", name)))


def build_template_npz(sed_dir: str | Path | None = None, out: str | Path | None = None) -> Path:
    """Resample the COSMOS ``*.sed`` files onto :data:`WAVE_REST` and save them as npz.

    Parameters
    ----------
    sed_dir : path, optional
        Folder holding ``COSMOS_seds.list`` and the ``.sed`` files; default: the copy inside the
        installed ``pz-rail-base`` package (``rail/examples_data/estimation_data/data/SED``).
    out : path, optional
        Output file; default ``nncz/mock/data/cosmos_seds.npz``.

    Returns
    -------
    Path of the written file.
    """
    if sed_dir is None:
        import rail

        # rail is a namespace package (nncz ships rail/estimation/algos/nncz.py): take the
        # portion that holds the examples, i.e. pz-rail-base's
        bases = [Path(p) for p in rail.__path__ if (Path(p) / "examples_data").is_dir()]
        if not bases:
            raise FileNotFoundError("the COSMOS templates need pz-rail-base installed "
                                    "(rail/examples_data), or pass sed_dir")
        sed_dir = bases[0] / "examples_data" / "estimation_data" / "data" / "SED"
    sed_dir = Path(sed_dir)
    names = (sed_dir / "COSMOS_seds.list").read_text().split()
    flux = np.empty((len(names), WAVE_REST.size), dtype=np.float32)
    for k, name in enumerate(names):
        wave, flam = np.loadtxt(sed_dir / name, unpack=True)
        f = np.interp(WAVE_REST, wave, flam, left=0.0, right=0.0)
        flux[k] = f / np.interp(5500.0, WAVE_REST, f)
    out = Path(out) if out is not None else _data_path(_SED_NPZ)
    np.savez_compressed(out, wave=WAVE_REST.astype(np.float32), flux=flux,
                        names=np.array([n.removesuffix(".sed") for n in names]),
                        source=np.array("pz-rail-base (MIT) COSMOS_seds.list; Ilbert et al. 2009"))
    return out


@lru_cache(maxsize=1)
def galaxy_templates() -> tuple[np.ndarray, np.ndarray]:
    """The 31 COSMOS templates, ordered passive -> starburst.

    Returns
    -------
    flux : (31, n_wave) float64, f_lambda normalised to 1 at 5500 A (rest)
    names : (31,) str
    """
    with np.load(_data_path(_SED_NPZ)) as d:
        if not np.allclose(d["wave"], WAVE_REST, rtol=1e-5):
            raise ValueError(f"{_SED_NPZ}: wavelength grid differs from WAVE_REST; rebuild it")
        return d["flux"].astype(np.float64), d["names"].astype(str)


def calzetti_k(wave_aa: np.ndarray) -> np.ndarray:
    """Calzetti et al. (2000) attenuation curve k(lambda) (R_V = 4.05), extrapolated flat-ish.

    Parameters
    ----------
    wave_aa : array of rest wavelengths [Angstrom]
    """
    lam = np.clip(np.asarray(wave_aa, dtype=float) / 1e4, 0.09, 2.2)
    blue = 2.659 * (-2.156 + 1.509 / lam - 0.198 / lam**2 + 0.011 / lam**3) + 4.05
    red = 2.659 * (-1.857 + 1.040 / lam) + 4.05
    k = np.where(lam < 0.63, blue, red)
    far = np.asarray(wave_aa) > 2.2e4  # beyond 2.2 um attenuation fades to zero
    return np.where(far, k * 2.2e4 / np.maximum(wave_aa, 1.0), np.maximum(k, 0.0))


def blackbody(temp_k: np.ndarray) -> np.ndarray:
    """Planck f_lambda on :data:`WAVE_REST` for temperatures ``temp_k`` (T,) [K] -> (T, n_wave).

    Normalised to 1 at 5500 A.
    """
    lam_cm = WAVE_REST[None, :] * 1e-8
    x = 1.4388 / (lam_cm * np.asarray(temp_k, dtype=float)[:, None])
    f = 1.0 / (lam_cm**5 * np.expm1(np.minimum(x, 700.0)))
    return f / f[:, [np.searchsorted(WAVE_REST, 5500.0)]]


def qso_spectrum(alpha_nu: float, hot_dust: float = 1.0) -> np.ndarray:
    """QSO rest f_lambda on :data:`WAVE_REST`: power law f_nu ~ nu^alpha_nu + lines + hot dust.

    Parameters
    ----------
    alpha_nu : optical spectral index (typically -0.5)
    hot_dust : scale of the 1300 K torus black body (1: nu f_nu peak ~ that at 5500 A)

    Returns
    -------
    (n_wave,) f_lambda normalised to 1 at 5500 A (before lines); no IGM absorption
    (applied per redshift by the photometry).
    """
    w = WAVE_REST
    cont = (w / 5500.0) ** (-2.0 - alpha_nu)
    bb = blackbody(np.array([1300.0]))[0]
    peak = np.argmax(bb * w)
    cont = cont + hot_dust * bb * (5500.0 / w[peak]) / bb[peak]
    spec = cont.copy()
    for lam0, ew, sig in QSO_LINES.values():
        c0 = np.interp(lam0, w, cont)
        spec += ew * c0 * np.exp(-0.5 * ((w - lam0) / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    return spec


def igm_transmission(wave_rest: np.ndarray, z: float) -> np.ndarray:
    """Approximate Lyman-alpha forest transmission (Madau 1995-like) below 1216 A rest."""
    lam_obs = np.asarray(wave_rest) * (1.0 + z)
    tau = 0.0036 * (lam_obs / 1215.67) ** 3.46
    t = np.where(np.asarray(wave_rest) < 1215.67, np.exp(-tau), 1.0)
    return np.where(np.asarray(wave_rest) < 912.0, 0.0, t)
