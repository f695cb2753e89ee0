import json

import numpy as np
import pytest
from conftest import FEATURES, synthetic_catalog

from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.io import ColumnError
from nncz.metrics import point_metrics
from nncz.pdf import PRODUCT_COLUMNS


def small_estimator(**kwargs):
    params = dict(grid=RedshiftGrid(0, 1.5, 150), hidden=(64, 32), max_epochs=25, batch_size=256,
                  patience=5, verbose=False, lr=2e-3)
    params.update(kwargs)
    return NNCEstimator(**params)


@pytest.fixture(scope="module")
def fitted():
    train = synthetic_catalog(4000, seed=1)
    return small_estimator().fit(train, FEATURES), synthetic_catalog(1000, seed=2)


def test_learns_the_colour_redshift_relation(fitted):
    estimator, test = fitted
    products = estimator.predict(test)
    assert list(products.columns) == [*PRODUCT_COLUMNS, "nncz_flag"]
    metrics = point_metrics(products.z_phot_mean, test.z_spec)
    # the redshift spread is ~0.33; a model that learned nothing has sigma_NMAD ~ 0.2
    assert metrics["sigma_nmad"] < 0.05
    assert 0 < estimator.temperature_ < 20
    assert len(estimator.history_) >= 5 and "val_sigma_nmad" in estimator.history_[0]


def test_save_load_gives_identical_predictions(fitted, tmp_path):
    estimator, test = fitted
    estimator.save(tmp_path / "model")
    files = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert files == ["model.safetensors", "nncz_model.json"]
    config = json.loads((tmp_path / "model" / "nncz_model.json").read_text())
    assert config["features"] == FEATURES and config["grid"]["n_bins"] == 150
    assert {"temperature", "scaler", "settings", "calibration", "versions", "metrics_validation",
            "weights_sha256"} <= set(config)
    assert config["settings"]["nll_weight"] == pytest.approx(1e-3)
    loaded = NNCEstimator.load(tmp_path / "model")
    assert loaded.nll_weight == pytest.approx(1e-3)
    np.testing.assert_array_equal(loaded.predict_pdf(test), estimator.predict_pdf(test))
    with pytest.raises(ValueError, match="nll_weight"):  # validated by fit, as scikit-learn
        small_estimator(nll_weight=-1.0).fit(test, FEATURES)


def test_calibrated_pdfs_are_the_models_calibration_of_the_raw_ones(fitted):
    from nncz.calibrate import Calibration

    estimator, test = fitted
    raw = estimator.predict_pdf(test.head(5), calibrated=False)
    cal = estimator.predict_pdf(test.head(5))
    np.testing.assert_allclose(cal, estimator.calibration_.apply(raw), rtol=1e-5, atol=1e-7)
    # a temperature is p ** (1 / T), renormalised
    tempered = Calibration("crps", temperature=1.7).apply(raw)
    expected = raw ** (1 / 1.7)
    np.testing.assert_allclose(tempered, expected / expected.sum(1, keepdims=True), rtol=2e-3,
                               atol=1e-7)


def test_wrong_column_is_named(fitted):
    estimator, test = fitted
    with pytest.raises(ColumnError, match="mag_g.*missing from input table"):
        estimator.predict(test.drop(columns=["mag_g"]))
    with pytest.raises(ColumnError, match="mag_x"):
        small_estimator().fit(test, ["mag_x"])


def test_bad_rows_are_filled_and_flagged_and_unusable_rows_are_nan(fitted):
    estimator, test = fitted  # default policy: fill
    test = test.head(4).copy()
    test.loc[test.index[1], "mag_u"] = 99.0
    test.loc[test.index[2], "magerr_r"] = np.inf
    test.loc[test.index[3], FEATURES] = np.nan  # nothing usable
    products, pdf = estimator.predict(test, return_pdf=True)
    assert products.nncz_flag.tolist() == [0, 2, 2, 1]
    assert products.z_phot_mean.isna().tolist() == [False, False, False, True]
    assert products.iloc[3].drop("nncz_flag").isna().all() and np.isnan(pdf[3]).all()
    assert np.isfinite(pdf[:3]).all()


