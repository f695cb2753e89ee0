"""The core verbs `nncz train`, `nncz predict`, `nncz evaluate`: inform -> estimate -> evaluate."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.io import iter_table_chunks, read_table, require_columns, table_format, write_table
from nncz.tablestream import TableStream

log = logging.getLogger("nncz")


def _csv(text: str | list | None) -> list[str]:
    if text is None:
        return []
    if isinstance(text, list):
        return [str(t) for t in text]
    return [t.strip() for t in str(text).split(",") if t.strip()]


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    _add_train(subparsers)
    _add_predict(subparsers)
    _add_evaluate(subparsers)


# ---------------------------------------------------------------------------- train
def _add_train(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train (inform) a model on a table with spectroscopic redshifts",
        description="Train an NNC photo-z model: a residual MLP over redshift bins, trained on "
        "the CRPS, early-stopped on a validation set and calibrated by temperature scaling.")
    p.add_argument("table", help="training table (.parquet, .fits, .csv, .h5)")
    p.add_argument("--features", required=False,
                   help="comma-separated feature columns, e.g. mag_g,magerr_g,mag_r,...")
    p.add_argument("--target", default="z_spec", help="redshift column (default z_spec)")
    p.add_argument("--output", required=False, help="model directory to write")
    p.add_argument("--validation", help="validation table; default: a seeded 10%% of TABLE")
    p.add_argument("--validation-fraction", type=float, default=0.1,
                   help="held-out share of TABLE when --validation is not given (default 0.1)")
    p.add_argument("--where", help="pandas query selecting training rows, e.g. \"split=='train'\"")
    p.add_argument("--max-epochs", type=int, default=300, help="epoch limit (default 300)")
    p.add_argument("--patience", type=int, default=20, help="early-stopping patience (20)")
    p.add_argument("--batch-size", type=int, default=4096, help="batch size (default 4096)")
    p.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (5e-4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--zmin", type=float, default=0.0, help="grid lower edge (default 0)")
    p.add_argument("--zmax", type=float, default=2.0, help="grid upper edge (default 2)")
    p.add_argument("--nbins", type=int, default=400, help="number of redshift bins (400)")
    p.add_argument("--hidden", default="512,256,128,64", help="hidden widths (512,256,128,64)")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout (default 0.1)")
    p.add_argument("--bad-values", choices=["drop", "fill"], default="drop",
                   help="bad feature values (NaN, inf, 99/-99/999 sentinels, |x|>=90): drop "
                   "the rows (default) or fill them and add a missing-value indicator")
    p.add_argument("--calibration", choices=["crps", "nll", "none"], default="crps",
                   help="temperature-scaling objective on the validation set: crps (default), "
                   "nll (NLL of the true bin, the method's; flattens CRPS-trained PDFs, see "
                   "README) or none")
    p.add_argument("--nll-weight", type=float, default=1e-3,
                   help="weight of the true bin's NLL added to the CRPS loss (default 0.001; "
                   "0: CRPS alone, as the method's text, which lets bins die: see README)")
    p.add_argument("--checkpoint-dir", help="checkpoint directory (default OUTPUT/checkpoint); "
                   "rerunning the same command resumes from it")
    p.set_defaults(func=run_train)


def _select(table: pd.DataFrame, where: str | None, source: str) -> pd.DataFrame:
    if not where:
        return table
    try:
        return table.query(where)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"--where {where!r} failed on {source}: {error}") from error


def run_train(args: argparse.Namespace) -> int:
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid

    features = _csv(args.features)
    if not features or not args.output:
        raise ValueError("train needs --features COL,COL,... and --output MODEL_DIR")
    table = _select(read_table(args.table), args.where, args.table)
    require_columns(table, [*features, args.target], args.table)
    validation = args.validation_fraction
    if args.validation:
        validation = _select(read_table(args.validation), args.where, args.validation)
        require_columns(validation, [*features, args.target], args.validation)
    estimator = NNCEstimator(
        grid=RedshiftGrid(args.zmin, args.zmax, args.nbins),
        hidden=[int(h) for h in _csv(args.hidden)], dropout=args.dropout, lr=args.lr,
        batch_size=args.batch_size, max_epochs=args.max_epochs, patience=args.patience,
        seed=args.seed, bad_values=args.bad_values, calibration=args.calibration,
        nll_weight=args.nll_weight, verbose=not args.quiet)
    checkpoint = Path(args.checkpoint_dir or Path(args.output) / "checkpoint")
    estimator.fit(table, features, target=args.target, validation=validation,
                  checkpoint_dir=checkpoint, source=args.table)
    estimator.save(args.output)
    (checkpoint / "checkpoint.pt").unlink(missing_ok=True)
    metrics = estimator.metrics_
    print(f"model written to {args.output}: {len(estimator.history_)} epochs, "
          f"T = {estimator.temperature_:.3f}; validation sigma_NMAD {metrics['sigma_nmad']:.4f}, "
          f"eta {metrics['eta']:.2f}%, CRPS {metrics.get('crps', float('nan')):.4f}")
    return 0


# -------------------------------------------------------------------------- predict
def _add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="predict (estimate) photo-z PDFs and products for a table",
        description="Write one output row per input row, in input order, with z_phot_mean, "
        "z_phot_mode, z_phot_median, z_phot_std, z_phot_l68/u68/l95/u95, z_conf and nncz_flag "
        "(1 where a feature value was bad under the 'drop' policy: products are NaN there). "
        "The input is streamed in chunks and a .parquet output is written chunk by chunk, so "
        "memory does not grow with the catalog's length (other formats gather the products, "
        "about 40 bytes a row, before writing).")
    p.add_argument("model", help="model directory written by `nncz train`")
    p.add_argument("table", help="input table (.parquet, .fits, .csv, .h5)")
    p.add_argument("--output", required=False, help="output table; format from the extension")
    p.add_argument("--keep", help="comma-separated input columns copied to the output")
    p.add_argument("--pdf-output", help="also write the PDFs to this HDF5 file")
    p.add_argument("--pdf-bins", type=int, help="rebin the written PDFs to this many bins")
    p.add_argument("--uncalibrated", action="store_true", help="skip temperature scaling")
    p.add_argument("--chunk-rows", type=int, default=200_000, help="rows per chunk (200000)")
    p.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from nncz.estimator import NNCEstimator

    if not args.output:
        raise ValueError("predict needs --output FILE (.parquet, .fits, .csv or .h5)")
    estimator = NNCEstimator.load(args.model)
    keep = _csv(args.keep)
    columns = list(dict.fromkeys([*estimator.features_, *keep]))
    meta = {"model": str(args.model), "features": estimator.features_,
            "grid": estimator.grid.to_dict(), "temperature": estimator.temperature_,
            "calibrated": not args.uncalibrated}
    # Parquet output is streamed chunk by chunk, so memory does not grow with the catalog;
    # FITS, CSV and HDF5 outputs are gathered (about 40 bytes a row) and written at the end.
    stream = TableStream(args.output, meta) if table_format(args.output) == "parquet" else None
    parts, pdfs, n_rows = [], [], 0
    try:
        for chunk in tqdm(iter_table_chunks(args.table, args.chunk_rows, columns),
                          unit="chunk", desc="predict", disable=args.quiet):
            products, pdf = estimator.predict(chunk, calibrated=not args.uncalibrated,
                                              return_pdf=True, source=args.table)
            products = pd.concat([chunk[keep].reset_index(drop=True),
                                  products.reset_index(drop=True)], axis=1)
            n_rows += len(products)
            if stream is not None:
                stream.append(products)
            else:
                parts.append(products)
            if args.pdf_output:
                if args.pdf_bins:
                    pdf, _ = estimator.grid.rebin(pdf, args.pdf_bins)
                pdfs.append(pdf.astype(np.float32))
    except BaseException:
        if stream is not None:
            stream.abort()
        raise
    if stream is not None:
        stream.close()
    else:
        write_table(pd.concat(parts, ignore_index=True), args.output, meta=meta)
    if args.pdf_output:
        _write_pdf_output(args, estimator, pdfs)
    print(f"wrote {n_rows} rows to {args.output}"
          + (f" and their PDFs to {args.pdf_output}" if args.pdf_output else ""))
    return 0


def _write_pdf_output(args, estimator, pdfs: list[np.ndarray]) -> None:
    from nncz.pdfio import PDFSet, write_pdfs

    grid = estimator.grid.coarsen(args.pdf_bins) if args.pdf_bins else estimator.grid
    temperature = 1.0 if args.uncalibrated else estimator.temperature_
    write_pdfs(args.pdf_output, PDFSet(np.concatenate(pdfs), grid, temperature,
                                       calibrated=not args.uncalibrated))


# ------------------------------------------------------------------------- evaluate
def _add_evaluate(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="evaluate predictions against true redshifts: metrics and figures",
        description="Print bias, sigma (non-outliers), sigma_NMAD, eta (|dz|/(1+z) > 0.15), and "
        "with PDFs the mean CRPS, PIT KS/CvM; write metrics.json, binned metrics and figures.")
    p.add_argument("predictions", help="table written by `nncz predict` (with --keep TRUTH)")
    p.add_argument("--truth", default="z_spec", help="true-redshift column (default z_spec)")
    p.add_argument("--point", default="z_phot_mean", help="point-estimate column")
    p.add_argument("--pdf", help="PDF file written by `nncz predict --pdf-output`")
    p.add_argument("--by", help="comma-separated extra columns to bin metrics by")
    p.add_argument("--output", required=False, help="report directory to write")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from nncz.report import evaluation_report

    if not args.output:
        raise ValueError("evaluate needs --output REPORT_DIR")
    table = read_table(args.predictions)
    require_columns(table, [args.truth, args.point, *_csv(args.by)], args.predictions)
    pdfs = None
    if args.pdf:
        from nncz.pdfio import read_pdfs

        pdfs = read_pdfs(args.pdf)
        if len(pdfs.pdf) != len(table):
            raise ValueError(f"{args.pdf} has {len(pdfs.pdf)} PDFs but {args.predictions} "
                             f"has {len(table)} rows")
    summary = evaluation_report(table, args.truth, args.point, pdfs, _csv(args.by),
                                Path(args.output))
    print(json.dumps(summary["overall"], indent=2))
    print(f"report written to {args.output}")
    return 0
