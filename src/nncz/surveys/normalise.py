"""Rename a survey table to the nncz names and complete what its layout leaves implicit.

What each layout leaves implicit (all documented in docs/SCHEMAS.md):

- Legacy Surveys sweeps hold ``BRICK_PRIMARY == T`` objects only and have no such column:
  ``brick_primary`` is set True. Files without i-band columns (DR8/DR9, north and south) get
  ``flux_i = flux_ivar_i = nobs_i = 0``, zero i-band fractions and a NaN transmission, as the
  DR10 Data Lab table stores for the unobserved north; ``photsys`` comes from ``release``
  (odd DR4-DR9 releases are BASS/MzLS 'N', desitarget's ``releasedict``); ``ls_id`` =
  release << 40 | brickid << 16 | objid.
- PS1 StackObjectAttributes fluxes [Jy] become AB magnitudes 8.9 - 2.5 log10(F) with errors
  1.0857 dF / F (the -999 sentinel stays a failing value).
- SDSS specObj FITS files store ``SPECOBJID`` as a string: it is parsed to exact uint64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nncz.surveys.layouts import SURVEY_NAMES, Layout, LayoutError, canonical_names, detect_layout

__all__ = ["RELEASE_PHOTSYS", "canonical_columns", "split_vector_columns", "normalise",
           "require_layout", "photsys_from_release", "has_i_band"]

#: desitarget.io.releasedict (Legacy Surveys RELEASE -> photometric system); DR10+ is DECam 'S'
RELEASE_PHOTSYS: dict[int, str] = {3000: "S", 4000: "N", 5000: "S", 6000: "N", 7000: "S",
                                   7999: "S", 8000: "S", 8001: "N", 9000: "S", 9001: "N",
                                   9002: "S", 9003: "N", 9004: "S", 9005: "N", 9006: "S",
                                   9007: "N", 9008: "S", 9009: "N", 9010: "S", 9011: "N",
                                   9012: "S", 9013: "N"}
LS_ALL_BANDS = ("g", "r", "i", "z", "w1", "w2")
PS1_BANDS = ("g", "r", "i", "z", "y")
PS1_KINDS = ("Kron", "PSF", "Ap")
JY_AB_ZP = 8.9  # m_AB = 8.9 - 2.5 log10(F [Jy])


def canonical_columns(survey: str) -> list[str]:
    """Every canonical (docs/SCHEMAS.md) column name nncz reads for ``survey``."""
    if survey == "lsdr10":
        cols = ["ls_id", "release", "brickid", "objid", "ra", "dec", "type", "brick_primary",
                "maskbits", "ebv", "photsys"]
        for b in LS_ALL_BANDS:
            cols += [f"{p}_{b}" for p in ("flux", "flux_ivar", "mw_transmission", "nobs",
                                          "mag", "snr", "dered_mag")]
        return cols + [f"{p}_{b}" for p in ("fracflux", "fracmasked", "fracin")
                       for b in ("g", "r", "i", "z")]
    if survey == "ps1":
        cols = ["objID", "raMean", "decMean", "nDetections", "primaryDetection"]
        for b in PS1_BANDS:
            for k in PS1_KINDS:
                cols += [f"{b}{k}Mag{e}" for e in ("", "Err")]
                cols += [f"{b}{k}Flux{e}" for e in ("", "Err")]
            cols += [f"{b}Mean{k}Mag{e}" for k in PS1_KINDS for e in ("", "Err")]
        return cols
    if survey == "unwise":
        return ["unwise_objid", "ra", "dec"] + [
            f"{p}_{b}" for b in ("w1", "w2")
            for p in ("flux", "dflux", "flags_unwise", "flags_info")]
    if survey == "desi":
        flux = [f"FLUX{i}_{b}" for b in ("G", "R", "I", "Z", "W1", "W2") for i in ("", "_IVAR")]
        return ["TARGETID", "TARGET_RA", "TARGET_DEC", "Z", "ZERR", "ZWARN", "SPECTYPE",
                "DELTACHI2", "MORPHTYPE", "MASKBITS", "DESI_TARGET", "BGS_TARGET",
                "ZCAT_PRIMARY", "ZCAT_NSPEC", "SURVEY", "PROGRAM", *flux]
    if survey == "sdss":
        return ["specObjID", "ra", "dec", "z", "zErr", "zWarning", "class", "zNoqso",
                "zErrNoqso", "zWarningNoqso", "classNoqso", "survey", "programname",
                "sciencePrimary"]
    raise ValueError(f"unknown survey {survey!r}; known: {sorted(SURVEY_NAMES)}")


def split_vector_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Columns of per-row arrays (e.g. Parquet copies of FITS vectors) -> ``name_0``, ..."""
    vector = [c for c in df.columns if df[c].dtype == object and len(df)
              and isinstance(df[c].iloc[0], np.ndarray | list)]
    if not vector:
        return df
    parts = [df.drop(columns=vector)]
    for c in vector:
        values = np.stack([np.asarray(v) for v in df[c].to_numpy()])
        parts.append(pd.DataFrame({f"{c}_{k}": values[:, k] for k in range(values.shape[1])},
                                  index=df.index))
    return pd.concat(parts, axis=1)


