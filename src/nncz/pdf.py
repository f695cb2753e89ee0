"""PDF products: point estimates, intervals and zConf from binned redshift PDFs.

A PDF is an array ``pdf`` of shape (N, n_bins) holding the probability of each bin of a
:class:`~nncz.grid.RedshiftGrid`; within a bin the density is taken as uniform, so the CDF is
piecewise linear between bin edges and quantiles are exact for that density.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid

PRODUCT_COLUMNS = (
    "z_phot_mean",
    "z_phot_mode",
    "z_phot_median",
    "z_phot_std",
    "z_phot_l68",
    "z_phot_u68",
    "z_phot_l95",
    "z_phot_u95",
    "z_conf",
)


def normalise(pdf: np.ndarray) -> np.ndarray:
    """Return ``pdf`` as float32 rows summing to 1.

    A row that cannot be a PDF (a NaN or inf value, or no probability at all) becomes a row of
    NaN, so that every product computed from it is NaN too: invalid stays invalid. Rows that
    already sum to 1 within 1e-5 (softmax output) are passed through without a copy.
    """
    pdf = np.asarray(pdf, dtype=np.float32)
    total = pdf.sum(axis=-1, keepdims=True, dtype=np.float64)
    if np.all(np.abs(total - 1.0) < 1e-5):
        return pdf
    usable = np.isfinite(total) & (total > 0)
    return np.divide(pdf, total, out=np.full_like(pdf, np.nan), where=usable).astype(np.float32)


def cdf_at_edges(pdf: np.ndarray) -> np.ndarray:
    """Cumulative probability at the grid edges, shape (N, n_bins + 1), starting at 0."""
    edges_cdf = np.zeros((*pdf.shape[:-1], pdf.shape[-1] + 1), dtype=np.float32)
    np.cumsum(pdf, axis=-1, out=edges_cdf[..., 1:])
    return edges_cdf


def _cdf_from_edges(edges_cdf: np.ndarray, pdf: np.ndarray, grid: RedshiftGrid,
                    z: np.ndarray) -> np.ndarray:
    position = np.clip((np.asarray(z, dtype=np.float64) - grid.z_min) / grid.width, 0.0,
                       grid.n_bins)
    position = np.where(np.isnan(position), 0.0, position)  # NaN rows give NaN through pdf
    index = np.minimum(position.astype(np.int64), grid.n_bins - 1)
    rows = np.arange(len(index))
    return edges_cdf[rows, index] + (position - index) * pdf[rows, index]


def cdf_at(pdf: np.ndarray, grid: RedshiftGrid, z: np.ndarray) -> np.ndarray:
    """CDF of each PDF evaluated at its own redshift ``z`` (shape (N,))."""
    return _cdf_from_edges(cdf_at_edges(pdf), pdf, grid, z)


def _quantiles_from_edges(edges_cdf: np.ndarray, pdf: np.ndarray, grid: RedshiftGrid,
                          levels: np.ndarray) -> np.ndarray:
    """Quantiles (N, len(levels)) by a binary search run on all rows and levels at once.

    Each of the ~log2(n_bins) steps gathers one CDF value per row and level, so the cost is
    O(N log n_bins) and no (N, n_bins)-sized temporary is made.
    """
    n_rows, n_bins = pdf.shape
    upper = edges_cdf[:, 1:]
    targets = np.broadcast_to(levels.astype(np.float32), (n_rows, len(levels)))
    low = np.zeros(targets.shape, dtype=np.int64)  # first bin whose upper CDF >= level
    high = np.full(targets.shape, n_bins - 1, dtype=np.int64)
    active = low < high
    while np.any(active):
        middle = (low + high) // 2
        reached = np.take_along_axis(upper, middle, axis=1) >= targets
        high = np.where(active & reached, middle, high)
        low = np.where(active & ~reached, middle + 1, low)
        active = low < high
    below = np.take_along_axis(edges_cdf, low, axis=1)
    mass = np.take_along_axis(pdf, low, axis=1)
    fraction = np.divide(targets - below, mass, out=np.full(mass.shape, 0.5, np.float32),
                         where=mass > 0)
    return grid.edges[low] + np.clip(fraction, 0.0, 1.0) * grid.width


def quantile(pdf: np.ndarray, grid: RedshiftGrid, q: float) -> np.ndarray:
    """Redshift below which each PDF holds probability ``q`` (shape (N,))."""
    pdf = normalise(pdf)
    return _quantiles_from_edges(cdf_at_edges(pdf), pdf, grid, np.array([q]))[:, 0]


def pdf_products(pdf: np.ndarray, grid: RedshiftGrid, alpha: float = 0.03) -> pd.DataFrame:
    """Point estimates, spread, intervals and zConf of each PDF.

    Parameters
    ----------
    pdf : array (N, n_bins)
        Probabilities per bin.
    grid : RedshiftGrid
    alpha : float
        Half-width of the zConf window in units of (1 + z): z_conf is the probability within
        ``z_phot_mean +- alpha (1 + z_phot_mean)`` (0.03 in the method).

    Returns
    -------
    DataFrame with the columns of :data:`PRODUCT_COLUMNS` (float32). ``z_phot_std`` is the
    standard deviation of the discrete distribution over bin centres. A row that is not a PDF
    (NaN, or no probability) gives NaN in every column.
    """
    values = products_array(pdf, grid, alpha)
    return pd.DataFrame({name: values[:, j] for j, name in enumerate(PRODUCT_COLUMNS)})


def products_array(pdf: np.ndarray, grid: RedshiftGrid, alpha: float = 0.03,
                   out: np.ndarray | None = None) -> np.ndarray:
    """The products of :func:`pdf_products` as one (N, 9) float32 array (columns in
    :data:`PRODUCT_COLUMNS` order), written into ``out`` when given.

    Computed by :func:`nncz.pdf_kernel.products` (batched torch operations; a row not
    summing to 1 within 1e-5 is normalised on its own), which agrees with the reference
    :func:`products_numpy` to float32 rounding.
    """
    from nncz.pdf_kernel import products

    return products(pdf, grid, alpha, out)


def products_numpy(pdf: np.ndarray, grid: RedshiftGrid, alpha: float = 0.03) -> np.ndarray:
    """Numpy reference of :func:`products_array`: (N, 9) float32, PRODUCT_COLUMNS order."""
    pdf = normalise(pdf)
    invalid = np.isnan(pdf[:, 0]) if pdf.shape[1] else np.zeros(len(pdf), bool)
    centres = grid.centres
    centres32 = centres.astype(np.float32)
    mean = pdf @ centres32  # float32 x float32 stays in BLAS; mixed dtypes would not
    # variance as sum p (z - mean)^2: E[z^2] - E[z]^2 cancels badly in float32 for sharp PDFs
    variance = np.einsum("ij,ij->i", pdf, np.square(centres32[None, :] - mean[:, None]))
    edges_cdf = cdf_at_edges(pdf)
    half_window = alpha * (1.0 + mean)
    z_conf = (_cdf_from_edges(edges_cdf, pdf, grid, mean + half_window)
              - _cdf_from_edges(edges_cdf, pdf, grid, mean - half_window))
    levels = np.array([0.5, 0.158655, 0.841345, 0.022750, 0.977250])
    median, l68, u68, l95, u95 = _quantiles_from_edges(edges_cdf, pdf, grid, levels).T
    mode = centres[np.argmax(pdf, axis=1)]
    values = np.column_stack([mean, mode, median, np.sqrt(variance), l68, u68, l95, u95,
                              z_conf]).astype(np.float32)
    values[invalid] = np.nan
    return values


def sample_pdf(
    pdf: np.ndarray, grid: RedshiftGrid, n_samples: int, seed: int | None = 0
) -> np.ndarray:
    """Monte-Carlo redshift samples from each PDF, shape (N, n_samples).

    A bin is drawn by inverse-CDF sampling, then a redshift uniformly within that bin.
    """
    rng = np.random.default_rng(seed)
    pdf = normalise(pdf)
    cumulative = np.cumsum(pdf, axis=1)
    draws = rng.random((pdf.shape[0], n_samples))
    index = np.empty(draws.shape, dtype=np.int64)
    for row in range(pdf.shape[0]):
        index[row] = np.searchsorted(cumulative[row], draws[row], side="right")
    index = np.clip(index, 0, grid.n_bins - 1)
    return grid.edges[index] + rng.random(draws.shape) * grid.width
