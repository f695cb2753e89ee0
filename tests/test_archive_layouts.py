"""Every archive layout of docs/SCHEMAS.md through its stage: spec, dataset, prepare, inspect.

The fixtures (tests/archive_tables.py) are the rows of the stage tests written as each archive
serves them; each layout must give exactly what the nncz (mock) layout of the same rows gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archive_tables import (
    desi_zcat,
    ls_datalab,
    ls_datalab_mags_only,
    ls_sweep,
    ls_tractor,
    ps1_casjobs,
    ps1_mast_stack,
    ps1_mean,
    ps1_stack_flux,
    sdss_cas,
    sdss_specobj_fits,
    unwise_band,
    unwise_merged,
    write_fits,
)
from astropy.table import Table
from stage_tables import desi_row, ls_row, sdss_row, table
from test_datasets import ls_table, ps1_table, spec_rows, unwise_table

from nncz.datasets import build_dataset
from nncz.inspection import inspect_file
from nncz.spec import build_spec_sample
from nncz.surveys.layouts import LayoutError
from nncz.surveys.prepare import prepare_for_model
from nncz.surveys.read import read_survey

NOI = ["mag_g", "magerr_g", "mag_r", "magerr_r", "mag_z", "magerr_z", "mag_w1", "magerr_w1",
       "mag_w2", "magerr_w2"]


def _features(ds: pd.DataFrame, cols) -> pd.DataFrame:
    return ds.set_index("spec_id").sort_index()[list(cols)]


@pytest.fixture(scope="module")
def ls_files(tmp_path_factory):
    """The LS rows of the dataset tests in each LS layout (sweeps: primary rows only)."""
    d = tmp_path_factory.mktemp("ls")
    ls = ls_table()
    north = ls["photsys"] == "N"
    files = {
        "sweep": [write_fits(ls_sweep(ls[north].reset_index(drop=True), "dr9"),
                             d / "sweep" / "north" / "sweep-030p000-040p005.fits"),
                  write_fits(ls_sweep(ls[~north].reset_index(drop=True), "dr10"),
                             d / "sweep" / "south" / "sweep-030p000-040p005.fits")],
        "tractor": write_fits(ls_tractor(ls), d / "tractor-0300p000.fits"),
        "datalab_mags": d / "datalab_mags.csv", "datalab": d / "datalab.csv",
    }
    ls_datalab(ls, True).to_csv(files["datalab_mags"], index=False)
    ls_datalab(ls, False).to_csv(files["datalab"], index=False)
    files["datalab_dered_only"] = d / "datalab_dered_only.csv"
    ls_datalab_mags_only(ls).to_csv(files["datalab_dered_only"], index=False)
    return files


@pytest.mark.parametrize("layout", ["sweep", "tractor", "datalab_mags", "datalab",
                                    "datalab_dered_only"])
def test_ls_layouts_give_the_mock_layout_dataset(ls_files, layout):
    ref, _ = build_dataset(spec_rows(), lsdr10=ls_table(), feature_set="lsdr10_noi")
    got, funnel = build_dataset(spec_rows(), lsdr10=ls_files[layout], feature_set="lsdr10_noi")
    assert sorted(got["spec_id"]) == sorted(ref["spec_id"]) == ["DESI:2", "DESI:7", "SDSS:1"]
    pd.testing.assert_frame_equal(_features(got, NOI), _features(ref, NOI), rtol=1e-6)


def test_sweep_directory_and_both_regions_as_one_input(ls_files):
    table_, layout, source = read_survey(ls_files["sweep"][0].parent.parent / "*" / "*.fits",
                                         "lsdr10")
    assert layout.key == "ls_sweep" and "+1 files" in source and len(table_) == 6
    assert table_["brick_primary"].all()
    assert list(table_["photsys"]) == ["N", "S", "S", "S", "S", "S"]  # RELEASE 9011 -> N
    # DR9 rows get an unobserved i band; DR10 rows keep theirs
    assert (table_["flux_ivar_i"].to_numpy()[:1] == 0).all()
    assert (table_["flux_ivar_i"].to_numpy()[1:] > 0).all()


def test_dr9_sweep_refuses_a_set_with_i_in_one_line(ls_files):
    with pytest.raises(LayoutError) as err:
        build_dataset(spec_rows(), lsdr10=ls_files["sweep"][0], feature_set="lsdr10")
    msg = str(err.value)
    assert "i band" in msg and "lsdr10_noi" in msg and "north" in msg and "\n" not in msg


def test_sweep_data_model_columns_types_and_vectors(ls_files):
    from astropy.io import fits

    from nncz.mock.sweep import sweep_columns

    for path, release in zip(ls_files["sweep"], ("dr9", "dr10"), strict=True):
        with fits.open(path) as hdul:
            cols = hdul[1].columns
            assert cols.names == [c[0] for c in sweep_columns(release)]
            assert "BRICK_PRIMARY" not in cols.names and "LS_ID" not in cols.names
            assert cols["DCHISQ"].format == "5E" and cols["TYPE"].format == "3A"
            assert cols["MASKBITS"].format == ("I" if release == "dr9" else "J")
            assert ("FLUX_I" in cols.names) == (release == "dr10")
            assert hdul[1].data["RELEASE"].dtype.str == ">i2"


def test_missing_column_names_survey_layout_and_columns(tmp_path):
    path = tmp_path / "sweep.fits"
    t = ls_sweep(ls_table()[lambda d: d.photsys == "S"].reset_index(drop=True), "dr10")
    t.remove_columns(["FRACIN_R", "FLUX_IVAR_W2"])
    write_fits(t, path)
    with pytest.raises(LayoutError) as err:
        build_dataset(spec_rows(), lsdr10=path, feature_set="lsdr10_noi")
    msg = str(err.value)
    assert "Legacy Surveys" in msg and "sweep" in msg and str(path) in msg
    assert "fracin_r" in msg and "flux_ivar_w2" in msg and "\n" not in msg


# ------------------------------------------------------------------ prepare_for_model (LS)
def test_prepare_for_model_flags_the_first_failed_cut_and_keeps_rows(tmp_path):
    rows = table([ls_row(0), ls_row(1, type="PSF"), ls_row(2, fracflux_g=0.7),
                  ls_row(3, flux_ivar_w1=0.1), ls_row(4)])
    path = write_fits(ls_sweep(rows, "dr10"), tmp_path / "sweep-000p000-010p005.fits")
    feats, cut = prepare_for_model(path, "lsdr10", NOI)
    assert list(cut) == ["", "type != PSF", "fracflux < 0.5 in g r z (+ i where observed)",
                         "S/N >= 5 in g r z w1 w2", ""]
    assert list(feats.columns) == NOI and len(feats) == 5
    assert feats.iloc[[1, 2, 3]].isna().all().all()
    np.testing.assert_allclose(feats.loc[[0, 4], "mag_g"], 20.0 + 2.5 * np.log10(0.9),
                               rtol=1e-6)
    np.testing.assert_allclose(feats.loc[[0, 4], "magerr_g"], 1.0857362 / 20.0, rtol=1e-6)


def test_prepare_for_model_refuses_i_on_dr9_and_multi_survey_features(tmp_path):
    north = table([ls_row(0, north=True)])
    path = write_fits(ls_sweep(north, "dr9"), tmp_path / "sweep-000p040-010p045.fits")
    all6 = [f"{p}_{b}" for b in ("g", "r", "i", "z", "w1", "w2") for p in ("mag", "magerr")]
    with pytest.raises(LayoutError, match="no observed i band"):
        prepare_for_model(path, "lsdr9", all6)
    with pytest.raises(ValueError, match="i_kron"):
        prepare_for_model(path, "lsdr10", [*NOI, "i_kron", "i_kron_err"])


# ------------------------------------------------------------------------------------ PS1
PS1_BUILDERS = {"ps1_stack": ps1_casjobs, "ps1_mast": ps1_mast_stack,
                "ps1_stack_flux": ps1_stack_flux}


@pytest.mark.parametrize("name", sorted(PS1_BUILDERS))
def test_ps1_layouts_give_the_same_features(tmp_path, name):
    from nncz.surveys.featuresets import get_feature_set

    features = list(get_feature_set("ps1").features)
    rows = ps1_table()
    rows.loc[2, "gKronMag"] = -999.0  # the archive's sentinel: fails the valid-magnitude cut
    built = PS1_BUILDERS[name](rows)
    path = tmp_path / "ps1.fits"
    (built if isinstance(built, Table) else Table.from_pandas(built)).write(path)
    ref, ref_cut = prepare_for_model(rows, "ps1", features, ebv_column="ebv_user")
    got, cut = prepare_for_model(path, "ps1", features, ebv_column="ebv_user")
    assert list(cut) == list(ref_cut) and cut[2].startswith("valid Kron/PSF/Ap")
    np.testing.assert_allclose(got.to_numpy(float), ref.to_numpy(float), rtol=2e-6,
                               equal_nan=True)


def test_ps1_mean_magnitudes_are_refused_naming_what_is_missing():
    with pytest.raises(LayoutError) as err:
        prepare_for_model(ps1_mean(ps1_table()), "ps1", ["g_kron", "g_kron_err"],
                          ebv_column="ebv_user")
    msg = str(err.value)
    assert "PS1 DR2 mean magnitudes" in msg and "gKronMag" in msg and "primaryDetection" in msg


# --------------------------------------------------------------------------------- unWISE
def test_unwise_layouts_give_the_same_dataset(tmp_path):
    ref, _ = build_dataset(spec_rows(), ps1_table=ps1_table(), unwise=unwise_table(),
                           feature_set="ps1_unwise", ebv_column="ebv_user")
    merged = write_fits(unwise_merged(unwise_table()), tmp_path / "merged.fits")
    w1 = write_fits(unwise_band(unwise_table(), "w1"), tmp_path / "0300p000.1.cat.fits")
    w2 = write_fits(unwise_band(unwise_table(), "w2"), tmp_path / "0300p000.2.cat.fits")
    cols = ["w1", "w1_err", "w2", "w2_err", "g_kron"]
    for given in (merged, [w1, w2]):
        got, _ = build_dataset(spec_rows(), ps1_table=ps1_table(), unwise=given,
                               feature_set="ps1_unwise", ebv_column="ebv_user")
        assert sorted(got["spec_id"]) == sorted(ref["spec_id"]) == ["SDSS:1"]
        pd.testing.assert_frame_equal(_features(got, cols), _features(ref, cols), rtol=1e-6)
    with pytest.raises(LayoutError, match="W2"):
        read_survey(w1, "unwise")


# --------------------------------------------------------------------------- DESI and SDSS
BIG_ID = 2**63 + 12345  # late eBOSS ids exceed int64


def _sdss_rows() -> pd.DataFrame:
    rows = [sdss_row(0), sdss_row(1, specObjID=BIG_ID, survey="eboss", zNoqso=0.7,
                                  zErrNoqso=2e-4, z=2.1, **{"class": "QSO"}),
            sdss_row(2, zWarning=4), sdss_row(3, sciencePrimary=0, z=0.3)]
    df = table(rows)
    df["sciencePrimary"] = df["sciencePrimary"].fillna(1).astype(int)
    return df


def test_sdss_fits_and_cas_layouts(tmp_path):
    fits_path = write_fits(sdss_specobj_fits(_sdss_rows()), tmp_path / "specObj-dr19.fits")
    cas_path = tmp_path / "casjobs.csv"
    sdss_cas(_sdss_rows()).to_csv(cas_path, index=False)
    for path in (fits_path, cas_path):
        spec, funnel = build_spec_sample(sdss=path)
        assert sorted(spec["spec_id"]) == sorted(["SDSS:1000", f"SDSS:{BIG_ID}"])
        z = spec.set_index("spec_id")["z_spec"]
        assert z[f"SDSS:{BIG_ID}"] == pytest.approx(0.7, abs=1e-6)  # the Noqso redshift
        assert any(s.cut.startswith("sciencePrimary") and s.n_removed == 1
                   for s in funnel.steps)


def test_desi_zall_and_zpix_layouts(tmp_path):
    rows = table([desi_row(0), desi_row(1), desi_row(2, SPECTYPE="STAR")])
    zall = desi_zcat(pd.concat([rows, rows.iloc[[0]].assign(Z=0.9)], ignore_index=True),
                     zall=True)
    zall["ZCAT_PRIMARY"][-1] = False  # the same target seen by another program
    zall["ZCAT_NSPEC"][[0, -1]] = 2
    paths = [write_fits(zall, tmp_path / "zall-pix-iron.fits"),
             write_fits(desi_zcat(rows, zall=False), tmp_path / "zpix-main-bright.fits")]
    for path in paths:
        spec, funnel = build_spec_sample(desi=path)
        assert sorted(spec["spec_id"]) == ["DESI:5000", "DESI:5001"]
        assert spec.set_index("spec_id").loc["DESI:5000", "z_spec"] == pytest.approx(0.2)
    assert any(s.cut == "ZCAT_PRIMARY" and s.n_removed == 1 for s in build_spec_sample(
        desi=paths[0])[1].steps)
    bad = desi_zcat(rows, zall=False)
    bad.remove_column("DESI_TARGET")
    with pytest.raises(LayoutError, match=r"DESI zpix.*DESI_TARGET"):
        build_spec_sample(desi=write_fits(bad, tmp_path / "zpix-sv3-dark.fits"))


# -------------------------------------------------------------------------------- inspect
def test_inspect_names_every_layout(tmp_path, ls_files):
    files = {"ls_sweep": ls_files["sweep"][0], "ls_tractor": ls_files["tractor"],
             "ls_datalab": ls_files["datalab"],
             "unwise_merged": write_fits(unwise_merged(unwise_table()), tmp_path / "m.fits"),
             "unwise_band": write_fits(unwise_band(unwise_table(), "w1"),
                                       tmp_path / "0300p000.1.cat.fits"),
             "desi_zall": write_fits(desi_zcat(table([desi_row(0)]), True), tmp_path / "za.fits"),
             "desi_zpix": write_fits(desi_zcat(table([desi_row(0)]), False), tmp_path / "zp.fits"),
             "sdss_fits": write_fits(sdss_specobj_fits(_sdss_rows()), tmp_path / "so.fits")}
    for key, builder in (("ps1_stack", ps1_casjobs), ("ps1_stack_flux", ps1_stack_flux),
                         ("ps1_mean", ps1_mean), ("sdss_cas", lambda r: sdss_cas(_sdss_rows())),
                         ("unwise_datalab", lambda r: unwise_table())):
        files[key] = tmp_path / f"{key}.parquet"
        builder(ps1_table()).to_parquet(files[key])
    for key, path in files.items():
        report = inspect_file(path)
        assert report["layout_key"] == key, (key, report)
        assert report["n_rows"] > 0 and report["data_model"]
    north = inspect_file(ls_files["sweep"][0])
    uses = {u["use"]: u for u in north["uses"]}
    assert not uses["feature set lsdr10"]["ok"] and uses["feature set lsdr10_noi"]["ok"]
    assert uses["feature set lsdr10_ps1i"]["with"] == ["ps1"]
    mean = {u["use"]: u for u in inspect_file(files["ps1_mean"])["uses"]}
    assert not mean["feature set ps1"]["ok"] and "gKronMag" in mean["feature set ps1"]["missing"]


def test_unknown_layout_and_mixed_case_names(tmp_path):
    from nncz.surveys.layouts import detect_layout

    with pytest.raises(LayoutError) as err:
        detect_layout(["FOO", "BAR"], "lsdr10", "x.fits")
    msg = str(err.value)
    assert "x.fits" in msg and "Legacy Surveys sweep" in msg and "brick_primary" in msg
    mixed = ls_table().rename(columns={"flux_g": "Flux_G", "FRACIN_R".lower(): "FracIn_R"})
    got, layout, _ = read_survey(mixed, "lsdr10")
    assert layout.key == "ls_datalab" and {"flux_g", "fracin_r"} <= set(got.columns)


def test_inspect_cli_exit_codes(tmp_path, ls_files, capsys):
    from nncz.cli import main

    assert main(["inspect", str(ls_files["tractor"])]) == 0
    out = capsys.readouterr().out
    assert "tractor" in out and "feature set lsdr10_noi: yes" in out
    other = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_parquet(other)
    assert main(["inspect", "--json", str(other)]) == 3
    assert '"survey": null' in capsys.readouterr().out
