"""nncz side of the peers benchmark: the product path (``NNCEstimator``), qp hist files.

Only nncz's public API is used: ``NNCEstimator(n_members=..., calibration=...)`` trains the
ensemble and fits its calibration on its own seeded validation split, exactly as
``nncz train --ensemble N --calibration C`` does; ``predict_pdf`` gives the calibrated PDFs. What
this file adds is user-side and stated in the table: the feature set (magnitudes and errors as
features; the colours of adjacent magnitudes through ``NNCEstimator(colours=...)``, which makes
a colour with a non-detection a bad value, filled and flagged) and, with ``--also``, extra rows
from the same networks with another :class:`nncz.calibrate.Calibration` fitted on the same
validation rows (``nncz.base.holdout_mask``): ``none`` (raw average), ``crps`` / ``nll`` (one
temperature), ``pit`` (the PIT map of Bordoloi, Lilly & Amara 2010).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from peer_data import PeerDataset, nncz_columns

from nncz.base import holdout_mask
from nncz.calibrate import METHODS as CALIBRATIONS
from nncz.calibrate import PIT_KNOTS, Calibration
from nncz.estimator import NNCEstimator
from nncz.grid import RedshiftGrid
from nncz.pdfio import PDFSet, write_pdfs

VALIDATION_FRACTION = 0.15


def build_estimator(grid: RedshiftGrid, args: argparse.Namespace, seed: int,
                    n_members: int = 1, calibration: str = "none",
                    colours: Sequence[str] = ()) -> NNCEstimator:
    """The benchmark's settings (``args.weight_decay`` if given, else 1e-5)."""
    return NNCEstimator(
        grid=grid,
        hidden=tuple(args.hidden),
        dropout=args.dropout,
        lr=args.lr,
        weight_decay=getattr(args, "weight_decay", 1e-5),
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        patience=args.patience,
        lr_patience=args.lr_patience,
        seed=seed,
        n_members=n_members,
        calibration=calibration,
        validation_fraction=VALIDATION_FRACTION,
        bad_values="fill",
        colours=tuple(colours),
        verbose=False,
    )


def split_validation(table, seed: int):
    """The rows the estimator itself holds out for early stopping and calibration."""
    is_val = holdout_mask(len(table), VALIDATION_FRACTION, seed)
    return table[~is_val], table[is_val]


def run_nncz(ds: PeerDataset, args: argparse.Namespace, outdir: Path) -> dict[str, dict]:
    """Train, predict and write qp files; ``{method name: status dict}``."""
    import torch

    torch.set_num_threads(args.threads)
    feature_set = args.features if ds.has_errors else args.features.replace("+errs", "")
    features, colours = nncz_columns(ds.bands, feature_set)
    columns = list(dict.fromkeys([*features, *colours]))
    train = ds.train[[*columns, "redshift"]]
    test = ds.test[columns]

    start = time.perf_counter()
    model = build_estimator(ds.grid, args, args.seed, args.ensemble, args.calibration, colours)
    model.fit(train, features, target="redshift", source=f"{ds.name} training set")
    train_s = time.perf_counter() - start
    _, val_part = split_validation(train, args.seed)
    start = time.perf_counter()
    raw_test = model.predict_pdf(test, calibrated=False, source=f"{ds.name} test set")
    predict_s = time.perf_counter() - start
    model.save(outdir / "nncz_model")

    calibrations = {args.calibration: model.calibration_}
    extra = [c for c in args.also if c != args.calibration]
    if extra:
        raw_val = model.predict_pdf(val_part, calibrated=False)
        z_val = val_part["redshift"].to_numpy()
        for method in extra:
            calibrations[method] = Calibration(method).fit(raw_val, z_val, ds.grid)
    results = {}
    label = "nncz" if args.ensemble == 1 else f"nncz x{args.ensemble}"
    for method, calibration in calibrations.items():
        name = label if method == args.calibration else f"{label} [T:{method}]"
        start = time.perf_counter()
        pdf = calibration.apply(raw_test)
        path = write_pdfs(outdir / f"nncz_{method}.hdf5",
                          PDFSet(pdf, ds.grid, calibration=calibration.to_dict()))
        results[name] = {
            "status": "ok",
            "train_s": train_s,
            "qp_file": str(path),
            "n_train": len(train),
            "predict_s": predict_s + time.perf_counter() - start,
            "epochs": model.epochs_,
            "temperature": calibration.temperature,
            "features": features,
            "colours": colours,
            "calibration": calibration.to_dict(),
            "note": f"T={calibration.temperature:.2f} ({method})" if method != "pit"
            else f"T=1, PIT map ({PIT_KNOTS} knots, validation rows)",
        }
    return results


__all__ = ["CALIBRATIONS", "build_estimator", "run_nncz", "split_validation"]
