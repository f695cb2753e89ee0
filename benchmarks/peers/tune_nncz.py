"""Choose nncz's settings for the peers benchmark on the TRAINING file only.

The DC2 training file is split once (seeded) into a selection hold-out (20%) and the rest; the
rest is what ``peer_nncz.run_nncz`` would get (its own 15% validation split drives early
stopping and the temperature). Each call trains one network (one config, one seed) and saves
its logits on the selection and validation rows, so ensembles are scored afterwards by
averaging members of the same config::

    python benchmarks/peers/tune_nncz.py train --name base --seed 0 [--hidden ...]
    python benchmarks/peers/tune_nncz.py score base base:2 wide ...   # name[:n members]

The test file is never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from peer_data import load_dc2, nncz_columns
from peer_nncz import build_estimator, split_validation

from nncz import metrics
from nncz.calibrate import Calibration, apply_temperature
from nncz.grid import RedshiftGrid
from nncz.pdf import pdf_products

RAIL_VENV = Path(__file__).resolve().parent / ".venv-rail"
SELECTION_FRACTION = 0.2
SELECTION_SEED = 12345


def average_pdf(logits: list[np.ndarray]) -> np.ndarray:
    """Mean of the members' softmax PDFs (the estimator's raw ensemble PDF)."""
    return np.mean([apply_temperature(member, 1.0) for member in logits], axis=0)


def selection_split(table, seed: int = SELECTION_SEED):
    is_sel = np.random.default_rng(seed).random(len(table)) < SELECTION_FRACTION
    return table[~is_sel], table[is_sel]


def augmented(ds, fit_part, columns: list[str], copies: int, seed: int):
    """``fit_part`` plus ``copies`` versions with detected magnitudes redrawn within errors
    (``columns`` and the redshift of each)."""
    import pandas as pd

    rng = np.random.default_rng(1000 + seed)
    raw = ds.train.loc[fit_part.index]
    parts = [fit_part]
    for _ in range(copies):
        noisy = raw.copy()
        for band in ds.bands:
            mag, err = noisy[f"mag_{band}"], noisy[f"mag_err_{band}"]
            detected = (mag < 99.0) & np.isfinite(err) & (err < 1.0)
            noisy[f"mag_{band}"] = mag.where(~detected, mag + rng.normal(size=len(mag)) * err)
        parts.append(noisy[[*columns, "redshift"]])
    return pd.concat(parts, ignore_index=True)


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    ds = load_dc2(RAIL_VENV)
    grid = RedshiftGrid(0.0, 3.0, args.n_bins)
    features, colours = nncz_columns(ds.bands, args.features)
    columns = list(dict.fromkeys([*features, *colours]))
    table = ds.train[[*columns, "redshift"]]
    rest, sel = selection_split(table)
    fit_part, val_part = split_validation(rest, 0)  # as run_nncz with --seed 0
    if args.augment:
        fit_part = augmented(ds, fit_part, columns, args.augment, args.seed)
    estimator = build_estimator(grid, args, args.seed, colours=colours)
    start = time.perf_counter()
    estimator.fit(fit_part, features, target="redshift", validation=val_part)
    seconds = time.perf_counter() - start
    out = args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / f"seed{args.seed}.npz",
        sel=estimator.predict_logits(sel).astype(np.float32),
        val=estimator.predict_logits(val_part).astype(np.float32),
        z_sel=sel["redshift"].to_numpy(),
        z_val=val_part["redshift"].to_numpy(),
    )
    info = {
        "config": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"
        },
        "epochs": len(estimator.history_),
        "seconds": seconds,
    }
    (out / f"seed{args.seed}.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info), flush=True)


def score(args: argparse.Namespace) -> None:
    rows = []
    for spec in args.specs:
        name, _, n = spec.partition(":")
        files = sorted((args.out / name).glob("seed*.npz"))[: int(n) if n else None]
        if not files:
            print(f"{name}: nothing trained", file=sys.stderr)
            continue
        config = json.loads(files[0].with_suffix(".json").read_text())["config"]
        grid = RedshiftGrid(0.0, 3.0, config["n_bins"])
        members = [np.load(f) for f in files]
        sel_logits = [m["sel"] for m in members]
        val_logits = [m["val"] for m in members]
        z_sel, z_val = members[0]["z_sel"], members[0]["z_val"]

        raw_val, raw_sel = average_pdf(val_logits), average_pdf(sel_logits)
        crps_fit = Calibration("crps").fit(raw_val, z_val, grid)
        pit_fit = Calibration("pit").fit(raw_val, z_val, grid)
        for label, calibration in (("T=1", None), (f"T={crps_fit.temperature:.2f}", crps_fit),
                                   ("pit", pit_fit)):
            pdf = raw_sel if calibration is None else calibration.apply(raw_sel)
            products = pdf_products(pdf, grid)
            row = {"config": name, "n": len(files), "T": label}
            for point in ("mean", "mode"):
                quality = metrics.point_metrics(products[f"z_phot_{point}"].to_numpy(), z_sel)
                row[f"nmad_{point}"] = round(quality["sigma_nmad"], 4)
                row[f"eta_{point}"] = round(quality["eta"], 2)
            row["crps"] = round(float(metrics.crps(pdf, grid, z_sel).mean()), 4)
            row["ks"] = round(metrics.pit_ks(metrics.pit(pdf, grid, z_sel)), 4)
            row["epochs"] = [
                json.loads(f.with_suffix(".json").read_text())["epochs"] for f in files
            ]
            rows.append(row)
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/peers_tune"))
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("train")
    p.add_argument("--name", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--features", default="mags+colours+errs")
    p.add_argument("--n-bins", type=int, default=600)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 256, 128, 64])
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--max-epochs", type=int, default=300)
    p.add_argument("--patience", type=int, default=25)
    p.add_argument("--lr-patience", type=int, default=10)
    p.add_argument("--augment", type=int, default=0, help="noisy copies of the fit rows")
    p.set_defaults(func=train)
    s = sub.add_parser("score")
    s.add_argument("specs", nargs="+", help="config name[:number of members]")
    s.set_defaults(func=score)
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
