"""The core verbs `nncz train`, `nncz predict`, `nncz evaluate`: inform -> estimate -> evaluate."""

from __future__ import annotations

import argparse
import json
import logging
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.argtypes import (
    finite_float,
    int_list,
    nonnegative_float,
    nonnegative_int,
    open_fraction,
    positive_float,
    positive_int,
    unit_interval,
)
from nncz.io import (
    UsageError,
    check_outputs,
    iter_table_chunks,
    read_table,
    require_columns,
    table_format,
    write_table,
)
from nncz.surveys.prepare import apply_cut_flags
from nncz.tablestream import TableStream
from nncz.validate import check_features

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
    p.add_argument("--validation-fraction", type=open_fraction, default=0.1,
                   help="held-out share of TABLE when --validation is not given (default 0.1)")
    p.add_argument("--where", help="pandas query selecting training rows, e.g. \"split=='train'\"")
    p.add_argument("--max-epochs", type=positive_int, default=300,
                   help="epoch limit (default 300)")
    p.add_argument("--patience", type=positive_int, default=20,
                   help="early-stopping patience (20)")
    p.add_argument("--batch-size", type=_batch_size, default="auto",
                   help="batch size, or auto (default): the power of two nearest 1/32 of the "
                   "training rows, within 256..4096 (the method's 4096 from ~130k rows)")
    p.add_argument("--ensemble", type=positive_int, default=1, metavar="N",
                   help="train N networks (seeds SEED..SEED+N-1) and average their PDFs before "
                   "calibration (default 1)")
    p.add_argument("--lr", type=positive_float, default=5e-4, help="AdamW learning rate (5e-4)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--zmin", type=finite_float, default=0.0, help="grid lower edge (default 0)")
    p.add_argument("--zmax", type=finite_float, default=2.0, help="grid upper edge (default 2)")
    p.add_argument("--nbins", type=positive_int, default=400,
                   help="number of redshift bins (400)")
    p.add_argument("--hidden", type=int_list, default="512,256,128,64",
                   help="hidden widths (512,256,128,64)")
    p.add_argument("--dropout", type=unit_interval, default=0.1, help="dropout (default 0.1)")
    p.add_argument("--bad-values", choices=["drop", "fill"], default="fill",
                   help="bad feature values (NaN, inf, 99/-99/999 sentinels, |x|>=90): fill "
                   "them and add a missing-value indicator (default; a row is answered while "
                   "any feature is usable, and flagged) or drop the rows")
    p.add_argument("--calibration", choices=["pit", "crps", "nll", "none"], default="pit",
                   help="calibration fitted on the validation set: pit (the PIT map of "
                   "Bordoloi et al. 2010; default, see README), crps (one temperature "
                   "minimising the CRPS), nll (one temperature minimising the NLL of the true "
                   "bin, the method's) or none")
    p.add_argument("--nll-weight", type=nonnegative_float, default=1e-3,
                   help="weight of the true bin's NLL added to the CRPS loss (default 0.001; "
                   "0: CRPS alone, as the method's text, which lets bins die: see README)")
    p.add_argument("--checkpoint-dir", help="checkpoint directory (default OUTPUT/checkpoint); "
                   "rerunning the same command resumes from it")
    p.add_argument("--restart", action="store_true",
                   help="delete the checkpoints of an earlier run instead of resuming them")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a model already in OUTPUT (default: refuse)")
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
        raise UsageError("train needs --features COL,COL,... and --output MODEL_DIR")
    if not args.zmax > args.zmin:
        raise UsageError(f"--zmax {args.zmax} must be above --zmin {args.zmin}")
    out = Path(args.output)
    check_outputs([args.table, args.validation],
                  [out / "nncz_model.json", out / "model.safetensors"],
                  getattr(args, "overwrite", False), output_dirs=[out, args.checkpoint_dir])
    table = _select(read_table(args.table), args.where, args.table)
    require_columns(table, [*features, args.target], args.table)
    if len(table) < 2:
        raise ValueError(f"{args.table}: {len(table)} row(s)"
                         f"{' selected by --where' if args.where else ''}; training needs "
                         "at least 2")
    check_features(table, features, args.target, args.table)
    validation = args.validation_fraction
    if args.validation:
        validation = _select(read_table(args.validation), args.where, args.validation)
        require_columns(validation, [*features, args.target], args.validation)
        if len(validation) < 2:
            raise ValueError(f"--validation {args.validation}: {len(validation)} row(s); "
                             "validation needs at least 2")
    estimator = NNCEstimator(
        grid=RedshiftGrid(args.zmin, args.zmax, args.nbins),
        hidden=tuple(int(h) for h in _csv(args.hidden)), dropout=args.dropout, lr=args.lr,
        batch_size=args.batch_size, max_epochs=args.max_epochs, patience=args.patience,
        seed=args.seed, n_members=args.ensemble, bad_values=args.bad_values,
        calibration=args.calibration, nll_weight=args.nll_weight, verbose=not args.quiet)
    checkpoint = Path(args.checkpoint_dir or Path(args.output) / "checkpoint")
    if args.restart:
        _clear_checkpoints(checkpoint)
    estimator.fit(table, features, target=args.target, validation=validation,
                  checkpoint_dir=checkpoint, source=args.table)
    estimator.save(args.output)
    _clear_checkpoints(checkpoint)
    metrics = estimator.metrics_
    print(f"model written to {args.output}: {'+'.join(map(str, estimator.epochs_))} epochs, batch "
          f"{estimator.batch_size_}, calibration {estimator.calibration_.method} "
          f"(T = {estimator.temperature_:.3f}); validation sigma_NMAD "
          f"{metrics['sigma_nmad']:.4f}, eta {metrics['eta']:.2f}%, CRPS "
          f"{metrics.get('crps', float('nan')):.4f}, "
          f"PIT KS {metrics.get('pit_ks', float('nan')):.4f}")
    return 0


