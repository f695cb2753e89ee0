"""Training throughput against this machine's own fp32 GEMM roofline, measured side by side.

    python benchmarks/training.py [--rows 65536] [--batch-size 4096]

Prints samples/s of the training step nncz runs (forward, CRPS over 400 bins, backward, gradient
clipping, AdamW) for the method's 12-feature network, and the roofline ratio: 3 x the forward
FLOPs per sample (forward + backward) x samples/s over the FLOP/s of a large fp32 matrix multiply
measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import torch
from inference import gemm_flops  # noqa: E402 - sibling benchmark module

from nncz.grid import RedshiftGrid
from nncz.losses import crps_binned
from nncz.model import ResidualMLP, flops_per_sample
from nncz.train import TrainConfig, _train_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=65536)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    grid = RedshiftGrid()
    centres = torch.as_tensor(grid.centres, dtype=torch.float32)
    torch.manual_seed(0)
    x = torch.randn(args.rows, 12)
    z = torch.rand(args.rows) * 2
    model = ResidualMLP(12, grid.n_bins)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=1e-5)
    config = TrainConfig(batch_size=args.batch_size)
    generator = torch.Generator().manual_seed(0)

    def loss(logits, target):
        return crps_binned(logits, target, centres, grid.width)

    _train_epoch(model, loss, x, z, optimizer, config, generator, False, 0)  # warm-up
    best = float("inf")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        _train_epoch(model, loss, x, z, optimizer, config, generator, False, epoch)
        best = min(best, time.perf_counter() - start)
    peak = gemm_flops()
    rate = args.rows / best
    flops = 3 * flops_per_sample(model)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(f"fp32 GEMM 2048^3: {peak / 1e9:.1f} GFLOP/s (the roofline)")
    print(f"training: {rate:,.0f} samples/s, {rate * flops / 1e9:.1f} GFLOP/s, "
          f"roofline ratio {rate * flops / peak:.2f} (3 x {flops_per_sample(model) / 1e6:.3f} "
          "MFLOP per sample)")


if __name__ == "__main__":
    main()
