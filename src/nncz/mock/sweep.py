"""Write Legacy Surveys catalogues in the sweep layout, column for column.

The layout follows the DR9 and DR10 sweep data models (legacysurvey.org/dr9/files and
/dr10/files, "Sweep Catalogs"): upper-case names, big-endian FITS types, ``TYPE`` as char[3],
``DCHISQ`` float32[5], ``WISEMASK_W*`` uint8, ``MASKBITS`` int16 (DR9) / int32 (DR10), no
``BRICK_PRIMARY`` (sweeps hold primary objects only), no ``LS_ID`` and no ``PHOTSYS``. DR9
files have no i-band columns; DR10 (south only) has them. ``RELEASE`` is 9011 (DR9 north,
BASS/MzLS), 9010 (DR9 south) or 10000 (DR10 south), as in desitarget's ``releasedict``.

Columns nncz does not use (shapes, Gaia, depths...) are written with their data-model types
and neutral values so that readers meet the real width and order of a sweep row.

>>> paths = write_sweeps(ls_table, "mock/sweep")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["sweep_table", "write_sweeps", "SWEEP_BANDS"]

SWEEP_BANDS = {"dr9": ("g", "r", "z"), "dr10": ("g", "r", "i", "z")}
WISE = ("w1", "w2", "w3", "w4")


def _col(out: dict, name: str, values, dtype: str) -> None:
    out[name] = np.asarray(values).astype(dtype)


def _band_columns(out: dict, ls: pd.DataFrame, bands: tuple[str, ...], n: int) -> None:
    allb = (*bands, *WISE)

    def get(col: str, default: float = 0.0) -> np.ndarray:
        return ls[col].to_numpy() if col in ls.columns else np.full(n, default)

    for prefix, dtype, default in (("FLUX", ">f4", 0.0), ("FLUX_IVAR", ">f4", 0.0),
                                   ("MW_TRANSMISSION", ">f4", 1.0), ("NOBS", ">i2", 0),
                                   ("RCHISQ", ">f4", 1.0), ("FRACFLUX", ">f4", 0.0)):
        for b in allb:
            _col(out, f"{prefix}_{b.upper()}", get(f"{prefix.lower()}_{b}", default), dtype)
    for prefix in ("FRACMASKED", "FRACIN"):
        for b in bands:
            _col(out, f"{prefix}_{b.upper()}", get(f"{prefix.lower()}_{b}"), ">f4")
    for prefix in ("ANYMASK", "ALLMASK"):
        for b in bands:
            _col(out, f"{prefix}_{b.upper()}", np.zeros(n), ">i2")
    for b in ("w1", "w2"):
        _col(out, f"WISEMASK_{b.upper()}", np.zeros(n), "u1")
    for prefix, value in (("PSFSIZE", 1.2), ("PSFDEPTH", 2000.0), ("GALDEPTH", 1500.0),
                          ("NEA", 20.0), ("BLOB_NEA", 20.0)):
        for b in bands:
            _col(out, f"{prefix}_{b.upper()}", np.full(n, value), ">f4")
    for b in WISE:
        _col(out, f"PSFDEPTH_{b.upper()}", np.full(n, 5.0), ">f4")


def sweep_table(ls: pd.DataFrame, release: str = "dr10"):
    """An astropy Table in the sweep layout of ``release`` from nncz LS rows (mock layout).

    Parameters
    ----------
    ls : pandas.DataFrame
        Rows in the docs/SCHEMAS.md ``ls_dr10`` layout (brick-primary rows only: sweeps hold
        nothing else).
    release : {"dr9", "dr10"}
        DR9: no i band, north rows RELEASE 9011 and south 9010; DR10: i band, RELEASE 10000.

    Returns
    -------
    astropy.table.Table
        N rows; OBJID is renumbered within each BRICKID (contiguous from 0, as in the
        archive) so that RELEASE, BRICKID, OBJID identify each row.
    """
    from astropy.table import Table

    if release not in SWEEP_BANDS:
        raise ValueError(f"release must be 'dr9' or 'dr10', got {release!r}")
    n = len(ls)
    north = ls["photsys"].astype(str).to_numpy() == "N" if "photsys" in ls else np.zeros(n, bool)
    rel = np.where(north, 9011, 9010) if release == "dr9" else np.full(n, 10000)
    brickid = ls["brickid"].to_numpy().astype(np.int64)
    objid = pd.Series(np.zeros(n, np.int64)).groupby(brickid).cumcount().to_numpy()
    out: dict[str, np.ndarray] = {}
    _col(out, "RELEASE", rel, ">i2")
    _col(out, "BRICKID", brickid, ">i4")
    out["BRICKNAME"] = np.array([f"{b % 100000:04d}p{b // 1000 % 1000:03d}"[:8]
                                 for b in brickid], dtype="S8")
    _col(out, "OBJID", objid, ">i4")
    out["TYPE"] = ls["type"].astype(str).str.strip().to_numpy().astype("S3")
    _col(out, "RA", ls["ra"], ">f8")
    _col(out, "DEC", ls["dec"], ">f8")
    _col(out, "RA_IVAR", np.full(n, 1e12), ">f4")
    _col(out, "DEC_IVAR", np.full(n, 1e12), ">f4")
    out["DCHISQ"] = np.tile(np.array([100.0, 110.0, 115.0, 112.0, 116.0], ">f4"), (n, 1))
    _col(out, "EBV", ls["ebv"], ">f4")
    _band_columns(out, ls, SWEEP_BANDS[release], n)
    out["WISE_COADD_ID"] = np.full(n, "0000m016", dtype="S8")
    for name in ("SHAPE_R", "SHAPE_R_IVAR", "SHAPE_E1", "SHAPE_E1_IVAR", "SHAPE_E2",
                 "SHAPE_E2_IVAR"):
        _col(out, name, np.full(n, 0.5 if name == "SHAPE_R" else 1.0), ">f4")
    for b in SWEEP_BANDS[release]:
        flux = out[f"FLUX_{b.upper()}"].astype(float)
        _col(out, f"FIBERFLUX_{b.upper()}", 0.5 * flux, ">f4")
        _col(out, f"FIBERTOTFLUX_{b.upper()}", 0.5 * flux, ">f4")
    out["REF_CAT"] = np.full(n, "", dtype="S2")
    _col(out, "REF_ID", np.zeros(n), ">i8")
    _col(out, "REF_EPOCH", np.zeros(n), ">f4")
    for name in ("GAIA_PHOT_G_MEAN_MAG", "GAIA_PHOT_BP_MEAN_MAG", "GAIA_PHOT_RP_MEAN_MAG",
                 "PARALLAX", "PARALLAX_IVAR", "PMRA", "PMRA_IVAR", "PMDEC", "PMDEC_IVAR"):
        _col(out, name, np.zeros(n), ">f4")
    _col(out, "MASKBITS", ls["maskbits"] if "maskbits" in ls else np.zeros(n),
         ">i2" if release == "dr9" else ">i4")
    _col(out, "FITBITS", np.zeros(n), ">i2")
    _col(out, "SERSIC", np.ones(n), ">f4")
    _col(out, "SERSIC_IVAR", np.zeros(n), ">f4")
    return Table(out)


def write_sweeps(ls: pd.DataFrame, out_dir: str | Path, overwrite: bool = False
                 ) -> list[Path]:
    """Write the brick-primary rows of an LS table as sweep files, north (DR9) and south (DR10).

    North rows (``photsys == 'N'``) go to ``north/sweep-...fits`` in the DR9 layout (no i),
    south rows to ``south/sweep-...fits`` in the DR10 layout, one file per 10 x 5 deg box
    named as the archive names them (``sweep-<ramin><p|m><decmin>-<ramax><p|m><decmax>``).
    """
    from nncz.io import atomic_write

    out_dir = Path(out_dir)
    primary = ls.loc[ls["brick_primary"].astype(bool).to_numpy()].reset_index(drop=True)
    north = primary["photsys"].astype(str).to_numpy() == "N"
    ra0 = (np.floor(primary["ra"].to_numpy() / 10.0) * 10).astype(int)
    dec0 = (np.floor(primary["dec"].to_numpy() / 5.0) * 5).astype(int)
    paths = []
    for region, mask, release in (("north", north, "dr9"), ("south", ~north, "dr10")):
        for r, d in sorted(set(zip(ra0[mask], dec0[mask], strict=True))):
            rows = mask & (ra0 == r) & (dec0 == d)
            name = f"sweep-{r:03d}{_pm(d)}{abs(d):03d}-{r + 10:03d}{_pm(d + 5)}{abs(d + 5):03d}"
            path = out_dir / region / f"{name}.fits"
            if path.exists() and not overwrite:
                raise FileExistsError(f"{path}: exists (use overwrite=True)")
            table = sweep_table(primary.loc[rows].reset_index(drop=True), release)
            paths.append(atomic_write(path, lambda tmp, t=table: t.write(
                tmp, format="fits", overwrite=True)))
    return paths


def _pm(dec: int) -> str:
    return "p" if dec >= 0 else "m"