def _clear_checkpoints(checkpoint: Path) -> None:
    """Remove the checkpoint files training wrote (nothing else), then empty directories."""
    from nncz.train import CHECKPOINT_NAME

    for path in [checkpoint / CHECKPOINT_NAME, *checkpoint.glob(f"member_*/{CHECKPOINT_NAME}")]:
        path.unlink(missing_ok=True)
    for directory in [*checkpoint.glob("member_*"), checkpoint]:
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _batch_size(text: str) -> int | str:
    """``auto`` or an integer >= 2."""
    if str(text).strip().lower() == "auto":
        return "auto"
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be auto or an integer >= 2, got {text!r}")
    return value


# -------------------------------------------------------------------------- predict
def _add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="predict (estimate) photo-z PDFs and products for a table",
        description="Write one output row per input row, in input order, with z_phot_mean, "
        "z_phot_mode, z_phot_median, z_phot_std, z_phot_l68/u68/l95/u95, z_conf and nncz_flag "
        "(bit 1: no usable features, products are NaN; bit 2: some bad values were filled). "
        "The input is streamed in chunks and a .parquet output is written chunk by chunk, so "
        "memory does not grow with the catalog's length (other formats gather the products, "
        "about 40 bytes a row, before writing).")
    p.add_argument("model", help="model directory written by `nncz train`")
    p.add_argument("table", help="input table (.parquet, .fits, .csv, .h5)")
    p.add_argument("more_tables", nargs="*", metavar="TABLE",
                   help="with --survey: more files of the survey (e.g. sweep-*.fits)")
    p.add_argument("--survey", help="TABLE is a survey file as the archive serves it (lsdr10, "
                   "lsdr9, lsdr8 or ps1; directories and globs too): the training cuts, "
                   "magnitudes and dust are applied, a row failing a cut keeps its place with "
                   "NaN products and nncz_cut naming the cut (see `nncz inspect`)")
    p.add_argument("--output", required=False, help="output table; format from the extension")
    p.add_argument("--keep", help="comma-separated input columns copied to the output")
    p.add_argument("--pdf-output", help="also write the PDFs to this HDF5 file")
    p.add_argument("--pdf-bins", type=positive_int,
                   help="rebin the written PDFs to this many bins (must divide the model's)")
    p.add_argument("--uncalibrated", action="store_true",
                   help="skip the model's calibration (temperature / PIT map)")
    p.add_argument("--chunk-rows", type=positive_int, default=200_000,
                   help="rows per chunk (200000)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing --output / --pdf-output files (default: refuse)")
    p.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from nncz.estimator import NNCEstimator

    if not args.output:
        raise UsageError("predict needs --output FILE (.parquet, .fits, .csv or .h5)")
    _check_predict_outputs(args)
    estimator = NNCEstimator.load(args.model)
    keep = _check_keep(args, estimator)
    columns = list(dict.fromkeys([*estimator.features_, *keep]))
    calibration = {} if args.uncalibrated else estimator.calibration_.to_dict()
    run_id = uuid.uuid4().hex[:16]  # ties the table to its PDF file (checked by evaluate)
    meta = {"run_id": run_id, "model": str(args.model), "features": estimator.features_,
            "grid": estimator.grid.to_dict(), "temperature": estimator.temperature_,
            "calibrated": not args.uncalibrated, "calibration": calibration}
    # Parquet output is streamed chunk by chunk, so memory does not grow with the catalog;
    # FITS, CSV and HDF5 outputs are gathered (about 40 bytes a row) and written at the end.
    # PDFs are always streamed.
    stream = TableStream(args.output, meta) if table_format(args.output) == "parquet" else None
    pdf_file = _pdf_writer(args, estimator, calibration, run_id) if args.pdf_output else None
    parts, n_rows = [], 0
    try:
        for chunk in tqdm(_input_chunks(args, estimator.features_, columns, keep),
                          unit="chunk", desc="predict", disable=args.quiet):
            if not len(chunk):
                continue  # a zero-row input gives a zero-row output (written below)
            if n_rows == 0:  # suspect features: warned once, from the first chunk
                check_features(chunk, estimator.features_, None,
                               f"{args.table} (its first {len(chunk)} rows)", training=False)
            products = _predict_streaming_pdfs(estimator, chunk, args, pdf_file)
            products = pd.concat([chunk[keep].reset_index(drop=True),
                                  products.reset_index(drop=True)], axis=1)
            products = apply_cut_flags(products, chunk.reset_index(drop=True))
            n_rows += len(products)
            if stream is not None:
                stream.append(products)
            else:
                parts.append(products)
        if n_rows == 0:
            parts = [_empty_products(estimator, args.table, keep)]
            if stream is not None:
                stream.append(parts[0])
    except BaseException:
        for writer in (stream, pdf_file):
            if writer is not None:
                writer.abort()
        raise
    if stream is not None:
        stream.close()
    else:
        write_table(pd.concat(parts, ignore_index=True), args.output, meta=meta)
    if pdf_file is not None:
        pdf_file.close()
    print(f"wrote {n_rows} rows to {args.output}"
          + (f" and their PDFs to {args.pdf_output}" if args.pdf_output else ""))
    return 0


