"""nncz's RAIL stages run RAIL's way: DC2 example data, RAIL's stage API, RAIL's evaluators.

Runs only where pz-rail-base is installed (``make test-rail``); skipped otherwise. Networks are
small (two hidden layers of 32, 3 epochs) so the module runs in about a minute on one thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rail.estimation.estimator", reason="needs pz-rail-base (make test-rail)")

import qp  # noqa: E402
import tables_io  # noqa: E402
from rail.core.data import TableHandle  # noqa: E402
from rail.evaluation.dist_to_point_evaluator import DistToPointEvaluator  # noqa: E402
from rail.evaluation.point_to_point_evaluator import PointToPointEvaluator  # noqa: E402
from rail.utils.path_utils import RAILDIR  # noqa: E402
from rail.utils.testing_utils import check_stage_params, one_algo  # noqa: E402

from nncz import metrics, qpio  # noqa: E402
from rail.estimation.algos.nncz import NNCEstimator, NNCInformer  # noqa: E402

DATA = Path(RAILDIR) / "rail" / "examples_data" / "testdata"
TRAIN = DATA / "test_dc2_training_9816.hdf5"
TEST = DATA / "test_dc2_validation_9816.hdf5"
SMALL = dict(hidden_layers=[32, 32], max_epochs=3, patience=3, batch_size=256, seed=0,
             threads=1)


def photometry(path: Path) -> dict[str, np.ndarray]:
    return dict(tables_io.read(str(path))["photometry"])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RAIL stages write their default outputs in the cwd


@pytest.fixture(scope="module")
def informed(tmp_path_factory):
    """An NNCInformer trained on RAIL's DC2 training file: (stage, model archive path)."""
    model_path = tmp_path_factory.mktemp("model") / "nncz_dc2.tar"
    informer = NNCInformer.make_stage(name="inform_nncz_dc2", model=str(model_path),
                                      hdf5_groupname="photometry", **SMALL)
    informer.inform(TableHandle("training_data", path=str(TRAIN)))
    return informer, model_path


def estimate(model, chunk_size: int = 10_000, name: str = "estimate_nncz") -> qp.Ensemble:
    stage = NNCEstimator.make_stage(name=name, model=model, chunk_size=chunk_size,
                                    hdf5_groupname="photometry", output=f"{name}.hdf5",
                                    threads=1)
    return stage.estimate(TableHandle("test_data", path=str(TEST))).data


def test_stage_parameters_pass_rails_check():
    assert check_stage_params(NNCInformer) is None
    assert check_stage_params(NNCEstimator) is None


def test_bad_settings_fail_when_the_stage_is_made():
    with pytest.raises(ValueError, match="inform_bad: nondetect_policy must be one of"):
        NNCInformer.make_stage(name="inform_bad", nondetect_policy="drop")
    with pytest.raises(ValueError, match=r"mag_limits has no limit for band\(s\) \['mag_y_lsst'\]"):
        NNCInformer.make_stage(name="inform_bad2", mag_limits={f"mag_{b}_lsst": 25.0
                                                              for b in "ugriz"})
    with pytest.raises(ValueError, match="feature_set 'mags\\+colors'"):
        NNCInformer.make_stage(name="inform_bad3", feature_set="mags+colors")


def test_rails_one_algo_helper():
    """RAIL's own plugin test: inform, estimate, re-read the model file, estimate again."""
    model = "nncz_one_algo.tar"
    train_kwargs = dict(name="inform_one_algo", model=model, hdf5_groupname="photometry",
                        hidden_layers=[16], max_epochs=2, batch_size=32, threads=1)
    estim_kwargs = dict(model=model, hdf5_groupname="photometry", threads=1)
    first, reread, from_handle = one_algo("NNC", NNCInformer, NNCEstimator, train_kwargs,
                                          estim_kwargs)
    assert first.npdf == 10 and first.gen_class.name == "hist"
    for other in (reread, from_handle):
        np.testing.assert_array_equal(other.objdata["pdfs"], first.objdata["pdfs"])
    assert not os.path.exists(model)  # one_algo removed the model: it is one plain file


