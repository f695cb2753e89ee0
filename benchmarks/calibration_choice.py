"""Which calibration should be the default? Scored on validation rows only, by cross-fitting.

For a trained model bundle and the table it was trained on, the estimator's own validation rows
are recovered (``nncz.base.holdout_mask`` with the model's seed and fraction), their raw
(member-averaged) PDFs predicted, and each calibration method is fitted on one half of them and
scored on the other half, then the halves swap. No test row is read, so the choice of the
default cannot be tuned on a test set.

    python benchmarks/calibration_choice.py MODEL_DIR TRAIN_TABLE [--where "split=='train'"]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from nncz.base import holdout_mask
from nncz.calibrate import METHODS, Calibration
from nncz.estimator import NNCEstimator
from nncz.io import read_table
from nncz.metrics import crps, pit, pit_ks


def cross_fitted_scores(raw: np.ndarray, z: np.ndarray, grid, seed: int = 0) -> dict:
    """PIT KS and CRPS of each method, fitted on one half and scored on the other (mean)."""
    half = np.random.default_rng(seed).random(len(z)) < 0.5
    scores = {}
    for method in METHODS:
        ks, score = [], []
        for fit_rows in (half, ~half):
            calibration = Calibration(method).fit(raw[fit_rows], z[fit_rows], grid)
            pdf = calibration.apply(raw[~fit_rows])
            ks.append(pit_ks(pit(pdf, grid, z[~fit_rows])))
            score.append(float(crps(pdf, grid, z[~fit_rows]).mean()))
        scores[method] = {"pit_ks": float(np.mean(ks)), "crps": float(np.mean(score))}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("table")
    parser.add_argument("--where", help="pandas query selecting the training rows")
    args = parser.parse_args()
    model = NNCEstimator.load(args.model)
    table = read_table(args.table)
    if args.where:
        table = table.query(args.where)
    is_val = holdout_mask(len(table), model.validation_fraction, int(model.seed))
    val = table[is_val]
    z = val[model.target_].to_numpy(np.float64)
    raw = model.predict_pdf(val, calibrated=False)
    usable = np.isfinite(z) & (z >= model.grid.z_min) & (z < model.grid.z_max)
    usable &= np.isfinite(raw).all(axis=1)
    result = {"model": args.model, "n_validation": int(usable.sum()),
              "scores": cross_fitted_scores(raw[usable], z[usable], model.grid)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
