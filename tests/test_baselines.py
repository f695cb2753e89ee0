"""Baselines: they learn a known function, select on validation, and save/load exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from nncz.baselines import (
    ANNRegressionPhotoZ,
    ForestArrays,
    RandomForestPhotoZ,
    XGBoostPhotoZ,
    expand_grid,
)
from nncz.bundle import CONFIG_FILE, load_model
from nncz.io import ColumnError
from nncz.metrics import point_metrics
from nncz.paths import ModelFileError

FEATURES = [f"colour_{i}" for i in range(5)]


def synthetic(n: int, seed: int, noise: float = 0.01) -> pd.DataFrame:
    """z is a smooth function of colours 0-2; colours 3 and 4 are pure noise features."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1.0, 1.0, (n, 5))
    z = 0.6 + 0.4 * np.tanh(1.2 * c[:, 0] - 0.7 * c[:, 2] + 0.5 * c[:, 1] ** 2 - 0.2)
    z = z + noise * (1 + z) * rng.normal(size=n)
    table = pd.DataFrame(c, columns=FEATURES)
    table["z_spec"] = z
    return table


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic(1500, seed=1), synthetic(400, seed=2)


def constant_nmad(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """sigma_NMAD of the best constant guess: the spread of z the models must beat."""
    guess = np.full(len(test), train["z_spec"].median())
    return point_metrics(guess, test["z_spec"].to_numpy())["sigma_nmad"]


@pytest.fixture(scope="module")
def fitted(data):
    train, _ = data
    return {
        "rf": RandomForestPhotoZ(param_grid={"n_estimators": [30], "min_samples_leaf": [1, 5]})
        .fit(train, FEATURES),
        "xgboost": XGBoostPhotoZ(param_grid={"max_depth": [2, 4], "learning_rate": [0.2]},
                                 n_estimators=300).fit(train, FEATURES),
        "ann": ANNRegressionPhotoZ(hidden=(32, 16), batch_size=256, max_epochs=25, patience=8,
                                   verbose=False).fit(train, FEATURES),
    }


@pytest.mark.parametrize("name, factor", [("rf", 0.25), ("xgboost", 0.25), ("ann", 0.4)])
def test_learns_the_function(fitted, data, name, factor):
    train, test = data
    prediction = fitted[name].predict(test)
    assert list(prediction.columns) == ["z_phot_mean", "nncz_flag"]
    assert (prediction["nncz_flag"] == 0).all()
    assert prediction.index.equals(test.index)
    metrics = point_metrics(prediction["z_phot_mean"].to_numpy(), test["z_spec"].to_numpy())
    assert metrics["sigma_nmad"] < factor * constant_nmad(train, test)
    assert abs(metrics["bias"]) < 0.01


@pytest.mark.parametrize("name", ["rf", "xgboost", "ann"])
def test_save_load_gives_identical_predictions(fitted, data, tmp_path, name):
    _, test = data
    estimator = fitted[name]
    estimator.save(tmp_path / name)
    files = {p.name for p in (tmp_path / name).iterdir()}
    config = json.loads((tmp_path / name / CONFIG_FILE).read_text())
    assert files == {CONFIG_FILE, config["model_file"]}  # no pickle, nothing else
    assert config["format"] == "nncz-model-3" and config["kind"] == type(estimator).kind
    assert config["features"] == FEATURES and config["bad_values"]["mode"] == "fill"
    for loaded in (load_model(tmp_path / name), type(estimator).load(tmp_path / name)):
        assert type(loaded) is type(estimator)
        assert loaded.get_params() == {**estimator.get_params(), **(
            {"verbose": False, "hidden": tuple(estimator.hidden)} if name == "ann" else {})}
        np.testing.assert_array_equal(loaded.predict(test)["z_phot_mean"],
                                      estimator.predict(test)["z_phot_mean"])


def test_forest_export_matches_sklearn(data, tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    train, test = data
    forest = RandomForestRegressor(n_estimators=15, random_state=3, n_jobs=2)
    forest.fit(train[FEATURES].to_numpy(), train["z_spec"].to_numpy())
    arrays = ForestArrays.from_sklearn(forest)
    expected = forest.predict(test[FEATURES].to_numpy())
    np.testing.assert_allclose(arrays.predict(test[FEATURES].to_numpy()), expected, rtol=1e-12)
    arrays.save(tmp_path / "forest.safetensors")
    reloaded = ForestArrays.load(tmp_path / "forest.safetensors")
    assert reloaded.max_depth == arrays.max_depth
    np.testing.assert_array_equal(reloaded.predict(test[FEATURES].to_numpy()),
                                  arrays.predict(test[FEATURES].to_numpy()))
    # Trees that are a single leaf (constant target) predict that constant.
    stumps = RandomForestRegressor(n_estimators=3).fit(train[FEATURES], np.full(len(train), 0.7))
    np.testing.assert_allclose(
        ForestArrays.from_sklearn(stumps).predict(test[FEATURES].to_numpy()), 0.7, rtol=1e-14)


def test_xgboost_file_is_xgboost_json(fitted, tmp_path):
    fitted["xgboost"].save(tmp_path)
    model = json.loads((tmp_path / "xgboost_model.json").read_text())
    assert "learner" in model
    n_trees = int(model["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"])
    assert n_trees == fitted["xgboost"].n_rounds_  # trimmed to the early-stopping round


def test_grid_search_uses_the_validation_set(data):
    train, test = data
    grid = {"n_estimators": [20], "max_depth": [1, None]}
    real = RandomForestPhotoZ(param_grid=grid, scoring="rmse").fit(train, FEATURES,
                                                                   validation=test)
    assert real.best_params_["max_depth"] is None  # a stump cannot follow the function
    assert [r["params"] for r in real.grid_results_] == expand_grid(grid)
    best = min(real.grid_results_, key=lambda r: r["rmse"])
    assert best["params"] == real.best_params_
    # A validation set whose redshifts are all the mean rewards the flattest model instead.
    flat = test.assign(z_spec=train["z_spec"].mean())
    chosen = RandomForestPhotoZ(param_grid=grid, scoring="rmse").fit(train, FEATURES,
                                                                     validation=flat)
    assert chosen.best_params_["max_depth"] == 1


def test_validation_fraction_is_held_out(data):
    train, _ = data
    model = RandomForestPhotoZ(param_grid={"n_estimators": [5]}).fit(train, FEATURES,
                                                                      validation=0.2)
    assert model.n_train_ + model.n_valid_ == len(train)
    assert 0.15 * len(train) < model.n_valid_ < 0.25 * len(train)
    with pytest.raises(ValueError, match="fraction"):
        RandomForestPhotoZ().fit(train, FEATURES, validation=1.5)


def test_missing_column_errors_name_the_column(fitted, data):
    train, test = data
    with pytest.raises(ColumnError, match="colour_3"):
        fitted["rf"].predict(test.drop(columns="colour_3"))
    with pytest.raises(ColumnError, match="redshift"):
        XGBoostPhotoZ().fit(train, FEATURES, target="redshift")


def test_drop_policy_drops_bad_rows_in_fit_and_gives_nan(data, caplog):
    train, test = data
    dirty = test.copy()
    dirty.loc[dirty.index[3], "colour_1"] = np.nan
    dirty.loc[dirty.index[7], "colour_4"] = 99.0  # a sentinel: finite, but bad (nncz.cleaning)
    dirty_train = train.copy()
    dirty_train.loc[dirty_train.index[:10], "z_spec"] = np.nan
    dirty_train.loc[dirty_train.index[10:15], "colour_2"] = -99.0
    with caplog.at_level("WARNING"):
        model = XGBoostPhotoZ(param_grid={"max_depth": [3]}, n_estimators=100,
                              bad_values="drop").fit(dirty_train, FEATURES)
    assert "non-finite redshift" in caplog.text and "unusable features" in caplog.text
    assert model.n_train_ + model.n_valid_ == len(train) - 15
    caplog.clear()
    with caplog.at_level("WARNING"):
        prediction = model.predict(dirty)
    assert "2 of 400 rows" in caplog.text
    z = prediction["z_phot_mean"].to_numpy()
    assert np.isnan(z[[3, 7]]).all() and np.isfinite(np.delete(z, [3, 7])).all()
    assert prediction["nncz_flag"].tolist() == [1 if i in (3, 7) else 0 for i in range(400)]
    clean = model.predict(test)["z_phot_mean"].to_numpy()
    np.testing.assert_array_equal(np.delete(z, [3, 7]), np.delete(clean, [3, 7]))


@pytest.mark.parametrize("name", ["rf", "xgboost", "ann"])
def test_fill_policy_answers_every_row_and_flags_the_filled(fitted, data, name):
    train, test = data
    dirty_train = train.copy()
    dirty_train.loc[dirty_train.index[:40], "colour_3"] = np.nan
    model = clone(fitted[name]).fit(dirty_train, FEATURES)
    assert model.policy_.indicator_features_ == ["colour_3"]
    assert model.n_train_ + model.n_valid_ == len(train)  # nothing dropped
    dirty = test.copy()
    dirty.loc[dirty.index[:5], "colour_3"] = np.inf
    dirty.loc[dirty.index[5], FEATURES] = np.nan  # nothing usable: no prediction
    prediction = model.predict(dirty)
    assert np.isfinite(prediction["z_phot_mean"].to_numpy()[:5]).all()
    assert prediction["nncz_flag"].tolist()[:7] == [2, 2, 2, 2, 2, 1, 0]
    assert np.isnan(prediction["z_phot_mean"].iloc[5])


def test_load_checks_the_class(fitted, tmp_path):
    fitted["rf"].save(tmp_path)
    with pytest.raises(ModelFileError,
                       match=r"'kind'.*RandomForestPhotoZ\), not a XGBoostPhotoZ"):
        XGBoostPhotoZ.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")


def test_expand_grid():
    assert len(expand_grid({"a": [1, 2, 3], "b": [0.1, 0.2]})) == 6
    with pytest.raises(ValueError, match="'a'"):
        expand_grid({"a": []})
    with pytest.raises(ValueError, match="scoring"):
        RandomForestPhotoZ(scoring="r2").fit(synthetic(50, 0), FEATURES)


@pytest.mark.parametrize("name", ["rf", "xgboost", "ann"])
def test_changed_model_file_is_refused(fitted, tmp_path, name):
    fitted[name].save(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    model_file = tmp_path / config["model_file"]
    model_file.write_bytes(model_file.read_bytes() + b" ")
    with pytest.raises(ModelFileError, match=f"{model_file.name}: checksum differs from "
                       "weights_sha256"):
        load_model(tmp_path)


@pytest.mark.parametrize("name, field, edit", [
    ("rf", "n_trees", lambda c: c.update(n_trees=c["n_trees"] + 1)),
    ("xgboost", "n_rounds", lambda c: c.update(n_rounds=1)),
    ("ann", "scaler", lambda c: c["scaler"]["mean"].__setitem__(0, 3.0)),
    ("rf", "bad_values", lambda c: c["bad_values"].update(mode="drop")),
    ("xgboost", "kind", lambda c: c.update(kind="rf")),
])
def test_edited_bundle_field_is_refused(fitted, tmp_path, name, field, edit):
    fitted[name].save(tmp_path)
    path = tmp_path / CONFIG_FILE
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=f"field '{field}'"):
        load_model(tmp_path)


@pytest.mark.parametrize("name", ["rf", "xgboost"])
def test_tree_shap_of_a_model_with_indicator_inputs(fitted, data, name):
    """Filled training values add ``<feature>__missing`` inputs; SHAP still explains the
    features, and the values add up to the prediction (local accuracy)."""
    from nncz.explain import explain

    train, test = data
    dirty_train = train.copy()
    dirty_train.loc[dirty_train.index[:40], "colour_3"] = np.nan
    model = clone(fitted[name]).fit(dirty_train, FEATURES)
    assert model.model_inputs(test).shape == (len(test), len(FEATURES) + 1)
    result = explain(model, test, n_samples=60, n_background=30, method="tree")
    assert result.values.shape == (60, len(FEATURES))
    z = model.predict(pd.DataFrame(result.data, columns=FEATURES))["z_phot_mean"].to_numpy()
    assert np.abs(result.base_value + result.values.sum(axis=1) - z).max() < 1e-5
