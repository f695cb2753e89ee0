"""Train issue 11's DC2 model through the Python API with the settings chosen on the training file.

The issue's command is ``nncz train TRAIN.hdf5:photometry --features mag_*_lsst mag_err_*_lsst
--target redshift --bad-values fill --zmax 3 --nbins 600 --ensemble 5 --calibration pit``. This
script trains the same model (same grid, features, policy, ensemble size, calibration, seed)
with the options the CLI does not have yet, each chosen on a hold-out of the training file
(benchmarks/dc2_factors.py, docs/results/dc2_factors.md): ugrizy colours derived by the model
(``colours``), a cross-fitted ensemble (``cross_fit``), learning rate 1e-3 and patience 25 /
learning-rate patience 10. The bundle carries all of it, so ``nncz predict`` and ``nncz
evaluate`` score it unchanged::

    python benchmarks/dc2_product.py TRAIN.hdf5 --out runs/dc2_product
    nncz predict runs/dc2_product/model TEST.hdf5:photometry --keep redshift \\
        --output runs/dc2_product/pred.parquet --pdf-output runs/dc2_product/pdf.h5
    nncz evaluate runs/dc2_product/pred.parquet --pdf runs/dc2_product/pdf.h5 \\
        --output runs/dc2_product/report

``--plain`` trains the issue's command as it is (no colours, no cross-fitting, the estimator's
default rate and patience) for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.io import read_table

MAGS = [f"mag_{b}_lsst" for b in "ugrizy"]
ERRS = [f"mag_err_{b}_lsst" for b in "ugrizy"]
CHOSEN = {"colours": MAGS, "cross_fit": True, "lr": 1e-3, "patience": 25, "lr_patience": 10}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path, help="test_dc2_training_9816.hdf5")
    parser.add_argument("--out", type=Path, default=Path("runs/dc2_product"))
    parser.add_argument("--plain", action="store_true", help="the issue's command as it is")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = read_table(f"{args.train}:photometry")
    settings = {} if args.plain else CHOSEN
    estimator = NNCEstimator(grid=RedshiftGrid(0.0, 3.0, 600), bad_values="fill", n_members=5,
                             calibration="pit", verbose=False, **settings)
    start = time.perf_counter()
    estimator.fit(table, MAGS + ERRS, target="redshift", source=str(args.train))
    seconds = time.perf_counter() - start
    estimator.save(args.out / "model")
    info = {"settings": settings, "train_s": round(seconds, 1), "epochs": estimator.epochs_,
            "validation": estimator.metrics_}
    (args.out / "train.json").write_text(json.dumps(info, indent=1, default=str))
    print(json.dumps(info, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
