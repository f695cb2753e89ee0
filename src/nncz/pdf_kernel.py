"""The 9 PDF products of a batch of PDFs in a few batched torch operations (prediction's path).

The numpy reference (:func:`nncz.pdf.products_numpy`) makes about a dozen (N, n_bins) passes;
here a batch (:data:`BATCH_ROWS` rows from :func:`products`; prediction's 1,024-row batches
through :func:`batch_products`) takes a float64 sum and two float64 matrix-vector products for
both moments, one cumulative sum (none when the PIT map has made the CDF), one batched binary
search for the five quantile levels and one argmax. Same conventions as the reference: the CDF
is the float32 running sum of the bin probabilities (as ``np.cumsum`` gives it; the PIT map's
``G(F)`` when calibrated by it), a quantile lies in the first bin whose upper CDF reaches its
level, linear within the bin; sums and moments are taken in float64.

A numba kernel did this before (0.84 us a galaxy against 1.05 us here, network 8.4 us, on one
thread of this machine): it was dropped because numba and LLVM cost `nncz predict` ~160 MB of
memory (111 MB to import llvmlite and numba, ~50 MB more loading the compiled kernel even from
its cache; issue 14, benchmarks/README.md), a third of the 500 MB budget, for 2% of the time.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

BATCH_ROWS = 2048
# quantile levels in the order of their columns: median, l68, u68, l95, u95
LEVELS = (0.5, 0.158655, 0.841345, 0.022750, 0.977250)
NORMALISED_WITHIN = 1e-5  # as nncz.pdf.normalise: rows summing to 1 within this are used as is


def products(pdf: np.ndarray, grid, alpha: float = 0.03,
             out: np.ndarray | None = None) -> np.ndarray:
    """The 9 products (N, 9) float32 of ``pdf`` (N, n_bins), columns as PRODUCT_COLUMNS.

    Parameters
    ----------
    pdf : array (N, n_bins)
        Bin probabilities; cast to float32. A row with a NaN/inf value or no probability gives
        NaN products; a row not summing to 1 within 1e-5 is normalised on its own.
    grid : RedshiftGrid
    alpha : float
        zConf half-width in units of (1 + z).
    out : array (N, 9) float32, optional
        Written in place when given.
    """
    if out is None:
        out = np.empty((len(pdf), 9), dtype=np.float32)
    for start in range(0, len(pdf), BATCH_ROWS):
        batch = np.ascontiguousarray(pdf[start : start + BATCH_ROWS], dtype=np.float32)
        out[start : start + len(batch)] = batch_products(torch.from_numpy(batch), grid, alpha)
    return out


def batch_products(pdf: torch.Tensor, grid, alpha: float = 0.03,
                   cdf: torch.Tensor | None = None) -> np.ndarray:
    """Products (B, 9) float32 of one batch of float32 PDFs (B, n_bins).

    ``cdf`` is the running sum of ``pdf`` along the bins (B, n_bins) when the caller has already
    made it (the PIT map does); it is then not summed again.
    """
    n_rows, n_bins = pdf.shape
    pdf64 = pdf.double()
    total = pdf64.sum(1)
    usable = torch.isfinite(total) & (total > 0)
    scale = torch.where((total - 1).abs() < NORMALISED_WITHIN, 1.0, 1.0 / total)
    if not bool((scale == 1).all()):
        pdf = (pdf * scale[:, None]).float()
        pdf64, cdf = pdf.double(), None
        total = pdf64.sum(1)
    centres, squares = _centre_powers(grid)
    # two float64 matrix-vector products: one (B, n_bins) x (n_bins, 3) product runs ~4x slower
    mean = torch.mv(pdf64, centres)
    # sum p (z - mean)^2 written out: sum p z^2 - mean^2 (2 - sum p), with mean = sum p z
    spread = (torch.mv(pdf64, squares) - mean * mean * (2 - total)).clamp_min(0).sqrt()
    if cdf is None:
        cdf = torch.cumsum(pdf, 1)  # CDF at each bin's upper edge
    levels = torch.tensor(LEVELS, dtype=torch.float32).expand(n_rows, len(LEVELS)).contiguous()
    index = torch.searchsorted(cdf, levels).clamp_max(n_bins - 1)
    mass = pdf.gather(1, index)
    fraction = torch.where(mass > 0, (levels - (cdf.gather(1, index) - mass)) / mass, 0.5)
    quantiles = torch.as_tensor(grid.edges)[index] + fraction.clamp(0, 1) * grid.width
    # zConf: CDF at mean -+ alpha (1 + mean), linear within a bin
    mean32 = mean.float()
    window = torch.stack([mean32 - alpha * (1 + mean32), mean32 + alpha * (1 + mean32)], 1)
    at = ((window.double() - grid.z_min) / grid.width).clamp(0, n_bins)
    at = torch.where(torch.isnan(at), 0.0, at)
    bins = at.long().clamp_max(n_bins - 1)
    mass_at = pdf.gather(1, bins)
    cdf_at = (cdf.gather(1, bins) - mass_at).double() + (at - bins) * mass_at.double()
    mode = centres[torch.from_numpy(pdf.numpy().argmax(1))]  # numpy's argmax: ~8x torch's
    median, l68, u68, l95, u95 = quantiles.double().unbind(1)
    values = torch.stack([mean, mode, median, spread, l68, u68, l95, u95,
                          cdf_at[:, 1] - cdf_at[:, 0]], 1).float().numpy()
    values[~usable.numpy()] = np.nan
    return values


@functools.lru_cache(maxsize=16)
def _centre_powers(grid) -> tuple[torch.Tensor, torch.Tensor]:
    """The bin centres and their squares (float64 tensors) of ``grid``, made once per grid."""
    centres = torch.as_tensor(grid.centres, dtype=torch.float64)
    return centres, centres * centres
