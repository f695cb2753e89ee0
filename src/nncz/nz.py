"""Tomographic redshift distributions n(z): stacked PDFs per bin, bootstrap errors, validation.

Galaxies are assigned to tomographic bins by a point estimate (``z_phot_mean`` by default, or
any user column) with explicit edges or N equal-count bins. Each bin's n(z) is the (optionally
weighted) sum of its calibrated PDFs on the model grid. Conventions:

* a tomographic bin is ``[t_j, t_{j+1})`` in the point estimate; grid bin ``i`` is
  ``[e_i, e_{i+1})``;
* n(z) is a piecewise-constant density (qp's ``hist``): its mean uses the bin centres, its
  median interpolates linearly inside the bin where the CDF crosses 1/2, and its width is the
  standard deviation of that density (the centres' variance plus ``width**2 / 12``);
* statistics are measured on the model grid even when n(z) is written on a coarser one;
* shifts are in units of ``1 + <z_true>``: ``(mean_stack - mean_true) / (1 + mean_true)``;
  LSST DESC's requirements (SRD, Mandelbaum et al. 2018) are 0.002 (Y1) and 0.001 (Y10) on the
  mean, 0.006 and 0.003 on the width.

Uncertainties come from a bootstrap over galaxies: replicate ``r`` resamples the N galaxies with
replacement, which gives each galaxy an integer count; the replicate's per-bin stacks are the
count-weighted sums of the PDFs, computed by matrix products on row chunks (no PDF is copied
per replicate). With per-member PDFs of an ensemble model, each replicate also resamples the
members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid
from nncz.nz_stack import bootstrap_stacks, stack_by_bin

#: LSST DESC SRD requirements on the mean and width of each source bin, in units of (1 + z).
MEAN_REQUIREMENTS = {"y1": 0.002, "y10": 0.001}
WIDTH_REQUIREMENTS = {"y1": 0.006, "y10": 0.003}


@dataclass
class TomographicNZ:
    """The n(z) of each tomographic bin, with bootstrap errors and optional truth.

    Attributes
    ----------
    edges : array (k + 1,)
        Tomographic bin edges in the point estimate (redshift).
    grid : RedshiftGrid
        Grid on which ``nz`` is given (the model grid or a coarser one).
    nz : array (k, grid.n_bins)
        Probability of each grid bin (each row sums to 1; NaN for an empty bin).
    nz_err : array (k, grid.n_bins)
        Bootstrap standard deviation of ``nz``.
    summary : DataFrame
        One row per bin: counts, mean / median / width with errors and, with truth, the shifts.
    mean_cov : array (k, k)
        Bootstrap covariance of the bin means (redshift squared).
    nz_true : array (k, grid.n_bins) or None
        Weighted histogram of the true redshifts per bin (probability per grid bin).
    point : str
        Name of the point estimate the bins were drawn in.
    n_boot, n_members : int
        Bootstrap replicates; ensemble members resampled (0: galaxies only).
    """

    edges: np.ndarray
    grid: RedshiftGrid
    nz: np.ndarray
    nz_err: np.ndarray
    summary: pd.DataFrame
    mean_cov: np.ndarray
    nz_true: np.ndarray | None
    point: str
    n_boot: int
    n_members: int = 0

    @property
    def density(self) -> np.ndarray:
        """n(z) as a density per unit redshift, shape (k, grid.n_bins)."""
        return self.nz / self.grid.width

    def to_table(self) -> pd.DataFrame:
        """Plain table: ``z`` (grid-bin centres) and ``n_1 ... n_k`` (densities per unit z)."""
        columns = {"z": self.grid.centres}
        columns.update({f"n_{j + 1}": row for j, row in enumerate(self.density)})
        return pd.DataFrame(columns)


def equal_count_edges(z_point: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of ``n_bins`` bins holding equal numbers of the finite ``z_point`` values.

    The last edge is just above the largest value, so that every galaxy falls in a
    ``[t_j, t_{j+1})`` bin.
    """
    z = np.asarray(z_point, dtype=np.float64)
    z = z[np.isfinite(z)]
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"equal-count binning needs n_bins >= 1, got {n_bins}")
    if z.size < n_bins:
        raise ValueError(f"{z.size} finite point estimates cannot fill {n_bins} bins")
    edges = np.quantile(z, np.linspace(0.0, 1.0, int(n_bins) + 1))
    edges[-1] = np.nextafter(z.max(), np.inf)
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"point estimates have too many ties for {n_bins} equal-count bins")
    return edges


def check_edges(edges) -> np.ndarray:
    """``edges`` as a strictly increasing finite float array of length >= 2 (ValueError)."""
    edges = np.asarray(edges, dtype=np.float64).ravel()
    if edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"tomographic edges must be >= 2 increasing numbers, got {edges}")
    return edges


