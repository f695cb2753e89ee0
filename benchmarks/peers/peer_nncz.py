"""nncz side of the peers benchmark: train NNCEstimator(s), calibrate, write qp hist files.

Only nncz's public API is used (``NNCEstimator.fit/predict_logits/save``, ``nncz.calibrate``,
``nncz.metrics``, ``nncz.qpio``). What this file adds on top is user-side and stated in the
table: the feature set (magnitudes, colours of detected pairs, errors), an optional average of
``--ensemble`` networks with different seeds, and the choice of temperature:

``nll``   each network's own temperature (the estimator's: NLL of the true bin on validation);
``crps``  one temperature for the (averaged) PDF chosen to minimise the mean CRPS on the same
          validation rows;
``ks``    one temperature minimising the PIT KS distance on the validation rows;
``none``  T = 1, the raw CRPS-trained softmax;
``pit``   T = 1, then the PIT recalibration of Bordoloi, Lilly & Amara (2010): every CDF F of
          the (averaged) PDF becomes G(F), G the smoothed distribution function of the
          validation PITs (``nncz.calibrate.fit_pit_map``, 10 knots). An average of networks
          is wider than each (a linear pool is over-dispersed) and no single T fixes the
          resulting humped PIT histogram; G does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from peer_data import PeerDataset, nncz_features
from scipy.optimize import minimize_scalar

from nncz import metrics, qpio
from nncz.calibrate import apply_pit_map, apply_temperature, fit_pit_map
from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid

CALIBRATIONS = ("crps", "ks", "nll", "none", "pit")
PIT_KNOTS = 10
VALIDATION_FRACTION = 0.15


def fit_crps_temperature(logits: list[np.ndarray], ds: PeerDataset, z_val: np.ndarray) -> float:
    """Temperature minimising the mean validation CRPS of the member-averaged PDF."""

    def mean_crps(log_t: float) -> float:
        pdf = average_pdf(logits, [float(np.exp(log_t))] * len(logits))
        return float(metrics.crps(pdf, ds.grid, z_val).mean())

    result = minimize_scalar(
        mean_crps, bounds=(np.log(0.2), np.log(5.0)), method="bounded", options={"xatol": 1e-3}
    )
    return float(np.exp(result.x))


def fit_ks_temperature(logits: list[np.ndarray], ds: PeerDataset, z_val: np.ndarray) -> float:
    """Temperature minimising the validation PIT KS distance (scanned on a log grid)."""
    candidates = np.exp(np.linspace(np.log(0.5), np.log(3.0), 37))
    scores = [
        metrics.pit_ks(metrics.pit(average_pdf(logits, [t] * len(logits)), ds.grid, z_val))
        for t in candidates
    ]
    return float(candidates[int(np.argmin(scores))])


def average_pdf(logits: list[np.ndarray], temperatures: list[float]) -> np.ndarray:
    """Mean of the members' softmax(logits / T), (N, n_bins) float64."""
    total = np.zeros(logits[0].shape, dtype=np.float64)
    for member, temperature in zip(logits, temperatures, strict=True):
        total += apply_temperature(member, temperature)
    return total / len(logits)


def split_validation(table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    is_val = np.random.default_rng(seed).random(len(table)) < VALIDATION_FRACTION
    return table[~is_val], table[is_val]


def build_estimator(grid: RedshiftGrid, args: argparse.Namespace, seed: int) -> NNCEstimator:
    """One network with the benchmark's settings (``args.weight_decay`` if given, else 1e-5)."""
    return NNCEstimator(
        grid=grid,
        hidden=args.hidden,
        dropout=args.dropout,
        lr=args.lr,
        weight_decay=getattr(args, "weight_decay", 1e-5),
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        patience=args.patience,
        lr_patience=args.lr_patience,
        seed=seed,
        bad_values="fill",
        verbose=False,
    )


def run_nncz(ds: PeerDataset, args: argparse.Namespace, outdir: Path) -> dict[str, dict]:
    """Train, predict, calibrate and write qp files; ``{method name: status dict}``."""
    import torch

    torch.set_num_threads(args.threads)
    feature_set = args.features if ds.has_errors else args.features.replace("+errs", "")
    train = nncz_features(ds.train, ds.bands, feature_set)
    columns = list(train.columns)
    train["redshift"] = ds.train["redshift"].to_numpy()
    test = nncz_features(ds.test, ds.bands, feature_set)
    fit_part, val_part = split_validation(train, args.seed)

    start = time.perf_counter()
    members = []
    for k in range(args.ensemble):
        estimator = build_estimator(ds.grid, args, args.seed + k)
        estimator.fit(
            fit_part,
            columns,
            target="redshift",
            validation=val_part,
            source=f"{ds.name} training set",
        )
        members.append(estimator)
    val_logits = [m.predict_logits(val_part) for m in members]
    z_val = val_part["redshift"].to_numpy()
    temperatures = {
        "nll": [m.temperature_ for m in members],
        "none": [1.0] * len(members),
        "pit": [1.0] * len(members),
    }
    pit_map = None
    if "pit" in (args.calibration, *args.also):
        val_pit = metrics.pit(average_pdf(val_logits, temperatures["pit"]), ds.grid, z_val)
        pit_map = fit_pit_map(val_pit, PIT_KNOTS)
    if "crps" in (args.calibration, *args.also):
        temperatures["crps"] = [fit_crps_temperature(val_logits, ds, z_val)] * len(members)
    if "ks" in (args.calibration, *args.also):
        temperatures["ks"] = [fit_ks_temperature(val_logits, ds, z_val)] * len(members)
    train_s = time.perf_counter() - start

    start = time.perf_counter()
    test_logits = [m.predict_logits(test, source=f"{ds.name} test set") for m in members]
    predict_s = time.perf_counter() - start

    for k, member in enumerate(members):
        member.save(outdir / f"nncz_model_{k}")
    results = {}
    label = "nncz" if args.ensemble == 1 else f"nncz x{args.ensemble}"
    for calibration in dict.fromkeys((args.calibration, *args.also)):
        name = label if calibration == args.calibration else f"{label} [T:{calibration}]"
        start = time.perf_counter()
        pdf = average_pdf(test_logits, temperatures[calibration])
        if calibration == "pit":
            pdf = apply_pit_map(pdf, pit_map)
        path = qpio.write_qp(pdf, ds.grid, outdir / f"nncz_{calibration}.hdf5")
        results[name] = {
            "status": "ok",
            "train_s": train_s,
            "qp_file": str(path),
            "n_train": len(train),
            "predict_s": predict_s + time.perf_counter() - start,
            "epochs": [len(m.history_) for m in members],
            "temperature": temperatures[calibration],
            "features": columns,
            "calibration": calibration,
            "pit_map": [list(k) for k in pit_map] if calibration == "pit" else None,
            "note": f"T={np.mean(temperatures[calibration]):.2f} ({calibration})"
            if calibration != "pit"
            else f"T=1, PIT map ({PIT_KNOTS} knots, validation rows)",
        }
    return results
