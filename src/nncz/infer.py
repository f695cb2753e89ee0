"""Prediction batch loop: network, softmax, calibration and PDF products per cache-sized batch.

:class:`nncz.estimator.NNCEstimator` calls :func:`predict_arrays` once per chunk of its input.
Each batch of :data:`BATCH_ROWS` rows goes through every step before the next batch starts, so
the network's activations (rows x 1024 float32) and the batch's PDFs (rows x 400) stay in the
CPU caches instead of making (chunk, n_bins) round trips through memory; measured on the method's
network (benchmarks/inference.py), 65,536-row batches ran at about half the speed of 2,048-row
ones for the network alone; 1,024-row batches run as fast as 2,048-row ones (132k rows/s each,
one thread, side by side) and take ~25 MB less of `nncz predict`'s peak memory (issue 14). No
(chunk, n_bins) array is made unless the PDFs are asked for. With more than one torch thread,
several batches run at once on worker threads (:func:`predict_arrays`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

from nncz.calibrate import Calibration
from nncz.grid import RedshiftGrid
from nncz.pdf import PRODUCT_COLUMNS
from nncz.pdf_kernel import batch_products

BATCH_ROWS = 1024
TEMPERATURE_ONLY = ("crps", "nll", "none")  # calibrations that are softmax(log p / T) alone
MAX_WORKERS = 4  # batches at once: each holds ~33 MB of temporaries (issue 14's 500 MB)


def batch_pdf(models: list[nn.Module], x: np.ndarray,
              calibration: Calibration | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """PDFs (B, n_bins) float32 of one batch of standardised features ``x`` (B, n_inputs), and
    their CDF at the upper bin edges (B, n_bins) where the calibration made it (None otherwise).

    The members' softmax outputs are averaged, then ``calibration`` (None: raw) is applied. For
    one network and a temperature, ``softmax(logits / T)`` equals ``softmax(log p / T)`` of
    :meth:`Calibration.apply` and saves the log and exp passes over the batch.
    """
    x_t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.inference_mode():
        if len(models) == 1:
            logits = models[0](x_t)
            if calibration is None or (calibration.method in TEMPERATURE_ONLY
                                       and calibration.pit_x is None):
                if calibration is not None and calibration.temperature != 1.0:
                    logits.mul_(1.0 / calibration.temperature)
                return torch.softmax(logits, dim=1), None
            pdf = torch.softmax(logits, dim=1)
        else:
            pdf = torch.softmax(models[0](x_t), dim=1)
            for model in models[1:]:
                pdf.add_(torch.softmax(model(x_t), dim=1))
            pdf.div_(len(models))
        return (pdf, None) if calibration is None else calibration.apply_with_cdf(pdf)


def member_pdf(models: list[nn.Module], x: np.ndarray, calibration: Calibration | None = None,
               batch_rows: int = BATCH_ROWS) -> np.ndarray:
    """PDFs (N, n_bins) float32: the mean of the members' softmax outputs, then ``calibration``
    (None: raw), batch by batch."""
    if not len(x):
        return batch_pdf(models, x, calibration)[0].numpy()
    out = None
    for start in range(0, len(x), batch_rows):
        pdf = batch_pdf(models, x[start : start + batch_rows], calibration)[0].numpy()
        if out is None:
            out = np.empty((len(x), pdf.shape[1]), dtype=np.float32)
        out[start : start + len(pdf)] = pdf
    return out


def predict_arrays(models: list[nn.Module], x: np.ndarray, calibration: Calibration | None,
                   grid: RedshiftGrid, pdf_out: np.ndarray | None = None,
                   batch_rows: int = BATCH_ROWS, workers: int | None = None) -> np.ndarray:
    """Products (N, 9) float32 (columns of :data:`nncz.pdf.PRODUCT_COLUMNS`) of standardised
    features ``x`` (N, n_inputs); their PDFs are written into ``pdf_out`` (N, n_bins) if given.

    ``workers`` batches run at once (default: torch's thread count, at most
    :data:`MAX_WORKERS`), torch's threads shared out between them: the calibration and products
    are a chain of small operations that torch does not spread over threads, so one batch at a
    time on two threads split only the network (see :func:`_batch_workers`).
    """
    values = np.empty((len(x), len(PRODUCT_COLUMNS)), dtype=np.float32)

    def run(start: int) -> None:
        pdf, cdf = batch_pdf(models, x[start : start + batch_rows], calibration)
        values[start : start + len(pdf)] = batch_products(pdf, grid, cdf=cdf)
        if pdf_out is not None:
            pdf_out[start : start + len(pdf)] = pdf.numpy()

    starts = range(0, len(x), batch_rows)
    threads = torch.get_num_threads()
    workers = min(min(threads, MAX_WORKERS) if workers is None else workers, len(starts))
    if workers <= 1:
        for start in starts:
            run(start)
    else:
        with _batch_workers(workers, max(1, threads // workers)) as pool:
            list(pool.map(run, starts))
    return values


@contextlib.contextmanager
def _batch_workers(workers: int, threads_each: int) -> Iterator[ThreadPoolExecutor]:
    """A pool of ``workers`` threads in which torch runs on ``threads_each`` threads; torch's
    thread count is restored on leaving.

    Torch releases the GIL inside its operations, so the workers' batches run side by side. On
    2 cores, two batches on one thread each against one batch at a time on two threads: ~7%
    more galaxies/s side by side, ~33 MB more peak memory (benchmarks/README.md). Torch's
    thread count is process-wide: another thread of the caller using torch meanwhile also runs
    on ``threads_each``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(threads_each)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="nncz-predict")
    try:
        yield pool
    finally:  # after an error or an interrupt, batches not yet started are dropped
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)