def photsys_from_release(release: np.ndarray) -> np.ndarray:
    """'N' / 'S' per row from the Legacy Surveys RELEASE (DR10 and later: 'S')."""
    rel = np.asarray(release).astype(np.int64)
    out = np.where(rel >= 10000, "S", "")
    for r, p in RELEASE_PHOTSYS.items():
        out = np.where(rel == r, p, out)
    return out.astype(object)


def has_i_band(df: pd.DataFrame) -> bool:
    """True when any row of an LS table holds an observed i band (flux_ivar_i > 0)."""
    if "flux_ivar_i" not in df.columns:
        return False
    ivar = pd.to_numeric(df["flux_ivar_i"], errors="coerce").to_numpy(dtype=float)
    return bool(np.nan_to_num(ivar).max(initial=0.0) > 0)


def _fluxes_from_mags(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Data Lab results with ``mag_<b>``/``dered_mag_<b>`` and ``snr_<b>`` but no fluxes.

    flux = 10^(-0.4 (m - 22.5)) [nmgy], flux_ivar = (snr / flux)^2, transmission
    10^(0.4 (dered_mag - mag)); with ``dered_mag_<b>`` alone, the dereddened flux and a
    transmission of 1. The magnitudes, errors and S/N nncz computes from them are those of the
    fluxes (a non-positive flux has no magnitude: NaN, failing the S/N cut as the flux would).
    With ``mag_<b>`` alone, dust comes from ``ebv`` (or the stage asks for it).
    """
    new = {}
    for b in LS_ALL_BANDS:
        mag_col = f"mag_{b}" if f"mag_{b}" in df.columns else f"dered_mag_{b}"
        if f"flux_{b}" in df.columns or mag_col not in df.columns or f"snr_{b}" not in df:
            continue
        mag = pd.to_numeric(df[mag_col], errors="coerce").to_numpy(dtype=float)
        flux = 10.0 ** (-0.4 * (mag - 22.5))
        snr = pd.to_numeric(df[f"snr_{b}"], errors="coerce").to_numpy(dtype=float)
        new[f"flux_{b}"] = flux
        new[f"flux_ivar_{b}"] = (snr / flux) ** 2
        if f"mw_transmission_{b}" not in df.columns and f"dered_mag_{b}" in df.columns:
            dered = pd.to_numeric(df[f"dered_mag_{b}"], errors="coerce").to_numpy(dtype=float)
            new[f"mw_transmission_{b}"] = 10.0 ** (0.4 * (dered - mag))
    return new


def _complete_ls(df: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    new: dict[str, object] = _fluxes_from_mags(df) if layout.key == "ls_datalab" else {}
    if new:
        df = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
        new = {}
    if layout.key == "ls_sweep" and "brick_primary" not in df.columns:
        new["brick_primary"] = np.ones(len(df), dtype=bool)
    if "flux_i" not in df.columns and "flux_g" in df.columns:  # DR8/DR9: no i at all
        for name, value in (("flux_i", 0.0), ("flux_ivar_i", 0.0), ("nobs_i", 0),
                            ("fracflux_i", 0.0), ("fracmasked_i", 0.0), ("fracin_i", 0.0),
                            ("mw_transmission_i", np.nan)):
            new[name] = np.full(len(df), value, dtype=np.float32 if isinstance(value, float)
                                else np.int16)
    if "photsys" not in df.columns and "release" in df.columns:
        new["photsys"] = photsys_from_release(df["release"].to_numpy())
    if "type" in df.columns and df["type"].dtype == object:
        new["type"] = df["type"].astype(str).str.strip().to_numpy()
    if new:
        df = df.drop(columns=[c for c in new if c in df.columns])
        df = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
    if "ls_id" not in df.columns and {"release", "brickid", "objid"} <= set(df.columns):
        from nncz.surveys.lsdr10 import ensure_ls_id

        df = ensure_ls_id(df)
    return df


def _complete_ps1(df: pd.DataFrame) -> pd.DataFrame:
    new = {}
    for b in PS1_BANDS:
        for k in PS1_KINDS:
            mag, flux = f"{b}{k}Mag", f"{b}{k}Flux"
            if mag in df.columns or flux not in df.columns:
                continue
            f = pd.to_numeric(df[flux], errors="coerce").to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                new[mag] = np.where(f > 0, JY_AB_ZP - 2.5 * np.log10(f), -999.0)
                if f"{flux}Err" in df.columns:
                    ef = pd.to_numeric(df[f"{flux}Err"], errors="coerce").to_numpy(dtype=float)
                    new[f"{mag}Err"] = np.where((f > 0) & (ef > 0), 1.0857362 * ef / f, -999.0)
    return pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1) if new else df


def _complete_sdss(df: pd.DataFrame) -> pd.DataFrame:
    if "specObjID" in df.columns and df["specObjID"].dtype == object:
        text = df["specObjID"].astype(str).str.strip()
        df = df.assign(specObjID=np.array([int(t) for t in text], dtype=np.uint64))
    return df


def normalise(df: pd.DataFrame, survey: str | None = None, source: str = "table",
              layout: Layout | None = None) -> tuple[pd.DataFrame, Layout]:
    """Canonical column names and implicit columns for a table in any known layout.

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read (vector columns split or as arrays).
    survey : str, optional
        Survey key; None: detect it.
    source : str
        File name used in messages.
    layout : Layout, optional
        Skip detection.

    Returns
    -------
    (DataFrame, Layout)
        The table (other columns kept under their own names) and its layout.
    """
    df = split_vector_columns(df)
    layout = layout or detect_layout(df.columns, survey, source)
    renames = canonical_names(list(df.columns), layout, canonical_columns(layout.survey))
    if renames:
        clash = [c for c in renames.values() if c in df.columns and c not in renames]
        df = df.drop(columns=clash).rename(columns=renames)
    if layout.survey == "lsdr10":
        df = _complete_ls(df, layout)
    elif layout.survey == "ps1":
        df = _complete_ps1(df)
    elif layout.survey == "sdss":
        df = _complete_sdss(df)
    return df, layout


def require_layout(df: pd.DataFrame, layout: Layout, columns: Sequence[str], source: str,
                   purpose: str) -> None:
    """Raise one :class:`LayoutError` naming the survey, layout and missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise LayoutError(f"{source}: {SURVEY_NAMES[layout.survey]} table recognised as "
                          f"{layout.name} [{layout.doc}] cannot serve {purpose}: missing "
                          f"column(s) {missing}")
