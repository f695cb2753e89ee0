"""SDSS DR19 ``specObj`` selection of reliable galaxy redshifts.

BOSS and eBOSS spectra (``survey`` in {boss, eboss}) are judged on the ``*Noqso`` outputs of the
pipeline (fits without the QSO templates, the reliable choice for galaxies); the legacy SDSS
spectra on ``z``, ``zErr``, ``zWarning``, ``class``. Cuts, in order: sciencePrimary = 1 (only
when the table has it: the specObj FITS file and CAS SpecObjAll hold repeat spectra; the CAS
SpecObj view is already primary), zWarning == 0, class == 'GALAXY', z > 0, zErr > 0,
zErr < 0.001.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys._util import as_str, num, require

__all__ = ["SDSS_COLUMNS", "NOQSO_SURVEYS", "select_sdss"]

SDSS_COLUMNS: tuple[str, ...] = ("specObjID", "ra", "dec", "z", "zErr", "zWarning", "class",
                                 "zNoqso", "zErrNoqso", "zWarningNoqso", "classNoqso", "survey")
NOQSO_SURVEYS: tuple[str, ...] = ("boss", "eboss")


def standardise_sdss(df: pd.DataFrame, source: str = "sdss_specobj") -> pd.DataFrame:
    """SDSS rows in the common spectroscopic schema (before cuts).

    ``spec_id`` holds the exact ``specObjID`` (also when it exceeds the int64 range, as the
    CAS uint64 ids of late BOSS/eBOSS plates do); the ``specObjID`` column is int64, holding the
    same 64 bits (``.view(np.uint64)`` recovers such ids).

    Returns columns spec_id, ra, dec, z_spec, zerr, zwarning, spec_class, survey ('SDSS'),
    sdss_survey, desi_class (''), desi_targets (''), specObjID, TARGETID (-1).
    """
    require(df, SDSS_COLUMNS, source)
    sdss_survey = as_str(df["survey"]).str.lower()
    noqso = sdss_survey.isin(NOQSO_SURVEYS).to_numpy()
    raw = df["specObjID"].to_numpy()
    if raw.dtype.kind == "u":  # CAS uint64: keep the bits in int64 (view back with uint64)
        spec_obj_id = raw.astype(np.uint64).view(np.int64)
    else:
        spec_obj_id = pd.to_numeric(df["specObjID"], errors="coerce").astype("int64").to_numpy()
    return pd.DataFrame({
        "spec_id": [f"SDSS:{int(i)}" for i in raw],
        "ra": num(df, "ra"), "dec": num(df, "dec"),
        "z_spec": np.where(noqso, num(df, "zNoqso"), num(df, "z")),
        "zerr": np.where(noqso, num(df, "zErrNoqso"), num(df, "zErr")),
        "zwarning": np.where(noqso, num(df, "zWarningNoqso"), num(df, "zWarning")),
        "spec_class": np.where(noqso, as_str(df["classNoqso"]), as_str(df["class"])),
        "survey": "SDSS", "sdss_survey": sdss_survey.to_numpy(),
        "desi_class": "", "desi_targets": "",
        "specObjID": spec_obj_id, "TARGETID": np.full(len(df), -1, dtype=np.int64),
    })


def select_sdss(df: pd.DataFrame, zerr_max: float = 0.001, funnel: Funnel | None = None,
                source: str = "sdss_specobj", stage: str = "sdss") -> pd.DataFrame:
    """Reliable SDSS galaxy redshifts in the common spectroscopic schema.

    Parameters
    ----------
    df : pandas.DataFrame
        ``specObj`` rows with the columns of :data:`SDSS_COLUMNS`.
    zerr_max : float
        Largest redshift error kept (exclusive).
    funnel : Funnel, optional
        Receives one step per cut.
    source : str
        File name used in error messages.
    stage : str
        Stage name in the funnel.

    Returns
    -------
    pandas.DataFrame
        See :func:`standardise_sdss`; the Noqso values for BOSS/eBOSS.
    """
    funnel = funnel if funnel is not None else Funnel(stage)
    spec = standardise_sdss(df, source)
    funnel.start(stage, len(spec), "SDSS specObj rows")
    if "sciencePrimary" in df.columns:  # specObj files and SpecObjAll hold repeat spectra
        spec = funnel.apply(spec, num(df, "sciencePrimary") >= 1,
                            "sciencePrimary (specprimary) = 1", stage)
    q = " (Noqso for BOSS/eBOSS)"
    spec = funnel.apply(spec, spec["zwarning"].to_numpy() == 0, "zWarning == 0" + q, stage)
    spec = funnel.apply(spec, spec["spec_class"].str.upper().to_numpy() == "GALAXY",
                        "class == GALAXY" + q, stage)
    spec = funnel.apply(spec, spec["z_spec"].to_numpy() > 0, "z > 0" + q, stage)
    spec = funnel.apply(spec, spec["zerr"].to_numpy() > 0, "zErr > 0" + q, stage)
    spec = funnel.apply(spec, spec["zerr"].to_numpy() < zerr_max, f"zErr < {zerr_max:g}", stage)
    return spec.drop(columns=["zwarning", "spec_class"])
