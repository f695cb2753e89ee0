"""DESI DR1 redshift catalogue selection of reliable BGS / LRG / ELG galaxy redshifts.

Cuts, in order: ZCAT_PRIMARY (only when the file has it: zall-pix holds a target once per
survey/program, ZCAT_PRIMARY marks the best redshift); a BGS, LRG or ELG target bit;
SPECTYPE == 'GALAXY'; ZWARN == 0; MASKBITS == 0; MORPHTYPE != 'PSF'; FLUX > 0 and
FLUX_IVAR > 0 in every band the file has among G R I Z W1 W2; DELTACHI2 > 25 (configurable;
the method tested 25 to 5000); ZERR < 0.001.

Target class. An object can carry several target bits (e.g. a bright LRG is often also a BGS
target). ``desi_class`` is one label by the priority BGS > LRG > ELG: BGS is the
magnitude-limited, most complete selection (its redshifts come from the bright-time program),
and a colour-selected LRG flag is more specific than the ELG one when both are set. All bits
the object has are kept in ``desi_targets`` (e.g. ``"BGS|LRG"``) for other choices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.funnel import Funnel
from nncz.surveys._util import as_bool, as_str, num, require

__all__ = ["DESI_COLUMNS", "DESI_BITS", "BGS_BITS", "CLASS_PRIORITY", "desi_classes",
           "select_desi"]

DESI_COLUMNS: tuple[str, ...] = ("TARGETID", "TARGET_RA", "TARGET_DEC", "Z", "ZERR", "ZWARN",
                                 "SPECTYPE", "DELTACHI2", "MORPHTYPE", "MASKBITS", "DESI_TARGET")
#: desitarget DESI_TARGET bits (SCHEMAS.md)
DESI_BITS: dict[str, int] = {"LRG": 1 << 0, "ELG": 1 << 1, "QSO": 1 << 2, "BGS_ANY": 1 << 60}
#: desitarget BGS_TARGET bits
BGS_BITS: dict[str, int] = {"BGS_FAINT": 1 << 0, "BGS_BRIGHT": 1 << 1}
CLASS_PRIORITY: tuple[str, ...] = ("BGS", "LRG", "ELG")
FLUX_BANDS: tuple[str, ...] = ("G", "R", "I", "Z", "W1", "W2")
REQUIRED_FLUX_BANDS: tuple[str, ...] = ("G", "R", "Z", "W1", "W2")


def _bits(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.zeros(len(df), dtype=np.uint64)
    return pd.to_numeric(df[column], errors="coerce").fillna(0).astype("int64").to_numpy(
        ).view(np.uint64)


def desi_classes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Target classes from DESI_TARGET (and BGS_TARGET when present).

    Returns
    -------
    (desi_class, desi_targets) : two object arrays of shape (N,)
        The class by priority BGS > LRG > ELG ('' when none) and all of them joined by '|'.
    """
    desi_t, bgs_t = _bits(df, "DESI_TARGET"), _bits(df, "BGS_TARGET")
    member = {
        "BGS": ((desi_t & np.uint64(DESI_BITS["BGS_ANY"])) != 0) | (bgs_t != 0),
        "LRG": (desi_t & np.uint64(DESI_BITS["LRG"])) != 0,
        "ELG": (desi_t & np.uint64(DESI_BITS["ELG"])) != 0,
    }
    cls = np.full(len(df), "", dtype=object)
    for name in reversed(CLASS_PRIORITY):  # highest priority written last
        cls[member[name]] = name
    targets = np.full(len(df), "", dtype=object)
    for name in CLASS_PRIORITY:
        sep = np.where(targets == "", "", "|")
        targets = np.where(member[name], targets + sep + name, targets)
    return cls, targets.astype(object)


def select_desi(df: pd.DataFrame, deltachi2_min: float = 25.0, zerr_max: float = 0.001,
                funnel: Funnel | None = None, source: str = "desi_dr1_zcat",
                stage: str = "desi") -> pd.DataFrame:
    """Reliable DESI galaxy redshifts in the common spectroscopic schema.

    Parameters
    ----------
    df : pandas.DataFrame
        Redshift-catalogue rows with :data:`DESI_COLUMNS` and ``FLUX_<b>``, ``FLUX_IVAR_<b>``.
    deltachi2_min : float
        DELTACHI2 must exceed this.
    zerr_max : float
        Largest ZERR kept (exclusive).
    funnel : Funnel, optional
        Receives one step per cut.
    source : str
        File name used in error messages.
    stage : str
        Stage name in the funnel.

    Returns
    -------
    pandas.DataFrame
        Columns spec_id ('DESI:<TARGETID>'), ra, dec, z_spec, zerr, survey ('DESI'),
        sdss_survey (''), desi_class, desi_targets, specObjID (-1), TARGETID.
    """
    require(df, [*DESI_COLUMNS, *(f"FLUX{i}_{b}" for b in REQUIRED_FLUX_BANDS
                                  for i in ("", "_IVAR"))], source)
    funnel = funnel if funnel is not None else Funnel(stage)
    funnel.start(stage, len(df), "DESI zcat rows")
    if "ZCAT_PRIMARY" in df.columns:  # zall-pix: one row per TARGETID per survey/program
        df = funnel.apply(df, as_bool(df["ZCAT_PRIMARY"]), "ZCAT_PRIMARY", stage)
    cls, targets = desi_classes(df)
    df = df.assign(_cls=cls, _targets=targets)
    df = funnel.apply(df, df["_cls"].to_numpy() != "", "BGS|LRG|ELG target", stage)
    df = funnel.apply(df, as_str(df["SPECTYPE"]).str.upper() == "GALAXY", "SPECTYPE == GALAXY",
                      stage)
    df = funnel.apply(df, num(df, "ZWARN") == 0, "ZWARN == 0", stage)
    df = funnel.apply(df, num(df, "MASKBITS") == 0, "MASKBITS == 0", stage)
    df = funnel.apply(df, as_str(df["MORPHTYPE"]).str.upper() != "PSF", "MORPHTYPE != PSF",
                      stage)
    bands = [b for b in FLUX_BANDS if f"FLUX_{b}" in df.columns and f"FLUX_IVAR_{b}" in df.columns]
    keep = np.ones(len(df), dtype=bool)
    for b in bands:
        keep &= (num(df, f"FLUX_{b}") > 0) & (num(df, f"FLUX_IVAR_{b}") > 0)
    df = funnel.apply(df, keep, f"FLUX > 0 and FLUX_IVAR > 0 in {' '.join(bands)}", stage)
    df = funnel.apply(df, num(df, "DELTACHI2") > deltachi2_min, f"DELTACHI2 > {deltachi2_min:g}",
                      stage)
    df = funnel.apply(df, num(df, "ZERR") < zerr_max, f"ZERR < {zerr_max:g}", stage)
    tid = pd.to_numeric(df["TARGETID"], errors="coerce").astype("int64").to_numpy()
    return pd.DataFrame({
        "spec_id": ["DESI:" + str(i) for i in tid],
        "ra": num(df, "TARGET_RA"), "dec": num(df, "TARGET_DEC"),
        "z_spec": num(df, "Z"), "zerr": num(df, "ZERR"),
        "survey": "DESI", "sdss_survey": "",
        "desi_class": df["_cls"].to_numpy(), "desi_targets": df["_targets"].to_numpy(),
        "specObjID": np.full(len(df), -1, dtype=np.int64), "TARGETID": tid,
    })
