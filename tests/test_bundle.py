"""The model bundle (nncz.bundle): one format for every estimator, verified; older layouts load.

``tests/data/old_layouts`` holds directories written by the code before ``nncz-model-3`` (see
its ``make.py``) with the predictions that code made: the baselines' ``meta.json`` layout and
NNC's ``nncz-model-2`` bundle.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nncz.baselines import RandomForestPhotoZ, XGBoostPhotoZ
from nncz.bundle import (
    CONFIG_FILE,
    FORMAT,
    KINDS,
    PROTECTED,
    _field_sha256,
    estimator_class,
    load_model,
)
from nncz.estimator import NNCEstimator
from nncz.paths import ModelFileError

OLD = Path(__file__).parent / "data" / "old_layouts"
_spec = importlib.util.spec_from_file_location("old_layouts_make", OLD / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)
TEST = make.table(60, 2)


def predictions(model) -> np.ndarray:
    if isinstance(model, NNCEstimator):
        return model.predict_pdf(TEST)
    return model.predict(TEST)["z_phot_mean"].to_numpy()


@pytest.mark.parametrize("name", ["rf", "xgboost", "ann", "nnc"])
def test_old_layouts_load_and_predict_as_before(tmp_path, caplog, name):
    expected = np.load(OLD / name / "expected.npy")
    with caplog.at_level("WARNING"):
        model = load_model(OLD / name)
    assert model.features_ == make.FEATURES
    # The ANN scaled in float64 then; a bundle's scaler is float32: rounding differences only.
    # NNC's PIT map was a float64 PCHIP then and is a float32 table now (issue 14): within 5e-7.
    rtol, atol = {"ann": (1e-6, 1e-7), "nnc": (0, 5e-7)}.get(name, (0, 0))
    np.testing.assert_allclose(predictions(model), expected, rtol=rtol, atol=atol)
    assert ("deprecated" in caplog.text) == (name != "nnc")  # nncz-model-2 is no deprecation
    model.save(tmp_path)  # saving writes the current format
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["format"] == FORMAT
    np.testing.assert_array_equal(predictions(load_model(tmp_path)), predictions(model))


def test_old_baselines_keep_their_finite_only_rule():
    model = load_model(OLD / "rf")
    assert model.policy_.mode == "drop" and model.policy_.sentinels == ()
    dirty = TEST.iloc[:3].assign(c0=[np.nan, 99.0, 0.1])  # 99 was a value for them
    assert model.predict(dirty)["nncz_flag"].tolist() == [1, 0, 0]
    with pytest.raises(ModelFileError, match="holds a 'RandomForestPhotoZ', not a XGBoost"):
        XGBoostPhotoZ.load(OLD / "rf")
    assert type(RandomForestPhotoZ.load(OLD / "rf")) is RandomForestPhotoZ


def test_an_old_model_file_that_changed_is_refused(tmp_path):
    shutil.copytree(OLD / "xgboost", tmp_path / "xgboost")
    model_file = tmp_path / "xgboost" / "xgboost_model.json"
    model_file.write_text(model_file.read_text().replace("{", "{ ", 1))
    with pytest.raises(ModelFileError, match="xgboost_model.json: checksum differs from "
                       "model_sha256 in meta.json"):
        load_model(tmp_path / "xgboost")


@pytest.mark.parametrize("name", ["rf", "xgboost", "ann", "nnc"])
def test_training_on_clean_data_gives_what_it_gave_before(name):
    """Same seed, same data, same settings as make.py: the same model, to float rounding
    (the ANN's float32 scaler moves its weights by rounding; everything else is unchanged)."""
    old = load_model(OLD / name)
    twin = type(old)(**{k: v for k, v in old.get_params().items() if k != "bad_values"})
    twin.fit(make.table(400, 1), make.FEATURES)
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if name in ("ann", "nnc") else {"rtol": 0}
    np.testing.assert_allclose(predictions(twin), np.load(OLD / name / "expected.npy"),
                               **tolerance)


@pytest.fixture(scope="module")
def nnc_bundle(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("nnc")
    return load_model(OLD / "nnc").save(directory)


def test_an_nnc_bundle_checksums_every_field_that_decides_predictions(nnc_bundle):
    config = json.loads((nnc_bundle / CONFIG_FILE).read_text())
    assert (config["format"], config["kind"], config["model_file"]) == (
        FORMAT, "nnc", "model.safetensors")
    assert set(config["field_sha256"]) == set(PROTECTED)
    assert type(load_model(nnc_bundle)) is NNCEstimator


def test_every_kind_names_its_class():
    for kind in KINDS:
        assert estimator_class(kind).kind == kind


def _edited(bundle: Path, tmp_path: Path, edit) -> Path:
    target = tmp_path / "edited"
    shutil.copytree(bundle, target)
    config = json.loads((target / CONFIG_FILE).read_text())
    edit(config)
    if "field_sha256" in config:  # a self-consistent edit: only the value checks catch it
        config["field_sha256"] = {name: _field_sha256(config[name])
                                  for name in config["field_sha256"]}
    (target / CONFIG_FILE).write_text(json.dumps(config))
    return target


@pytest.mark.parametrize("edit, field", [
    (lambda c: c["field_sha256"].pop("model_file"), "field_sha256"),
    (lambda c: c.pop("field_sha256"), "field_sha256"),
    (lambda c: c.update(model_file="../model.safetensors"), "model_file"),
    (lambda c: c.update(model_file=CONFIG_FILE), "model_file"),
    (lambda c: c.update(kind="gp"), "kind"),
    (lambda c: c.update(kind="ann"), "kind"),
])
def test_bundle_edits_are_refused_naming_the_field(nnc_bundle, tmp_path, edit, field):
    with pytest.raises(ModelFileError, match=f"field '{field}'"):
        NNCEstimator.load(_edited(nnc_bundle, tmp_path, edit))


def test_a_bundle_without_its_model_file_is_named(nnc_bundle, tmp_path):
    target = _edited(nnc_bundle, tmp_path, lambda c: None)
    (target / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_model(target)


@pytest.fixture(scope="module")
def colour_bundle(tmp_path_factory) -> Path:
    """An NNC model of feature c0 and the colours of c1, c2, c3 (bands that are no features)."""
    model = NNCEstimator(hidden=(8,), max_epochs=1, batch_size=64, colours=("c1", "c2", "c3"),
                         verbose=False)
    return model.fit(make.table(200, 1), ["c0"]).save(tmp_path_factory.mktemp("colours"))


def test_the_colour_bands_are_a_checksummed_field(colour_bundle, tmp_path):
    config = json.loads((colour_bundle / CONFIG_FILE).read_text())
    assert config["colours"] == ["c1", "c2", "c3"] and "colours" not in config["settings"]
    config["colours"] = ["c2", "c1", "c3"]  # field_sha256 left as it was
    target = tmp_path / "edited"
    shutil.copytree(colour_bundle, target)
    (target / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="field 'colours': was edited"):
        load_model(target)
    with pytest.raises(ModelFileError, match="field 'colours': must be a list"):
        load_model(_edited(colour_bundle, tmp_path / "b", lambda c: c.update(colours="c1")))


def test_a_bundle_with_its_colours_in_settings_still_loads(colour_bundle, tmp_path):
    """Bundles written before ``colours`` had its own field kept it in ``settings``."""
    def older(config: dict) -> None:
        config["settings"]["colours"] = config.pop("colours")
        config["field_sha256"].pop("colours")

    model = load_model(_edited(colour_bundle, tmp_path, older))
    assert model.colours == ["c1", "c2", "c3"] and model.features_ == ["c0"]
    np.testing.assert_array_equal(model.predict_pdf(TEST), load_model(colour_bundle)
                                  .predict_pdf(TEST))
