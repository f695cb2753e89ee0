"""Photo-z for survey files as the archives serve them: `nncz predict --survey`, the catalog,
and the mock written in both its own layout and the sweep layout.

No real Legacy Surveys sweep file is available offline: the sweep files here follow the DR9 and
DR10 sweep data models column for column (nncz.mock.sweep, checked in test_archive_layouts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archive_tables import ls_sweep, write_fits
from stage_tables import ls_row, table

from nncz.cli import main
from nncz.surveys.prepare import CUT_COLUMN, prepare_for_model

NOI = ["mag_g", "magerr_g", "mag_r", "magerr_r", "mag_z", "magerr_z", "mag_w1", "magerr_w1",
       "mag_w2", "magerr_w2"]


@pytest.fixture(scope="module")
def grzw1w2_model(tmp_path_factory):
    """A tiny g r z W1 W2 model (features named as nncz.surveys builds them)."""
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid

    rng = np.random.default_rng(0)
    n = 600
    z = rng.uniform(0.05, 1.0, n)
    train = pd.DataFrame({"z_spec": z})
    for k, b in enumerate(("g", "r", "z", "w1", "w2")):
        train[f"mag_{b}"] = 20.0 + 1.5 * np.sin(2 * z + k) + rng.normal(0, 0.05, n)
        train[f"magerr_{b}"] = rng.uniform(0.02, 0.1, n)
    est = NNCEstimator(grid=RedshiftGrid(0.0, 2.0, 40), hidden=(16,), max_epochs=3,
                       patience=2, batch_size=256, verbose=False)
    est.fit(train, NOI, target="z_spec")
    path = tmp_path_factory.mktemp("model") / "grzw1w2"
    est.save(path)
    return path, est


def _sweeps(tmp_path):
    """A DR9 north sweep and a DR10 south sweep; rows 1, 2, 6 fail one cut each."""
    north = table([ls_row(10, north=True, dec=40.0), ls_row(11, north=True, dec=40.01,
                                                               type="PSF")])
    south = table([ls_row(0), ls_row(1, fracin_r=0.1), ls_row(2, flux_ivar_w2=0.1), ls_row(3)])
    return [write_fits(ls_sweep(north, "dr9"), tmp_path / "sweep" / "sweep-000p040-010p045.fits"),
            write_fits(ls_sweep(south, "dr10"), tmp_path / "sweep" / "sweep-000p000-010p005.fits")]


def test_predict_survey_one_command_on_dr9_and_dr10_sweeps(tmp_path, grzw1w2_model, capsys):
    model, est = grzw1w2_model
    paths = _sweeps(tmp_path)
    out = tmp_path / "photoz.parquet"
    rc = main(["--threads", "1", "-q", "predict", str(model), str(paths[1]), str(paths[0]),
               "--survey", "lsdr10", "--keep", "RA,DEC,objid", "--output", str(out)])
    assert rc == 0
    got = pd.read_parquet(out)
    assert len(got) == 6 and list(got.columns[:3]) == ["RA", "DEC", "objid"]
    expected_cut = ["", "fracin > 0.3 in g r z (+ i where observed)", "S/N >= 5 in g r z w1 w2",
                    "", "", "type != PSF"]
    assert list(got[CUT_COLUMN]) == expected_cut
    passed = got[CUT_COLUMN].to_numpy() == ""
    assert got.loc[passed, "z_phot_mean"].notna().all()
    assert got.loc[~passed, "z_phot_mean"].isna().all()
    # the same numbers as the library path: prepare_for_model + estimator.predict
    feats = pd.concat([prepare_for_model(p, "lsdr10", NOI)[0] for p in (paths[1], paths[0])],
                      ignore_index=True)
    ref = est.predict(feats[passed].reset_index(drop=True))
    np.testing.assert_allclose(got.loc[passed, "z_phot_mean"], ref["z_phot_mean"], rtol=1e-5)


def test_predict_survey_directory_and_clear_errors(tmp_path, grzw1w2_model, capsys):
    model, _ = grzw1w2_model
    paths = _sweeps(tmp_path)
    out = tmp_path / "dir.parquet"
    assert main(["-q", "predict", str(model), str(paths[0].parent), "--survey", "lsdr9",
                 "--output", str(out)]) == 0
    assert len(pd.read_parquet(out)) == 6
    capsys.readouterr()
    rc = main(["-q", "predict", str(model), str(paths[0]), str(paths[1]), "--output",
               str(tmp_path / "x.parquet")])
    assert rc != 0 and "--survey" in capsys.readouterr().err
    bad = tmp_path / "bad.fits"
    t = ls_sweep(table([ls_row(0)]), "dr10")
    t.remove_column("FRACMASKED_Z")
    write_fits(t, bad)
    rc = main(["-q", "predict", str(model), str(bad), "--survey", "lsdr10", "--output",
               str(tmp_path / "y.parquet")])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and "fracmasked_z" in err and "sweep" in err and len(err.splitlines()) == 1


# -------------------------------------------------------------------- catalog and the mock
@pytest.fixture(scope="module")
def mock_both_layouts(tmp_path_factory):
    """A small mock universe in its own layout and as sweep files (north DR9, south DR10)."""
    from nncz.mock.sweep import write_sweeps
    from nncz.mock.universe import make_universe

    out = tmp_path_factory.mktemp("mock")
    make_universe(out, n_galaxies=3000, seed=3, formats=("parquet",), progress=False)
    ls = pd.read_parquet(out / "ls_dr10.parquet")
    write_sweeps(ls, out / "sweep", box_deg=(120, 60))  # a few files per region
    return out, ls


def test_mock_sweeps_give_the_same_dataset_as_the_mock_layout(mock_both_layouts):
    from nncz.datasets import build_dataset
    from nncz.spec import build_spec_sample

    out, _ = mock_both_layouts
    spec, _ = build_spec_sample(out / "sdss_specobj.parquet", out / "desi_dr1_zcat.parquet")
    ref, _ = build_dataset(spec, lsdr10=out / "ls_dr10.parquet", feature_set="lsdr10_noi")
    got, _ = build_dataset(spec, lsdr10=[out / "sweep" / "north", out / "sweep" / "south"],
                           feature_set="lsdr10_noi")
    assert len(ref) > 10
    assert sorted(got["spec_id"]) == sorted(ref["spec_id"])
    a, b = (d.set_index("spec_id").sort_index()[NOI] for d in (got, ref))
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)


def test_catalog_levels_from_sweeps_match_the_mock_layout(mock_both_layouts):
    from test_catalog_surveys import SurveyFake

    from nncz.catalog import CatalogConfig, ModelSet, build_catalog
    from nncz.surveys.read import read_survey

    out, ls = mock_both_layouts
    sets = {1: "lsdr10", 3: "lsdr10_noi"}
    cfg = CatalogConfig(models=sets)
    models = ModelSet({lv: SurveyFake(lv) for lv in sets})
    sweep, layout, _ = read_survey(out / "sweep" / "*" / "*.fits", "lsdr10")
    assert layout.key == "ls_sweep"
    primary = ls[ls["brick_primary"]].reset_index(drop=True)
    got = build_catalog(sweep, None, None, cfg, models).main
    ref = build_catalog(primary, None, None, cfg, models).main
    counts = [np.bincount(m["priority"].to_numpy(int), minlength=4) for m in (got, ref)]
    np.testing.assert_array_equal(counts[0], counts[1])
    assert counts[0][1] > 0 and counts[0][3] > 0


def test_nncz_catalog_cli_on_sweep_files_with_a_grzw1w2_model(tmp_path, grzw1w2_model,
                                                              mock_both_layouts):
    model, _ = grzw1w2_model
    out, _ = mock_both_layouts
    config = tmp_path / "catalog.yaml"
    config.write_text(f"levels:\n  3: {{model: {model}}}\n")
    runs = {}
    for name, ls_input in (("sweep", out / "sweep" / "north"), ("mock", None)):
        if ls_input is None:  # the mock layout, split the same way (north only)
            ls = pd.read_parquet(out / "ls_dr10.parquet")
            ls_input = tmp_path / "north.parquet"
            ls[ls["photsys"] == "N"].to_parquet(ls_input)
        rc = main(["--threads", "1", "-q", "catalog", str(config), str(tmp_path / name),
                   "--ls", str(ls_input), "--formats", "parquet", "--no-progress"])
        assert rc == 0
        runs[name] = pd.read_parquet(tmp_path / name / "catalog.parquet").sort_values(
            ["ra", "dec"]).reset_index(drop=True)
    got, ref = runs["sweep"], runs["mock"]
    assert len(got) == len(ref) > 10 and set(got["priority"]) == {3}
    np.testing.assert_allclose(got[["ra", "dec"]], ref[["ra", "dec"]])
    np.testing.assert_allclose(got["z_phot_mean"], ref["z_phot_mean"], rtol=1e-5)
