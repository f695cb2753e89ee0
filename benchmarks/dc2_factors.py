"""What separates nncz's DC2 product command from the peers configuration? Training file only.

RAIL's DC2 training file (``test_dc2_training_9816.hdf5``, group ``photometry``) is split once
(seeded) into a 20% *selection* hold-out and the rest. Each ``train`` call fits one network of
one configuration on the rest, with a validation split drawn from the rest by a fixed seed (so
networks of one configuration with different ``--seed`` share it and can be averaged), and
saves its raw PDFs on the selection and validation rows. ``--folds K --fold k`` holds out fold
k of the rest instead (cross-fitting: the members of a K-fold ensemble see every row in
training, each row is out-of-fold for one member). ``score`` averages the members of each named
configuration and scores the selection rows. The issue's test file is never read::

    python benchmarks/dc2_factors.py train --name cmd --seed 0            # the issue's command
    python benchmarks/dc2_factors.py train --name colours --seed 0 --colours
    python benchmarks/dc2_factors.py score cmd:2 colours:2

Features: ``mag_<b>_lsst`` and ``mag_err_<b>_lsst`` (ugrizy) as in the issue's command;
``--colours`` adds the estimator's adjacent-band colours (``NNCEstimator(colours=...)``);
``--dataset boss`` runs the same comparison on the SDSS BOSS training split (default grid,
ugriz magnitudes and errors) to check a default on a second data set. Results:
docs/results/dc2_factors/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nncz import metrics
from nncz.base import holdout_mask
from nncz.calibrate import Calibration
from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.io import read_table
from nncz.nz import tomographic_shifts

HERE = Path(__file__).resolve().parent
BOSS = HERE.parents[1] / "shared/data/sdss_boss_dr10/sdss_boss_dr10.csv"
DC2_TRAIN = (HERE / "peers/.cache/pz_rail_base/rail/examples_data/testdata"
             / "test_dc2_training_9816.hdf5")
# data set -> (magnitudes in wavelength order, errors, target, grid); BOSS as boss_default.py
DATASETS = {
    "dc2": ([f"mag_{b}_lsst" for b in "ugrizy"], [f"mag_err_{b}_lsst" for b in "ugrizy"],
            "redshift", RedshiftGrid(0.0, 3.0, 600)),
    "boss": ([f"mag_{b}" for b in "ugriz"], [f"magerr_{b}" for b in "ugriz"], "z_spec",
             RedshiftGrid()),
}
SELECTION_FRACTION = 0.2
SELECTION_SEED = 12345
VALIDATION_SEED = 0
FOLD_SEED = 7


def load_split(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, selection) of the training file; the selection is never trained on."""
    if args.dataset == "boss":
        table = pd.read_csv(BOSS).query("split == 'train'").reset_index(drop=True)
    else:
        table = read_table(f"{args.data}:photometry")
    is_sel = np.random.default_rng(SELECTION_SEED).random(len(table)) < SELECTION_FRACTION
    return table[~is_sel].reset_index(drop=True), table[is_sel].reset_index(drop=True)


