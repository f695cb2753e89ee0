"""Train, predict and evaluate on table files: the work behind ``nncz train / predict / evaluate``.

Each function takes file paths and settings, checks its inputs and outputs before any work
(an existing output is refused unless ``overwrite``), and writes its results atomically.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.estimator import NNCEstimator
from nncz.io import (
    UsageError,
    arrow_system_pool,
    check_outputs,
    iter_table_chunks,
    read_table,
    release_free_memory,
    require_columns,
    table_format,
    write_table,
)
from nncz.surveys.prepare import apply_cut_flags
from nncz.tablestream import TableStream
from nncz.validate import check_features

__all__ = ["train_model", "predict_table", "evaluate_table", "PDF_SLICE_ROWS"]

log = logging.getLogger("nncz")
PathLike = str | Path


# ---------------------------------------------------------------------------- train
def _select(table: pd.DataFrame, where: str | None, source: PathLike) -> pd.DataFrame:
    if not where:
        return table
    try:
        return table.query(where)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"--where {where!r} failed on {source}: {error}") from error


def train_model(estimator: NNCEstimator, table: PathLike, features: Sequence[str],
                output: PathLike, *, target: str = "z_spec", validation: PathLike | None = None,
                where: str | None = None,
                checkpoint_dir: PathLike | None = None, restart: bool = False,
                overwrite: bool = False) -> NNCEstimator:
    """Fit ``estimator`` on the rows of ``table`` and save it as the model directory ``output``.

    Parameters
    ----------
    estimator : NNCEstimator
        Unfitted estimator holding the training settings.
    table : path
        Training table; ``where`` (a pandas query) selects its rows.
    features : sequence of str
        Feature columns, in the model's order (may be empty when the estimator has colours).
    output : path
        Model directory (refused if it holds a model, unless ``overwrite``).
    target : str
        Redshift column.
    validation : path, optional
        Validation table (``where`` applies too); default: the estimator's own hold-out (a
        seeded ``validation_fraction`` of ``table``, or its folds with ``cross_fit``).
    checkpoint_dir : path, optional
        Checkpoints (default ``output/checkpoint``): a rerun resumes from them unless
        ``restart``; they are removed once the model is saved.

    Returns
    -------
    NNCEstimator
        ``estimator``, fitted.
    """
    features = list(features)
    columns = estimator.required_columns(features)  # the features and any colour bands
    out = Path(output)
    check_outputs([table, validation], [out / "nncz_model.json", out / "model.safetensors"],
                  overwrite, output_dirs=[out, checkpoint_dir])
    rows = _select(read_table(table), where, table)
    require_columns(rows, [*columns, target], table)
    if len(rows) < 2:
        raise ValueError(f"{table}: {len(rows)} row(s)"
                         f"{' selected by --where' if where else ''}; training needs at least 2")
    check_features(rows, columns, target, table)
    held_out: pd.DataFrame | None = None  # None: the estimator's own validation_fraction/folds
    if validation:
        held_out = _select(read_table(validation), where, validation)
        require_columns(held_out, [*columns, target], validation)
        if len(held_out) < 2:
            raise ValueError(f"--validation {validation}: {len(held_out)} row(s); "
                             "validation needs at least 2")
    checkpoint = Path(checkpoint_dir or out / "checkpoint")
    if restart:
        _clear_checkpoints(checkpoint)
    estimator.fit(rows, features, target=target, validation=held_out,
                  checkpoint_dir=checkpoint, source=str(table))
    estimator.save(out)
    _clear_checkpoints(checkpoint)
    return estimator


def _clear_checkpoints(checkpoint: Path) -> None:
    """Remove the checkpoint files training wrote (nothing else), then empty directories."""
    from nncz.train import CHECKPOINT_NAME

    for path in [checkpoint / CHECKPOINT_NAME, *checkpoint.glob(f"member_*/{CHECKPOINT_NAME}")]:
        path.unlink(missing_ok=True)
    for directory in [*checkpoint.glob("member_*"), checkpoint]:
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


# -------------------------------------------------------------------------- predict
PDF_SLICE_ROWS = 65_536  # PDFs held at once with a PDF file (65,536 x 400 float32: 100 MB)


def predict_table(model: PathLike, table: PathLike, output: PathLike, *,
                  more_tables: Sequence[PathLike] = (), survey: str | None = None,
                  keep: Sequence[str] = (), pdf_output: PathLike | None = None,
                  pdf_bins: int | None = None, calibrated: bool = True,
                  chunk_rows: int = 32_768, overwrite: bool = False,
                  progress: bool = True) -> int:
    """Write the photo-z products of every row of ``table`` to ``output``; return the rows.

    Parameters
    ----------
    model : path
        Model directory written by :meth:`NNCEstimator.save`.
    table, more_tables : path
        Input table; with ``survey`` (``lsdr10``, ``lsdr9``, ``lsdr8``, ``ps1``) survey files
        as the archive serves them, which get the training cuts, magnitudes and dust
        (:func:`nncz.surveys.prepare.model_input_chunks`).
    output : path
        Output table, one row per input row in input order, streamed chunk by chunk; only a
        FITS or HDF5 output with string columns (from ``keep``, or ``nncz_cut``) is gathered
        (about 40 bytes a row) and written at the end, since its string widths must hold the
        longest value of the whole table.
    keep : sequence of str
        Input columns copied to the output.
    pdf_output : path, optional
        HDF5 file of the PDFs (streamed), rebinned to ``pdf_bins`` bins if given.
    calibrated : bool
        Apply the model's calibration.
    chunk_rows : int
        Input rows per chunk.
    """
    from tqdm.auto import tqdm

    _check_predict_outputs(model, table, output, pdf_output, pdf_bins, overwrite)
    estimator = NNCEstimator.load(model)
    keep = _check_keep(keep, pdf_bins, estimator)
    needed = estimator.required_columns_  # features and colour bands
    columns = list(dict.fromkeys([*needed, *keep]))
    calibration = estimator.calibration_.to_dict() if calibrated else {}
    run_id = uuid.uuid4().hex[:16]  # ties the table to its PDF file (checked by evaluate)
    meta = {"run_id": run_id, "model": str(model), "features": estimator.features_,
            "colours": [str(band) for band in estimator.colours],
            "grid": estimator.grid.to_dict(), "temperature": estimator.temperature_,
            "calibrated": calibrated, "calibration": calibration}
    with arrow_system_pool():  # freed chunk memory goes back by malloc_trim (issue 14)
        stream = None  # opened on the first chunk (see _streamable)
        pdf_file = (_pdf_writer(pdf_output, pdf_bins, estimator, calibrated, calibration, run_id)
                    if pdf_output else None)
        chunks = _input_chunks(table, more_tables, survey, needed, columns, keep, chunk_rows)
        parts, n_rows = [], 0
        try:
            for chunk in tqdm(chunks, unit="chunk", desc="predict", disable=not progress):
                if not len(chunk):
                    continue  # a zero-row input gives a zero-row output (written below)
                if n_rows == 0:  # suspect features: warned once, from the first chunk
                    check_features(chunk, needed, None,
                                   f"{table} (its first {len(chunk)} rows)", training=False)
                products = _chunk_products(estimator, chunk, calibrated, str(table), pdf_file,
                                           pdf_bins)
                products = pd.concat([chunk[keep].reset_index(drop=True),
                                      products.reset_index(drop=True)], axis=1)
                products = apply_cut_flags(products, chunk.reset_index(drop=True))
                n_rows += len(products)
                if stream is None and not parts and _streamable(output, products):
                    stream = TableStream(output, meta)
                if stream is not None:
                    stream.append(products)
                else:
                    parts.append(products)
                release_free_memory()  # the chunk's temporaries, before the next chunk is read
            if n_rows == 0:  # no chunk opened a stream
                parts = [_empty_products(estimator, table, keep)]
        except BaseException:
            for writer in (stream, pdf_file):
                if writer is not None:
                    writer.abort()
            raise
        if stream is not None:
            stream.close()
        else:
            write_table(pd.concat(parts, ignore_index=True), output, meta=meta)
        if pdf_file is not None:
            pdf_file.close()
        return n_rows


def _streamable(output: PathLike, products: pd.DataFrame) -> bool:
    """Whether ``output`` can be written chunk by chunk: any format without string columns;
    Parquet and CSV with them too (FITS and HDF5 need every string's width up front)."""
    if table_format(output) in ("parquet", "csv"):
        return True
    return not any(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
                   for dtype in products.dtypes)


def _input_chunks(table: PathLike, more_tables: Sequence[PathLike], survey: str | None,
                  features: list[str], columns: list[str], keep: list[str],
                  chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Input chunks: a plain table, or survey files through nncz.surveys (``survey``)."""
    more = list(more_tables)
    if not survey:
        if more:
            raise UsageError(f"one TABLE without --survey; got also {more}")
        return iter_table_chunks(table, chunk_rows, columns)
    from nncz.surveys.prepare import model_input_chunks

    return model_input_chunks([table, *more], survey, features, chunk_rows, keep)


def _chunk_products(estimator: NNCEstimator, chunk: pd.DataFrame, calibrated: bool,
                    source: str, pdf_file, pdf_bins: int | None) -> pd.DataFrame:
    """Products of ``chunk``; with a PDF file, predicted in slices whose PDFs are appended at
    once, so no more than :data:`PDF_SLICE_ROWS` PDFs are in memory."""
    if pdf_file is None:
        return estimator.predict(chunk, calibrated=calibrated, source=source)
    parts = []
    for products, pdf in estimator.iter_predict(chunk, calibrated=calibrated, return_pdf=True,
                                                chunk_rows=PDF_SLICE_ROWS, source=source):
        pdf_file.append(estimator.grid.rebin(pdf, pdf_bins)[0] if pdf_bins else pdf)
        parts.append(products)
    return pd.concat(parts)


def _pdf_writer(path: PathLike, pdf_bins: int | None, estimator: NNCEstimator,
                calibrated: bool, calibration: dict, run_id: str):
    from nncz.pdfio import PdfFileWriter

    grid = estimator.grid.coarsen(pdf_bins) if pdf_bins else estimator.grid
    return PdfFileWriter(path, grid, calibrated=calibrated, calibration=calibration,
                         native_n_bins=estimator.grid.n_bins, run_id=run_id)


def _check_predict_outputs(model: PathLike, table: PathLike, output: PathLike,
                           pdf_output: PathLike | None, pdf_bins: int | None,
                           overwrite: bool) -> None:
    table_format(output)  # an unknown extension fails before any work
    if pdf_bins and not pdf_output:
        raise UsageError("--pdf-bins needs --pdf-output FILE.h5")
    model = Path(model)
    check_outputs([table, model, model / "nncz_model.json", model / "model.safetensors"],
                  [output, pdf_output], overwrite)


def _check_keep(keep: Sequence[str], pdf_bins: int | None,
                estimator: NNCEstimator) -> list[str]:
    """Kept columns (each once); none may collide with a product column of the output."""
    from nncz.pdf import PRODUCT_COLUMNS

    keep = list(dict.fromkeys(keep))
    clash = sorted(set(keep) & {*PRODUCT_COLUMNS, "nncz_flag"})
    if clash:
        raise UsageError(f"--keep {clash} would collide with the product column(s) of the "
                         "same name; rename them in the input")
    if pdf_bins and estimator.grid.n_bins % pdf_bins:
        raise UsageError(f"--pdf-bins {pdf_bins} must divide the model's "
                         f"{estimator.grid.n_bins} bins")
    return keep


def _empty_products(estimator: NNCEstimator, source: PathLike,
                    keep: list[str]) -> pd.DataFrame:
    """Zero-row output with the columns and dtypes of a real one."""
    one = pd.DataFrame({f: [1.0] for f in estimator.required_columns_})
    products = estimator.predict(one).iloc[:0].reset_index(drop=True)
    kept = read_table(source, keep).iloc[:0].reset_index(drop=True) if keep else None
    return products if kept is None else pd.concat([kept, products], axis=1)


# ------------------------------------------------------------------------- evaluate
def evaluate_table(predictions: PathLike, output: PathLike, *, truth: str = "z_spec",
                   point: str = "z_phot_mean", pdf: PathLike | None = None,
                   by: Sequence[str] = (), tomo_bins: int = 5,
                   tomo_edges: np.ndarray | None = None, overwrite: bool = False) -> dict:
    """Metrics and figures of a predicted table against its true redshifts, written to ``output``.

    Parameters
    ----------
    predictions : path
        Table written by :func:`predict_table` holding the ``truth`` column.
    output : path
        Report directory (refused if it holds a report, unless ``overwrite``).
    truth, point : str
        True-redshift and point-estimate columns.
    pdf : path, optional
        PDF file of the same predict run (row i = PDF i): adds CRPS, PIT and n(z) checks.
    by : sequence of str
        Extra columns to bin the metrics by.
    tomo_bins, tomo_edges
        Tomographic bins of the stacked-PDF check: equal-count bins, or these edges.

    Returns
    -------
    dict
        :func:`nncz.report.evaluation_report`'s summary.
    """
    from nncz.report import evaluation_report

    out = Path(output)
    check_outputs([predictions, pdf], [out / "metrics.json"], overwrite, output_dirs=[out])
    table = read_table(predictions)
    require_columns(table, [truth, point, *by], predictions)
    _check_evaluable(table, predictions, truth, point)
    pdfs = None
    if pdf:
        from nncz.pdfio import read_pdfs

        pdfs = read_pdfs(pdf)
        if len(pdfs.pdf) != len(table):
            raise ValueError(f"{pdf} has {len(pdfs.pdf)} PDFs but {predictions} "
                             f"has {len(table)} rows")
        _check_same_run(predictions, pdf, pdfs.run_id)
    return evaluation_report(table, truth, point, pdfs, list(by), out, tomo_edges=tomo_edges,
                             tomo_bins=tomo_bins)


def _check_same_run(predictions: PathLike, pdf_path: PathLike, pdf_run: str) -> None:
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


def _check_evaluable(table: pd.DataFrame, source: PathLike, truth: str, point: str) -> None:
    """Numeric truth and point columns with at least one finite pair."""
    pairs = []
    for flag, column in (("--truth", truth), ("--point", point)):
        try:
            pairs.append(table[column].to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):
            raise ValueError(f"{flag} column {column!r} of {source} is not "
                             "numeric") from None
    if not (np.isfinite(pairs[0]) & np.isfinite(pairs[1])).any():
        raise ValueError(f"{source}: no row has a finite {truth!r} and "
                         f"{point!r} ({len(table)} rows); nothing to evaluate")
