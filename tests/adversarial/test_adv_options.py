"""Adversarial: every numeric option of every verb, and --config files (exit 2, one line)."""

from __future__ import annotations

import pytest
from adv_fixtures import FEATURES, assert_error, catalog_args, cli, snapshot, workspace


@pytest.fixture(scope="module")
def ws():
    return workspace()


def _base(verb: str, ws, tmp):
    return {
        "train": ["train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                  "--output", tmp / "m"],
        "predict": ["predict", ws["model"], ws["root"] / "train.parquet", "--output",
                    tmp / "p.parquet", "--pdf-output", tmp / "p.h5"],
        "catalog": catalog_args(ws, tmp / "cat"),
        "mock": ["mock", tmp / "mock"],
        "spec": ["spec", "--input-dir", ws["mock"], "-o", tmp / "s.parquet"],
        "dataset": ["dataset", "--input-dir", ws["mock"], "--spec", ws["spec"], "-f", "ps1",
                    "-o", tmp / "ds"],
        "reproduce": ["reproduce", "--output", tmp / "r"],
        "demo": ["demo", "--output", tmp / "d"],
        "evaluate": ["evaluate", ws["pred"], "--output", tmp / "r"],
        "nz": ["nz", ws["pred"], "--pdf", ws["pdf"], "--bins", "0.2,0.6,1.0", "--output",
               tmp / "nz"],
    }[verb]


BAD_OPTIONS = [
    ("train", "--max-epochs", ["0", "-1", "two"]),
    ("train", "--batch-size", ["0", "-64"]),
    ("train", "--patience", ["0"]),
    ("train", "--lr", ["0", "-1e-3", "nan", "inf"]),
    ("train", "--nbins", ["0", "-5"]),
    ("train", "--hidden", ["0", "16,a", "16,-4"]),
    ("train", "--dropout", ["1.5", "-0.1"]),
    ("train", "--validation-fraction", ["0", "1", "1.5"]),
    ("train", "--nll-weight", ["-1"]),
    ("train", "--seed", ["-1", "1.5"]),
    ("train", "--zmin", ["nan"]),
    ("predict", "--chunk-rows", ["0", "-5", "many"]),
    ("predict", "--pdf-bins", ["0", "-1"]),
    ("catalog", "--chunk-rows", ["0", "-1"]),
    ("catalog", "--pdf-bins", ["0"]),
    ("catalog", "--jobs", ["0"]),
    ("catalog", "--workers", ["0"]),
    ("mock", "--n-galaxies", ["0", "-1"]),
    ("mock", "--chunk-size", ["0"]),
    ("mock", "--seed", ["-1"]),
    ("mock", "--i-max", ["nan"]),
    ("spec", "--radius", ["0", "-1"]),
    ("spec", "--zerr-max", ["0"]),
    ("spec", "--dz-max", ["-0.01"]),
    ("spec", "--deltachi2-min", ["-1"]),
    ("dataset", "--radius", ["0"]),
    ("reproduce", "--n-galaxies", ["0"]),
    ("reproduce", "--max-epochs", ["0"]),
    ("reproduce", "--jobs", ["0"]),
    ("reproduce", "--seed", ["-2"]),
    ("demo", "--n-galaxies", ["0"]),
    ("demo", "--max-epochs", ["0"]),
    ("demo", "--batch-size", ["0"]),
    ("demo", "--seed", ["-1"]),
    ("nz", "--bootstrap", ["0"]),
    ("nz", "--equal-count", ["0"]),
    ("nz", "--nz-bins", ["0"]),
    ("nz", "--seed", ["-1"]),
    ("train", "--ensemble", ["0"]),
    ("evaluate", "--tomo-bins", ["0", "-3"]),
]
CASES = [(verb, flag, value) for verb, flag, values in BAD_OPTIONS for value in values]


def _verbs() -> set[str]:
    from nncz.cli import verbs

    return set(verbs())


@pytest.mark.parametrize(("verb", "flag", "value"), CASES,
                         ids=[f"{v}{f}={x}" for v, f, x in CASES])
def test_bad_numeric_option_is_one_usage_line(ws, tmp_path, verb, flag, value):
    if verb not in _verbs():
        pytest.skip(f"no `nncz {verb}` in this tree")
    before = snapshot(ws["root"])
    result = cli(*_base(verb, ws, tmp_path), f"{flag}={value}")
    assert_error(result, 2, verb, flag, repr(value))
    assert snapshot(ws["root"]) == before
    assert not list(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_threads_is_one_usage_line(ws, tmp_path, value):
    result = cli(*_base("predict", ws, tmp_path), threads=value)
    assert_error(result, 2, None, "--threads", repr(value))
    assert not list(tmp_path.iterdir())


def test_zmax_not_above_zmin_is_refused(ws, tmp_path):
    result = cli(*_base("train", ws, tmp_path), "--zmin", "1.0", "--zmax", "0.5")
    assert_error(result, 2, "train", "--zmax", "--zmin")
    assert not list(tmp_path.iterdir())


def test_pdf_bins_must_divide_the_grid(ws, tmp_path):
    result = cli(*_base("predict", ws, tmp_path), "--pdf-bins", "7")
    assert_error(result, 2, "predict", "--pdf-bins 7", "40")
    assert not list(tmp_path.iterdir())


def test_pdf_bins_without_pdf_output_is_refused(ws, tmp_path):
    result = cli("predict", ws["model"], ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet", "--pdf-bins", "20")
    assert_error(result, 2, "predict", "--pdf-bins", "--pdf-output")


def test_unknown_option_is_one_usage_line(ws, tmp_path):
    result = cli(*_base("predict", ws, tmp_path), "--chunk-rowz", "5")
    assert_error(result, 2, "predict", "--chunk-rowz")  # named by the verb, not nncz


def test_missing_required_output_is_named(ws, tmp_path):
    result = cli("predict", ws["model"], ws["root"] / "train.parquet")
    assert_error(result, 2, "predict", "--output")


# ------------------------------------------------------------------------- --config
CONFIGS = [
    ("invalid_yaml", "max_epochs: [1, 2\nbatch_size: 3\n", "not valid YAML"),
    ("unknown_key", "max_epochs: 1\nmax_epoch: 2\n", "max_epoch"),
    ("zero_epochs", "max_epochs: 0\n", "max_epochs"),
    ("text_batch", "batch_size: big\n", "batch_size"),
    ("bad_choice", "bad_values: ignore\n", "bad_values"),
    ("flag_not_bool", "overwrite: maybe\n", "overwrite"),
    ("not_a_mapping", "- 1\n- 2\n", "mapping"),
    ("nan_lr", "lr: .nan\n", "lr"),
]


@pytest.mark.parametrize(("name", "text", "fragment"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_config_file_is_one_usage_line(ws, tmp_path, name, text, fragment):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    before = snapshot(ws["root"], config)
    result = cli("--config", config, *_base("train", ws, tmp_path))
    assert_error(result, 2, "train" if name not in ("invalid_yaml", "not_a_mapping") else None,
                 fragment, str(config))
    assert snapshot(ws["root"], config) == before
    assert not (tmp_path / "m").exists()


def test_missing_config_file_is_named(ws, tmp_path):
    result = cli("--config", tmp_path / "nope.yaml", *_base("train", ws, tmp_path))
    assert_error(result, 2, None, "nope.yaml")


def test_config_value_for_predict_is_validated(ws, tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("chunk_rows: 0\n")
    result = cli("--config", config, *_base("predict", ws, tmp_path))
    assert_error(result, 2, "predict", "chunk_rows", str(config))
    assert not (tmp_path / "p.parquet").exists()


def test_config_key_of_another_verb_is_refused(ws, tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("max_epochs: 3\n")  # a train option given to predict
    result = cli("--config", config, *_base("predict", ws, tmp_path))
    assert_error(result, 2, "predict", "max_epochs")


@pytest.mark.parametrize("flag", ["--max-epochs=1", "--max-ep=1"])
def test_flag_wins_over_config_even_abbreviated(ws, tmp_path, flag):
    import json

    config = tmp_path / "c.yaml"
    config.write_text("max_epochs: 40\nhidden: [8, 8]\nnbins: 20\nfeatures: [mag_g, mag_r]\n")
    result = cli("--config", config, "train", ws["root"] / "train.parquet", "--output",
                 tmp_path / "m", flag)
    assert result.code == 0, result.err
    saved = json.loads((tmp_path / "m" / "nncz_model.json").read_text())
    assert saved["settings"]["max_epochs"] == 1 and saved["architecture"]["hidden"] == [8, 8]
    assert saved["features"] == ["mag_g", "mag_r"] and saved["grid"]["n_bins"] == 20


def test_config_sets_a_global_option(ws, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("debug: true\n")
    result = cli("--config", config, "predict", ws["model"], tmp_path / "nope.parquet",
                 "--output", tmp_path / "p.parquet")
    assert result.code == 3 and "Traceback" in result.err


WRITING_VERBS = ["train", "predict", "evaluate", "mock", "spec", "dataset", "catalog",
                 "reproduce", "demo", "nz"]


@pytest.mark.parametrize("verb", WRITING_VERBS)
def test_every_writing_verb_documents_overwrite(verb):
    if verb not in _verbs():
        pytest.skip(f"no `nncz {verb}` in this tree")
    result = cli(verb, "--help")
    assert result.code == 0 and "--overwrite" in result.out
