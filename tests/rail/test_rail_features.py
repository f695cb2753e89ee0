"""RAIL feature recipe (nncz.rail.features) and the model archive (nncz.rail.handle).

Runs only where pz-rail-base is installed (``make test-rail``); skipped otherwise.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rail.estimation.estimator", reason="needs pz-rail-base (make test-rail)")

from nncz.estimator import NNCEstimator as CoreEstimator  # noqa: E402
from nncz.grid import RedshiftGrid  # noqa: E402
from nncz.io import ColumnError  # noqa: E402
from nncz.rail.features import RailFeatureSpec, parse_feature_set  # noqa: E402
from nncz.rail.handle import (  # noqa: E402
    NNCModelHandle,
    NNCRailModel,
    read_model,
    write_model_archive,
)

BANDS = ["mag_g", "mag_r", "mag_i"]
ERRS = ["err_g", "err_r", "err_i"]
LIMITS = {"mag_g": 27.0, "mag_r": 26.5, "mag_i": 26.0}


def spec(**changes) -> RailFeatureSpec:
    values = dict(bands=BANDS, err_bands=ERRS, ref_band="mag_i", mag_limits=LIMITS,
                  nondetect_val=99.0, nondetect="mag_limit", feature_set="mags+colours+errs")
    values.update(changes)
    return RailFeatureSpec(**values)


def table() -> dict[str, np.ndarray]:
    return {"mag_g": np.array([24.0, 99.0, 23.0], np.float32),
            "mag_r": np.array([23.5, 24.0, 99.0], np.float32),
            "mag_i": np.array([23.0, 23.5, 22.0], np.float32),
            "err_g": np.array([0.1, 5.0, 0.05], np.float32),
            "err_r": np.array([0.08, 0.1, 7.0], np.float32),
            "err_i": np.array([0.05, 0.07, 0.03], np.float32)}


def test_mag_limit_replaces_nondetections_like_rail_estimators():
    data = table()
    before = {k: v.copy() for k, v in data.items()}
    frame = spec().feature_frame(data)
    assert list(frame.columns) == [*BANDS, *ERRS]
    assert frame["mag_g"].tolist() == [24.0, 27.0, 23.0]  # 99 -> mag_limits["mag_g"]
    assert frame["mag_r"].tolist() == [23.5, 24.0, 26.5]
    assert frame["err_g"].tolist()[1] == 1.0 and frame["err_r"].tolist()[2] == 1.0
    assert all(np.array_equal(data[k], before[k]) for k in data)  # input untouched


@pytest.mark.parametrize("feature_set, features, colours", [
    ("mags+colours+errs", [*BANDS, *ERRS], BANDS),
    ("ref+colours", ["mag_i"], BANDS),
    ("colours+errs", ERRS, BANDS),
    ("colours", [], BANDS),
    ("errs+mags", [*ERRS, *BANDS], []),
])
def test_feature_parts_become_features_and_the_estimators_colours(feature_set, features,
                                                                  colours):
    recipe = spec(feature_set=feature_set)
    assert recipe.feature_names() == features and list(recipe.colour_bands()) == colours
    assert spec(bands=["mag_g"], err_bands=["err_g"], feature_set="mags+colours"
                ).colour_bands() == ()  # one band: no colour


def fitted(recipe: RailFeatureSpec, data: dict) -> CoreEstimator:
    """A small network on ``data`` built the way NNCInformer builds it."""
    frame = recipe.feature_frame(data)
    frame["z"] = data["z"]
    estimator = CoreEstimator(grid=RedshiftGrid(0, 2, 40), hidden=(8,), max_epochs=2,
                              batch_size=64, verbose=False, bad_values=recipe.bad_value_policy(),
                              colours=recipe.colour_bands())
    return estimator.fit(frame, recipe.feature_names(), target="z")


def training_data(n: int = 400, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.1, 1.5, n)
    data = {b: 22 + k * z + 0.05 * rng.standard_normal(n) for k, b in enumerate(BANDS)}
    data.update({e: np.full(n, 0.05) for e in ERRS})
    data["z"] = z
    return data


def test_colours_of_a_mag_limit_are_values_not_bad_ones():
    """RAIL's convention: a non-detection is its band's limit, so its colours are made from
    the limit (27.0 - 24.0 here) and nothing is flagged."""
    estimator = fitted(spec(feature_set="ref+colours"), training_data())
    frame = spec(feature_set="ref+colours").feature_frame(table())
    assert not estimator.bad_value_mask(frame).any()
    inputs = estimator.model_inputs(frame) * estimator.scaler_scale_ + estimator.scaler_mean_
    np.testing.assert_allclose(inputs[1, 1], 27.0 - 24.0, rtol=1e-5)  # mag_g-mag_r


@pytest.mark.parametrize("nondetect_val", [99.0, None, 30.3])
def test_indicator_mode_hands_rails_nondetections_to_the_estimators_policy(nondetect_val):
    """RAIL's isclose(mag, nondetect_val, atol=0.01) decides: a non-detection reaches the
    estimator as NaN, so it and its colours are filled and flagged, whether or not the policy's
    exact sentinels would have caught it (a float32 30.3 is not the float64 30.3)."""
    recipe = spec(nondetect="indicator", nondetect_val=nondetect_val, feature_set="ref+colours")
    data = training_data()
    undetected = {"mag_g": np.arange(400) % 10 == 3, "mag_r": np.arange(400) % 10 == 5}
    marker = np.nan if nondetect_val is None else nondetect_val
    for band, rows in undetected.items():
        data[band] = np.where(rows, marker, data[band]).astype(np.float32)
    estimator = fitted(recipe, data)
    assert estimator.policy_.indicator_features_ == ["mag_g-mag_r", "mag_r-mag_i"]
    frame = recipe.feature_frame({k: v[:10] for k, v in data.items()})
    assert np.isnan(frame["mag_g"][3]) and np.isnan(frame["mag_r"][5])
    bad = estimator.bad_value_mask(frame)  # columns: mag_i, g-r, r-i
    assert bad[3].tolist() == [False, True, False] and bad[5].tolist() == [False, True, True]
    products = estimator.predict(frame)
    assert products["nncz_flag"].tolist() == [0, 0, 0, 2, 0, 2, 0, 0, 0, 0]
    assert products["z_phot_mean"].notna().all()


def test_bad_value_policy_knows_the_nondetection_value():
    policy = spec(nondetect="indicator").bad_value_policy()
    assert policy.mode == "fill" and 99.0 in policy.sentinels
    assert spec(nondetect_val=-1.0).bad_value_policy().sentinels[-1] == -1.0


def test_bad_settings_and_missing_columns_are_named():
    with pytest.raises(ValueError, match="feature_set"):
        parse_feature_set("mags+colors")
    with pytest.raises(ValueError, match="mag_limits has no limit"):
        spec(mag_limits={"mag_g": 27.0})
    with pytest.raises(ValueError, match="ref_band"):
        spec(ref_band="mag_z", feature_set="ref")
    with pytest.raises(ValueError, match="nondetect_policy"):
        spec(nondetect="drop")
    data = table()
    del data["err_r"]
    with pytest.raises(ColumnError, match=r"\['err_r'\] missing from test.hdf5"):
        spec().feature_frame(data, "test.hdf5")
    spec(feature_set="mags+colours").feature_frame(data)  # errors not needed then


def test_spec_round_trips_through_json_values():
    recipe = spec(nondetect_val=None)
    assert RailFeatureSpec.from_dict(recipe.to_dict()).to_dict() == recipe.to_dict()


@pytest.fixture(scope="module")
def small_model() -> NNCRailModel:
    recipe = spec()
    return NNCRailModel(fitted(recipe, training_data()), recipe)


def test_an_archive_with_colours_as_features_still_predicts(tmp_path):
    """Archives written before the stage passed colours to the estimator: the colours are
    features of their network, and the model still gets them (made from the limits)."""
    recipe = spec()
    colours = ["mag_g-mag_r", "mag_r-mag_i"]

    def old_frame(data: dict) -> pd.DataFrame:  # what the stage built then
        frame = recipe.feature_frame(data)
        for name in colours:
            blue, red = name.split("-")
            frame[name] = frame[blue] - frame[red]
        return frame[[*BANDS, *colours, *ERRS]]

    data = training_data()
    frame = old_frame(data)
    frame["z"] = data["z"]
    estimator = CoreEstimator(grid=RedshiftGrid(0, 2, 40), hidden=(8,), max_epochs=1,
                              batch_size=64, verbose=False, bad_values=recipe.bad_value_policy())
    estimator.fit(frame, [*BANDS, *colours, *ERRS], target="z")
    write_model_archive(NNCRailModel(estimator, recipe), tmp_path / "old.tar")
    model = read_model(tmp_path / "old.tar")
    np.testing.assert_array_equal(
        model.estimator.predict_pdf(model.feature_frame(table())),
        estimator.predict_pdf(old_frame(table())))


def test_archive_round_trip_is_exact_and_byte_stable(small_model, tmp_path):
    first = write_model_archive(small_model, tmp_path / "a.tar")
    second = write_model_archive(small_model, tmp_path / "b.tar")
    assert first.read_bytes() == second.read_bytes()  # no dates or owners inside
    with tarfile.open(first) as tar:
        assert sorted(tar.getnames()) == sorted(
            ["model.safetensors", "nncz_model.json", "rail_features.json"])
    again = NNCModelHandle("model", path=str(first)).read()
    assert again.features == small_model.features
    frame = small_model.features.feature_frame(table())
    np.testing.assert_array_equal(again.estimator.predict_pdf(frame),
                                  small_model.estimator.predict_pdf(frame))


def test_plain_model_directory_reads_with_its_own_columns(small_model, tmp_path):
    small_model.estimator.save(tmp_path / "model_dir")
    model = read_model(tmp_path / "model_dir")
    assert model.features is None
    frame = model.feature_frame(small_model.features.feature_frame(table()))
    assert list(frame.columns) == small_model.estimator.required_columns_
    with pytest.raises(ColumnError, match="missing from input table"):
        model.feature_frame(pd.DataFrame({"mag_g": [1.0]}))


def test_unsafe_or_foreign_archives_are_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../outside.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(ValueError, match="refusing model archive member '../outside.json'"):
        read_model(evil)
    assert not (tmp_path / "outside.json").exists()
    not_tar = tmp_path / "model.pkl"
    not_tar.write_bytes(b"\x80\x04not a tar")
    with pytest.raises(ValueError, match="model.pkl: not an nncz model archive"):
        read_model(not_tar)
    with pytest.raises(TypeError, match="got dict"):
        NNCModelHandle("model", data={"weights": 1})
