"""Science-grade conventions (issue 11): unbiased CRPS, calibration and ensembles owned by the
estimator, invalid rows that stay invalid, scikit-learn's contract, verified model bundles."""

import json

import numpy as np
import pytest
import torch
from conftest import FEATURES, synthetic_catalog
from sklearn.base import clone

from nncz.bundle import PROTECTED, _field_sha256
from nncz.calibrate import Calibration
from nncz.cleaning import BadValuePolicy
from nncz.estimator import NNCEstimator, auto_batch_size
from nncz.grid import RedshiftGrid
from nncz.io import ModelFileError
from nncz.losses import crps_binned
from nncz.metrics import evaluate, pit, pit_ks, point_metrics


def small(**kwargs) -> NNCEstimator:
    params = dict(grid=RedshiftGrid(0, 1.5, 150), hidden=(32, 16), max_epochs=3,
                  batch_size=256, patience=5, verbose=False, lr=2e-3)
    params.update(kwargs)
    return NNCEstimator(**params)


# ------------------------------------------------------------------------------ the CRPS
@pytest.mark.parametrize("z", [0.41, 0.43, 0.47, 0.4999, 0.5, 0.0, 0.95])
def test_crps_minimum_lies_in_the_bin_holding_z(z):
    """Lower half, upper half, just below and exactly on an edge, first and last bin."""
    grid = RedshiftGrid(0, 1, 10)
    edges = torch.tensor(grid.edges[1:])
    losses = []
    for k in range(10):
        logits = torch.full((1, 10), -30.0, dtype=torch.float64)
        logits[0, k] = 30.0
        losses.append(float(crps_binned(logits, torch.tensor([z]), edges, grid.width)))
    assert int(np.argmin(losses)) == int(grid.bin_index(np.array([z]))[0])


def test_crps_expected_loss_minimiser_is_the_bin_membership_pdf():
    """Free logits fitted to many redshifts: the PDF mean equals their mean to a tenth of a
    bin. Under the method's literal eq. 2 (step at bin centres) it sits half a bin high."""
    grid = RedshiftGrid(0.55, 0.85, 60)
    z = torch.tensor(np.random.default_rng(0).normal(0.7, 0.03, 4000).clip(0.56, 0.84))
    means = {}
    for name, steps in (("edges", grid.edges[1:]), ("centres", grid.centres)):
        logits = torch.zeros((1, grid.n_bins), dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.LBFGS([logits], max_iter=200, tolerance_grad=1e-12,
                                      tolerance_change=1e-14, line_search_fn="strong_wolfe")
        steps_t = torch.tensor(steps)

        def closure(logits=logits, steps_t=steps_t, optimiser=optimiser):
            optimiser.zero_grad()
            loss = crps_binned(logits.expand(len(z), -1), z, steps_t, grid.width)
            loss.backward()
            return loss

        optimiser.step(closure)
        pdf = torch.softmax(logits, 1).detach().numpy()[0]
        means[name] = float(pdf @ grid.centres)
    truth = float(z.mean())
    assert abs(means["edges"] - truth) < 0.1 * grid.width
    assert means["centres"] - truth == pytest.approx(grid.width / 2, abs=0.1 * grid.width)


# ---------------------------------------------------------------------- invalid stays invalid
def test_nan_pdf_rows_give_nan_products_and_are_excluded_from_metrics():
    from nncz.pdf import normalise, pdf_products

    grid = RedshiftGrid(0, 1, 10)
    pdf = np.vstack([np.full(10, 0.1), np.full(10, np.nan), np.zeros(10)])
    assert np.isnan(normalise(pdf)[1:]).all()
    products = pdf_products(pdf, grid)
    assert products.iloc[1:].isna().all().all() and products.iloc[0].notna().all()
    metrics = point_metrics(np.array([0.5, np.nan, 3.0]), np.array([0.5, 0.4, 0.5]))
    assert metrics["n"] == 2 and metrics["n_excluded"] == 1 and metrics["eta"] == 50.0
    scored = evaluate(products.z_phot_mean, np.array([0.5, 0.4, 0.5]), pdf, grid)
    assert scored["n"] == 1 and scored["n_excluded"] == 2


# ----------------------------------------------------------------- scikit-learn's contract
def test_get_params_and_clone_round_trip_every_argument():
    policy = BadValuePolicy(mode="drop", abs_max=50.0)
    estimator = NNCEstimator(grid=RedshiftGrid(0, 3, 600), hidden=(8, 4), dropout=0.2,
                             lr=1e-3, batch_size=128, max_epochs=7, patience=3, lr_patience=2,
                             lr_factor=0.3, clip_norm=2.0, seed=9, n_members=3,
                             bad_values=policy, validation_fraction=0.2, calibration="pit",
                             nll_weight=0.01, verbose=False, weight_decay=1e-4,
                             activation="relu")
    params = estimator.get_params()
    twin = clone(estimator)
    for name, value in params.items():
        other = twin.get_params()[name]
        assert other == value, name
    twin.set_params(seed=3, n_members=1)
    assert twin.seed == 3 and estimator.seed == 9


def test_fit_does_not_mutate_its_inputs():
    train = synthetic_catalog(800, seed=11)
    train.loc[train.index[::9], "mag_u"] = 99.0
    before = train.copy()
    policy = BadValuePolicy(mode="fill")
    estimator = small(bad_values=policy).fit(train, FEATURES)
    assert policy.fill_values_ == {} and policy.indicator_features_ == []
    assert estimator.policy_.indicator_features_ == ["mag_u"]
    assert train.equals(before)


def test_target_among_features_is_refused():
    train = synthetic_catalog(200, seed=1)
    with pytest.raises(ValueError, match="also a feature"):
        small().fit(train, [*FEATURES, "z_spec"])


# -------------------------------------------------------- calibration and ensembles
def test_pit_calibration_ensemble_is_saved_loaded_and_predicted_as_one_model(tmp_path):
    train = synthetic_catalog(3000, seed=12)
    test = synthetic_catalog(500, seed=13)
    model = small(n_members=2, calibration="pit", max_epochs=4).fit(train, FEATURES)
    assert len(model.members_) == 2 and model.calibration_.pit_x is not None
    raw = model.predict_pdf(test, calibrated=False)
    manual = np.mean([torch.softmax(m.eval()(torch.as_tensor(model.model_inputs(test))), 1)
                      .detach().numpy() for m in model.members_], axis=0)
    np.testing.assert_allclose(raw, manual, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.predict_pdf(test), model.calibration_.apply(raw),
                               rtol=1e-5, atol=1e-7)
    model.save(tmp_path / "m")
    loaded = NNCEstimator.load(tmp_path / "m")
    assert len(loaded.members_) == 2 and loaded.calibration_ == model.calibration_
    np.testing.assert_array_equal(loaded.predict_pdf(test), model.predict_pdf(test))
    with pytest.raises(ValueError, match="ensemble"):
        model.predict_logits(test)


def test_pit_map_flattens_the_validation_pit():
    grid = RedshiftGrid(0, 2, 200)
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.3, 1.5, 4000)
    z = mu + 0.02 * rng.standard_normal(4000)
    too_wide = np.diff(__import__("scipy").stats.norm.cdf(grid.edges[None, :], mu[:, None],
                                                          0.05), axis=1)
    calibration = Calibration("pit").fit(too_wide[:2000], z[:2000], grid)
    before = pit_ks(pit(too_wide[2000:], grid, z[2000:]))
    after = pit_ks(pit(calibration.apply(too_wide[2000:]), grid, z[2000:]))
    assert before > 0.1 and after < 0.04


