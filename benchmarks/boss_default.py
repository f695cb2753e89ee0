"""SDSS BOSS DR10 with nncz's defaults against RF and XGBoost trained in the same run.

A new user's run: ``nncz train`` with default settings on the shipped training split (ugriz
magnitudes and errors; the catalogue's sentinels are left in, as a user's file has them), then
``nncz predict`` and ``nncz evaluate`` on the shipped test split. RF and XGBoost
(``nncz.baselines``, their default validation grids) are trained on the same rows. Every test
row counts: a row without a photo-z (NaN) counts as an outlier with an infinite residual, so a
method cannot look better by refusing hard rows.

    python benchmarks/boss_default.py --out runs/boss_default [--threads 1] [--skip-baselines]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.cli import main as nncz
from nncz.metrics import point_metrics

DATA = Path(__file__).resolve().parents[2] / "shared/data/sdss_boss_dr10/sdss_boss_dr10.csv"
FEATURES = [f"mag_{b}" for b in "ugriz"] + [f"magerr_{b}" for b in "ugriz"]


def score_all_rows(z_phot: np.ndarray, z_spec: np.ndarray) -> dict:
    """Point metrics over every row; a missing photo-z is an outlier (|dz| = inf)."""
    z_phot = np.where(np.isfinite(z_phot), z_phot, np.inf)
    metrics = point_metrics(np.where(np.isfinite(z_phot), z_phot, 1e9), z_spec)
    metrics["n_without_photoz"] = int(np.isinf(z_phot).sum())
    return metrics


def run_nncz(out: Path, threads: int, extra: list[str]) -> dict:
    common = ["--threads", str(threads), "-q"]
    started = time.perf_counter()
    assert nncz([*common, "train", str(out / "train.csv"), "--features", ",".join(FEATURES),
                 "--output", str(out / "model"), "--overwrite", *extra]) == 0
    train_s = time.perf_counter() - started
    assert nncz([*common, "predict", str(out / "model"), str(out / "test.csv"), "--keep",
                 "z_spec", "--output", str(out / "pred.parquet"), "--pdf-output",
                 str(out / "pdf.h5"), "--overwrite"]) == 0
    assert nncz([*common, "evaluate", str(out / "pred.parquet"), "--pdf", str(out / "pdf.h5"),
                 "--output", str(out / "report"), "--overwrite"]) == 0
    pred = pd.read_parquet(out / "pred.parquet")
    report = json.loads((out / "report" / "metrics.json").read_text())
    result = score_all_rows(pred.z_phot_mean.to_numpy(), pred.z_spec.to_numpy())
    result.update(train_s=round(train_s, 1), pit_ks=report["pit_ks"], crps=report["crps"])
    return result


def run_baseline(name: str, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    from nncz.baselines import BASELINES

    started = time.perf_counter()
    model = BASELINES[name](seed=0, n_jobs=1).fit(train, FEATURES, target="z_spec",
                                                  validation=0.1)
    train_s = time.perf_counter() - started
    z_phot = model.predict(test)["z_phot_mean"].to_numpy()  # NaN only where no feature is usable
    result = score_all_rows(z_phot, test.z_spec.to_numpy())
    result.update(train_s=round(train_s, 1), best_params=model.best_params_)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/boss_default")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further `nncz train` options")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(args.data)
    train, test = data[data.split == "train"], data[data.split == "test"]
    train.to_csv(out / "train.csv", index=False)
    test.to_csv(out / "test.csv", index=False)
    results = {"nncz (defaults)": run_nncz(out, args.threads, args.extra)}
    if not args.skip_baselines:
        for name in ("xgboost", "rf"):
            results[name] = run_baseline(name, train, test)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
