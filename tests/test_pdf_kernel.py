"""The batched products (nncz.pdf_kernel) and the prediction path against their numpy references."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nncz import pdf_kernel
from nncz.calibrate import Calibration
from nncz.cleaning import BadValuePolicy
from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.model import ResidualMLP
from nncz.pdf import PRODUCT_COLUMNS, pdf_products, products_array, products_numpy

# redshift products: 2e-4 is 1/25 of a 0.005 bin, so a half-bin drift fails; zConf and spread
# are probabilities / widths compared at the same absolute level
ATOL = 2e-4


def varied_pdfs(grid: RedshiftGrid, n: int = 600, seed: int = 0) -> np.ndarray:
    """Peaked, bimodal, noisy, one-bin, flat and edge-piled PDFs (float32 rows summing to 1)."""
    rng = np.random.default_rng(seed)
    z = grid.centres
    centre = rng.uniform(-0.1, 2.1, (n, 1))
    width = rng.choice([0.002, 0.01, 0.05, 0.3], (n, 1))
    pdf = np.exp(-0.5 * ((z - centre) / width) ** 2)
    pdf[::3] += np.exp(-0.5 * ((z - rng.uniform(0, 2, (len(pdf[::3]), 1))) / 0.03) ** 2)
    pdf[1::5] *= rng.random((len(pdf[1::5]), grid.n_bins)) ** 4
    pdf[2::7] = 0.0
    pdf[2::7, rng.integers(0, grid.n_bins, len(pdf[2::7]))] = 1.0
    pdf[4] = 1.0
    pdf[5, :] = 0.0
    pdf[5, 0] = 1.0
    pdf[6, :] = 0.0
    pdf[6, -1] = 1.0
    pdf += 1e-30  # every row has some probability
    return (pdf / pdf.sum(1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("grid", [RedshiftGrid(), RedshiftGrid(0.0, 1.5, 150)])
def test_products_match_numpy_reference(grid):
    pdf = varied_pdfs(grid, pdf_kernel.BATCH_ROWS + 600)  # two batches
    batched = pdf_kernel.products(pdf, grid)
    reference = products_numpy(pdf, grid)
    np.testing.assert_allclose(batched, reference, rtol=0, atol=ATOL)
    assert np.array_equal(batched[:, 1], reference[:, 1])  # the mode is a bin centre: exact


def test_products_of_invalid_and_unnormalised_rows():
    grid = RedshiftGrid()
    pdf = varied_pdfs(grid, 8)
    pdf[0, 3] = np.nan
    pdf[1] = 0.0
    pdf[2, 5] = np.inf
    pdf[3] *= 3.0  # not normalised: normalised on its own
    batched = pdf_kernel.products(pdf, grid)
    assert np.isnan(batched[:3]).all() and np.isfinite(batched[3:]).all()
    np.testing.assert_allclose(batched[3], products_numpy(pdf[3:4] / 3.0, grid)[0], atol=ATOL)
    np.testing.assert_allclose(batched[4:], products_numpy(pdf[4:], grid), atol=ATOL)


def test_products_array_writes_into_out_and_frame_has_the_columns():
    grid = RedshiftGrid()
    pdf = varied_pdfs(grid, 50)
    out = np.full((50, 9), -1.0, np.float32)
    assert products_array(pdf, grid, out=out) is out
    np.testing.assert_array_equal(out, pdf_kernel.products(pdf, grid))
    frame = pdf_products(pdf, grid)
    assert list(frame.columns) == list(PRODUCT_COLUMNS) and (frame.dtypes == np.float32).all()


def test_prediction_does_not_load_numba():
    """numba and LLVM cost ~160 MB of a 500 MB budget (issue 14): prediction must not load it."""
    code = ("import sys; from test_pdf_kernel import random_estimator, feature_table; "
            "random_estimator().predict(feature_table(10)); "
            "print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parent)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("calibration", [
    Calibration("crps", temperature=1.4),
    Calibration("pit", pit_x=[0, 0.3, 0.7, 1], pit_y=[0, 1 / 3, 2 / 3, 1]),  # the default
])
def test_nncz_predict_loads_neither_scipy_nor_sklearn(tmp_path, calibration):
    """scipy, scipy.optimize and scikit-learn cost ~130 MB of a 500 MB budget (issue 14):
    `nncz predict` must not import them (training, evaluation and the forest baseline do),
    whatever the model's calibration."""
    estimator = random_estimator(calibration=calibration)
    estimator.batch_size_, estimator.metrics_, estimator.history_ = 256, {}, []
    estimator.save(tmp_path / "model")
    feature_table(10).to_parquet(tmp_path / "in.parquet")
    code = ("import sys; from nncz.cli import main; "
            f"code = main(['-q', '--threads', '1', 'predict', r'{tmp_path / 'model'}', "
            f"r'{tmp_path / 'in.parquet'}', '--output', r'{tmp_path / 'out.parquet'}']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} "
            "& {'scipy', 'sklearn', 'numba', 'llvmlite'})); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 10


def random_estimator(n_members: int = 1, calibration: Calibration | None = None,
                     grid: RedshiftGrid | None = None) -> NNCEstimator:
    """An estimator with fixed random weights, built through the attributes fit sets."""
    grid = grid or RedshiftGrid(0.0, 2.0, 200)
    torch.manual_seed(0)
    features = [f"f{i}" for i in range(6)]
    estimator = NNCEstimator(grid=grid, hidden=(64, 32), verbose=False)
    estimator.features_, estimator.target_ = features, "z_spec"
    estimator.policy_ = BadValuePolicy(mode="fill").fit(feature_table(20), features)
    estimator.scaler_mean_ = np.zeros(6, np.float32)
    estimator.scaler_scale_ = np.ones(6, np.float32)
    estimator.members_ = []
    for _ in range(n_members):
        model = ResidualMLP(6, grid.n_bins, (64, 32))
        torch.nn.init.normal_(model.head.weight, std=0.5)
        estimator.members_.append(model.eval())
    estimator.calibration_ = calibration or Calibration("crps", temperature=1.4)
    estimator._folded = None
    return estimator


def feature_table(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])