def test_auto_batch_size_follows_the_training_rows():
    assert auto_batch_size(2_000) == 256
    assert auto_batch_size(25_000) == 1024
    assert auto_batch_size(8_700) == 256
    assert auto_batch_size(5_000_000) == 4096


# ------------------------------------------------------------------ verified bundles
@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("bundle") / "m"
    small().fit(synthetic_catalog(600, seed=14), FEATURES).save(path)
    return path


def _edited(bundle, tmp_path, edit, refresh=True):
    import shutil

    target = tmp_path / "edited"
    shutil.copytree(bundle, target)
    config = json.loads((target / "nncz_model.json").read_text())
    edit(config, target)
    if refresh:  # a deliberate, self-consistent edit: only the value checks can catch it
        config["field_sha256"] = {name: _field_sha256(config[name]) for name in PROTECTED}
    (target / "nncz_model.json").write_text(json.dumps(config))
    return target


@pytest.mark.parametrize("edit, message", [
    (lambda c, p: c["calibration"].update(temperature=float("nan")), "temperature"),
    (lambda c, p: c["calibration"].update(temperature=0.0), "temperature"),
    (lambda c, p: c["scaler"]["scale"].__setitem__(0, 0.0), "scaler.scale"),
    (lambda c, p: c["scaler"]["mean"].pop(), "scaler.mean"),
    (lambda c, p: c["grid"].update(n_bins=1_000_000_000), "grid"),
    (lambda c, p: c["grid"].update(n_bins=151), "do not fit"),
    (lambda c, p: c.update(features=c["features"][::-1]), "features"),
    (lambda c, p: c.update(format="nncz-model-99"), "format"),
    (lambda c, p: (p / "model.safetensors").write_bytes(
        (p / "model.safetensors").read_bytes()[:-100]), "checksum"),
])
def test_a_bundle_is_verified_before_use(bundle, tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message):
        NNCEstimator.load(_edited(bundle, tmp_path, edit))


def test_an_edited_field_is_named_by_its_checksum(bundle, tmp_path):
    def edit(config, path):
        config["grid"]["z_max"] = 3.0

    with pytest.raises(ModelFileError, match="'grid'.*edited"):
        NNCEstimator.load(_edited(bundle, tmp_path, edit, refresh=False))


def test_checkpoint_of_another_run_is_refused(tmp_path):
    train = synthetic_catalog(600, seed=15)
    small(max_epochs=2).fit(train, FEATURES, checkpoint_dir=tmp_path / "ck")
    assert (tmp_path / "ck" / "member_0" / "checkpoint.pt").exists()
    with pytest.raises(ValueError, match="another run"):
        small(max_epochs=2, seed=5).fit(train, FEATURES, checkpoint_dir=tmp_path / "ck")
    (tmp_path / "ck" / "member_0" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        small(max_epochs=2).fit(train, FEATURES, checkpoint_dir=tmp_path / "ck")