def assign_bins(z_point: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Tomographic bin of each galaxy, ``j`` where ``t_j <= z < t_{j+1}``; -1 outside or NaN."""
    z = np.asarray(z_point, dtype=np.float64)
    labels = np.searchsorted(edges, z, side="right") - 1
    outside = ~np.isfinite(z) | (labels < 0) | (labels >= edges.size - 1)
    return np.where(outside, -1, labels).astype(np.int64)


def hist_stats(nz: np.ndarray, grid: RedshiftGrid) -> dict[str, np.ndarray]:
    """Mean, median and width of piecewise-constant distributions on ``grid``.

    Parameters
    ----------
    nz : array (..., grid.n_bins)
        Non-negative weight of each grid bin (normalised here; all-zero rows give NaN).

    Returns
    -------
    dict with ``mean``, ``median``, ``width`` (redshift), each of shape ``nz.shape[:-1]``.
    """
    nz = np.asarray(nz, dtype=np.float64)
    total = nz.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = nz / total
    mean = p @ grid.centres
    variance = p @ grid.centres**2 - mean**2 + grid.width**2 / 12.0
    cdf = np.cumsum(p, axis=-1)
    crossing = np.argmax(cdf >= 0.5, axis=-1)
    below = np.take_along_axis(cdf, crossing[..., None], -1)[..., 0]
    inside = np.take_along_axis(p, crossing[..., None], -1)[..., 0]
    below = below - inside  # CDF at the crossing bin's lower edge
    with np.errstate(invalid="ignore", divide="ignore"):
        median = grid.edges[crossing] + grid.width * (0.5 - below) / inside
    return {"mean": mean, "median": median, "width": np.sqrt(np.maximum(variance, 0.0))}


def moment_stats(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and width from weighted sums ``(..., 3)`` of ``1, z, z**2``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums[..., 1] / sums[..., 0]
        variance = sums[..., 2] / sums[..., 0] - mean**2
    return {"mean": mean, "width": np.sqrt(np.maximum(variance, 0.0))}



def _weighted_median(z: np.ndarray, weights: np.ndarray) -> float:
    if z.size == 0:
        return float("nan")
    order = np.argsort(z)
    cumulative = np.cumsum(weights[order])
    return float(z[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _check_inputs(pdf, grid, z_point, weights, z_true, members):
    pdf_rows = pdf.shape[0]
    if pdf.ndim != 2 or pdf.shape[1] != grid.n_bins:
        raise ValueError(f"pdf must have shape (N, {grid.n_bins}), got {pdf.shape}")
    for name, values in (("z_point", z_point), ("weights", weights), ("z_true", z_true)):
        if values is not None and np.shape(values) != (pdf_rows,):
            raise ValueError(f"{name} has shape {np.shape(values)}, expected ({pdf_rows},)")
    if members is not None and (members.ndim != 3 or members.shape[1:] != pdf.shape):
        raise ValueError(f"members must have shape (M, {pdf_rows}, {grid.n_bins}), "
                         f"got {members.shape}")
    if weights is not None and np.any(np.asarray(weights) < 0):
        raise ValueError("weights must be >= 0")


def _usable(pdf, z_point, weights, z_true, edges) -> tuple[np.ndarray, np.ndarray]:
    """Bin labels (-1 where a galaxy is left out) and the weights as float64."""
    labels = assign_bins(z_point, edges)
    w = np.ones(labels.size) if weights is None else np.asarray(weights, np.float64)
    bad = ~np.isfinite(w) | ~np.isfinite(np.sum(pdf, axis=1, dtype=np.float64))
    if z_true is not None:
        bad |= ~np.isfinite(np.asarray(z_true, np.float64))
    labels[bad] = -1
    return labels, np.where(bad, 0.0, w)


def tomographic_nz(
    pdf: np.ndarray,
    grid: RedshiftGrid,
    z_point: np.ndarray,
    edges=None,
    n_bins: int = 5,
    weights: np.ndarray | None = None,
    z_true: np.ndarray | None = None,
    members: np.ndarray | None = None,
    nz_bins: int | None = None,
    n_boot: int = 100,
    seed: int = 0,
    point: str = "z_phot_mean",
    block_bytes: int = 2**27,
) -> TomographicNZ:
    """Stack calibrated PDFs into the n(z) of each tomographic bin, with bootstrap errors.

    Parameters
    ----------
    pdf : array (N, grid.n_bins)
        Calibrated probability of each redshift bin per galaxy.
    grid : RedshiftGrid
        The model grid of ``pdf``.
    z_point : array (N,)
        Point estimate (redshift) the galaxies are binned by; NaN leaves a galaxy out.
    edges : sequence of float, optional
        Tomographic edges; if omitted, ``n_bins`` equal-count bins in ``z_point``.
    n_bins : int
        Number of equal-count bins when ``edges`` is omitted.
    weights : array (N,), optional
        Non-negative weight per galaxy (e.g. lensing weights); NaN leaves a galaxy out.
    z_true : array (N,), optional
        True (or spectroscopic) redshifts: adds the true histogram and the shifts.
    members : array (M, N, grid.n_bins), optional
        Per-member PDFs of an ensemble model; the bootstrap then resamples members too.
    nz_bins : int, optional
        Write n(z) on a coarser grid of this many bins (must divide ``grid.n_bins``);
        statistics are always measured on the model grid.
    n_boot : int
        Bootstrap replicates (>= 2).
    seed : int
        Seed of the bootstrap.
    point : str
        Name of the point estimate, recorded in the result.
    block_bytes : int
        Memory for bootstrap counts held at once (2 bytes per galaxy and replicate).

    Returns
    -------
    TomographicNZ
    """
    pdf = np.asarray(pdf)
    if members is not None:
        members = np.asarray(members)
    _check_inputs(pdf, grid, z_point, weights, z_true, members)
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2, got {n_boot}")
    if nz_bins is not None:
        grid.coarsen(nz_bins)  # fail before the work if nz_bins does not divide the grid
    edges = equal_count_edges(z_point, n_bins) if edges is None else check_edges(edges)
    n_tomo = edges.size - 1
    labels, w = _usable(pdf, z_point, weights, z_true, edges)
    used = labels >= 0
    n_gal = np.bincount(labels[used & (w > 0)], minlength=n_tomo)
    weight_sum = np.bincount(labels[used], w[used], minlength=n_tomo)
    _check_filled(weight_sum, edges, point)
    extra = None
    if z_true is not None:
        zt = np.where(used, np.asarray(z_true, np.float64), 0.0)
        extra = np.stack([np.ones_like(zt), zt, zt**2], axis=1)
    stack, sums = stack_by_bin(pdf, labels, n_tomo, w, extra=extra)
    boot, boot_sums = bootstrap_stacks(pdf, labels, n_tomo, w, extra, members, n_boot, seed,
                                       block_bytes)
    result = nz_from_stacks(stack[0], boot, grid, edges, n_gal, weight_sum, point, nz_bins,
                            0 if members is None else members.shape[0])
    if z_true is not None:
        _add_validation(result.summary, stack[0], boot, sums[0], boot_sums, grid, labels, w,
                        z_true)
        result.nz_true = _true_hist(z_true, labels, w, n_tomo, result.grid)
    return result


def _check_filled(weight_sum: np.ndarray, edges: np.ndarray, point: str) -> None:
    if np.any(weight_sum <= 0):
        j = int(np.flatnonzero(weight_sum <= 0)[0])
        raise ValueError(f"tomographic bin {j + 1} [{edges[j]:.4g}, {edges[j + 1]:.4g}) in "
                         f"{point} holds no usable galaxy (or only zero weights)")


def nz_from_stacks(
    stack: np.ndarray,
    boot: np.ndarray,
    grid: RedshiftGrid,
    edges: np.ndarray,
    n_gal: np.ndarray,
    weight_sum: np.ndarray,
    point: str,
    nz_bins: int | None = None,
    n_members: int = 0,
) -> TomographicNZ:
    """A :class:`TomographicNZ` (without truth) from per-bin sums of PDFs.

    Parameters
    ----------
    stack : array (k, grid.n_bins)
        Weighted sum of the PDFs of each tomographic bin.
    boot : array (R, k, grid.n_bins)
        The same sums in each bootstrap replicate.
    grid : RedshiftGrid
        Grid of the sums (statistics are measured on it).
    edges : array (k + 1,)
        Tomographic edges in ``point``.
    n_gal, weight_sum : arrays (k,)
        Galaxies (with weight > 0) and sum of weights per bin.
    point : str
        Name of the point estimate.
    nz_bins : int, optional
        Coarser grid for ``nz`` and ``nz_err``.
    n_members : int
        Ensemble members resampled in the bootstrap (0: none).
    """
    edges = check_edges(edges)
    _check_filled(np.asarray(weight_sum), edges, point)
    nominal, replicas = hist_stats(stack, grid), hist_stats(boot, grid)
    summary = pd.DataFrame({"bin": np.arange(1, edges.size), "bin_low": edges[:-1],
                            "bin_high": edges[1:], "n": np.asarray(n_gal, np.int64),
                            "weight_sum": np.asarray(weight_sum, np.float64)})
    for name in ("mean", "median", "width"):
        summary[name] = nominal[name]
        summary[f"{name}_err"] = np.nanstd(replicas[name], axis=0, ddof=1)
    out_grid = grid if nz_bins is None else grid.coarsen(nz_bins)
    nz = _normalised(_rebin(stack, grid, nz_bins))
    nz_err = _normalised(_rebin(boot, grid, nz_bins)).std(axis=0, ddof=1)
    mean_cov = np.atleast_2d(np.cov(replicas["mean"], rowvar=False))
    return TomographicNZ(edges, out_grid, nz, nz_err, summary, mean_cov, None, point,
                         boot.shape[0], n_members)


def _rebin(stacks: np.ndarray, grid: RedshiftGrid, nz_bins: int | None) -> np.ndarray:
    return stacks if nz_bins is None else grid.rebin(stacks, nz_bins)[0]


def _normalised(stacks: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return stacks / stacks.sum(axis=-1, keepdims=True)


def _add_validation(table, stack, boot, sums, boot_sums, grid, labels, w, z_true) -> None:
    """Add the true mean / median / width and the shifts in units of (1 + <z_true>)."""
    z_true = np.asarray(z_true, np.float64)
    truth, truth_boot = moment_stats(sums), moment_stats(boot_sums)
    est, est_boot = hist_stats(stack, grid), hist_stats(boot, grid)
    table["mean_true"] = truth["mean"]
    table["median_true"] = [_weighted_median(z_true[labels == j], w[labels == j])
                            for j in range(len(table))]
    table["width_true"] = truth["width"]
    for name in ("mean", "width"):
        shift = (est[name] - truth[name]) / (1.0 + truth["mean"])
        shift_boot = (est_boot[name] - truth_boot[name]) / (1.0 + truth_boot["mean"])
        table[f"shift_{name}"] = shift
        table[f"shift_{name}_err"] = np.nanstd(shift_boot, axis=0, ddof=1)
        limits = MEAN_REQUIREMENTS if name == "mean" else WIDTH_REQUIREMENTS
        prefix = "meets" if name == "mean" else "width_meets"
        for year, limit in limits.items():
            table[f"{prefix}_{year}"] = np.abs(shift) <= limit


def _true_hist(z_true, labels, w, n_tomo, grid) -> np.ndarray:
    """Weighted histogram of the true redshifts per bin on ``grid`` (probability per bin)."""
    z_true = np.asarray(z_true, np.float64)
    keep = (labels >= 0) & grid.contains(z_true)
    flat = labels[keep] * grid.n_bins + grid.bin_index(z_true[keep])
    counts = np.bincount(flat, w[keep], minlength=n_tomo * grid.n_bins)
    return _normalised(counts.reshape(n_tomo, grid.n_bins))


def tomographic_shifts(
    pdf: np.ndarray,
    grid: RedshiftGrid,
    z_point: np.ndarray,
    z_true: np.ndarray,
    edges=None,
    n_bins: int = 5,
    n_boot: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """Shift of each tomographic bin's stacked mean from the true mean, with bootstrap errors.

    Galaxies are binned by ``z_point`` (``edges``, or ``n_bins`` equal-count bins); each bin's
    calibrated PDFs are stacked and the stack's mean (bin centres) is compared with the mean of
    the true redshifts of the same galaxies.

    Parameters
    ----------
    pdf : array (N, grid.n_bins)
        Calibrated probability per redshift bin.
    grid : RedshiftGrid
    z_point, z_true : arrays (N,)
        Point estimate used for binning and true redshift (NaN rows are left out).
    edges : sequence of float, optional
        Tomographic edges; default ``n_bins`` equal-count bins.
    n_bins, n_boot, seed : int
        Equal-count bins, bootstrap replicates, bootstrap seed.

    Returns
    -------
    DataFrame, one row per bin, columns ``bin_low``, ``bin_high`` (edges in ``z_point``),
    ``n`` (galaxies), ``mean_true``, ``mean_stack`` (redshift), ``shift`` =
    ``(mean_stack - mean_true) / (1 + mean_true)``, ``shift_err`` (bootstrap standard deviation
    of ``shift``, galaxies resampled jointly for the stack and the truth), ``meets_y1``
    (``|shift| <= 0.002``) and ``meets_y10`` (``|shift| <= 0.001``).
    """
    result = tomographic_nz(pdf, grid, z_point, edges=edges, n_bins=n_bins, z_true=z_true,
                            n_boot=n_boot, seed=seed)
    table = result.summary.rename(columns={"mean": "mean_stack", "shift_mean": "shift",
                                           "shift_mean_err": "shift_err"})
    columns = ["bin_low", "bin_high", "n", "mean_true", "mean_stack", "shift", "shift_err",
               "meets_y1", "meets_y10"]
    return table[columns].reset_index(drop=True)