@pytest.mark.parametrize("n_members,calibration", [
    (1, Calibration("crps", temperature=1.4)),
    (1, Calibration("none")),
    (3, Calibration("nll", temperature=0.7)),
    (2, Calibration("pit", pit_x=[0, 0.3, 0.7, 1], pit_y=[0, 1 / 3, 2 / 3, 1])),
])
def test_predict_matches_the_unbatched_reference(n_members, calibration):
    estimator = random_estimator(n_members, calibration)
    table = feature_table(5000)
    table.loc[7, "f2"] = np.nan  # filled and flagged
    table.loc[9, :] = 99.0  # nothing usable: NaN
    products, pdf = estimator.predict(table, return_pdf=True, chunk_rows=3000)
    x = estimator.model_inputs(table)
    raw = estimator._member_pdf(x)
    expected_pdf = calibration.apply(raw)
    expected_pdf[9] = np.nan
    np.testing.assert_allclose(pdf, expected_pdf, rtol=1e-4, atol=1e-7)
    expected = products_numpy(expected_pdf, estimator.grid)
    np.testing.assert_allclose(products[list(PRODUCT_COLUMNS)], expected, atol=ATOL)
    assert products.nncz_flag[9] == 1 and products.nncz_flag[7] == 2
    assert (products.drop(index=[7, 9]).nncz_flag == 0).all()
    uncalibrated = estimator.predict(table.head(9), calibrated=False, return_pdf=True)[1]
    np.testing.assert_allclose(uncalibrated, raw[:9], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_is_close_but_not_fp32(precision):
    estimator = random_estimator()
    table = feature_table(2000)
    fp32 = estimator.predict(table)
    low = estimator.predict(table, precision=precision)
    assert not np.array_equal(fp32.z_phot_mean, low.z_phot_mean)  # it did run in `precision`
    np.testing.assert_allclose(low.z_phot_mean, fp32.z_phot_mean, atol=0.02)
    assert np.median(np.abs(low.z_phot_mean - fp32.z_phot_mean)) < 2e-3
    with pytest.raises(ValueError, match="precision must be one of"):
        estimator.predict(table, precision="fp16")


@pytest.mark.parametrize("calibration", [Calibration("crps", temperature=1.4),
                                         Calibration("pit", pit_x=[0, 0.3, 0.7, 1],
                                                     pit_y=[0, 1 / 3, 2 / 3, 1])])
def test_batches_on_worker_threads_give_the_same_bits(calibration):
    """Batches run side by side on one thread each (torch's thread count > 1) give exactly the
    products and PDFs of one batch at a time, and torch's thread count comes back."""
    from nncz.infer import predict_arrays

    estimator = random_estimator(1, calibration)
    x = estimator.model_inputs(feature_table(5000))
    models, grid = estimator._inference_models(), estimator.grid
    threads = torch.get_num_threads()
    pdf_one, pdf_three = (np.empty((len(x), grid.n_bins), np.float32) for _ in range(2))
    one = predict_arrays(models, x, calibration, grid, pdf_one, batch_rows=512, workers=1)
    three = predict_arrays(models, x, calibration, grid, pdf_three, batch_rows=512, workers=3)
    assert np.array_equal(one, three, equal_nan=True)
    assert np.array_equal(pdf_one, pdf_three, equal_nan=True)
    assert torch.get_num_threads() == threads
    with pytest.raises(RuntimeError, match="cannot be multiplied"):  # a worker error reaches us
        predict_arrays(models, x[:, :2], calibration, grid, workers=3)
    assert torch.get_num_threads() == threads
