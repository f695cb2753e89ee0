"""Fused per-row PDF products (numba): one read of each PDF row from memory for all 9 products.

The numpy reference (:func:`nncz.pdf.products_numpy`) makes about a dozen (N, n_bins) passes
(normalisation, matrix-vector products, a cumulative sum, a squared-deviation temporary, a
binary search of ~9 gathers per level); here each row is read once from memory and re-read twice
from the L1 cache (1.6 kB for 400 bins). The arithmetic follows the reference: the CDF is the
float32 running sum of the bin probabilities (as ``np.cumsum`` gives it), a quantile lies in the
first bin whose upper CDF reaches its level, linear within the bin; mean and variance are summed
in float64 (the reference's float32 BLAS sums differ from them by float32 rounding).

Optional: :data:`AVAILABLE` is False when numba is not installed (``pip install nncz[fast]``)
or the environment sets ``NNCZ_NUMBA=0``; :mod:`nncz.pdf` then uses its numpy reference and
prediction (:mod:`nncz.infer`) its torch fallback.
"""

from __future__ import annotations

import os

import numpy as np

numba = None
if os.environ.get("NNCZ_NUMBA", "1") != "0":  # NNCZ_NUMBA=0: not even imported (~110 MB)
    try:
        import numba
    except ImportError:  # the numpy / torch fallbacks are used instead
        numba = None

AVAILABLE = numba is not None
# product columns in nncz.pdf.PRODUCT_COLUMNS order; quantile levels in increasing order with
# the output column each one fills
MEAN, MODE, MEDIAN, STD, L68, U68, L95, U95, ZCONF = range(9)
LEVELS = np.array([0.022750, 0.158655, 0.5, 0.841345, 0.977250], dtype=np.float32)
LEVEL_COLUMNS = np.array([L95, L68, MEDIAN, U68, U95], dtype=np.int64)
NORMALISED_WITHIN = 1e-5  # as nncz.pdf.normalise: rows summing to 1 within this are used as is
# sums may be reassociated (vectorised); no flag assuming finite values (NaN rows exist)
FAST = {"reassoc", "contract"}


def _sum(p):
    """sum(p) in float64 (reassociated freely: vectorised)."""
    total = 0.0
    for i in range(p.shape[0]):
        total += p[i]
    return total


def _moments(p, centres, scale, mean):
    """sum(q z), sum(q (z - mean)^2) over bins, q = float32(p * scale), in float64."""
    first, second = 0.0, 0.0
    for i in range(p.shape[0]):
        q = np.float32(p[i] * scale)
        first += q * centres[i]
        second += q * (centres[i] - mean) ** 2
    return first, second


def _row_products(p, centres, edges, z_min, width, alpha, levels, level_columns, out, cdf):
    """The 9 products of one PDF row ``p`` (float32, n_bins) into ``out`` (float32, 9);
    ``cdf`` (float32, n_bins + 1) is scratch space for the CDF at the bin edges."""
    n_bins, n_levels = p.shape[0], levels.shape[0]
    total = _sum(p)
    if not (np.isfinite(total) and total > 0.0):
        out[:] = np.nan
        return
    scale = 1.0 if abs(total - 1.0) < NORMALISED_WITHIN else 1.0 / total
    mean = _moments(p, centres, scale, 0.0)[0]
    spread = _moments(p, centres, scale, mean)[1]
    # the float32 running CDF (np.cumsum's), the mode, and each quantile's bin
    best, mode, k = -np.inf, 0, 0
    cum = np.float32(0.0)
    cdf[0] = cum
    for i in range(n_bins):
        q = np.float32(p[i] * scale)
        if q > best:
            best, mode = q, i
        cum = np.float32(cum + q)
        cdf[i + 1] = cum
        while k < n_levels and cum >= levels[k]:
            _quantile(cdf[i], q, levels[k], edges[i], width, out, level_columns[k])
            k += 1
    for j in range(k, n_levels):  # level not reached (rounding): the last bin, as a search ends
        q = np.float32(p[n_bins - 1] * scale)
        _quantile(cdf[n_bins - 1], q, levels[j], edges[n_bins - 1], width, out, level_columns[j])
    # zConf: CDF at mean -+ alpha (1 + mean), linear within a bin
    mean32 = np.float32(mean)
    half = np.float32(alpha * (np.float32(1.0) + mean32))
    z_conf = 0.0
    for sign in (-1.0, 1.0):
        z = np.float64(np.float32(mean32 + np.float32(sign) * half))
        at = min(max((z - z_min) / width, 0.0), float(n_bins))
        i = min(int(at), n_bins - 1)
        z_conf += sign * (cdf[i] + (at - i) * np.float32(p[i] * scale))
    out[MEAN] = mean
    out[MODE] = centres[mode]
    out[STD] = np.sqrt(spread)
    out[ZCONF] = z_conf


def _quantile(below, mass, level, lower_edge, width, out, column):
    """Quantile of ``level`` in the bin [lower_edge, lower_edge + width) holding ``mass``."""
    fraction = np.float32(0.5)
    if mass > 0:
        fraction = min(max(np.float32(np.float32(level - below) / mass), 0.0), 1.0)
    out[column] = lower_edge + fraction * width


def _products(pdf, centres, edges, z_min, width, alpha, levels, level_columns, out):
    cdf = np.empty(pdf.shape[1] + 1, np.float32)
    for r in range(pdf.shape[0]):
        _row_products(pdf[r], centres, edges, z_min, width, alpha, levels, level_columns,
                      out[r], cdf)


if AVAILABLE:
    _sum = numba.njit(cache=True, nogil=True, fastmath=FAST)(_sum)
    _moments = numba.njit(cache=True, nogil=True, fastmath=FAST)(_moments)
    _quantile = numba.njit(cache=True, nogil=True)(_quantile)
    _row_products = numba.njit(cache=True, nogil=True)(_row_products)
    _products = numba.njit(cache=True, nogil=True)(_products)


def products_fused(pdf: np.ndarray, grid, alpha: float = 0.03,
                   out: np.ndarray | None = None) -> np.ndarray:
    """The 9 products (N, 9) float32 of ``pdf`` (N, n_bins), columns as PRODUCT_COLUMNS.

    Parameters
    ----------
    pdf : array (N, n_bins)
        Bin probabilities; cast to C-ordered float32. A row with a NaN/inf value or no
        probability gives NaN products; a row not summing to 1 within 1e-5 is normalised.
    grid : RedshiftGrid
    alpha : float
        zConf half-width in units of (1 + z).
    out : array (N, 9) float32, optional
        Written in place when given.
    """
    if not AVAILABLE:
        raise RuntimeError("numba is not installed: pip install 'nncz[fast]'")
    pdf = np.ascontiguousarray(pdf, dtype=np.float32)
    if out is None:
        out = np.empty((len(pdf), 9), dtype=np.float32)
    _products(pdf, grid.centres, grid.edges, float(grid.z_min), float(grid.width),
              float(alpha), LEVELS, LEVEL_COLUMNS, out)
    return out