def _input_chunks(args: argparse.Namespace, features: list[str], columns: list[str],
                  keep: list[str]):
    """Input chunks: a plain table, or survey files through nncz.surveys (``--survey``)."""
    more = list(getattr(args, "more_tables", None) or [])
    if not getattr(args, "survey", None):
        if more:
            raise UsageError(f"one TABLE without --survey; got also {more}")
        return iter_table_chunks(args.table, args.chunk_rows, columns)
    from nncz.surveys.prepare import model_input_chunks

    return model_input_chunks([args.table, *more], args.survey, features, args.chunk_rows,
                              keep)


PDF_SLICE_ROWS = 65_536  # PDFs held at once with --pdf-output (65,536 x 400 float32: 100 MB)


def _predict_streaming_pdfs(estimator, chunk: pd.DataFrame, args: argparse.Namespace,
                            pdf_file) -> pd.DataFrame:
    """Products of ``chunk``; with a PDF file, predicted in slices whose PDFs are appended at
    once, so no more than :data:`PDF_SLICE_ROWS` PDFs are in memory."""
    calibrated = not args.uncalibrated
    if pdf_file is None:
        return estimator.predict(chunk, calibrated=calibrated, source=args.table)
    parts = []
    for products, pdf in estimator.iter_predict(chunk, calibrated=calibrated, return_pdf=True,
                                                chunk_rows=PDF_SLICE_ROWS, source=args.table):
        pdf_file.append(estimator.grid.rebin(pdf, args.pdf_bins)[0] if args.pdf_bins else pdf)
        parts.append(products)
    return pd.concat(parts)


def _pdf_writer(args, estimator, calibration: dict, run_id: str):
    from nncz.pdfio import PdfFileWriter

    grid = estimator.grid.coarsen(args.pdf_bins) if args.pdf_bins else estimator.grid
    return PdfFileWriter(args.pdf_output, grid, calibrated=not args.uncalibrated,
                         calibration=calibration, native_n_bins=estimator.grid.n_bins,
                         run_id=run_id)


def _check_predict_outputs(args: argparse.Namespace) -> None:
    from nncz.io import table_format as fmt

    fmt(args.output)  # an unknown extension fails before any work
    if args.pdf_bins and not args.pdf_output:
        raise UsageError("--pdf-bins needs --pdf-output FILE.h5")
    model = Path(args.model)
    check_outputs([args.table, model, model / "nncz_model.json", model / "model.safetensors"],
                  [args.output, args.pdf_output], getattr(args, "overwrite", False))


