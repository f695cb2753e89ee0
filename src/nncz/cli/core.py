"""The core verbs `nncz train`, `nncz predict`, `nncz evaluate`: inform -> estimate -> evaluate.

Options are :class:`TrainOptions`, :class:`PredictOptions` and :class:`EvaluateOptions`; the
work is done by :mod:`nncz.workflow`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np

from nncz.cli.argtypes import (
    csv_list,
    finite_float,
    int_list,
    nonnegative_float,
    nonnegative_int,
    open_fraction,
    positive_float,
    positive_int,
    unit_interval,
)
from nncz.cli.options import CommonOptions, Verb, option
from nncz.io import UsageError

__all__ = ["TrainOptions", "PredictOptions", "EvaluateOptions", "VERBS"]


def _batch_size(text: str) -> int | str:
    """``auto`` or an integer >= 2."""
    if str(text).strip().lower() == "auto":
        return "auto"
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be auto or an integer >= 2, got {text!r}")
    return value


# ---------------------------------------------------------------------------- train
@dataclass(frozen=True)
class TrainOptions:
    """Options of ``nncz train`` (see ``nncz train --help``)."""

    table: str = option(help="training table (.parquet, .fits, .csv, .h5)")
    features: str | None = option(
        None, "--features",
        help="comma-separated feature columns (the network's direct inputs), e.g. "
        "mag_g,magerr_g,mag_r,...; may be left out with --colours")
    target: str = option("z_spec", "--target", help="redshift column (default z_spec)")
    output: str | None = option(None, "--output", help="model directory to write")
    validation: str | None = option(
        None, "--validation", help="validation table; default: a seeded 10%% of TABLE")
    validation_fraction: float = option(
        0.1, "--validation-fraction", type=open_fraction,
        help="held-out share of TABLE when --validation is not given (default 0.1)")
    where: str | None = option(
        None, "--where", help="pandas query selecting training rows, e.g. \"split=='train'\"")
    max_epochs: int = option(300, "--max-epochs", type=positive_int,
                             help="epoch limit (default 300)")
    patience: int = option(20, "--patience", type=positive_int,
                           help="early-stopping patience (20)")
    lr_patience: int = option(
        5, "--lr-patience", type=positive_int,
        help="epochs without improvement before the learning rate is halved (5)")
    batch_size: int | str = option(
        "auto", "--batch-size", type=_batch_size,
        help="batch size, or auto (default): the power of two nearest 1/32 of the training "
        "rows, within 256..4096 (the method's 4096 from ~130k rows)")
    ensemble: int = option(
        1, "--ensemble", type=positive_int, metavar="N",
        help="train N networks (seeds SEED..SEED+N-1) and average their PDFs before "
        "calibration (default 1)")
    lr: float = option(5e-4, "--lr", type=positive_float, help="AdamW learning rate (5e-4)")
    cross_fit: bool = option(
        False, "--cross-fit", action="store_true",
        help="with --ensemble N >= 2: member k stops early on fold k of TABLE, and the "
        "calibration is fitted on the out-of-fold PDFs of every training row instead of a 10%% "
        "split (on RAIL's DC2 file: PIT KS 0.019 against 0.026; see docs/results/dc2_factors)")
    colours: str | None = option(
        None, "--colours", metavar="MAG,MAG,...",
        help="magnitude columns, in wavelength order, whose adjacent colours are added to the "
        "model inputs (computed inside the model at every prediction, bad where either "
        "magnitude is bad), e.g. mag_u,mag_g,mag_r,mag_i,mag_z; they need not be --features, "
        "but every table the model reads must hold them")
    seed: int = option(0, "--seed", type=nonnegative_int, help="random seed (default 0)")
    zmin: float = option(0.0, "--zmin", type=finite_float, help="grid lower edge (default 0)")
    zmax: float = option(2.0, "--zmax", type=finite_float, help="grid upper edge (default 2)")
    nbins: int = option(400, "--nbins", type=positive_int,
                        help="number of redshift bins (400)")
    hidden: str = option("512,256,128,64", "--hidden", type=int_list,
                         help="hidden widths (512,256,128,64)")
    dropout: float = option(0.1, "--dropout", type=unit_interval, help="dropout (default 0.1)")
    bad_values: str = option(
        "fill", "--bad-values", choices=("drop", "fill"),
        help="bad feature values (NaN, inf, 99/-99/999 sentinels, |x|>=90): fill them and add "
        "a missing-value indicator (default; a row is answered while any feature is usable, "
        "and flagged) or drop the rows")
    calibration: str = option(
        "pit", "--calibration", choices=("pit", "crps", "nll", "none"),
        help="calibration fitted on the validation set: pit (the PIT map of Bordoloi et al. "
        "2010; default, see README), crps (one temperature minimising the CRPS), nll (one "
        "temperature minimising the NLL of the true bin, the method's) or none")
    nll_weight: float = option(
        1e-3, "--nll-weight", type=nonnegative_float,
        help="weight of the true bin's NLL added to the CRPS loss (default 0.001; 0: CRPS "
        "alone, as the method's text, which lets bins die: see README)")
    checkpoint_dir: str | None = option(
        None, "--checkpoint-dir", help="checkpoint directory (default OUTPUT/checkpoint); "
        "rerunning the same command resumes from it")
    restart: bool = option(False, "--restart", action="store_true",
                           help="delete the checkpoints of an earlier run instead of resuming "
                           "them")
    overwrite: bool = option(False, "--overwrite", action="store_true",
                             help="replace a model already in OUTPUT (default: refuse)")


def run_train(options: TrainOptions, common: CommonOptions) -> int:
    """Train, calibrate and save a model; print its validation metrics."""
    from nncz.estimator import NNCEstimator
    from nncz.grid import RedshiftGrid
    from nncz.workflow import train_model

    features = csv_list(options.features)
    if not (features or options.colours) or not options.output:
        raise UsageError("train needs --features COL,COL,... (or --colours MAG,MAG,...) and "
                         "--output MODEL_DIR")
    if options.cross_fit and (options.ensemble < 2 or options.validation):
        raise UsageError("--cross-fit needs --ensemble N with N >= 2 and no --validation table "
                         "(the folds of TABLE validate)")
    if not options.zmax > options.zmin:
        raise UsageError(f"--zmax {options.zmax} must be above --zmin {options.zmin}")
    estimator = NNCEstimator(
        grid=RedshiftGrid(options.zmin, options.zmax, options.nbins),
        hidden=tuple(int(h) for h in csv_list(options.hidden)), dropout=options.dropout,
        lr=options.lr, batch_size=options.batch_size, max_epochs=options.max_epochs,
        patience=options.patience, lr_patience=options.lr_patience, seed=options.seed,
        n_members=options.ensemble, cross_fit=options.cross_fit,
        validation_fraction=options.validation_fraction,
        colours=tuple(csv_list(options.colours)) if options.colours else (),
        bad_values=options.bad_values, calibration=options.calibration,
        nll_weight=options.nll_weight, verbose=not common.quiet)
    train_model(estimator, options.table, features, options.output, target=options.target,
                validation=options.validation, where=options.where,
                checkpoint_dir=options.checkpoint_dir, restart=options.restart,
                overwrite=options.overwrite)
    metrics = estimator.metrics_
    print(f"model written to {options.output}: {'+'.join(map(str, estimator.epochs_))} epochs, "
          f"batch {estimator.batch_size_}, calibration {estimator.calibration_.method} "
          f"(T = {estimator.temperature_:.3f}); validation sigma_NMAD "
          f"{metrics['sigma_nmad']:.4f}, eta {metrics['eta']:.2f}%, CRPS "
          f"{metrics.get('crps', float('nan')):.4f}, "
          f"PIT KS {metrics.get('pit_ks', float('nan')):.4f}")
    return 0


# -------------------------------------------------------------------------- predict
@dataclass(frozen=True)
class PredictOptions:
    """Options of ``nncz predict`` (see ``nncz predict --help``)."""

    model: str = option(help="model directory written by `nncz train`")
    table: str = option(help="input table (.parquet, .fits, .csv, .h5)")
    more_tables: tuple[str, ...] = option(
        (), nargs="*", metavar="TABLE",
        help="with --survey: more files of the survey (e.g. sweep-*.fits)")
    survey: str | None = option(
        None, "--survey", help="TABLE is a survey file as the archive serves it (lsdr10, "
        "lsdr9, lsdr8 or ps1; directories and globs too): the training cuts, magnitudes and "
        "dust are applied, a row failing a cut keeps its place with NaN products and "
        "nncz_cut naming the cut (see `nncz inspect`)")
    output: str | None = option(None, "--output",
                                help="output table; format from the extension")
    keep: str | None = option(None, "--keep",
                              help="comma-separated input columns copied to the output")
    pdf_output: str | None = option(None, "--pdf-output",
                                    help="also write the PDFs to this HDF5 file")
    pdf_bins: int | None = option(
        None, "--pdf-bins", type=positive_int,
        help="rebin the written PDFs to this many bins (must divide the model's)")
    uncalibrated: bool = option(False, "--uncalibrated", action="store_true",
                                help="skip the model's calibration (temperature / PIT map)")
    chunk_rows: int = option(32_768, "--chunk-rows", type=positive_int,
                             help="rows per chunk (32768)")
    overwrite: bool = option(
        False, "--overwrite", action="store_true",
        help="replace existing --output / --pdf-output files (default: refuse)")


def run_predict(options: PredictOptions, common: CommonOptions) -> int:
    """Predict the products (and PDFs) of a table."""
    from nncz.workflow import predict_table

    if not options.output:
        raise UsageError("predict needs --output FILE (.parquet, .fits, .csv or .h5)")
    n_rows = predict_table(
        options.model, options.table, options.output, more_tables=options.more_tables,
        survey=options.survey, keep=csv_list(options.keep), pdf_output=options.pdf_output,
        pdf_bins=options.pdf_bins, calibrated=not options.uncalibrated,
        chunk_rows=options.chunk_rows, overwrite=options.overwrite, progress=not common.quiet)
    print(f"wrote {n_rows} rows to {options.output}"
          + (f" and their PDFs to {options.pdf_output}" if options.pdf_output else ""))
    return 0


# ------------------------------------------------------------------------- evaluate
@dataclass(frozen=True)
class EvaluateOptions:
    """Options of ``nncz evaluate`` (see ``nncz evaluate --help``)."""

    predictions: str = option(help="table written by `nncz predict` (with --keep TRUTH)")
    truth: str = option("z_spec", "--truth", help="true-redshift column (default z_spec)")
    point: str = option("z_phot_mean", "--point", help="point-estimate column")
    pdf: str | None = option(None, "--pdf",
                             help="PDF file written by `nncz predict --pdf-output`")
    by: str | None = option(None, "--by", help="comma-separated extra columns to bin metrics by")
    tomo_bins: int = option(
        5, "--tomo-bins", type=positive_int,
        help="with --pdf: equal-count tomographic bins of the point estimate whose "
        "stacked-PDF mean is compared with the true mean (default 5)")
    tomo_edges: str | None = option(
        None, "--tomo-edges", help="with --pdf: comma-separated tomographic bin edges instead "
        "of --tomo-bins")
    output: str | None = option(None, "--output", help="report directory to write")
    overwrite: bool = option(False, "--overwrite", action="store_true",
                             help="replace a report already in OUTPUT (default: refuse)")


def run_evaluate(options: EvaluateOptions, common: CommonOptions) -> int:
    """Evaluate a predicted table; print the metrics."""
    from nncz.workflow import evaluate_table

    if not options.output:
        raise UsageError("evaluate needs --output REPORT_DIR")
    summary = evaluate_table(options.predictions, options.output, truth=options.truth,
                             point=options.point, pdf=options.pdf, by=csv_list(options.by),
                             tomo_bins=options.tomo_bins,
                             tomo_edges=_tomo_edges(options.tomo_edges),
                             overwrite=options.overwrite)
    if "tomographic" in summary["binned"]:
        print(summary["binned"]["tomographic"].to_string(index=False, float_format="%.5f"))
    print(json.dumps(summary["overall"], indent=2))
    print(f"report written to {options.output}")
    return 0


def _tomo_edges(text: str | None) -> np.ndarray | None:
    """``--tomo-edges``: at least two increasing numbers, or None."""
    if not text:
        return None
    try:
        edges = np.array([float(v) for v in csv_list(text)])
    except ValueError:
        raise UsageError(f"--tomo-edges {text!r}: not a list of numbers") from None
    if len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise UsageError(f"--tomo-edges {text!r}: need >= 2 increasing edges")
    return edges


VERBS = (
    Verb("train", TrainOptions, run_train,
         help="train (inform) a model on a table with spectroscopic redshifts",
         description="Train an NNC photo-z model: a residual MLP over redshift bins, trained "
         "on the CRPS, early-stopped on a validation set and calibrated by temperature "
         "scaling."),
    Verb("predict", PredictOptions, run_predict,
         help="predict (estimate) photo-z PDFs and products for a table",
         description="Write one output row per input row, in input order, with z_phot_mean, "
         "z_phot_mode, z_phot_median, z_phot_std, z_phot_l68/u68/l95/u95, z_conf and nncz_flag "
         "(bit 1: no usable features, products are NaN; bit 2: some bad values were filled). "
         "The input is streamed in chunks and a .parquet output is written chunk by chunk, so "
         "memory does not grow with the catalog's length (other formats gather the products, "
         "about 40 bytes a row, before writing)."),
    Verb("evaluate", EvaluateOptions, run_evaluate,
         help="evaluate predictions against true redshifts: metrics and figures",
         description="Print bias, sigma (non-outliers), sigma_NMAD, eta (|dz|/(1+z) > 0.15), "
         "and with PDFs the mean CRPS, PIT KS/CvM; write metrics.json, binned metrics and "
         "figures."),
)
