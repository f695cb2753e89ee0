"""Write Legacy Surveys catalogues in the sweep layout, column for column.

The layout follows the DR9 and DR10 sweep data models (legacysurvey.org/dr9/files and
/dr10/files, "Sweep Catalogs"): upper-case names, big-endian FITS types, ``TYPE`` as char[3],
``DCHISQ`` float32[5], ``WISEMASK_W*`` uint8, ``MASKBITS`` int16 (DR9) / int32 (DR10), no
``BRICK_PRIMARY`` (sweeps hold primary objects only), no ``LS_ID`` and no ``PHOTSYS``. DR9
files have no i-band columns; DR10 (south only) has them. ``RELEASE`` is 9011 (DR9 north,
BASS/MzLS), 9010 (DR9 south) or 10000 (DR10 south), as in desitarget's ``releasedict``.

Columns nncz does not use (shapes, Gaia, depths...) are written with their data-model types
and neutral values so that readers meet the real width and order of a sweep row; W3/W4
fluxes are 0 (the mock does not simulate them).

>>> paths = write_sweeps(ls_table, "mock/sweep")   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["sweep_columns", "sweep_table", "write_sweeps", "SWEEP_BANDS"]

SWEEP_BANDS = {"dr9": ("g", "r", "z"), "dr10": ("g", "r", "i", "z")}


def sweep_columns(release: str = "dr10") -> list[tuple[str, str, tuple[int, ...]]]:
    """(name, numpy dtype, shape) of every sweep column, in the data model's order.

    Transcribed from the "Sweep Catalogs" tables of legacysurvey.org/dr9/files (DR9: g r z)
    and /dr10/files (DR10 south: g r i z; MASKBITS int32 instead of int16).
    """
    if release not in SWEEP_BANDS:
        raise ValueError(f"release must be 'dr9' or 'dr10', got {release!r}")
    opt = [b.upper() for b in SWEEP_BANDS[release]]
    allb = [*opt, "W1", "W2", "W3", "W4"]
    cols = [("RELEASE", ">i2"), ("BRICKID", ">i4"), ("BRICKNAME", "S8"), ("OBJID", ">i4"),
            ("TYPE", "S3"), ("RA", ">f8"), ("DEC", ">f8"), ("RA_IVAR", ">f4"),
            ("DEC_IVAR", ">f4"), ("DCHISQ", ">f4", (5,)), ("EBV", ">f4")]
    for prefix, dtype in (("FLUX", ">f4"), ("FLUX_IVAR", ">f4"), ("MW_TRANSMISSION", ">f4"),
                          ("NOBS", ">i2"), ("RCHISQ", ">f4"), ("FRACFLUX", ">f4")):
        cols += [(f"{prefix}_{b}", dtype) for b in allb]
    cols += [(f"{p}_{b}", ">f4") for p in ("FRACMASKED", "FRACIN") for b in opt]
    cols += [(f"{p}_{b}", ">i2") for p in ("ANYMASK", "ALLMASK") for b in opt]
    cols += [("WISEMASK_W1", "u1"), ("WISEMASK_W2", "u1")]
    cols += [(f"{p}_{b}", ">f4") for p in ("PSFSIZE", "PSFDEPTH", "GALDEPTH") for b in opt]
    cols += [("PSFDEPTH_W1", ">f4"), ("PSFDEPTH_W2", ">f4"), ("WISE_COADD_ID", "S8")]
    cols += [(n, ">f4") for n in ("SHAPE_R", "SHAPE_R_IVAR", "SHAPE_E1", "SHAPE_E1_IVAR",
                                  "SHAPE_E2", "SHAPE_E2_IVAR")]
    cols += [(f"{p}_{b}", ">f4") for p in ("FIBERFLUX", "FIBERTOTFLUX") for b in opt]
    cols += [("REF_CAT", "S2"), ("REF_ID", ">i8"), ("REF_EPOCH", ">f4")]
    cols += [(f"GAIA_PHOT_{b}_MEAN_{q}", ">f4") for b in ("G", "BP", "RP")
             for q in ("MAG", "FLUX_OVER_ERROR")]
    cols += [("GAIA_ASTROMETRIC_EXCESS_NOISE", ">f4"), ("GAIA_DUPLICATED_SOURCE", "?"),
             ("GAIA_PHOT_BP_RP_EXCESS_FACTOR", ">f4"), ("GAIA_ASTROMETRIC_SIGMA5D_MAX", ">f4"),
             ("GAIA_ASTROMETRIC_PARAMS_SOLVED", "u1")]
    cols += [(n, ">f4") for n in ("PARALLAX", "PARALLAX_IVAR", "PMRA", "PMRA_IVAR", "PMDEC",
                                  "PMDEC_IVAR")]
    cols += [("MASKBITS", ">i2" if release == "dr9" else ">i4"), ("FITBITS", ">i2"),
             ("SERSIC", ">f4"), ("SERSIC_IVAR", ">f4")]
    return [(c[0], c[1], c[2] if len(c) > 2 else ()) for c in cols]


#: values of sweep columns the nncz LS layout does not hold (neutral, realistic magnitudes)
_DEFAULTS = {"MW_TRANSMISSION": 1.0, "RCHISQ": 1.0, "PSFSIZE": 1.2, "PSFDEPTH": 2000.0,
             "GALDEPTH": 1500.0, "SHAPE_R": 0.5, "SERSIC": 1.0, "RA_IVAR": 1e12,
             "DEC_IVAR": 1e12}


def _value(ls: pd.DataFrame, name: str, n: int) -> np.ndarray:
    """The sweep column ``name`` from the nncz LS columns (or a neutral default)."""
    low = name.lower()
    if low in ls.columns:
        return ls[low].to_numpy()
    if name == "WISE_COADD_ID":
        return np.full(n, "0000m016")
    if name == "REF_CAT":
        return np.full(n, "")
    if name.startswith(("FIBERFLUX_", "FIBERTOTFLUX_")):
        return 0.5 * ls[f"flux_{low.split('_')[-1]}"].to_numpy(dtype=float)
    prefix = name.rsplit("_", 1)[0] if name not in _DEFAULTS else name
    return np.full(n, _DEFAULTS.get(prefix, 0.0))


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
        N rows, the columns of :func:`sweep_columns`; OBJID is renumbered within each
        BRICKID (contiguous from 0, as in the archive) so that RELEASE, BRICKID, OBJID
        identify each row.
    """
    from astropy.table import Table

    columns = sweep_columns(release)
    n = len(ls)
    north = (ls["photsys"].astype(str).to_numpy() == "N" if "photsys" in ls.columns
             else np.zeros(n, bool))
    brickid = ls["brickid"].to_numpy().astype(np.int64)
    special = {
        "RELEASE": np.where(north, 9011, 9010) if release == "dr9" else np.full(n, 10000),
        "OBJID": pd.Series(np.zeros(n)).groupby(brickid).cumcount().to_numpy(),
        "BRICKNAME": np.array([f"{b % 3600:04d}p{b // 3600 % 1000:03d}" for b in brickid]),
        "TYPE": ls["type"].astype(str).str.strip().to_numpy(),
        "DCHISQ": np.tile([100.0, 110.0, 115.0, 112.0, 116.0], (n, 1)),
    }
    out = {}
    for name, dtype, _shape in columns:
        values = special[name] if name in special else _value(ls, name, n)
        out[name] = np.asarray(values).astype(dtype)
    return Table(out)


