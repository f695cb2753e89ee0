"""Prediction throughput against this machine's own fp32 GEMM roofline, measured side by side.

    python benchmarks/inference.py [--rows 200000] [--threads N]

Prints galaxies/s for (a) a plain eval of the unfused torch MLP, (b) the network nncz runs
(batch norm folded, skips fused), (c) the whole prediction nncz does (network + softmax with the
temperature + every PDF product), and for each the roofline ratio: model FLOPs per galaxy x
galaxies/s over the FLOP/s of a large fp32 matrix multiply measured in the same run. The peak
memory of `nncz predict` at 1e5 and 1e6 rows is measured in subprocesses (with --memory).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.model import FoldedMLP, ResidualMLP, flops_per_sample

N_FEATURES = 12


def best_seconds(function, repeats: int = 5) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_flops(size: int = 2048) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / best_seconds(lambda: torch.mm(a, b))


def fitted_estimator() -> NNCEstimator:
    """An estimator with the method's architecture and random (but fixed) weights."""
    torch.manual_seed(0)
    estimator = NNCEstimator(grid=RedshiftGrid(), verbose=False)
    estimator.features_ = [f"f{i}" for i in range(N_FEATURES)]
    estimator.target_ = "z_spec"
    estimator.scaler_mean_ = np.zeros(N_FEATURES, np.float32)
    estimator.scaler_scale_ = np.ones(N_FEATURES, np.float32)
    estimator.temperature_ = 1.3
    estimator.metrics_, estimator.history_ = {}, []
    estimator.model_ = ResidualMLP(N_FEATURES, 400).eval()
    estimator.policy.fit(_table(10), estimator.features_)
    estimator._folded = None
    return estimator


def _table(n: int):
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, N_FEATURES)).astype(np.float32),
                        columns=[f"f{i}" for i in range(N_FEATURES)])


def peak_rss_of_predict(rows: int, model_dir: Path, work: Path) -> float:
    """Peak RSS (MB) of a `nncz predict` subprocess on a table of ``rows`` rows."""
    from nncz.io import write_table

    table_path = work / f"in_{rows}.parquet"
    if not table_path.exists():
        write_table(_table(rows), table_path)
    command = [sys.executable, "-c",
               "import resource,sys; from nncz.cli import main; "
               f"main(['-q','predict','{model_dir}','{table_path}','--output',"
               f"'{work}/out_{rows}.parquet','--chunk-rows','100000']); "
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--memory", action="store_true", help="also measure predict peak RSS")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    estimator = fitted_estimator()
    model = estimator.model_
    folded = FoldedMLP(model)
    flops = flops_per_sample(model)
    table = _table(args.rows)
    x = torch.from_numpy(table.to_numpy())
    peak = gemm_flops()

    def unfused():
        with torch.inference_mode():
            for i in range(0, len(x), 65536):
                model(x[i : i + 65536])

    def fused():
        with torch.inference_mode():
            for i in range(0, len(x), 65536):
                folded(x[i : i + 65536])

    def full():
        estimator.predict(table)

    print(f"torch {torch.__version__}, {args.threads} threads, {args.rows} galaxies, "
          f"{flops / 1e6:.3f} MFLOP per galaxy (12 features -> 400 bins)")
    print(f"fp32 GEMM 2048^3: {peak / 1e9:.1f} GFLOP/s (the roofline)")
    print(f"{'path':<44}{'galaxies/s':>12}{'GFLOP/s':>10}{'roofline':>10}")
    for name, function in [("plain eval, unfused torch MLP", unfused),
                           ("nncz network (BN folded, skips fused)", fused),
                           ("nncz predict: network + PDF + all products", full)]:
        rate = args.rows / best_seconds(function, repeats=3)
        print(f"{name:<44}{rate:>12,.0f}{rate * flops / 1e9:>10.1f}{rate * flops / peak:>10.2f}")

    if args.memory:
        with tempfile.TemporaryDirectory() as work_dir:
            work = Path(work_dir)
            estimator.save(work / "model")
            for rows in (100_000, 1_000_000):
                print(f"nncz predict peak RSS at {rows:>9,} rows: "
                      f"{peak_rss_of_predict(rows, work / 'model', work):,.0f} MB")
    print(f"(this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MB)")


if __name__ == "__main__":
    main()