def _check_keep(args: argparse.Namespace, estimator) -> list[str]:
    """--keep columns; none may collide with a product column of the output."""
    from nncz.pdf import PRODUCT_COLUMNS

    keep = list(dict.fromkeys(_csv(args.keep)))  # a column asked for twice is kept once
    clash = sorted(set(keep) & {*PRODUCT_COLUMNS, "nncz_flag"})
    if clash:
        raise UsageError(f"--keep {clash} would collide with the product column(s) of the "
                         "same name; rename them in the input")
    if args.pdf_bins and estimator.grid.n_bins % args.pdf_bins:
        raise UsageError(f"--pdf-bins {args.pdf_bins} must divide the model's "
                         f"{estimator.grid.n_bins} bins")
    return keep


def _empty_products(estimator, source: str, keep: list[str]) -> pd.DataFrame:
    """Zero-row output with the columns and dtypes of a real one."""
    one = pd.DataFrame({f: [1.0] for f in estimator.features_})
    products = estimator.predict(one).iloc[:0].reset_index(drop=True)
    kept = read_table(source, keep).iloc[:0].reset_index(drop=True) if keep else None
    return products if kept is None else pd.concat([kept, products], axis=1)


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
    p.add_argument("--tomo-bins", type=positive_int, default=5,
                   help="with --pdf: equal-count tomographic bins of the point estimate whose "
                   "stacked-PDF mean is compared with the true mean (default 5)")
    p.add_argument("--tomo-edges", help="with --pdf: comma-separated tomographic bin edges "
                   "instead of --tomo-bins")
    p.add_argument("--output", required=False, help="report directory to write")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a report already in OUTPUT (default: refuse)")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from nncz.report import evaluation_report

    if not args.output:
        raise UsageError("evaluate needs --output REPORT_DIR")
    out = Path(args.output)
    check_outputs([args.predictions, args.pdf], [out / "metrics.json"],
                  getattr(args, "overwrite", False), output_dirs=[out])
    table = read_table(args.predictions)
    require_columns(table, [args.truth, args.point, *_csv(args.by)], args.predictions)
    _check_evaluable(table, args)
    pdfs = None
    if args.pdf:
        from nncz.pdfio import read_pdfs

        pdfs = read_pdfs(args.pdf)
        if len(pdfs.pdf) != len(table):
            raise ValueError(f"{args.pdf} has {len(pdfs.pdf)} PDFs but {args.predictions} "
                             f"has {len(table)} rows")
        _check_same_run(args.predictions, args.pdf, pdfs.run_id)
    edges = None
    if args.tomo_edges:
        try:
            edges = np.array([float(v) for v in _csv(args.tomo_edges)])
        except ValueError:
            raise UsageError(f"--tomo-edges {args.tomo_edges!r}: not a list of numbers") from None
        if len(edges) < 2 or not np.all(np.diff(edges) > 0):
            raise UsageError(f"--tomo-edges {args.tomo_edges!r}: need >= 2 increasing edges")
    summary = evaluation_report(table, args.truth, args.point, pdfs, _csv(args.by),
                                Path(args.output), tomo_edges=edges, tomo_bins=args.tomo_bins)
    if "tomographic" in summary["binned"]:
        print(summary["binned"]["tomographic"].to_string(index=False, float_format="%.5f"))
    print(json.dumps(summary["overall"], indent=2))
    print(f"report written to {args.output}")
    return 0


def _check_same_run(predictions: str, pdf_path: str, pdf_run: str) -> None:
    """Refuse PDFs written by another ``nncz predict`` run than the table (where both say)."""
    from nncz.io import read_metadata

    try:
        table_run = str(read_metadata(predictions).get("run_id", "") or "")
    except (OSError, KeyError, ValueError):  # CSV and foreign files carry no metadata
        table_run = ""
    if table_run and pdf_run and table_run != pdf_run:
        raise ValueError(f"{pdf_path} was written by another nncz predict run (run id "
                         f"{pdf_run}) than {predictions} (run id {table_run}): its rows need "
                         "not be the table's rows")


def _check_evaluable(table: pd.DataFrame, args: argparse.Namespace) -> None:
    """Numeric truth and point columns with at least one finite pair."""
    pairs = []
    for flag, column in (("--truth", args.truth), ("--point", args.point)):
        try:
            pairs.append(table[column].to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):
            raise ValueError(f"{flag} column {column!r} of {args.predictions} is not "
                             "numeric") from None
    if not (np.isfinite(pairs[0]) & np.isfinite(pairs[1])).any():
        raise ValueError(f"{args.predictions}: no row has a finite {args.truth!r} and "
                         f"{args.point!r} ({len(table)} rows); nothing to evaluate")