def write_sweeps(ls: pd.DataFrame, out_dir: str | Path, overwrite: bool = False,
                 box_deg: tuple[int, int] = (10, 5)) -> list[Path]:
    """Write the brick-primary rows of an LS table as sweep files, north (DR9) and south (DR10).

    North rows (``photsys == 'N'``) go to ``north/sweep-...fits`` in the DR9 layout (no i),
    south rows to ``south/sweep-...fits`` in the DR10 layout, one file per RA x Dec box
    (the archive's 10 x 5 deg by default; larger boxes give fewer files for a sparse mock)
    named as the archive names them (``sweep-<ramin><p|m><decmin>-<ramax><p|m><decmax>``).
    """
    from nncz.tablestream import TableStream

    out_dir = Path(out_dir)
    dra, ddec = int(box_deg[0]), int(box_deg[1])
    primary = ls.loc[ls["brick_primary"].astype(bool).to_numpy()].reset_index(drop=True)
    north = primary["photsys"].astype(str).to_numpy() == "N"
    ra0 = (np.floor(primary["ra"].to_numpy() / dra) * dra).astype(int)
    dec0 = (np.floor(primary["dec"].to_numpy() / ddec) * ddec).astype(int)
    paths = []
    for region, mask, release in (("north", north, "dr9"), ("south", ~north, "dr10")):
        for r, d in sorted(set(zip(ra0[mask], dec0[mask], strict=True))):
            rows = mask & (ra0 == r) & (dec0 == d)
            d1 = d + ddec
            name = f"sweep-{r:03d}{_pm(d)}{abs(d):03d}-{r + dra:03d}{_pm(d1)}{abs(d1):03d}"
            path = out_dir / region / f"{name}.fits"
            if path.exists() and not overwrite:
                raise FileExistsError(f"{path}: exists (use overwrite=True)")
            table = sweep_table(primary.loc[rows].reset_index(drop=True), release)
            with TableStream(path) as stream:
                stream.append({name: np.asarray(table[name]) for name in table.colnames})
            paths.append(stream.path)
    return paths


def _pm(dec: int) -> str:
    return "p" if dec >= 0 else "m"