def validation_rows(n_rows: int, args: argparse.Namespace) -> np.ndarray:
    """Boolean mask of the rest's rows that validate this network."""
    if args.folds:
        fold = np.random.default_rng(FOLD_SEED).permutation(n_rows) % args.folds
        return fold == args.fold
    return holdout_mask(n_rows, args.val_fraction, VALIDATION_SEED)


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    rest, sel = load_split(args)
    mags, errs, target, grid = DATASETS[args.dataset]
    is_val = validation_rows(len(rest), args)
    estimator = NNCEstimator(
        grid=grid, lr=args.lr, patience=args.patience, lr_patience=args.lr_patience,
        seed=args.seed, nll_weight=args.nll_weight, calibration="none",
        colours=mags if args.colours else (), verbose=False)
    start = time.perf_counter()
    estimator.fit(rest[~is_val], mags + errs, target=target, validation=rest[is_val])
    seconds = time.perf_counter() - start
    out = args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fold{args.fold}" if args.folds else f"seed{args.seed}"
    np.savez_compressed(
        out / f"{stem}.npz",
        sel=estimator.predict_pdf(sel, calibrated=False),
        val=estimator.predict_pdf(rest[is_val], calibrated=False),
        val_rows=np.flatnonzero(is_val),
        z_sel=sel[target].to_numpy(),
        z_val=rest.loc[is_val, target].to_numpy(),
    )
    info = {"config": {k: str(v) if isinstance(v, Path) else v
                       for k, v in vars(args).items() if k != "func"},
            "epochs": estimator.epochs_, "seconds": round(seconds, 1),
            "batch": estimator.batch_size_}
    (out / f"{stem}.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info), flush=True)


def scores(pdf: np.ndarray, z: np.ndarray, grid: RedshiftGrid) -> dict:
    """sigma_NMAD and eta of the PDF mean, CRPS, PIT KS and the worst tomographic shift."""
    z_mean = pdf @ grid.centres
    point = metrics.point_metrics(z_mean, z)
    shifts = tomographic_shifts(pdf, grid, z_mean, z, n_boot=50)
    return {"nmad": round(point["sigma_nmad"], 4), "eta": round(point["eta"], 2),
            "crps": round(float(metrics.crps(pdf, grid, z).mean()), 4),
            "ks": round(metrics.pit_ks(metrics.pit(pdf, grid, z)), 4),
            "shifts": [round(float(s), 4) for s in shifts["shift"]]}


def score_config(name: str, n: int | None, out: Path) -> list[dict]:
    """Rows of the table for one configuration: raw PDFs and each way of fitting the map."""
    files = sorted((out / name).glob("*.npz"))[:n]
    members = [dict(np.load(f)) for f in files]
    z_sel = members[0]["z_sel"]
    config = json.loads(files[0].with_suffix(".json").read_text())["config"]
    grid = DATASETS[config.get("dataset", "dc2")][3]
    ens_sel = np.mean([m["sel"] for m in members], axis=0)
    label = f"{name}:{len(files)}"
    rows = [{"config": label, "calibration": "none", **scores(ens_sel, z_sel, grid)}]
    folds = files[0].stem.startswith("fold")
    if not folds:  # one shared validation split: the product's map on the averaged PDFs
        ens_val = np.mean([m["val"] for m in members], axis=0)
        cal = Calibration("pit").fit(ens_val, members[0]["z_val"], grid)
        rows.append({"config": label, "calibration": f"pit, {len(ens_val)} val rows",
                     **scores(cal.apply(ens_sel), z_sel, grid)})
        return rows
    # cross-fitted: every rest row is out-of-fold for one member
    oof = np.concatenate([m["val"] for m in members])
    z_oof = np.concatenate([m["z_val"] for m in members])
    pooled = Calibration("pit").fit(oof, z_oof, grid)
    rows.append({"config": label, "calibration": f"pit on {len(z_oof)} OOF member PDFs",
                 **scores(pooled.apply(ens_sel), z_sel, grid)})
    per_member = np.mean([pooled.apply(m["sel"]) for m in members], axis=0)
    rows.append({"config": label, "calibration": "pooled OOF map per member, then mean",
                 **scores(per_member, z_sel, grid)})
    return rows


def score(args: argparse.Namespace) -> None:
    rows = []
    for spec in args.specs:
        name, _, n = spec.partition(":")
        rows += score_config(name, int(n) if n else None, args.out)
    frame = pd.DataFrame(rows)
    print(frame.to_string(index=False))
    if args.csv:
        frame.to_csv(args.csv, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/dc2_factors"))
    parser.add_argument("--data", type=Path, default=DC2_TRAIN,
                        help="RAIL's test_dc2_training_9816.hdf5 (default: the unpacked wheel "
                        "of `pip download --no-deps pz-rail-base` in benchmarks/peers/.cache)")
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("train")
    p.add_argument("--name", required=True)
    p.add_argument("--dataset", choices=sorted(DATASETS), default="dc2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--colours", action="store_true")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--patience", type=int, default=20)
    p.add_argument("--lr-patience", type=int, default=5)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--nll-weight", type=float, default=1e-3)
    p.add_argument("--folds", type=int, default=0)
    p.add_argument("--fold", type=int, default=0)
    p.set_defaults(func=train)
    s = sub.add_parser("score")
    s.add_argument("specs", nargs="+", help="config name[:number of members]")
    s.add_argument("--csv", type=Path)
    s.set_defaults(func=score)
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
