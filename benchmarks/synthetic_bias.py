"""Bias and calibration check on a synthetic catalogue whose redshift distribution is known.

z is a smooth function of four features plus Gaussian noise 0.01 (1 + z), over z ~ 0.2-1.4, so
a perfect photo-z PDF is known exactly: its mean and median are unbiased and its PIT is flat.
The catalogue goes through the product path only (``nncz train``, ``predict``, ``evaluate``), so
any offset of the PDFs (such as the half-bin shift of the method's literal CRPS, issue 11)
shows up as a mean / median dz.

    python benchmarks/synthetic_bias.py --out runs/synthetic_bias [--threads 1]
    # issue 11's check: 60k training rows, 20k test rows, --max-epochs 40 --batch-size 1024
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.cli import main as nncz


def synthetic(n_rows: int, seed: int) -> pd.DataFrame:
    """Four uniform features x1..x4 and z = m(x) + N(0, 0.01 (1 + m(x)))."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_rows, 4))
    mean_z = 0.2 + 1.2 * (0.7 * x[:, 0] + 0.3 * x[:, 1] ** 2) + 0.02 * np.sin(6 * x[:, 2]) * x[:, 3]
    z = mean_z + 0.01 * (1 + mean_z) * rng.standard_normal(n_rows)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "x4": x[:, 3],
                         "z_spec": z, "z_true_mean": mean_z})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/synthetic_bias")
    parser.add_argument("--n-train", type=int, default=60_000)
    parser.add_argument("--n-test", type=int, default=20_000)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--batch-size", default="1024")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further `nncz train` options")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    synthetic(args.n_train, 0).to_parquet(out / "train.parquet")
    synthetic(args.n_test, 1).to_parquet(out / "test.parquet")
    common = ["--threads", str(args.threads), "-q"]
    started = time.perf_counter()
    assert nncz([*common, "train", str(out / "train.parquet"), "--features", "x1,x2,x3,x4",
                 "--output", str(out / "model"), "--max-epochs", str(args.max_epochs),
                 "--batch-size", args.batch_size, "--overwrite", *args.extra]) == 0
    train_s = time.perf_counter() - started
    assert nncz([*common, "predict", str(out / "model"), str(out / "test.parquet"),
                 "--output", str(out / "pred.parquet"), "--keep", "z_spec,z_true_mean",
                 "--pdf-output", str(out / "pdf.h5"), "--overwrite"]) == 0
    assert nncz([*common, "evaluate", str(out / "pred.parquet"), "--pdf", str(out / "pdf.h5"),
                 "--output", str(out / "report"), "--overwrite"]) == 0
    pred = pd.read_parquet(out / "pred.parquet")
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    result = {"train_s": round(train_s, 1), "pit_ks": metrics["pit_ks"],
              "crps": metrics["crps"], "sigma_nmad": metrics["sigma_nmad"]}
    for point in ("z_phot_mean", "z_phot_median", "z_phot_mode"):
        dz = (pred[point] - pred.z_spec) / (1 + pred.z_spec)
        result[f"mean_dz_{point}"] = float(dz.mean())
        result[f"median_dz_{point}"] = float(dz.median())
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
