"""Training throughput against this machine's own fp32 GEMM roofline, measured side by side.

    python benchmarks/training.py [--rows 32768] [--batch-size 4096] [--threads N]
    python benchmarks/training.py --compare-wait     # OpenMP wait policies, busy cores
    python benchmarks/training.py --time-to-model --write-readme [--reuse]  # hours of CPU

Prints samples/s of the training step nncz runs (forward, CRPS + NLL over 400 bins, backward,
gradient clipping, AdamW) for the method's 12-feature network, and the roofline ratio: 3 x the
forward FLOPs per sample (forward + backward) x samples/s over the FLOP/s of a large fp32 matrix
multiply timed right before and after (best of each). ``--compare-wait`` runs that measurement in
subprocesses with a competing busy process on the machine: 2 threads with libgomp's default wait
(spin, then sleep), with its spinning wait (``OMP_WAIT_POLICY=ACTIVE``), with the passive wait
`nncz` sets, 1 thread, and the thread count nncz picks when none is given (``nncz.threads``: the
cores the 1-minute load average leaves idle). ``--time-to-model`` trains NNCEstimator to
convergence per data set and setting (see benchmarks/README.md, "Training: time to model").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from inference import gemm_flops, machine, write_block  # noqa: E402 - sibling module
from synthetic_bias import synthetic  # noqa: E402 - sibling benchmark module

from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.losses import crps_nll_binned
from nncz.metrics import crps, point_metrics
from nncz.model import ResidualMLP, flops_per_sample
from nncz.threads import set_torch_threads
from nncz.train import TrainConfig, _train_epoch


def train_rate(rows: int, batch_size: int, epochs: int) -> dict:
    """Best samples/s of a training epoch, and the GEMM FLOP/s around it."""
    grid = RedshiftGrid()
    upper_edges = torch.as_tensor(grid.edges[1:], dtype=torch.float32)
    torch.manual_seed(0)
    x = torch.randn(rows, 12)
    z = torch.rand(rows) * 2
    model = ResidualMLP(12, grid.n_bins)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=1e-5)
    config = TrainConfig(batch_size=batch_size)
    generator = torch.Generator().manual_seed(0)

    def loss(logits, target):
        return crps_nll_binned(logits, target, upper_edges, grid.width, 1e-3)

    _train_epoch(model, loss, x, z, optimizer, config, generator, False, 0)  # warm-up
    best, peak = float("inf"), gemm_flops(repeats=2)
    for epoch in range(epochs):
        start = time.perf_counter()
        _train_epoch(model, loss, x, z, optimizer, config, generator, False, epoch)
        best = min(best, time.perf_counter() - start)
        peak = max(peak, gemm_flops(repeats=2))
    flops = 3 * flops_per_sample(model)
    rate = rows / best
    return {"threads": torch.get_num_threads(), "rate": rate, "gflops": rate * flops / 1e9,
            "peak": peak / 1e9, "ratio": rate * flops / peak,
            "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)")}


def compare_wait(rows: int, batch_size: int, epochs: int) -> list[dict]:
    """train_rate in subprocesses under each thread / wait policy, with a busy competitor."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    results = []
    try:
        for threads, policy in ((2, None), (2, "ACTIVE"), (2, "PASSIVE"), (1, "PASSIVE"),
                                (0, "PASSIVE")):
            env = {k: v for k, v in os.environ.items()
                   if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
            env.update({"OMP_NUM_THREADS": str(threads)} if threads else {},
                       **{"OMP_WAIT_POLICY": policy} if policy else {})
            command = [sys.executable, __file__, "--rows", str(rows), "--batch-size",
                       str(batch_size), "--epochs", str(epochs), "--threads", str(threads),
                       "--json"]
            output = subprocess.run(command, env=env, capture_output=True, text=True,
                                    check=True, cwd=os.path.dirname(__file__)).stdout
            result = json.loads(output.strip().splitlines()[-1])
            # as given: the subprocess's own OMP_WAIT_POLICY may have been set by nncz's import
            # after torch (and its OpenMP) had loaded, too late to take effect
            result["wait_policy"] = policy or "libgomp default"
            results.append(result)
    finally:
        busy.kill()
        busy.wait()
    return results


HERE = Path(__file__).resolve().parent
BOSS = HERE.parents[1] / "shared/data/sdss_boss_dr10/sdss_boss_dr10.csv"
BOSS_FEATURES = [f"mag_{b}" for b in "ugriz"] + [f"magerr_{b}" for b in "ugriz"]
# Training settings compared for time-to-model; "method" is NNCEstimator's defaults.
CONFIGS: dict[str, dict] = {
    "method": {},
    "lr1e-3": {"lr": 1e-3},
    "p10": {"patience": 10, "lr_patience": 3},
    "lr2e-3_p10": {"lr": 2e-3, "patience": 10, "lr_patience": 3},
    "method_seed1": {"seed": 1},
    "lr2e-3_p10_seed1": {"lr": 2e-3, "patience": 10, "lr_patience": 3, "seed": 1},
    "method_seed2": {"seed": 2},
    "lr2e-3_p10_seed2": {"lr": 2e-3, "patience": 10, "lr_patience": 3, "seed": 2},
}


def load_dataset(name: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(train, test, features) of ``boss`` (SDSS BOSS DR10 as shipped) or ``synthetic``
    (10^5 training rows of benchmarks/synthetic_bias.py, known noise 0.01 (1 + z))."""
    if name == "boss":
        data = pd.read_csv(BOSS)
        return data[data.split == "train"], data[data.split == "test"], BOSS_FEATURES
    if name == "synthetic":
        return synthetic(100_000, 0), synthetic(20_000, 1), ["x1", "x2", "x3", "x4"]
    raise ValueError(f"unknown dataset {name!r}")


def time_to_model(dataset: str, config: str) -> dict:
    """Train NNCEstimator (one thread) with ``CONFIGS[config]`` on ``dataset``: wall and CPU
    seconds, epochs, validation sigma_NMAD / CRPS (calibrated) and test sigma_NMAD / CRPS."""
    train, test, features = load_dataset(dataset)
    estimator = NNCEstimator(verbose=False, **CONFIGS[config])
    wall, cpu = time.perf_counter(), time.process_time()
    estimator.fit(train, features)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    products, pdf = estimator.predict(test, return_pdf=True)
    z_test = test["z_spec"].to_numpy()
    history = estimator.history_
    best = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    return {"dataset": dataset, "config": config, "settings": CONFIGS[config], "commit": commit,
            "batch": estimator.batch_size_, "wall_s": wall, "cpu_s": cpu,
            "epochs": len(history), "best_epoch": best + 1,
            "s_per_epoch": float(np.median([r["seconds"] for r in history])),
            "val_sigma_nmad": estimator.metrics_["sigma_nmad"],
            "val_crps": estimator.metrics_["crps"],
            "test_sigma_nmad": point_metrics(products["z_phot_mean"].to_numpy(),
                                             z_test)["sigma_nmad"],
            "test_crps": float(crps(pdf, estimator.grid, z_test).mean()),
            "history": [[r["val_loss"], r["lr"], r["val_sigma_nmad"]] for r in history]}


def time_to_model_all(datasets: list[str], configs: list[str], jobs: int, out: Path,
                      reuse: bool = False) -> list[dict]:
    """:func:`time_to_model` of every (dataset, config), each in a one-thread subprocess,
    ``jobs`` at a time; each result is also written to ``out/DATASET_CONFIG.json``. With
    ``reuse``, a result already in ``out`` is read instead of run again, and every result of
    ``datasets`` found in ``out`` is returned."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    def done(path: Path) -> bool:
        return reuse and path.exists() and path.stat().st_size > 0

    pending = [(d, c) for d in datasets for c in configs if not done(out / f"{d}_{c}.json")]
    running: list[tuple[subprocess.Popen, Path]] = []
    while pending or running:
        while pending and len(running) < jobs:
            dataset, config = pending.pop(0)
            path = out / f"{dataset}_{config}.json"
            command = [sys.executable, __file__, "--fit", dataset, config, "--threads", "1",
                       "--json"]
            running.append((subprocess.Popen(command, env=env, cwd=HERE, text=True,
                                             stdout=path.open("w")), path))
        process, path = running.pop(0)
        if process.wait() != 0:
            raise RuntimeError(f"{path.stem}: training run failed")
    names = ([(d, c) for d in datasets for c in CONFIGS if (out / f"{d}_{c}.json").exists()]
             if reuse else [(d, c) for d in datasets for c in configs])
    return [json.loads((out / f"{d}_{c}.json").read_text().strip().splitlines()[-1])
            for d, c in names]


def readme_block(steps: list[dict], runs: list[dict]) -> str:
    """Markdown of one ``--time-to-model`` run: step rates, then time to model per setting."""
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}; torch "
             f"{torch.__version__}, one thread per run, {len(runs)} runs.", "",
             "| training step | batch | samples/s | GFLOP/s | GEMM GFLOP/s (same run) | "
             "of roofline |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| CRPS + NLL, 400 bins | {r['batch']:,} | {r['rate']:,.0f} | {r['gflops']:.1f} "
              f"| {r['peak']:.1f} | {r['ratio']:.2f} |" for r in steps]
    lines += ["", "| data | settings | batch | epochs (best) | CPU s | vs method | wall s | "
              "val sigma_NMAD | val CRPS | test sigma_NMAD | test CRPS | code |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    def key(r: dict) -> tuple[str, int]:  # the method's run on the same data and seed
        return r["dataset"], r["settings"].get("seed", 0)

    method = {key(r): r["cpu_s"] for r in runs if set(r["settings"]) <= {"seed"}}
    for r in runs:
        settings = ", ".join(f"{k} {v}" for k, v in r["settings"].items()) or "method"
        ratio = r["cpu_s"] / method[key(r)] if key(r) in method else float("nan")
        lines.append(f"| {r['dataset']} | {settings} | {r['batch']:,} | {r['epochs']} "
                     f"({r['best_epoch']}) | {r['cpu_s']:,.0f} | {ratio:.2f} | "
                     f"{r['wall_s']:,.0f} | {r['val_sigma_nmad']:.5f} | {r['val_crps']:.5f} | "
                     f"{r['test_sigma_nmad']:.5f} | {r['test_crps']:.5f} | {r['commit']} |")
    return "\n".join(lines)


def print_rates(results: list[dict]) -> None:
    print(f"{'threads':>7} {'OMP_WAIT_POLICY':<16}{'samples/s':>11}{'GFLOP/s':>9}{'GEMM':>8}"
          f"{'ratio':>7}")
    for r in results:
        print(f"{r['threads']:>7} {r['wait_policy']:<16}{r['rate']:>11,.0f}{r['gflops']:>9.1f}"
              f"{r['peak']:>8.1f}{r['ratio']:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32768)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads; 0: nncz's rule (the idle cores)")
    parser.add_argument("--compare-wait", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON line (for subprocesses)")
    parser.add_argument("--time-to-model", action="store_true",
                        help="train every --datasets x --configs to convergence")
    parser.add_argument("--datasets", nargs="+", default=["boss", "synthetic"])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--jobs", type=int, default=2, help="one-thread runs at a time")
    parser.add_argument("--out", default="runs/training_ttm", help="per-run JSON results")
    parser.add_argument("--reuse", action="store_true",
                        help="with --time-to-model: read results already in --out")
    parser.add_argument("--write-readme", action="store_true",
                        help="with --time-to-model: rewrite the table in benchmarks/README.md")
    parser.add_argument("--fit", nargs=2, metavar=("DATASET", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        torch.set_num_threads(1)
        print(json.dumps(time_to_model(*args.fit)))
        return
    if args.time_to_model:
        set_torch_threads(args.threads or 1)  # as the runs: one thread each
        steps = [{**train_rate(args.rows, batch, args.epochs), "batch": batch}
                 for batch in (1024, 4096)]
        runs = time_to_model_all(args.datasets, args.configs, args.jobs,
                                 Path(args.out).resolve(), args.reuse)
        block = readme_block(steps, runs)
        print(block)
        if args.write_readme:
            write_block("training", block)
        return
    if args.compare_wait:
        print("training step with a competing busy process (3 x forward FLOPs per sample):")
        print_rates(compare_wait(args.rows, args.batch_size, args.epochs))
        return
    chosen = set_torch_threads(args.threads or None)  # 0: nncz's choice from the idle cores
    result = {**train_rate(args.rows, args.batch_size, args.epochs),
              "threads": f"idle cores: {chosen}" if args.threads == 0 else chosen}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"torch {torch.__version__}, batch {args.batch_size}")
        print_rates([result])


if __name__ == "__main__":
    main()
