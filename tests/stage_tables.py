"""Hand-made rows in the docs/SCHEMAS.md layouts for the data-stage tests (issue 4).

Each factory returns one *good* row (it passes every cut); tests override single values to
make a row fail exactly one cut, so the survivors of every test are known by construction.
"""

from __future__ import annotations

import pandas as pd

ARCSEC = 1.0 / 3600.0


def table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).reset_index(drop=True)


def sdss_row(i: int, ra: float = 10.0, dec: float | None = None, **over) -> dict:
    """A legacy-SDSS galaxy spectrum (z/zErr columns) that passes every cut."""
    row = {"specObjID": 1000 + i, "ra": ra, "dec": 0.01 * i if dec is None else dec,
           "z": 0.1, "zErr": 1e-4, "zWarning": 0, "class": "GALAXY",
           "zNoqso": 0.1, "zErrNoqso": 1e-4, "zWarningNoqso": 0, "classNoqso": "GALAXY",
           "survey": "sdss", "programname": "legacy"}
    row.update(over)
    return row


def desi_row(i: int, ra: float = 20.0, dec: float | None = None, **over) -> dict:
    """A DESI BGS galaxy redshift that passes every cut."""
    row = {"TARGETID": 5000 + i, "TARGET_RA": ra, "TARGET_DEC": 0.01 * i if dec is None else dec,
           "Z": 0.2, "ZERR": 5e-5, "ZWARN": 0, "SPECTYPE": "GALAXY", "DELTACHI2": 100.0,
           "MORPHTYPE": "EXP", "MASKBITS": 0, "DESI_TARGET": 2**60, "BGS_TARGET": 2}
    for b in ("G", "R", "Z", "W1", "W2"):
        row[f"FLUX_{b}"] = 10.0
        row[f"FLUX_IVAR_{b}"] = 1.0
    row.update(over)
    return row


def ls_row(i: int, ra: float = 30.0, dec: float | None = None, north: bool = False,
           **over) -> dict:
    """An LSDR10 galaxy: flux 10 nmgy (mag 20), S/N 20, transmission 0.9 in every band."""
    row = {"ls_id": 9000 + i, "release": 9010 if north else 10000, "brickid": 1, "objid": i,
           "ra": ra, "dec": 0.01 * i if dec is None else dec, "type": "EXP",
           "brick_primary": True, "maskbits": 0, "ebv": 0.03, "photsys": "N" if north else "S"}
    for b in ("g", "r", "i", "z", "w1", "w2"):
        no_i = north and b == "i"
        row[f"flux_{b}"] = 0.0 if no_i else 10.0
        row[f"flux_ivar_{b}"] = 0.0 if no_i else 4.0
        row[f"mw_transmission_{b}"] = 0.9
        row[f"nobs_{b}"] = 0 if no_i else 3
    for b in ("g", "r", "i", "z"):
        no_i = north and b == "i"
        row[f"fracflux_{b}"] = 0.0 if no_i else 0.1
        row[f"fracmasked_{b}"] = 0.0 if no_i else 0.1
        row[f"fracin_{b}"] = 0.0 if no_i else 0.9
    row.update(over)
    return row


PS1_GOOD_ERR = {"Kron": {"g": 0.1, "r": 0.05, "i": 0.02, "z": 0.05, "y": 0.1},
                "PSF": {"g": 0.1, "r": 0.05, "i": 0.02, "z": 0.05, "y": 0.1},
                "Ap": {"g": 0.01, "r": 0.005, "i": 0.003, "z": 0.003, "y": 0.003}}


def ps1_row(i: int, ra: float = 40.0, dec: float | None = None, **over) -> dict:
    """A PS1 galaxy: Kron 19, PSF 19.5 (PSF - Kron = 0.5), Ap 19.2 in every band."""
    row = {"objID": 7000 + i, "raMean": ra, "decMean": 0.01 * i if dec is None else dec,
           "nDetections": 5, "primaryDetection": 1, "ebv_user": 0.1}
    for b in "grizy":
        for kind, mag in (("Kron", 19.0), ("PSF", 19.5), ("Ap", 19.2)):
            row[f"{b}{kind}Mag"] = mag
            row[f"{b}{kind}MagErr"] = PS1_GOOD_ERR[kind][b]
    row.update(over)
    return row


def unwise_row(i: int, ra: float = 40.0, dec: float | None = None, **over) -> dict:
    """An unWISE source: 100 Vega nmgy (Vega mag 17.5), 10% error, no flags."""
    row = {"unwise_objid": f"u{i}", "ra": ra, "dec": 0.01 * i if dec is None else dec}
    for b in ("w1", "w2"):
        row[f"flux_{b}"] = 100.0
        row[f"dflux_{b}"] = 10.0
        row[f"flags_unwise_{b}"] = 0
        row[f"flags_info_{b}"] = 0
    row.update(over)
    return row