def test_drop_policy_gives_nan_products_and_flag():
    train = synthetic_catalog(600, seed=5)
    estimator = small_estimator(bad_values="drop", max_epochs=2).fit(train, FEATURES)
    test = train.head(4).copy()
    test.loc[test.index[1], "mag_u"] = 99.0
    test.loc[test.index[2], "magerr_r"] = -np.inf
    products = estimator.predict(test)
    assert products.nncz_flag.tolist() == [0, 1, 1, 0]
    assert products.z_phot_mean.isna().tolist() == [False, True, True, False]


def test_fill_policy_trains_with_non_detections():
    train = synthetic_catalog(1500, seed=3)
    train.loc[train.index[::7], "mag_u"] = 99.0
    estimator = small_estimator(bad_values="fill", max_epochs=3).fit(train, FEATURES)
    products = estimator.predict(train.head(20))
    filled = (train.head(20).mag_u == 99.0).to_numpy()
    assert products.z_phot_mean.notna().all()
    assert (products.nncz_flag.to_numpy() == np.where(filled, 2, 0)).all()
    assert estimator.policy_.indicator_features_ == ["mag_u"]


def test_seeded_training_is_reproducible():
    train = synthetic_catalog(600, seed=4)
    a = small_estimator(max_epochs=2).fit(train, FEATURES)
    b = small_estimator(max_epochs=2).fit(train, FEATURES)
    np.testing.assert_array_equal(a.predict_pdf(train), b.predict_pdf(train))


def test_colours_are_derived_inside_the_model_and_missing_with_a_bad_magnitude(tmp_path):
    bands = [f"mag_{b}" for b in "ugriz"]
    train = synthetic_catalog(800, seed=6)
    train.loc[train.index[::9], "mag_u"] = 99.0
    estimator = small_estimator(max_epochs=2, colours=bands).fit(train, FEATURES)
    colours = ["mag_u-mag_g", "mag_g-mag_r", "mag_r-mag_i", "mag_i-mag_z"]
    assert estimator.model_features_ == [*FEATURES, *colours]
    assert estimator.policy_.indicator_features_ == ["mag_u", "mag_u-mag_g"]
    test = train.head(10)[FEATURES]  # the magnitudes alone are enough to predict
    bad = estimator.bad_value_mask(test)
    u_missing = (test.mag_u == 99.0).to_numpy()
    assert u_missing.any() and bad.shape == (10, len(FEATURES) + 4)
    np.testing.assert_array_equal(bad[:, len(FEATURES)], u_missing)  # u-g is bad with u
    assert not bad[:, len(FEATURES) + 1:].any()
    estimator.save(tmp_path / "model")
    loaded = NNCEstimator.load(tmp_path / "model")
    assert list(loaded.colours) == bands
    np.testing.assert_array_equal(loaded.predict_pdf(test), estimator.predict_pdf(test))
    config = json.loads((tmp_path / "model" / "nncz_model.json").read_text())
    assert config["features"] == FEATURES and "mag_u-mag_g__missing" in config["input_columns"]


BANDS = [f"mag_{b}" for b in "ugriz"]
ERRORS = [f"magerr_{b}" for b in "ugriz"]


@pytest.mark.parametrize("features", [["mag_i"], ERRORS, []],
                         ids=["ref+colours", "colours+errs", "colours"])
def test_colour_bands_need_not_be_features(tmp_path, features):
    """``features`` are the network's direct inputs; colour bands outside them are read,
    checked and saved all the same, and the model needs them at every prediction."""
    train = synthetic_catalog(800, seed=6)
    train.loc[train.index[::9], "mag_u"] = 99.0
    estimator = small_estimator(max_epochs=2, colours=BANDS).fit(train, features)
    colours = ["mag_u-mag_g", "mag_g-mag_r", "mag_r-mag_i", "mag_i-mag_z"]
    assert estimator.features_ == features
    assert estimator.model_features_ == [*features, *colours]
    assert estimator.required_columns_ == [*features, *[b for b in BANDS if b not in features]]
    assert estimator.policy_.indicator_features_ == ["mag_u-mag_g"]  # u is not a feature
    estimator.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "nncz_model.json").read_text())
    assert config["colours"] == BANDS and "colours" in config["field_sha256"]
    assert "colours" not in config["settings"]
    loaded = NNCEstimator.load(tmp_path / "model")
    assert list(loaded.colours) == BANDS and loaded.features_ == features
    test = train.head(30)[estimator.required_columns_]  # these columns and nothing else
    np.testing.assert_array_equal(loaded.predict_pdf(test), estimator.predict_pdf(test))