def test_dc2_output_is_a_hist_ensemble_on_rails_grid(informed):
    informer, model_path = informed
    assert model_path.is_file()
    ensemble = estimate(str(model_path))
    truth = photometry(TEST)
    assert ensemble.gen_class.name == "hist" and ensemble.npdf == len(truth["redshift"])
    bins = np.asarray(ensemble.metadata["bins"]).ravel()
    np.testing.assert_allclose(bins, np.linspace(0.0, 3.0, 301), atol=1e-12)  # RAIL's grid
    pdf, grid = qpio.from_qp(ensemble)
    np.testing.assert_allclose(pdf.sum(axis=1), 1.0, atol=1e-12)
    assert {"zmode", "zmean", "redshift", "nncz_flag"} <= set(ensemble.ancil)
    np.testing.assert_allclose(np.squeeze(ensemble.ancil["zmean"]), pdf @ grid.centres,
                               rtol=1e-6)  # nncz's products are float32
    np.testing.assert_array_equal(np.squeeze(ensemble.ancil["redshift"]), truth["redshift"])
    peak = grid.centres[np.argmax(pdf, axis=1)]
    assert np.mean(np.abs(np.squeeze(ensemble.ancil["zmode"]) - peak) <= grid.width) > 0.99
    z_mean = np.squeeze(ensemble.ancil["zmean"])
    assert metrics.point_metrics(z_mean, truth["redshift"])["sigma_nmad"] < 0.15  # learned


def test_indicator_policy_hands_nondetections_to_nncz(tmp_path):
    informer = NNCInformer.make_stage(name="inform_indicator", model=str(tmp_path / "ind.tar"),
                                      hdf5_groupname="photometry", nondetect_policy="indicator",
                                      hidden_layers=[16], max_epochs=1, batch_size=256, threads=1)
    informer.inform(TableHandle("training_data", path=str(TRAIN)))
    model = informer.get_handle("model").data.estimator
    policy = getattr(model, "policy_", None) or model.policy
    # 714 u and 2 g non-detections (99) in the training file: filled and flagged
    assert {"mag_u_lsst", "mag_u_lsst-mag_g_lsst", "mag_g_lsst"} <= set(
        policy.indicator_features_)
    ensemble = estimate(str(tmp_path / "ind.tar"), name="estimate_indicator")
    assert np.isfinite(ensemble.objdata["pdfs"]).all()
    flag = np.squeeze(ensemble.ancil["nncz_flag"])
    u_missing = photometry(TEST)["mag_u_lsst"] == 99.0
    assert u_missing.any() and np.all(flag[u_missing] & 2)  # nncz's "filled" bit


def test_estimation_is_chunked_and_chunks_do_not_change_pdfs(informed, monkeypatch):
    _, model_path = informed
    seen: list[int] = []
    original = NNCEstimator._process_chunk

    def spy(self, start, end, data, first):
        seen.append(len(next(iter(data.values()))))
        return original(self, start, end, data, first)

    monkeypatch.setattr(NNCEstimator, "_process_chunk", spy)
    chunked = estimate(str(model_path), chunk_size=4_000, name="estimate_chunked")
    n_rows = chunked.npdf
    assert len(seen) == int(np.ceil(n_rows / 4_000)) and max(seen) <= 4_000
    assert sum(seen) == n_rows
    seen.clear()
    whole = estimate(str(model_path), chunk_size=100_000, name="estimate_whole")
    assert seen == [n_rows]
    np.testing.assert_allclose(chunked.objdata["pdfs"], whole.objdata["pdfs"], rtol=1e-5,
                               atol=1e-7)


def test_rails_evaluators_score_the_output_unconverted(informed):
    informer, _ = informed
    ensemble = estimate(informer.get_handle("model"), name="estimate_for_eval")
    truth = tables_io.read(str(TEST))
    z_true = np.asarray(truth["photometry"]["redshift"])
    points = PointToPointEvaluator.make_stage(
        name="nncz_point_eval", metrics=["point_stats_sigma_mad", "point_bias"],
        point_estimate_key="zmode", hdf5_groupname="photometry", force_exact=True,
        output_mode="return")
    summary = points.evaluate(ensemble, truth)["summary"].data
    ours = metrics.point_metrics(np.squeeze(ensemble.ancil["zmode"]), z_true)
    assert float(summary["point_stats_sigma_mad"][0]) == pytest.approx(ours["sigma_nmad"],
                                                                       rel=1e-6)
    assert np.isfinite(summary["point_bias"][0])
    pits = DistToPointEvaluator.make_stage(
        name="nncz_pit_eval", metrics=["pit", "cdeloss"], hdf5_groupname="photometry",
        force_exact=True, output_mode="return")
    result = pits.evaluate(ensemble, truth)
    pit_dist = result["single_distribution_summary"].data["pit"]
    pdf, grid = qpio.from_qp(ensemble)
    our_pit = metrics.pit(pdf, grid, z_true)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):  # RAIL's PIT distribution vs nncz's PIT values
        assert float(np.squeeze(pit_dist.cdf(q))) == pytest.approx(np.mean(our_pit < q),
                                                                   abs=5e-3)
    assert np.isfinite(result["summary"].data["cdeloss"][0])


