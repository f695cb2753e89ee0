"""Adversarial: inputs are never outputs; an existing output is replaced only with --overwrite."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from adv_fixtures import (
    FEATURES,
    TRAIN_OPTIONS,
    assert_error,
    catalog_args,
    cli,
    snapshot,
    workspace,
)


@pytest.fixture(scope="module")
def ws():
    return workspace()


@pytest.fixture
def own(ws, tmp_path):
    """Private copies of the training table (every format) that a test may point outputs at."""
    for suffix in (".parquet", ".csv", ".fits", ".h5"):
        shutil.copy(ws["root"] / f"train{suffix}", tmp_path / f"x{suffix}")
    return tmp_path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".fits", ".h5"])
def test_predict_output_is_the_input(ws, own, suffix):
    target = own / f"x{suffix}"
    before = snapshot(own)
    result = cli("predict", ws["model"], target, "--output", target)
    assert_error(result, 4, "predict", str(target), "input")
    assert snapshot(own) == before


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".fits", ".h5"])
def test_predict_pdf_output_is_the_input(ws, own, suffix):
    target = own / f"x{suffix}"
    before = snapshot(own)
    result = cli("predict", ws["model"], target, "--output", own / "p.parquet",
                 "--pdf-output", target)
    assert_error(result, 4, "predict", str(target), "input")
    assert snapshot(own) == before and not (own / "p.parquet").exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_predict_output_is_the_input_even_with_overwrite(ws, own, overwrite):
    target = own / "x.parquet"
    before = snapshot(own)
    extra = ["--overwrite"] if overwrite else []
    assert_error(cli("predict", ws["model"], target, "--output", target, *extra), 4, "predict")
    assert snapshot(own) == before


def test_predict_output_spelled_differently(ws, own):
    sub = own / "sub"
    sub.mkdir()
    target = own / "x.parquet"
    before = snapshot(own)
    result = cli("predict", ws["model"], target, "--output", sub / ".." / "x.parquet")
    assert_error(result, 4, "predict", "input")
    assert snapshot(own) == before


def test_predict_output_through_a_symlink(ws, own):
    (own / "link.parquet").symlink_to(own / "x.parquet")
    before = snapshot(own / "x.parquet")
    result = cli("predict", ws["model"], own / "x.parquet", "--output", own / "link.parquet")
    assert_error(result, 4, "predict", "input")
    assert snapshot(own / "x.parquet") == before


def test_predict_output_is_a_hard_link_of_the_input(ws, own):
    (own / "hard.parquet").hardlink_to(own / "x.parquet")
    before = snapshot(own / "x.parquet")
    result = cli("predict", ws["model"], own / "x.parquet", "--output", own / "hard.parquet")
    assert_error(result, 4, "predict", "input")
    assert snapshot(own / "x.parquet") == before


def test_predict_hdf5_group_of_the_input_file(ws, own):
    before = snapshot(own)
    result = cli("predict", ws["model"], own / "x.h5", "--output", f"{own / 'x.h5'}:preds")
    assert_error(result, 4, "predict", "input")
    assert snapshot(own) == before


def test_predict_two_outputs_in_one_file(ws, own):
    result = cli("predict", ws["model"], own / "x.parquet", "--output", own / "y.h5",
                 "--pdf-output", own / "y.h5")
    assert_error(result, 4, "predict", "y.h5")
    assert not (own / "y.h5").exists()


def test_predict_output_into_the_model_directory_file(ws, tmp_path):
    before = snapshot(ws["model"])
    result = cli("predict", ws["model"], ws["root"] / "train.parquet", "--output",
                 ws["model"] / "nncz_model.json.csv", "--pdf-output",
                 ws["model"] / "model.safetensors")
    assert_error(result, 4, "predict", "model.safetensors", "input")
    assert snapshot(ws["model"]) == before


def test_predict_existing_output_needs_overwrite(ws, own):
    out = own / "p.parquet"
    assert cli("predict", ws["model"], own / "x.parquet", "--output", out).code == 0
    before = snapshot(out)
    assert_error(cli("predict", ws["model"], own / "x.csv", "--output", out), 4, "predict",
                 str(out), "--overwrite")
    assert snapshot(out) == before
    result = cli("predict", ws["model"], own / "x.csv", "--output", out, "--overwrite")
    assert result.code == 0, result.err


def test_predict_existing_pdf_output_needs_overwrite(ws, own):
    (own / "old.h5").write_bytes(b"earlier result")
    before = snapshot(own)
    result = cli("predict", ws["model"], own / "x.parquet", "--output", own / "p.parquet",
                 "--pdf-output", own / "old.h5")
    assert_error(result, 4, "predict", "old.h5", "--overwrite")
    assert snapshot(own) == before


def test_predict_output_is_a_directory(ws, own):
    (own / "out.parquet").mkdir()
    result = cli("predict", ws["model"], own / "x.parquet", "--output", own / "out.parquet")
    assert_error(result, 4, "predict", "out.parquet", "directory")


def test_predict_output_below_a_file(ws, own):
    result = cli("predict", ws["model"], own / "x.parquet", "--output",
                 own / "x.csv" / "p.parquet")
    assert_error(result, 4, "predict", "x.csv", "not a directory")


def test_predict_overwrite_replaces_an_earlier_output(ws, own):
    out = own / "p.csv"
    out.write_text("old\n")
    assert cli("predict", ws["model"], own / "x.parquet", "--output", out,
               "--overwrite").code == 0
    assert len(pd.read_csv(out)) == 300


# ---------------------------------------------------------------------------- train
def _train(own, out, *extra):
    return cli("train", own / "x.parquet", "--features", ",".join(FEATURES), "--output", out,
               *TRAIN_OPTIONS, *extra)


def test_train_output_is_the_input_file(own):
    before = snapshot(own)
    assert_error(_train(own, own / "x.parquet"), 4, "train", "x.parquet")
    assert snapshot(own) == before


def test_train_existing_model_needs_overwrite(ws, tmp_path, own):
    model = tmp_path / "model"
    shutil.copytree(ws["model"], model)
    before = snapshot(model)
    assert_error(_train(own, model), 4, "train", "nncz_model.json", "--overwrite")
    assert snapshot(model) == before


def test_train_validation_table_is_not_the_output(own):
    before = snapshot(own)
    result = _train(own, own / "x.csv", "--validation", own / "x.csv")
    assert_error(result, 4, "train", "x.csv")
    assert snapshot(own) == before


# ------------------------------------------------------------------------- evaluate
def test_evaluate_report_dir_is_the_predictions_file(ws, tmp_path):
    pred = tmp_path / "pred.parquet"
    shutil.copy(ws["pred"], pred)
    before = snapshot(pred)
    result = cli("evaluate", pred, "--output", pred)
    assert_error(result, 4, "evaluate", "pred.parquet")
    assert snapshot(pred) == before


def test_evaluate_existing_report_needs_overwrite(ws, tmp_path):
    report = tmp_path / "report"
    assert cli("evaluate", ws["pred"], "--output", report).code == 0
    before = snapshot(report)
    assert_error(cli("evaluate", ws["pred"], "--output", report), 4, "evaluate",
                 "metrics.json", "--overwrite")
    assert snapshot(report) == before
    assert cli("evaluate", ws["pred"], "--output", report, "--overwrite").code == 0


# --------------------------------------------------------------- spec, dataset, mock
def test_spec_output_is_an_input(ws, tmp_path):
    sdss = tmp_path / "sdss.parquet"
    shutil.copy(ws["mock"] / "sdss_specobj.parquet", sdss)
    before = snapshot(sdss)
    result = cli("spec", "--sdss", sdss, "-o", sdss)
    assert_error(result, 4, "spec", "sdss.parquet", "input")
    assert snapshot(sdss) == before


def test_spec_existing_output_needs_overwrite(ws, tmp_path):
    out = tmp_path / "spec.parquet"
    out.write_bytes(b"earlier")
    result = cli("spec", "--input-dir", ws["mock"], "-o", out)
    assert_error(result, 4, "spec", "spec.parquet", "--overwrite")
    assert out.read_bytes() == b"earlier"


def test_spec_funnel_is_the_output(ws, tmp_path):
    out = tmp_path / "spec.parquet"
    result = cli("spec", "--input-dir", ws["mock"], "-o", out, "--funnel", out)
    assert_error(result, 4, "spec", "spec.parquet")


def test_dataset_existing_output_needs_overwrite(ws, tmp_path):
    (tmp_path / "ps1.parquet").write_bytes(b"earlier")
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "ps1",
                 "-o", tmp_path)
    assert_error(result, 4, "dataset", "ps1.parquet", "--overwrite")
    assert (tmp_path / "ps1.parquet").read_bytes() == b"earlier"


def test_dataset_output_dir_is_a_file(ws, tmp_path):
    (tmp_path / "file").write_text("x")
    result = cli("dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "ps1",
                 "-o", tmp_path / "file")
    assert_error(result, 4, "dataset", "file", "not a directory")


def test_mock_existing_universe_needs_overwrite(ws, tmp_path):
    out = tmp_path / "mock"
    shutil.copytree(ws["mock"], out)
    before = snapshot(out)
    result = cli("mock", out, "--n-galaxies", "100", "--formats", "parquet", "--no-progress")
    assert_error(result, 4, "mock", "--overwrite")
    assert snapshot(out) == before


def test_mock_output_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    result = cli("mock", tmp_path / "f", "--n-galaxies", "100")
    assert_error(result, 4, "mock", "not a directory")
    assert (tmp_path / "f").read_text() == "x"


# ------------------------------------------------------------- catalog, demo, reproduce
def test_catalog_out_dir_is_an_input(ws, tmp_path):
    before = snapshot(ws["sky"])
    result = cli(*catalog_args(ws, ws["sky"] / "ls.parquet"))
    assert_error(result, 4, "catalog", "ls.parquet")
    assert snapshot(ws["sky"]) == before


def test_catalog_out_dir_is_a_model_dir(ws):
    before = snapshot(ws["root"] / "levels")
    result = cli(*catalog_args(ws, ws["root"] / "levels" / "l1"))
    assert_error(result, 4, "catalog", "l1")
    assert snapshot(ws["root"] / "levels") == before


def test_demo_finished_run_needs_overwrite(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    result = cli("demo", "--output", out, "--n-galaxies", "10")
    assert_error(result, 4, "demo", "summary.json", "--overwrite")
    assert (out / "summary.json").read_text() == "{}"


def test_demo_output_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_error(cli("demo", "--output", tmp_path / "f"), 4, "demo", "not a directory")


def test_reproduce_output_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_error(cli("reproduce", "--output", tmp_path / "f"), 4, "reproduce",
                 "not a directory")


def test_reproduce_run_with_other_settings_is_refused(tmp_path, monkeypatch):
    import nncz.reproduce.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_reproduce", _fake_reproduce)
    out = tmp_path / "r"
    assert cli("reproduce", "--output", out, "--seed", "1").code == 0
    before = snapshot(out)
    result = cli("reproduce", "--output", out, "--seed", "2")
    assert_error(result, 4, "reproduce", "seed", "--overwrite")
    assert snapshot(out) == before
    assert cli("reproduce", "--output", out, "--seed", "2", "--overwrite").code == 0


def _fake_reproduce(out_dir, **kw):
    """Stands in for the pipeline (tested elsewhere): only the settings check runs here."""
    return {"orderings": pd.DataFrame({"claim": [], "agree": []}), "timings_s": {}}


def test_reproduce_overwrite_removes_the_old_runs_results_only(tmp_path, monkeypatch):
    import nncz.reproduce.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_reproduce", _fake_reproduce)
    out = tmp_path / "r"
    assert cli("reproduce", "--output", out, "--seed", "1").code == 0
    for name in ("models", "mock", "figures"):
        (out / name).mkdir()
        (out / name / "old.txt").write_text("seed 1")
    (out / "notes.txt").write_text("mine")
    assert cli("reproduce", "--output", out, "--seed", "2", "--overwrite").code == 0
    assert not (out / "models").exists() and not (out / "mock").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_reproduce_overwrite_keeps_a_given_mock(tmp_path, monkeypatch):
    import nncz.reproduce.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run_reproduce", _fake_reproduce)
    out, mock = tmp_path / "r", tmp_path / "r" / "mock"
    mock.mkdir(parents=True)
    (mock / "truth.parquet").write_text("a mock")
    assert cli("reproduce", "--output", out, "--mock", mock, "--seed", "1").code == 0
    assert cli("reproduce", "--output", out, "--mock", mock, "--seed", "2",
               "--overwrite").code == 0
    assert (mock / "truth.parquet").read_text() == "a mock"
