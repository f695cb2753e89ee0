"""Adversarial: tampered model bundles and checkpoints of other runs (the lead's verification).

Each case expects exit 5 and one line naming the file and the field. The run-id check of
`evaluate --pdf` is here too.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from adv_fixtures import FEATURES, TRAIN_OPTIONS, assert_error, cli, snapshot, workspace


@pytest.fixture(scope="module")
def ws():
    return workspace()


def _edit_json(model, edit):
    path = model / "nncz_model.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _set(*keys_value):
    *keys, value = keys_value

    def edit(config):
        node = config
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return edit


def _temperature(value):
    def edit(config):
        config["temperature"] = value
        config["calibration"]["temperature"] = value
    return edit


def _scale_zero(config):
    config["scaler"]["scale"][0] = 0.0


def _permute_features(config):
    config["features"] = config["features"][::-1]
    config["input_columns"] = config["input_columns"][::-1]


def _drop_feature(config):
    config["features"] = config["features"][:-1]
    config["input_columns"] = config["input_columns"][:-1]


JSON_EDITS = {  # the edit, and the field names of which the message must hold one
    "temperature_zero": (_temperature(0.0), ("temperature", "calibration")),
    "temperature_nan": (_temperature(float("nan")), ("temperature", "calibration")),
    "temperature_negative": (_temperature(-1.0), ("temperature", "calibration")),
    "grid_edited": (_set("grid", "z_max", 3.0), ("grid",)),
    "grid_huge": (_set("grid", "n_bins", 10**9), ("n_bins", "grid")),
    "scaler_scale_zero": (_scale_zero, ("scale",)),
    "features_permuted": (_permute_features, ("features", "input_columns")),
    "feature_count_mismatch": (_drop_feature, ("features", "input_columns", "scaler")),
    "format_unknown": (_set("format", "nncz-model-99"), ("format",)),
}


@pytest.mark.parametrize("case", list(JSON_EDITS))
def test_tampered_model_json_is_refused(ws, tmp_path, case):
    model = tmp_path / "model"
    shutil.copytree(ws["model"], model)
    edit, fields = JSON_EDITS[case]
    _edit_json(model, edit)
    result = cli("predict", model, ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet")
    line = assert_error(result, 5, "predict", "nncz_model.json")
    assert any(field in line for field in fields), line
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize("damage", ["truncated", "byte_flipped"])
def test_damaged_weights_are_refused(ws, tmp_path, damage):
    model = tmp_path / "model"
    shutil.copytree(ws["model"], model)
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = cli("predict", model, ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet")
    assert_error(result, 5, "predict", "model.safetensors")


def test_weights_of_another_model_are_refused(ws, tmp_path):
    other = tmp_path / "other"
    assert cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
               "--output", other, *TRAIN_OPTIONS, "--seed", "9").code == 0
    model = tmp_path / "model"
    shutil.copytree(ws["model"], model)
    shutil.copy(other / "model.safetensors", model / "model.safetensors")
    result = cli("predict", model, ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet")
    assert_error(result, 5, "predict", "model.safetensors")


def test_model_json_that_is_not_json(ws, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(ws["model"], model)
    (model / "nncz_model.json").write_text("{not json")
    result = cli("predict", model, ws["root"] / "train.parquet", "--output",
                 tmp_path / "p.parquet")
    assert_error(result, 5, "predict", "nncz_model.json")


def _leave_checkpoint(ws, tmp_path, monkeypatch, *extra):
    """Train with the final checkpoint removal disabled: a checkpoint of that run stays."""
    import pathlib

    original = pathlib.Path.unlink

    def keep_checkpoints(self, *args, **kwargs):
        if self.name.startswith("checkpoint"):
            return None
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "unlink", keep_checkpoints)
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--output", tmp_path / "a", "--checkpoint-dir", tmp_path / "ckpt",
                 *TRAIN_OPTIONS, *extra)
    monkeypatch.setattr(pathlib.Path, "unlink", original)
    assert result.code == 0, result.err
    assert any((tmp_path / "ckpt").iterdir())


@pytest.mark.parametrize("change", [["--seed", "5"], ["--lr", "0.01"]])
def test_checkpoint_of_another_run_is_not_resumed(ws, tmp_path, monkeypatch, change):
    _leave_checkpoint(ws, tmp_path, monkeypatch)
    before = snapshot(tmp_path / "ckpt")
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--output", tmp_path / "b", "--checkpoint-dir", tmp_path / "ckpt",
                 *TRAIN_OPTIONS, *change)
    assert_error(result, 5, "train", "checkpoint")
    assert snapshot(tmp_path / "ckpt") == before


def test_pickle_checkpoint_is_one_line(ws, tmp_path):
    import pickle

    folder = tmp_path / "ckpt"
    for place in (folder, folder / "member_0"):  # the flat and the per-member layout
        place.mkdir(parents=True)
        (place / "checkpoint.pt").write_bytes(pickle.dumps({"weights": np.ones(3)}))
    result = cli("train", ws["root"] / "train.parquet", "--features", ",".join(FEATURES),
                 "--output", tmp_path / "m", "--checkpoint-dir", folder, *TRAIN_OPTIONS)
    assert_error(result, 5, "train", "checkpoint.pt")


def test_evaluate_pdfs_of_another_table_of_the_same_length(ws, tmp_path):
    other = tmp_path / "other.parquet"
    shuffled = ws["root"] / "train.parquet"
    import pandas as pd

    pd.read_parquet(shuffled).sample(frac=1.0, random_state=3).to_parquet(other)
    assert cli("predict", ws["model"], other, "--output", tmp_path / "p.parquet",
               "--pdf-output", tmp_path / "pdf.h5").code == 0
    result = cli("evaluate", ws["pred"], "--pdf", tmp_path / "pdf.h5", "--output",
                 tmp_path / "r")
    assert_error(result, 3, "evaluate", "pdf.h5", "run")