def rail_features(table: dict[str, np.ndarray]) -> pd.DataFrame:
    """The informer's default input table written out independently: RAIL's non-detection
    convention (99 -> mag_limits, error -> 1.0), magnitudes and errors (the estimator adds
    the colours of adjacent magnitudes, ``--colours``)."""
    from rail.core.common_params import lsst_def_maglims

    bands = "ugrizy"
    mags = {}
    out = {}
    for band in bands:
        mag = np.asarray(table[f"mag_{band}_lsst"], np.float64).copy()
        err = np.asarray(table[f"mag_err_{band}_lsst"], np.float64).copy()
        undetected = np.isclose(mag, 99.0, atol=0.01)
        mag[undetected] = lsst_def_maglims[f"mag_{band}_lsst"]
        err[undetected] = 1.0
        mags[band], out[f"err_{band}"] = mag, err
    columns = {f"mag_{b}": mags[b] for b in bands}
    columns.update(out)
    return pd.DataFrame(columns)


def nncz_cli(*args: str) -> None:
    command = [sys.executable, "-m", "nncz.cli", "--threads", "1", "-q", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def test_rail_stages_equal_nncz_train_and_predict(tmp_path):
    """Same data, settings and seed: the RAIL stages and the nncz CLI give the same network
    (identical weights) and the same PDFs within float32 rounding."""
    settings = dict(hidden_layers=[32, 32], max_epochs=3, patience=3, batch_size=256, seed=3,
                    n_members=2, calibration="pit", threads=1)
    informer = NNCInformer.make_stage(name="inform_equiv", model=str(tmp_path / "rail.tar"),
                                      hdf5_groupname="photometry", **settings)
    informer.inform(TableHandle("training_data", path=str(TRAIN)))
    rail_output = estimate(str(tmp_path / "rail.tar"), name="estimate_equiv")
    rail_pdf, grid = qpio.from_qp(rail_output)

    train = rail_features(photometry(TRAIN))
    train["redshift"] = photometry(TRAIN)["redshift"]
    train.to_parquet(tmp_path / "train.parquet")
    test = rail_features(photometry(TEST))
    test.to_parquet(tmp_path / "test.parquet")
    features = ",".join(c for c in train.columns if c != "redshift")
    colours = ",".join(f"mag_{b}" for b in "ugrizy")
    nncz_cli("train", str(tmp_path / "train.parquet"), "--features", features,
             "--colours", colours,
             "--target", "redshift", "--output", str(tmp_path / "cli_model"),
             "--zmin", "0", "--zmax", "3", "--nbins", "300", "--hidden", "32,32",
             "--max-epochs", "3", "--patience", "3", "--batch-size", "256", "--seed", "3",
             "--ensemble", "2", "--calibration", "pit", "--bad-values", "fill")
    nncz_cli("predict", str(tmp_path / "cli_model"), str(tmp_path / "test.parquet"),
             "--output", str(tmp_path / "cli.parquet"), "--pdf-output",
             str(tmp_path / "cli_pdf.h5"))
    from safetensors.numpy import load_file

    from nncz.pdfio import read_pdfs

    rail_model = informer.get_handle("model").data.estimator
    rail_model.save(tmp_path / "rail_model")
    rail_weights = load_file(str(tmp_path / "rail_model" / "model.safetensors"))
    cli_weights = load_file(str(tmp_path / "cli_model" / "model.safetensors"))
    assert rail_weights.keys() == cli_weights.keys()
    assert all(np.array_equal(rail_weights[k], cli_weights[k]) for k in rail_weights)

    cli_pdf = read_pdfs(str(tmp_path / "cli_pdf.h5")).pdf.astype(np.float64)
    assert cli_pdf.shape == rail_pdf.shape == (len(test), grid.n_bins)
    np.testing.assert_allclose(rail_pdf, cli_pdf / cli_pdf.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
    products = pd.read_parquet(tmp_path / "cli.parquet")
    for rail_name, cli_name in (("zmode", "z_phot_mode"), ("zmean", "z_phot_mean")):
        np.testing.assert_allclose(np.squeeze(rail_output.ancil[rail_name]),
                                   products[cli_name], rtol=1e-6)

    # and the RAIL estimator reads the CLI's model directory as it is
    stage = NNCEstimator.make_stage(name="estimate_cli_model", model=str(tmp_path / "cli_model"),
                                    output="from_cli_model.hdf5", hdf5_groupname="", threads=1)
    from_dir = stage.estimate({k: test[k].to_numpy() for k in test.columns}).data
    np.testing.assert_allclose(qpio.from_qp(from_dir)[0], rail_pdf, rtol=1e-5, atol=1e-7)
