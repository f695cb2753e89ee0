"""Tests of nncz.spec: SDSS DR19 and DESI DR1 selection, merge rules, file errors, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from stage_tables import ARCSEC, desi_row, sdss_row, table

from nncz.cli import main
from nncz.funnel import Funnel
from nncz.spec import build_spec_sample, merge_spec, select_desi, select_sdss
from nncz.spec.desi import desi_classes


def ids(df, column):
    return sorted(df[column].tolist())


# ------------------------------------------------------------------------------------ SDSS
@pytest.mark.parametrize("override, cut", [
    ({"zWarning": 4}, "zWarning"),
    ({"class": "STAR"}, "class"),
    ({"class": "QSO"}, "class"),
    ({"z": 0.0}, "z > 0"),
    ({"zErr": 0.0}, "zErr > 0"),
    ({"zErr": 0.001}, "zErr < 0.001"),
])
def test_each_sdss_cut_removes_exactly_its_row(override, cut):
    df = table([sdss_row(0), sdss_row(1, **override), sdss_row(2)])
    funnel = Funnel()
    out = select_sdss(df, funnel=funnel)
    assert ids(out, "specObjID") == [1000, 1002]
    removed = [s.cut for s in funnel.steps if s.n_removed]
    assert len(removed) == 1 and removed[0].startswith(cut)


def test_boss_and_eboss_use_the_noqso_columns():
    rows = [
        # BOSS: bad plain fit, good Noqso fit -> kept with the Noqso redshift
        sdss_row(0, survey="boss", z=2.5, zWarning=4, **{"class": "QSO"}, zNoqso=0.45,
                 zErrNoqso=2e-4),
        # eBOSS: good plain fit, bad Noqso fit -> dropped
        sdss_row(1, survey="eboss", zWarningNoqso=4),
        sdss_row(2, survey="eboss", classNoqso="STAR"),
        sdss_row(3, survey="boss", zErrNoqso=0.002),
        # legacy SDSS ignores the Noqso columns
        sdss_row(4, survey="sdss", zWarningNoqso=4, classNoqso="QSO", z=0.07),
        sdss_row(5, survey=" BOSS ", zNoqso=-0.1),
    ]
    out = select_sdss(table(rows))
    assert ids(out, "specObjID") == [1000, 1004]
    assert out.set_index("specObjID").loc[1000, "z_spec"] == 0.45
    assert out.set_index("specObjID").loc[1000, "zerr"] == 2e-4
    assert out.set_index("specObjID").loc[1004, "z_spec"] == 0.07
    assert set(out["survey"]) == {"SDSS"} and out["spec_id"].iloc[0] == "SDSS:1000"


def test_sdss_bytes_class_from_fits_is_understood():
    df = table([sdss_row(0, **{"class": b"GALAXY  "}), sdss_row(1, **{"class": b"STAR  "})])
    assert ids(select_sdss(df), "specObjID") == [1000]


def test_uint64_spec_obj_ids_stay_exact():
    df = table([sdss_row(0), sdss_row(1)])
    df["specObjID"] = np.array([2**63 + 5, 7], dtype=np.uint64)
    out = select_sdss(df)
    assert list(out["spec_id"]) == [f"SDSS:{2**63 + 5}", "SDSS:7"]
    assert out["specObjID"].to_numpy().view(np.uint64)[0] == 2**63 + 5


# ------------------------------------------------------------------------------------ DESI
@pytest.mark.parametrize("override, cut", [
    ({"DESI_TARGET": 4, "BGS_TARGET": 0}, "target"),          # QSO only
    ({"SPECTYPE": "QSO"}, "SPECTYPE"),
    ({"ZWARN": 4}, "ZWARN"),
    ({"MASKBITS": 2}, "MASKBITS"),
    ({"MORPHTYPE": "PSF"}, "MORPHTYPE"),
    ({"FLUX_W1": 0.0}, "FLUX"),
    ({"FLUX_IVAR_R": 0.0}, "FLUX"),
    ({"DELTACHI2": 25.0}, "DELTACHI2"),
    ({"ZERR": 0.001}, "ZERR"),
])
def test_each_desi_cut_removes_exactly_its_row(override, cut):
    df = table([desi_row(0), desi_row(1, **override), desi_row(2)])
    funnel = Funnel()
    out = select_desi(df, funnel=funnel)
    assert ids(out, "TARGETID") == [5000, 5002]
    removed = [s.cut for s in funnel.steps if s.n_removed]
    assert len(removed) == 1 and cut in removed[0]


def test_desi_deltachi2_threshold_is_configurable():
    df = table([desi_row(0, DELTACHI2=30.0), desi_row(1, DELTACHI2=6000.0)])
    assert ids(select_desi(df), "TARGETID") == [5000, 5001]
    assert ids(select_desi(df, deltachi2_min=5000), "TARGETID") == [5001]


def test_desi_i_band_flux_is_checked_only_when_present():
    df = table([desi_row(0, FLUX_I=-1.0, FLUX_IVAR_I=1.0), desi_row(1, FLUX_I=5.0,
                                                                   FLUX_IVAR_I=1.0)])
    assert ids(select_desi(df), "TARGETID") == [5001]
    assert len(select_desi(table([desi_row(0)]))) == 1  # no FLUX_I column: not required


def test_desi_class_priority_and_all_bits():
    df = table([
        desi_row(0, DESI_TARGET=2**60 | 1, BGS_TARGET=2),   # BGS + LRG
        desi_row(1, DESI_TARGET=1 | 2, BGS_TARGET=0),       # LRG + ELG
        desi_row(2, DESI_TARGET=2, BGS_TARGET=0),           # ELG
        desi_row(3, DESI_TARGET=4, BGS_TARGET=1),           # QSO bit, but a BGS_FAINT target
        desi_row(4, DESI_TARGET=4, BGS_TARGET=0),           # QSO only
    ])
    cls, targets = desi_classes(df)
    assert list(cls) == ["BGS", "LRG", "ELG", "BGS", ""]
    assert list(targets) == ["BGS|LRG", "LRG|ELG", "ELG", "BGS", ""]
    out = select_desi(df)
    assert list(out["desi_class"]) == ["BGS", "LRG", "ELG", "BGS"]


# ----------------------------------------------------------------------------------- merge
def test_merge_keeps_smaller_error_and_drops_conflicts():
    sdss = select_sdss(table([
        sdss_row(0, ra=10, dec=0, z=0.3, zErr=1e-4),      # pair A: SDSS more precise -> SDSS
        sdss_row(1, ra=11, dec=0, z=0.3, zErr=3e-4),      # pair B: DESI more precise -> DESI
        sdss_row(2, ra=12, dec=0, z=0.3, zErr=1e-4),      # pair C: |dz| = 0.006 -> both dropped
        sdss_row(3, ra=13, dec=0, z=0.3, zErr=1e-4),      # pair D: |dz| = 0.004 -> kept
        sdss_row(4, ra=14, dec=0, z=0.3, zErr=1e-4),      # unmatched (DESI at 1.5")
    ]))
    desi = select_desi(table([
        desi_row(0, ra=10, dec=0.5 * ARCSEC, Z=0.3001, ZERR=2e-4, DESI_TARGET=1, BGS_TARGET=0),
        desi_row(1, ra=11, dec=0.5 * ARCSEC, Z=0.3001, ZERR=2e-4),
        desi_row(2, ra=12, dec=0.5 * ARCSEC, Z=0.306, ZERR=2e-4),
        desi_row(3, ra=13, dec=0.9 * ARCSEC, Z=0.304, ZERR=2e-4),
        desi_row(4, ra=14, dec=1.5 * ARCSEC),
    ]))
    funnel = Funnel()
    out = merge_spec(sdss, desi, funnel=funnel)
    assert sorted(out["spec_id"]) == ["DESI:5001", "DESI:5004", "SDSS:1000", "SDSS:1003",
                                      "SDSS:1004"]
    kept_a = out.set_index("spec_id").loc["SDSS:1000"]
    # the DESI targeting of pair A is carried onto the SDSS row
    assert kept_a["desi_class"] == "LRG" and kept_a["TARGETID"] == 5000
    assert kept_a["survey"] == "SDSS"
    steps = {s.cut: s.n_removed for s in funnel.steps}
    assert steps["drop SDSS-DESI pairs with |dz| > 0.005"] == 2
    assert steps['duplicates within 1": keep smaller zerr'] == 3
    assert funnel.notes["sdss_x_desi"]["n_matched"] == 4


def test_merge_tie_keeps_desi():
    sdss = select_sdss(table([sdss_row(0, ra=10, dec=0, zErr=2e-4)]))
    desi = select_desi(table([desi_row(0, ra=10, dec=0, Z=0.1, ZERR=2e-4)]))
    assert list(merge_spec(sdss, desi)["spec_id"]) == ["DESI:5000"]


def test_build_spec_sample_counts_and_single_survey():
    spec, funnel = build_spec_sample(table([sdss_row(i) for i in range(3)]),
                                     table([desi_row(i) for i in range(2)]))
    assert len(spec) == 5 and funnel.notes["survey_counts"] == {"SDSS": 3, "DESI": 2}
    spec, _ = build_spec_sample(desi=table([desi_row(0)]))
    assert list(spec["survey"]) == ["DESI"]
    with pytest.raises(ValueError):
        build_spec_sample()


# ------------------------------------------------------------------------- files and CLI
def test_misspelled_column_in_file_names_file_and_column(tmp_path):
    path = tmp_path / "specobj.parquet"
    table([sdss_row(0)]).rename(columns={"zErrNoqso": "zErrNoQ"}).to_parquet(path)
    with pytest.raises(KeyError) as err:
        build_spec_sample(sdss=path)
    assert "zErrNoqso" in str(err.value) and "specobj.parquet" in str(err.value)


def test_missing_column_in_fits_file(tmp_path):
    from astropy.table import Table

    path = tmp_path / "zcat.fits"
    Table.from_pandas(table([desi_row(0)]).drop(columns=["DELTACHI2"])).write(path)
    with pytest.raises(KeyError, match=r"DELTACHI2[\s\S]*zcat\.fits|zcat\.fits[\s\S]*DELTACHI2"):
        build_spec_sample(desi=path)


def test_file_that_is_not_a_table_fails_cleanly(tmp_path):
    from nncz.io import TableFormatError

    path = tmp_path / "specobj.parquet"
    path.write_text("this is not parquet\n")
    with pytest.raises(TableFormatError, match="specobj.parquet"):
        build_spec_sample(sdss=path)
    fits = tmp_path / "zcat.fits"
    fits.write_bytes(b"SIMPLE  = garbage" * 10)
    with pytest.raises(TableFormatError, match="zcat.fits"):
        build_spec_sample(desi=fits)


def test_spec_cli_writes_table_and_funnel(tmp_path, capsys):
    from astropy.table import Table

    from nncz.io import read_table

    Table.from_pandas(table([sdss_row(0), sdss_row(1, zWarning=1)])).write(
        tmp_path / "sdss_specobj.fits")
    table([desi_row(0), desi_row(1)]).to_parquet(tmp_path / "desi_dr1_zcat.parquet")
    out = tmp_path / "spec.parquet"
    assert main(["-q", "spec", "--input-dir", str(tmp_path), "-o", str(out)]) == 0
    spec = read_table(out)
    assert sorted(spec["spec_id"]) == ["DESI:5000", "DESI:5001", "SDSS:1000"]
    funnel = json.loads((tmp_path / "spec.parquet.funnel.json").read_text())
    assert any(s["cut"].startswith("zWarning") and s["n_removed"] == 1 for s in funnel["steps"])
    assert "zWarning" in capsys.readouterr().out
    assert np.all(spec["zerr"] < 0.001)


def test_column_names_match_regardless_of_case(tmp_path):
    # Data Lab's sdss specobj table spells the columns in lower case
    df = table([sdss_row(0), sdss_row(1, zWarning=2)])
    df.columns = [c.lower() for c in df.columns]
    df.to_parquet(tmp_path / "specobj.parquet")
    spec, _ = build_spec_sample(sdss=tmp_path / "specobj.parquet")
    assert list(spec["spec_id"]) == ["SDSS:1000"]
