"""Small tables in the archives' own layouts, built column for column from their data models.

Each builder takes good rows of :mod:`stage_tables` (docs/SCHEMAS.md names, known to pass every
cut) and writes them as the archive serves them: names and letter case, FITS types (big-endian,
char[n] strings, booleans), vector columns, sentinels and the columns nncz does not use. The
data-model page of each layout is named in docs/SCHEMAS.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table

from nncz.mock.sweep import sweep_table

LS_BANDS = ("g", "r", "i", "z", "w1", "w2", "w3", "w4")


def write_fits(table: Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.write(path, format="fits", overwrite=True)
    return path


# --------------------------------------------------------------------------- Legacy Surveys
def ls_sweep(ls: pd.DataFrame, release: str) -> Table:
    """Sweep layout (legacysurvey.org/dr9/files, /dr10/files): see nncz.mock.sweep."""
    return sweep_table(ls, release)


def ls_tractor(ls: pd.DataFrame) -> Table:
    """DR10 tractor-<brick>.fits (legacysurvey.org/dr10/catalogs): lower case, brick_primary,
    vector dchisq[5], apflux_<b>[8] and lc_flux_w1[15], no ls_id."""
    n = len(ls)
    out = {"release": ls["release"].to_numpy(">i2"), "brickid": ls["brickid"].to_numpy(">i4"),
           "brickname": np.full(n, "0300p000", "S8"), "objid": ls["objid"].to_numpy(">i4"),
           "brick_primary": ls["brick_primary"].to_numpy(bool),
           "maskbits": ls["maskbits"].to_numpy(">i4"), "fitbits": np.zeros(n, ">i2"),
           "type": ls["type"].to_numpy("S3"), "ra": ls["ra"].to_numpy(">f8"),
           "dec": ls["dec"].to_numpy(">f8"), "ra_ivar": np.full(n, 1e12, ">f4"),
           "dec_ivar": np.full(n, 1e12, ">f4"), "bx": np.zeros(n, ">f4"),
           "by": np.zeros(n, ">f4"), "dchisq": np.tile(np.arange(5, dtype=">f4"), (n, 1)),
           "ebv": ls["ebv"].to_numpy(">f4"), "mjd_min": np.zeros(n, ">f8"),
           "mjd_max": np.zeros(n, ">f8")}
    for b in LS_BANDS:
        out[f"flux_{b}"] = ls.get(f"flux_{b}", pd.Series(np.zeros(n))).to_numpy(">f4")
        out[f"flux_ivar_{b}"] = ls.get(f"flux_ivar_{b}", pd.Series(np.zeros(n))).to_numpy(">f4")
    for b in ("g", "r", "i", "z"):
        out[f"apflux_{b}"] = np.zeros((n, 8), ">f4")
    for b in LS_BANDS:
        out[f"mw_transmission_{b}"] = ls.get(f"mw_transmission_{b}",
                                             pd.Series(np.ones(n))).to_numpy(">f4")
        out[f"nobs_{b}"] = ls.get(f"nobs_{b}", pd.Series(np.zeros(n))).to_numpy(">i2")
    for p in ("fracflux", "fracmasked", "fracin"):
        for b in ("g", "r", "i", "z"):
            out[f"{p}_{b}"] = ls[f"{p}_{b}"].to_numpy(">f4")
    out["lc_flux_w1"] = np.zeros((n, 15), ">f4")
    out["wise_coadd_id"] = np.full(n, "0300p000", "S8")
    return Table(out)


def ls_datalab_mags_only(ls: pd.DataFrame) -> pd.DataFrame:
    """A Data Lab query selecting dered_mag_<b> and snr_<b> but no fluxes or transmissions."""
    out = ls_datalab(ls, True)
    drop = [c for c in out.columns if c.startswith(("flux_", "mw_transmission_", "mag_"))]
    return out.drop(columns=drop)


def ls_datalab(ls: pd.DataFrame, with_mags: bool) -> pd.DataFrame:
    """Data Lab ls_dr10.tractor query result (lower case, ls_id, brick_primary as 't'/'f'),
    with or without the derived mag_<b>/dered_mag_<b>/snr_<b> columns."""
    cols = ["ls_id", "release", "brickid", "objid", "ra", "dec", "type", "brick_primary",
            "maskbits", "ebv", "photsys"]
    for b in ("g", "r", "i", "z", "w1", "w2"):
        cols += [f"flux_{b}", f"flux_ivar_{b}", f"mw_transmission_{b}", f"nobs_{b}"]
    cols += [f"{p}_{b}" for p in ("fracflux", "fracmasked", "fracin") for b in "griz"]
    out = ls[cols].copy()
    out["brick_primary"] = np.where(out["brick_primary"], "t", "f")
    if with_mags:
        for b in ("g", "r", "i", "z", "w1", "w2"):
            flux = ls[f"flux_{b}"].to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"mag_{b}"] = np.where(flux > 0, 22.5 - 2.5 * np.log10(flux), np.nan)
            out[f"dered_mag_{b}"] = out[f"mag_{b}"] + 2.5 * np.log10(
                ls[f"mw_transmission_{b}"].to_numpy(float))
            out[f"snr_{b}"] = flux * np.sqrt(ls[f"flux_ivar_{b}"].to_numpy(float))
    return out


# --------------------------------------------------------------------------------- PS1 DR2
def ps1_casjobs(ps1: pd.DataFrame) -> pd.DataFrame:
    """CasJobs ObjectThin + StackObjectThin join: camelCase, real types, -999 sentinels."""
    out = {"objID": ps1["objID"].to_numpy(np.int64), "raMean": ps1["raMean"].to_numpy(),
           "decMean": ps1["decMean"].to_numpy(),
           "nDetections": ps1["nDetections"].to_numpy(np.int16),
           "primaryDetection": ps1["primaryDetection"].to_numpy(np.int16),
           "ebv_user": ps1["ebv_user"].to_numpy()}
    for b in "grizy":
        for k in ("PSF", "Kron", "Ap"):
            for e in ("", "Err"):
                out[f"{b}{k}Mag{e}"] = ps1[f"{b}{k}Mag{e}"].to_numpy(np.float32)
    return pd.DataFrame(out)


def ps1_mast_stack(ps1: pd.DataFrame) -> Table:
    """astroquery Catalogs.query_criteria(catalog='Panstarrs', table='stack', data_release=
    'dr2') as saved to FITS: also objName, raStack/decStack, per-band counts and flags."""
    n = len(ps1)
    t = Table.from_pandas(ps1_casjobs(ps1))
    t.add_column(np.array([f"PSO J{i:06d}" for i in range(n)]), name="objName", index=0)
    t["raStack"], t["decStack"] = t["raMean"], t["decMean"]
    t["bestDetection"] = np.ones(n, np.int16)
    for b in "grizy":
        t[f"{b}nTotal"] = np.full(n, 4, np.int16)
        t[f"{b}infoFlag"] = np.zeros(n, np.int32)
    return t


def ps1_stack_flux(ps1: pd.DataFrame) -> pd.DataFrame:
    """ObjectThin + StackObjectAttributes: fluxes [Jy] instead of magnitudes (-999 sentinel)."""
    base = ps1_casjobs(ps1)
    out = base[["objID", "raMean", "decMean", "nDetections", "primaryDetection", "ebv_user"]]
    out = out.copy()
    for b in "grizy":
        for k in ("PSF", "Kron", "Ap"):
            mag = base[f"{b}{k}Mag"].to_numpy(float)
            err = base[f"{b}{k}MagErr"].to_numpy(float)
            good = mag > -900
            flux = np.full(len(mag), -999.0)
            flux[good] = 10 ** (-0.4 * (mag[good] - 8.9))
            out[f"{b}{k}Flux"] = flux.astype(np.float32)
            out[f"{b}{k}FluxErr"] = np.where(mag > -900, flux * err / 1.0857362,
                                             -999.0).astype(np.float32)
    return out


def ps1_mean(ps1: pd.DataFrame) -> pd.DataFrame:
    """MeanObject / astroquery 'mean': g<Mean><Kind>Mag only (no stack magnitudes)."""
    out = ps1[["objID", "raMean", "decMean", "nDetections"]].copy()
    for b in "grizy":
        for k in ("PSF", "Kron", "Ap"):
            out[f"{b}Mean{k}Mag"] = ps1[f"{b}{k}Mag"].to_numpy(np.float32)
            out[f"{b}Mean{k}MagErr"] = ps1[f"{b}{k}MagErr"].to_numpy(np.float32)
    return out


# ---------------------------------------------------------------------------------- unWISE
def unwise_merged(uw: pd.DataFrame) -> Table:
    """Band-merged catalogue (catalog.unwise.me): vector [W1, W2] columns."""
    n = len(uw)

    def pair(p: str, dtype: str) -> np.ndarray:
        return np.stack([uw[f"{p}_w1"].to_numpy(), uw[f"{p}_w2"].to_numpy()], 1).astype(dtype)

    return Table({"unwise_objid": uw["unwise_objid"].to_numpy("S16"),
                  "ra": uw["ra"].to_numpy(">f8"), "dec": uw["dec"].to_numpy(">f8"),
                  "x": np.zeros((n, 2), ">f8"), "y": np.zeros((n, 2), ">f8"),
                  "flux": pair("flux", ">f4"), "dflux": pair("dflux", ">f4"),
                  "qf": np.ones((n, 2), ">f4"), "rchi2": np.ones((n, 2), ">f4"),
                  "fracflux": np.ones((n, 2), ">f4"),
                  "flags_unwise": pair("flags_unwise", ">i4"),
                  "flags_info": pair("flags_info", ">i4"), "primary": np.ones((n, 2), ">i2")})


def unwise_band(uw: pd.DataFrame, band: str, shift_arcsec: float = 0.3) -> Table:
    """One single-band catalogue (<coadd_id>.<1|2>.cat.fits): the crowdsource fields."""
    n = len(uw)
    dec = uw["dec"].to_numpy() + (shift_arcsec / 3600.0 if band == "w2" else 0.0)
    t = Table({"x": np.zeros(n, ">f8"), "y": np.zeros(n, ">f8"),
               "flux": uw[f"flux_{band}"].to_numpy(">f4"), "dx": np.zeros(n, ">f4"),
               "dy": np.zeros(n, ">f4"), "dflux": uw[f"dflux_{band}"].to_numpy(">f4"),
               "qf": np.ones(n, ">f4"), "rchi2": np.ones(n, ">f4"),
               "fracflux": np.ones(n, ">f4"), "fluxlbs": uw[f"flux_{band}"].to_numpy(">f4"),
               "dfluxlbs": uw[f"dflux_{band}"].to_numpy(">f4"), "fwhm": np.full(n, 2.4, ">f4"),
               "spread_model": np.zeros(n, ">f4"), "dspread_model": np.zeros(n, ">f4"),
               "flags_unwise": uw[f"flags_unwise_{band}"].to_numpy(">i4"),
               "flags_info": uw[f"flags_info_{band}"].to_numpy(">i4"), "sky": np.zeros(n, ">f4"),
               "ra": uw["ra"].to_numpy(">f8"), "dec": dec.astype(">f8"),
               "unwise_detid": (np.arange(n) + (10**6 if band == "w2" else 0)).astype(">i8"),
               "nm": np.full(n, 30, ">i4"), "primary": np.ones(n, ">i2")})
    return t


# -------------------------------------------------------------------------------- DESI DR1
def desi_zcat(desi: pd.DataFrame, zall: bool) -> Table:
    """zall-pix (with ZCAT_NSPEC/ZCAT_PRIMARY) or zpix redshift catalogue, as in DR1 iron."""
    n = len(desi)
    t = {"TARGETID": desi["TARGETID"].to_numpy(">i8"), "SURVEY": np.full(n, "main", "S7"),
         "PROGRAM": np.full(n, "bright", "S6"), "HEALPIX": np.zeros(n, ">i4"),
         "SPGRPVAL": np.zeros(n, ">i4"), "Z": desi["Z"].to_numpy(">f8"),
         "ZERR": desi["ZERR"].to_numpy(">f8"), "ZWARN": desi["ZWARN"].to_numpy(">i8"),
         "CHI2": np.ones(n, ">f8"), "COEFF": np.zeros((n, 10), ">f8"),
         "NPIXELS": np.full(n, 7000, ">i8"), "SPECTYPE": desi["SPECTYPE"].to_numpy("S6"),
         "SUBTYPE": np.full(n, "", "S20"), "NCOEFF": np.full(n, 10, ">i8"),
         "DELTACHI2": desi["DELTACHI2"].to_numpy(">f8"), "COADD_FIBERSTATUS": np.zeros(n, ">i4"),
         "TARGET_RA": desi["TARGET_RA"].to_numpy(">f8"),
         "TARGET_DEC": desi["TARGET_DEC"].to_numpy(">f8"), "RELEASE": np.full(n, 9010, ">i2"),
         "BRICKNAME": np.full(n, "0300p000", "S8"), "BRICKID": np.ones(n, ">i4"),
         "BRICK_OBJID": np.arange(n).astype(">i4"),
         "MORPHTYPE": desi["MORPHTYPE"].to_numpy("S4"), "EBV": np.full(n, 0.03, ">f4")}
    for p in ("FLUX", "FLUX_IVAR"):
        for b in ("G", "R", "Z", "W1", "W2"):
            t[f"{p}_{b}"] = desi[f"{p}_{b}"].to_numpy(">f4")
    t.update({"MASKBITS": desi["MASKBITS"].to_numpy(">i2"), "PHOTSYS": np.full(n, "S", "S1"),
              "DESI_TARGET": desi["DESI_TARGET"].to_numpy(">i8"),
              "BGS_TARGET": desi["BGS_TARGET"].to_numpy(">i8"),
              "MWS_TARGET": np.zeros(n, ">i8"), "SCND_TARGET": np.zeros(n, ">i8")})
    if zall:
        t["ZCAT_NSPEC"] = np.ones(n, ">i2")
        t["ZCAT_PRIMARY"] = np.ones(n, bool)
    return Table(t)


# ------------------------------------------------------------------------------- SDSS DR19
def sdss_specobj_fits(sdss: pd.DataFrame) -> Table:
    """specObj-dr19.fits: SPECOBJID char[19], PLUG_RA/DEC, Z f4, Z_ERR, *_NOQSO, SPECPRIMARY."""
    n = len(sdss)
    return Table({
        "SURVEY": sdss["survey"].to_numpy("S6"), "PROGRAMNAME": sdss["programname"].to_numpy("S20"),
        "PLATE": np.full(n, 266, ">i4"), "MJD": np.full(n, 51630, ">i4"),
        "FIBERID": np.arange(1, n + 1).astype(">i4"), "PLUG_RA": sdss["ra"].to_numpy(">f8"),
        "PLUG_DEC": sdss["dec"].to_numpy(">f8"), "CLASS": sdss["class"].to_numpy("S6"),
        "SUBCLASS": np.full(n, "", "S21"), "Z": sdss["z"].to_numpy(">f4"),
        "Z_ERR": sdss["zErr"].to_numpy(">f4"), "RCHI2": np.ones(n, ">f4"),
        "TCOLUMN": np.zeros((n, 10), ">i4"), "THETA": np.zeros((n, 10), ">f4"),
        "ZWARNING": sdss["zWarning"].to_numpy(">i4"),
        "CLASS_NOQSO": sdss["classNoqso"].to_numpy("S6"), "Z_NOQSO": sdss["zNoqso"].to_numpy(">f4"),
        "Z_ERR_NOQSO": sdss["zErrNoqso"].to_numpy(">f4"),
        "ZWARNING_NOQSO": sdss["zWarningNoqso"].to_numpy(">i4"),
        "SPECPRIMARY": sdss.get("sciencePrimary", pd.Series(np.ones(n))).to_numpy(">i2"),
        "SPECOBJID": np.array([str(int(i)) for i in sdss["specObjID"]], "S19")})


def sdss_cas(sdss: pd.DataFrame) -> pd.DataFrame:
    """CasJobs SELECT ... FROM SpecObjAll result (CSV): specObjID as decimal text."""
    out = pd.DataFrame({"specObjID": [str(int(i)) for i in sdss["specObjID"]],
                        "ra": sdss["ra"], "dec": sdss["dec"], "z": sdss["z"],
                        "zErr": sdss["zErr"], "zWarning": sdss["zWarning"],
                        "class": sdss["class"], "z_noqso": sdss["zNoqso"],
                        "zErr_noqso": sdss["zErrNoqso"], "zWarning_noqso": sdss["zWarningNoqso"],
                        "class_noqso": sdss["classNoqso"], "survey": sdss["survey"],
                        "programname": sdss["programname"]})
    if "sciencePrimary" in sdss.columns:
        out["sciencePrimary"] = sdss["sciencePrimary"].to_numpy()
    return out
