"""Tests of nncz.datasets: matching, stage order, redshift ranges, split, subsets, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from stage_tables import ARCSEC, ls_row, ps1_row, table, unwise_row

from nncz.cli import main
from nncz.datasets import assign_split, build_dataset, survey_training_set


def spec_rows() -> pd.DataFrame:
    """Six objects at ra = 30.00 ... 30.05, dec 0; object 5 has an SDSS and a DESI spectrum."""
    def row(sid, k, z, zerr=1e-4, dec=0.0, cls="BGS"):
        survey, num = sid.split(":")
        return {"spec_id": sid, "ra": 30.0 + 0.01 * k, "dec": dec, "z_spec": z, "zerr": zerr,
                "survey": survey, "sdss_survey": "", "desi_class": cls if survey == "DESI" else "",
                "desi_targets": cls if survey == "DESI" else "",
                "specObjID": int(num) if survey == "SDSS" else -1,
                "TARGETID": int(num) if survey == "DESI" else -1}
    return table([row("SDSS:1", 0, 0.3), row("DESI:2", 1, 1.5), row("DESI:3", 2, 0.5),
                  row("DESI:4", 3, 0.5), row("DESI:5", 4, 2.5),
                  row("SDSS:6", 5, 0.4, zerr=3e-4), row("DESI:7", 5, 0.4, dec=0.2 * ARCSEC)])


def ls_table() -> pd.DataFrame:
    return table([
        ls_row(0, ra=30.00, dec=0.3 * ARCSEC),       # good
        ls_row(1, ra=30.01, dec=0.0, north=True),    # good, but no i band
        ls_row(2, ra=30.02, dec=0.0, type="PSF"),    # point source
        ls_row(3, ra=30.03, dec=1.5 * ARCSEC),       # too far from its spectrum
        ls_row(4, ra=30.04, dec=0.0),                # z_spec = 2.5 out of range
        ls_row(5, ra=30.05, dec=0.1 * ARCSEC),       # two spectra: DESI:7 is more precise
    ])


def ps1_table() -> pd.DataFrame:
    return table([
        ps1_row(0, ra=30.00, dec=0.2 * ARCSEC),
        ps1_row(1, ra=30.01, dec=0.0),               # z_spec = 1.5 > 1.2 for PS1 sets
        ps1_row(2, ra=30.02, dec=0.0),
        ps1_row(5, ra=30.05, dec=0.0, iKronMagErr=0.08),  # fails KronMagErr, i band still valid
    ])


def unwise_table() -> pd.DataFrame:
    return table([unwise_row(0, ra=30.00, dec=0.0),
                  unwise_row(2, ra=30.02, dec=0.0, flags_unwise_w1=1)])


def truth_table() -> pd.DataFrame:
    return table([{"truth_id": 1, "log_mstar": 10.5, "specObjID": 1, "TARGETID": -1},
                  {"truth_id": 2, "log_mstar": 11.0, "specObjID": 6, "TARGETID": 7},
                  {"truth_id": 3, "log_mstar": 9.5, "specObjID": -1, "TARGETID": 3}])


def build(fs: str, **kw):
    return build_dataset(spec_rows(), ls_table(), ps1_table(), unwise_table(), fs,
                         truth=truth_table(), ebv_column="ebv_user", **kw)


@pytest.mark.parametrize("fs, expected", [
    ("lsdr10", ["DESI:7", "SDSS:1"]),
    ("lsdr10_noi", ["DESI:2", "DESI:7", "SDSS:1"]),
    ("lsdr10_ps1i", ["DESI:2", "DESI:7", "SDSS:1"]),  # loose PS1 i cuts keep object 5
    ("ps1", ["DESI:3", "SDSS:1"]),
    ("ps1_unwise", ["SDSS:1"]),
])
def test_survivors_of_each_feature_set(fs, expected):
    ds, funnel = build(fs)
    assert sorted(ds["spec_id"]) == expected
    assert funnel.n_final == len(expected) and funnel.steps[0].n_out == 7


def test_non_primary_duplicates_never_steal_a_match():
    # a brick-edge re-measurement at the very same position, and a secondary PS1 detection
    dup_ls = ls_row(10, ra=30.00, dec=0.3 * ARCSEC, brick_primary=False, ls_id=1)
    dup_ps1 = ps1_row(10, ra=30.00, dec=0.2 * ARCSEC, primaryDetection=0, objID=2)
    for order in (1, -1):
        ls_tab = table([dup_ls, *ls_table().to_dict("records")][::order])
        ps_tab = table([dup_ps1, *ps1_table().to_dict("records")][::order])
        ds, funnel = build_dataset(spec_rows(), ls_tab, ps_tab, feature_set="lsdr10_ps1i",
                                   ebv_column="ebv_user")
        row = ds.set_index("spec_id").loc["SDSS:1"]
        assert row["ls_id"] == 9000 and row["objID"] == 7000
        assert funnel.notes["lsdr10 catalogue"]["n_not_brick_primary"] == 1
        assert funnel.notes["ps1 catalogue"]["n_not_primaryDetection"] == 1


def test_columns_features_and_meta():
    ds, _ = build("lsdr10_ps1i")
    for col in ("spec_id", "ra", "dec", "z_spec", "zerr", "survey", "desi_class", "mag_z",
                "log_mstar", "split", "ls_id", "objID", "i_kron", "i_kron_err", "mag_w2"):
        assert col in ds.columns
    row = ds.set_index("spec_id").loc["SDSS:1"]
    assert row["mag_g"] == pytest.approx(20.0 + 2.5 * np.log10(0.9))
    assert row["i_kron"] == pytest.approx(19.0 - 1.682 * 0.1)
    assert row["mag_z"] == row["mag_z"] and row["log_mstar"] == 10.5
    assert row["ls_id"] == 9000 and row["objID"] == 7000
    assert "mag_i" not in ds.columns


def test_duplicate_spectra_keep_smaller_error_and_log_mstar_join():
    ds, funnel = build("lsdr10")
    row = ds.set_index("spec_id").loc["DESI:7"]
    assert row["log_mstar"] == 11.0 and row["survey"] == "DESI"
    step = next(s for s in funnel.steps if s.cut.startswith("one spectrum per ls_id"))
    assert step.n_removed == 1


def test_funnel_records_each_stage():
    _, funnel = build("lsdr10_noi")
    removed = {s.cut: s.n_removed for s in funnel.steps}
    assert removed["matched within 1 arcsec"] == 1            # object 3
    assert removed["type != PSF"] == 1                         # object 2
    assert removed["0.001 < z_spec < 2"] == 1                  # object 4
    assert funnel.notes["match lsdr10"]["n_matched"] == 6
    assert funnel.notes["split_counts"]["train"] + funnel.notes["split_counts"]["val"] + \
        funnel.notes["split_counts"]["test"] == 3


def test_ps1_sets_take_mag_z_from_lsdr10_when_given():
    ds, _ = build("ps1")
    np.testing.assert_allclose(ds["mag_z"], 20.0 + 2.5 * np.log10(0.9))
    ds, _ = build_dataset(spec_rows(), ps1_table=ps1_table(), feature_set="ps1",
                          ebv_column="ebv_user")
    assert ds["mag_z"].isna().all() and ds["log_mstar"].isna().all()


def test_sweep_style_upper_case_columns_without_ls_id(tmp_path):
    sweep = ls_table().drop(columns=["ls_id"])
    sweep.columns = [c.upper() for c in sweep.columns]
    path = tmp_path / "sweep.parquet"
    sweep.to_parquet(path)
    ds, _ = build_dataset(spec_rows(), lsdr10=path, feature_set="lsdr10_noi")
    assert sorted(ds["spec_id"]) == ["DESI:2", "DESI:7", "SDSS:1"]
    row = ds.set_index("spec_id").loc["SDSS:1"]
    assert row["ls_id"] == (10000 << 40) + (1 << 16) + 0


def test_missing_catalogue_is_a_clear_error():
    with pytest.raises(ValueError, match="unwise"):
        build_dataset(spec_rows(), ps1_table=ps1_table(), feature_set="ps1_unwise")


def test_missing_column_in_photometry_file(tmp_path):
    path = tmp_path / "ls_dr10.parquet"
    ls_table().drop(columns=["fracmasked_r"]).to_parquet(path)
    with pytest.raises(KeyError) as err:
        build_dataset(spec_rows(), lsdr10=path, feature_set="lsdr10")
    assert "fracmasked_r" in str(err.value) and "ls_dr10.parquet" in str(err.value)


# ----------------------------------------------------------------------------------- split
def test_split_fractions_and_stability():
    ids = [f"DESI:{i}" for i in range(20000)]
    split = assign_split(ids)
    frac = {s: np.mean(split == s) for s in ("train", "val", "test")}
    assert abs(frac["train"] - 0.8) < 0.015 and abs(frac["val"] - 0.1) < 0.01
    # same id, same split, whatever the other ids and their order
    sub = ids[::-7]
    np.testing.assert_array_equal(assign_split(sub), split[::-7])
    assert not np.array_equal(assign_split(ids, salt="other"), split)
    assert set(assign_split(ids[:50], fractions=(1, 0, 0))) == {"train"}


def test_split_does_not_depend_on_python_hash_seed():
    ids = [f"SDSS:{i}" for i in range(200)]
    here = "".join(s[0] for s in assign_split(ids))
    code = ("from nncz.datasets import assign_split; "
            "print(''.join(s[0] for s in assign_split([f'SDSS:{i}' for i in range(200)])))")
    seed = "7" if os.environ.get("PYTHONHASHSEED") != "7" else "8"
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                         capture_output=True, text=True, check=True)
    assert res.stdout.strip() == here and len(here) == 200


def test_same_object_same_split_across_feature_sets():
    a, _ = build("lsdr10_noi")
    b, _ = build("ps1")
    both = a.merge(b, on="spec_id", suffixes=("_a", "_b"))
    assert len(both) == 1 and (both["split_a"] == both["split_b"]).all()


def test_survey_training_sets_share_the_test_set():
    n = 400
    ds = pd.DataFrame({"spec_id": [f"X:{i}" for i in range(n)],
                       "survey": np.where(np.arange(n) % 3 == 0, "SDSS", "DESI")})
    ds["split"] = assign_split(ds["spec_id"])
    sdss = survey_training_set(ds, "SDSS")
    desi = survey_training_set(ds, "desi")
    test = ds[ds["split"] == "test"]
    for sub, other in ((sdss, "DESI"), (desi, "SDSS")):
        pd.testing.assert_frame_equal(sub[sub["split"] == "test"].reset_index(drop=True),
                                      test.reset_index(drop=True))
        assert not ((sub["split"] != "test") & (sub["survey"] == other)).any()
    assert len(sdss) + len(desi) == n + len(test)
    with pytest.raises(ValueError):
        survey_training_set(ds, "BOSS")


# ------------------------------------------------------------------------------------- CLI
def test_dataset_cli(tmp_path):
    from nncz.io import read_table

    spec_rows().to_parquet(tmp_path / "spec.parquet")
    ls_table().to_parquet(tmp_path / "ls_dr10.parquet")
    ps1_table().to_parquet(tmp_path / "ps1_dr2.parquet")
    unwise_table().to_parquet(tmp_path / "unwise.parquet")
    out = tmp_path / "out"
    assert main(["-q", "dataset", "--spec", str(tmp_path / "spec.parquet"), "--input-dir",
                 str(tmp_path), "-f", "lsdr10_noi", "-f", "ps1", "--ebv-column", "ebv_user",
                 "-o", str(out), "--survey-only"]) == 0
    assert sorted(read_table(out / "lsdr10_noi.parquet")["spec_id"]) == [
        "DESI:2", "DESI:7", "SDSS:1"]
    sdss_only = read_table(out / "lsdr10_noi_sdss_only.parquet")
    assert not ((sdss_only["split"] != "test") & (sdss_only["survey"] == "DESI")).any()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ps1"]["n_rows"] == 2
    funnel = json.loads((out / "ps1.funnel.json").read_text())
    assert funnel["steps"][0]["n_out"] == 7


# ------------------------------------------------------------------- mock universe (slow)
@pytest.mark.slow
def test_mock_universe_end_to_end(tmp_path):
    """Every dataset row's photometry belongs to the same mock galaxy as its spectrum."""
    make_universe = pytest.importorskip("nncz.mock.universe").make_universe
    from nncz.spec import build_spec_sample

    make_universe(tmp_path, n_galaxies=30_000, seed=5, formats=("parquet",), progress=False)
    spec, _ = build_spec_sample(tmp_path / "sdss_specobj.parquet",
                                tmp_path / "desi_dr1_zcat.parquet")
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    by_spec = {}
    for survey, col in (("DESI", "TARGETID"), ("SDSS", "specObjID")):
        has = truth[col] >= 0
        by_spec.update(dict(zip(survey + ":" + truth.loc[has, col].astype(str),
                                truth.loc[has, "truth_id"], strict=True)))
    for fs, pid in (("lsdr10_noi", "ls_id"), ("ps1_unwise", "unwise_objid")):
        ds, funnel = build_dataset(spec, tmp_path / "ls_dr10.parquet",
                                   tmp_path / "ps1_dr2.parquet", tmp_path / "unwise.parquet",
                                   fs, truth=tmp_path / "truth.parquet")
        assert len(ds) > 0 and funnel.n_final == len(ds)
        owner = truth[truth[pid].astype(str) != ""].drop_duplicates(pid).set_index(
            truth[pid].name)["truth_id"]
        # the galaxy of the photometry is the galaxy of the spectrum (DESI:x or SDSS:y)
        phot_owner = owner.reindex(ds[pid]).to_numpy()
        spec_owner = np.array([by_spec.get(s, -9) for s in ds["spec_id"]])
        carried = ds["TARGETID"].to_numpy()  # SDSS rows may carry their DESI pair's TARGETID
        alt = np.array([by_spec.get(f"DESI:{t}", -9) for t in carried])
        assert np.all((phot_owner == spec_owner) | (phot_owner == alt))
        assert ds["log_mstar"].notna().all()
