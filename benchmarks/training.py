"""Training throughput against this machine's own fp32 GEMM roofline, measured side by side.

    python benchmarks/training.py [--rows 32768] [--batch-size 4096] [--threads N]
    python benchmarks/training.py --compare-wait     # OpenMP wait policies, busy cores

Prints samples/s of the training step nncz runs (forward, CRPS + NLL over 400 bins, backward,
gradient clipping, AdamW) for the method's 12-feature network, and the roofline ratio: 3 x the
forward FLOPs per sample (forward + backward) x samples/s over the FLOP/s of a large fp32 matrix
multiply timed right before and after (best of each). ``--compare-wait`` runs that measurement in
subprocesses with a competing busy process on the machine: 2 threads with libgomp's default wait
(spin, then sleep), with its spinning wait (``OMP_WAIT_POLICY=ACTIVE``), with the passive wait
`nncz` sets, and 1 thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from inference import gemm_flops  # noqa: E402 - sibling benchmark module

from nncz.grid import RedshiftGrid
from nncz.losses import crps_nll_binned
from nncz.model import ResidualMLP, flops_per_sample
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
        for threads, policy in ((2, None), (2, "ACTIVE"), (2, "PASSIVE"), (1, "PASSIVE")):
            env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
            env.update({"OMP_NUM_THREADS": str(threads)}, **{"OMP_WAIT_POLICY": policy}
                       if policy else {})
            command = [sys.executable, __file__, "--rows", str(rows), "--batch-size",
                       str(batch_size), "--epochs", str(epochs), "--threads", str(threads),
                       "--json"]
            output = subprocess.run(command, env=env, capture_output=True, text=True,
                                    check=True, cwd=os.path.dirname(__file__)).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
    finally:
        busy.kill()
        busy.wait()
    return results


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
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--compare-wait", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON line (for subprocesses)")
    args = parser.parse_args()
    if args.compare_wait:
        print("training step with a competing busy process (3 x forward FLOPs per sample):")
        print_rates(compare_wait(args.rows, args.batch_size, args.epochs))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    result = train_rate(args.rows, args.batch_size, args.epochs)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"torch {torch.__version__}, batch {args.batch_size}")
        print_rates([result])


if __name__ == "__main__":
    main()