def test_a_missing_colour_band_is_one_clear_error():
    train = synthetic_catalog(300, seed=7)
    estimator = small_estimator(max_epochs=1, colours=BANDS).fit(train, ["mag_i"])
    test = train.head(5).drop(columns="mag_g")
    for call in (estimator.predict, estimator.predict_pdf, estimator.model_inputs):
        with pytest.raises(ColumnError, match=r"\['mag_g'\] missing from"):
            call(test)
    with pytest.raises(ColumnError, match=r"\['mag_g'\] missing from cat.fits"):
        estimator.predict(test, source="cat.fits")
    with pytest.raises(ColumnError, match=r"\['mag_y'\] missing from training table"):
        small_estimator(colours=["mag_u", "mag_y"]).fit(train, FEATURES)


def test_a_bad_value_in_a_colour_band_outside_the_features_is_filled_and_flagged():
    train = synthetic_catalog(600, seed=8)
    estimator = small_estimator(max_epochs=1, colours=BANDS).fit(train, ["mag_i"])
    test = train.head(4).copy()
    test.loc[test.index[1], "mag_g"] = 99.0  # a non-detection in a band that is no feature
    test.loc[test.index[2], "mag_z"] = np.nan
    bad = estimator.bad_value_mask(test)  # columns: mag_i, u-g, g-r, r-i, i-z
    np.testing.assert_array_equal(bad, [[0, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 1],
                                        [0, 0, 0, 0, 0]])
    products, pdf = estimator.predict(test, return_pdf=True)
    assert products["nncz_flag"].tolist() == [0, 2, 2, 0]
    assert np.isfinite(pdf).all() and products["z_phot_mean"].notna().all()
    filled = estimator.model_inputs(test)[1, 1:3] * estimator.scaler_scale_[1:3] \
        + estimator.scaler_mean_[1:3]  # the policy's fill values, learned in training
    expected = [estimator.policy_.fill_values_[c] for c in ("mag_u-mag_g", "mag_g-mag_r")]
    np.testing.assert_allclose(filled, expected, rtol=1e-5)
    drop = small_estimator(max_epochs=1, colours=BANDS, bad_values="drop").fit(train, ["mag_i"])
    assert drop.predict(test)["nncz_flag"].tolist() == [0, 1, 1, 0]


def test_colour_settings_that_cannot_work_are_refused():
    train = synthetic_catalog(300, seed=7)
    with pytest.raises(ValueError, match="invalid colours"):
        small_estimator(colours=["mag_u"]).fit(train, FEATURES)
    with pytest.raises(ValueError, match="invalid colours"):
        small_estimator(colours=["mag_u", "mag_g", "mag_u"]).fit(train, FEATURES)
    clash = train.assign(**{"mag_u-mag_g": 0.0})
    with pytest.raises(ValueError, match="clash with feature names"):
        small_estimator(colours=["mag_u", "mag_g"]).fit(clash, ["mag_u-mag_g"])
    with pytest.raises(ValueError, match="features is empty"):
        small_estimator().fit(train, [])
    with pytest.raises(ValueError, match="'mag_u' is also a feature"):
        small_estimator(colours=["mag_u", "mag_g"]).fit(train, ["mag_r"], target="mag_u")


def test_cross_fit_calibrates_on_the_out_of_fold_pdfs_of_every_training_row():
    from nncz.calibrate import Calibration
    from nncz.estimator import fold_index
    from nncz.infer import member_pdf

    train = synthetic_catalog(900, seed=8)
    estimator = small_estimator(max_epochs=2, n_members=3, cross_fit=True).fit(train, FEATURES)
    folds = fold_index(len(train), 3, 0)
    assert np.bincount(folds).tolist() == [300, 300, 300]
    x = estimator.model_inputs(train)
    models = estimator._inference_models()
    oof = np.empty((len(train), estimator.grid.n_bins), np.float32)
    for k in range(3):
        oof[folds == k] = member_pdf(models[k:k + 1], x[folds == k])
    expected = Calibration("pit").fit(oof, train.z_spec.to_numpy(np.float32), estimator.grid)
    assert estimator.calibration_.to_dict() == expected.to_dict()
    with pytest.raises(ValueError, match="invalid cross_fit"):
        small_estimator(cross_fit=True).fit(train, FEATURES)  # one member has no folds
    with pytest.raises(ValueError, match="pass no validation"):
        small_estimator(n_members=2, cross_fit=True).fit(train, FEATURES, validation=0.2)
