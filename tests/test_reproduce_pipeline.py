"""run_reproduce on tiny synthetic datasets, resume, and (slow) every model and --quick."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from reproduce_data import TINY, synthetic_datasets

from nncz.io import write_table
from nncz.reproduce import MODELS, TABLE1_ROWS, run_reproduce
from nncz.reproduce import run as run_module
from nncz.reproduce.run import training_tables

FIGURES = {"fig2_zphot_zspec", "fig3_sigma_nmad_vs_z", "fig4_example_pdfs", "fig5_pit",
           "fig6_nz", "fig7_colour_z", "fig8_shap"}


# One model of each kind, and the two whose SHAP summaries make Figure 8; the other eight
# run in the slow test (each costs seconds of start-up on a loaded machine).
FAST_MODELS = ("nnc_lsdr10", "nnc_lsdr10_sdss", "nnc_ps1_unwise", "xgboost_lsdr10",
               "ann_lsdr10")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    result = run_reproduce(out, settings=TINY, datasets=synthetic_datasets(),
                           models=FAST_MODELS, verbose=False)
    return out, result


def test_training_tables_keep_the_whole_test_split():
    ds = synthetic_datasets(300)["lsdr10"]
    train, val, test = training_tables(ds, "SDSS")
    assert set(train["survey"]) == {"SDSS"} and set(val["survey"]) == {"SDSS"}
    assert len(test) == (ds["split"] == "test").sum() and set(test["survey"]) == {"SDSS", "DESI"}


def check_models_written(out, keys) -> None:
    for model in (m for m in MODELS if m.key in keys):
        model_dir = out / "models" / model.key
        done = json.loads((model_dir / "done.json").read_text())
        assert done["train_survey"] == model.train_survey
        pred = pd.read_parquet(model_dir / "predictions.parquet")
        assert np.isfinite(pred["z_phot_mean"]).all()
        if model.estimator == "nnc":
            pdf = np.load(model_dir / "pdf.npy")
            assert pdf.shape == (len(pred), 400)
            np.testing.assert_allclose(pdf.sum(axis=1), 1.0, atol=1e-4)
            assert pred["pit"].between(0, 1).all() and "pit_uncalibrated" in pred
            assert np.isfinite(pred["z_phot_mean_uncalibrated"]).all()


def test_models_written(tiny_run):
    out, _ = tiny_run
    check_models_written(out, FAST_MODELS)
    assert sorted(p.name for p in (out / "models").iterdir()) == sorted(FAST_MODELS)
    sdss = json.loads((out / "models" / "nnc_lsdr10_sdss" / "done.json").read_text())
    both = json.loads((out / "models" / "nnc_lsdr10" / "done.json").read_text())
    assert sdss["n_train"] < both["n_train"] and sdss["n_test"] == both["n_test"]


def check_table(out, keys) -> None:
    csv = pd.read_csv(out / "table1.csv")
    assert csv["row"].tolist() == [r.key for r in TABLE1_ROWS]
    ran = csv["model"].isin(keys)
    assert (csv.loc[ran, "n"] > 0).all() and (csv.loc[~ran, "n"] == 0).all()
    assert np.isfinite(csv.loc[ran, "sigma_nmad"]).all()
    assert csv["sigma_nmad_published"].notna().all() and csv["eta_published"].notna().all()
    assert csv.loc[csv["row"] == "lsdr10_elg", "sigma_nmad_published"].item() == 0.0689
    point = csv["model"].str.match("(rf|xgboost|ann)_")
    assert csv.loc[point, "crps"].isna().all()
    assert csv.loc[ran & ~point, "crps"].notna().all()


def test_table_files_hold_every_row(tiny_run):
    out, _ = tiny_run
    check_table(out, FAST_MODELS)
    md = (out / "table1.md").read_text()
    assert all(f"| {r.label} |" in md for r in TABLE1_ROWS)
    assert (out / "table1.tex").read_text().count(r"\\") == 2 + len(TABLE1_ROWS) + 3


def test_figures_and_report(tiny_run):
    out, result = tiny_run
    assert set(result["figures"]) == FIGURES
    for name in FIGURES:
        png = out / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    assert "## Table 1" in report and "| ELG |" in report
    assert all(f"figures/{name}.png" in report for name in FIGURES)
    assert "NNC < ANN < XGBoost < RF" in report
    assert {p.name for p in (out / "shap").iterdir()} == {"nnc_lsdr10.npz",
                                                          "nnc_ps1_unwise.npz"}


def test_uncalibrated_table_and_backfill(tiny_run):
    out, _ = tiny_run
    t1 = pd.read_csv(out / "table1_uncalibrated_mean.csv")
    assert t1["row"].tolist() == [r.key for r in TABLE1_ROWS]
    calibrated = pd.read_csv(out / "table1.csv")
    point = t1["model"].str.match("(rf|xgboost|ann)_")
    pd.testing.assert_series_equal(t1.loc[point, "sigma_nmad"],
                                   calibrated.loc[point, "sigma_nmad"])  # baselines: no T
    assert "uncalibrated PDF mean" in (out / "report.md").read_text()
    # Results written before the column existed are completed from the saved model.
    path = out / "models" / "nnc_lsdr10_sdss" / "predictions.parquet"
    written = pd.read_parquet(path)
    write_table(written.drop(columns=["z_phot_mean_uncalibrated"]), path)
    model = next(m for m in MODELS if m.key == "nnc_lsdr10_sdss")
    assert run_module.backfill_uncalibrated_mean(model, synthetic_datasets()["lsdr10"],
                                                 path.parent)
    np.testing.assert_allclose(pd.read_parquet(path)["z_phot_mean_uncalibrated"],
                               written["z_phot_mean_uncalibrated"], rtol=1e-5)
    assert not run_module.backfill_uncalibrated_mean(model, synthetic_datasets()["lsdr10"],
                                                     path.parent)


def test_rerun_skips_finished_models(tiny_run, monkeypatch):
    out, _ = tiny_run

    def fail(*args, **kwargs):
        raise AssertionError("a finished model was trained again")

    monkeypatch.setattr(run_module, "train_one", fail)
    before = (out / "models" / "nnc_lsdr10" / "done.json").stat().st_mtime_ns
    result = run_reproduce(out, settings=TINY, datasets=synthetic_datasets(),
                           models=FAST_MODELS, verbose=False)
    assert (out / "models" / "nnc_lsdr10" / "done.json").stat().st_mtime_ns == before
    assert len(result["table"]) == len(TABLE1_ROWS)


def test_missing_done_marker_retrains_only_that_model(tiny_run, monkeypatch):
    out, _ = tiny_run
    (out / "models" / "xgboost_lsdr10" / "done.json").unlink()
    trained = []
    original = run_module.train_one

    def spy(model, *args, **kwargs):
        trained.append(model.key)
        return original(model, *args, **kwargs)

    monkeypatch.setattr(run_module, "train_one", spy)
    run_reproduce(out, settings=TINY, datasets=synthetic_datasets(), verbose=False,
                  models=[*FAST_MODELS, "rf_lsdr10"])
    assert trained == ["xgboost_lsdr10", "rf_lsdr10"]


@pytest.mark.slow
def test_every_model_tiny(tmp_path):
    run_reproduce(tmp_path, settings=TINY, datasets=synthetic_datasets(), verbose=False)
    keys = [m.key for m in MODELS]
    check_models_written(tmp_path, keys)
    check_table(tmp_path, keys)


@pytest.mark.slow
def test_cli_reproduce_quick(tmp_path):
    from nncz.cli import main

    assert main(["reproduce", "--quick", "--output", str(tmp_path)]) == 0
    csv = pd.read_csv(tmp_path / "table1.csv")
    assert csv["row"].tolist() == [r.key for r in TABLE1_ROWS]
    filled = csv["n"] > 0
    assert np.isfinite(csv.loc[filled, "sigma_nmad"]).all()
    # only the subsets thinned by the W1/W2 S/N >= 5 cut may be empty on the quick mock
    assert set(csv.loc[~filled, "row"]) <= {"lsdr10_faint", "lsdr10_elg"}
    assert csv.set_index("row").loc["lsdr10_full", "n"] > 1000
    assert all((tmp_path / "figures" / f"{name}.png").exists() for name in FIGURES)


def test_models_train_in_worker_processes(tmp_path):
    keys = ("nnc_lsdr10_desi", "nnc_ps1")
    result = run_reproduce(tmp_path, settings=TINY, datasets=synthetic_datasets(), models=keys,
                           verbose=False, jobs=2)
    check_models_written(tmp_path, keys)
    assert set(result["models"]) == set(keys)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == sorted(keys)
