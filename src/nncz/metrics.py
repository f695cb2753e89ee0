"""Photo-z metrics exactly as the method defines them, plus PDF scores (CRPS, PIT, N(z)).

``dz = (z_phot - z_spec) / (1 + z_spec)``; an outlier has ``|dz| > 0.15``; ``eta`` is the
percentage of outliers; ``bias`` and ``sigma`` are the mean and standard deviation of ``dz`` over
non-outliers only; ``sigma_NMAD = 1.4826 median(|dz - median(dz)|)`` over all objects.

``scipy.stats`` is imported inside the functions that use it: importing it costs ~60 MB of
resident memory, which ``nncz predict`` (it imports this module through training's code) never
needs (issue 14).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nncz.grid import RedshiftGrid
from nncz.pdf import cdf_at, cdf_at_edges, normalise

OUTLIER_THRESHOLD = 0.15


def delta_z(z_phot: np.ndarray, z_spec: np.ndarray) -> np.ndarray:
    """Normalised residual ``(z_phot - z_spec) / (1 + z_spec)``."""
    z_phot = np.asarray(z_phot, dtype=np.float64)
    z_spec = np.asarray(z_spec, dtype=np.float64)
    return (z_phot - z_spec) / (1.0 + z_spec)


def sigma_nmad(dz: np.ndarray) -> float:
    """Normalised median absolute deviation of ``dz``."""
    dz = np.asarray(dz, dtype=np.float64)
    if dz.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(dz - np.median(dz))))


def point_metrics(z_phot: np.ndarray, z_spec: np.ndarray) -> dict[str, float]:
    """bias, sigma (non-outliers), sigma_NMAD (all), eta in percent and the count.

    Rows whose ``z_phot`` or ``z_spec`` is not finite (no prediction) are left out of every
    metric and counted in ``n_excluded``; ``n`` counts the rows scored.
    """
    dz = delta_z(z_phot, z_spec)
    finite = np.isfinite(dz)
    n_excluded = int((~finite).sum())
    dz = dz[finite]
    if dz.size == 0:
        nan = float("nan")
        return {"n": 0, "n_excluded": n_excluded, "bias": nan, "sigma": nan,
                "sigma_nmad": nan, "eta": nan}
    outlier = np.abs(dz) > OUTLIER_THRESHOLD
    inliers = dz[~outlier]
    return {
        "n": int(dz.size),
        "n_excluded": n_excluded,
        "bias": float(inliers.mean()) if inliers.size else float("nan"),
        "sigma": float(inliers.std()) if inliers.size else float("nan"),
        "sigma_nmad": sigma_nmad(dz),
        "eta": float(100.0 * outlier.mean()),
    }


def crps(pdf: np.ndarray, grid: RedshiftGrid, z_spec: np.ndarray) -> np.ndarray:
    """CRPS of each binned PDF, ``sum_i (F_i - 1[e_{i+1} > z_spec])^2 dz`` (the training loss).

    ``F_i`` is the CDF at the upper edge ``e_{i+1}`` of bin ``i``, and the step is taken at the
    same edge (see :func:`nncz.losses.crps_binned` for why not at the bin centre).
    """
    cumulative = np.cumsum(normalise(pdf), axis=1, dtype=np.float64)
    step = grid.edges[None, 1:] > np.asarray(z_spec, dtype=np.float64)[:, None]
    return ((cumulative - step) ** 2).sum(axis=1) * grid.width


def pit(pdf: np.ndarray, grid: RedshiftGrid, z_spec: np.ndarray) -> np.ndarray:
    """Probability integral transform: the CDF of each PDF at its true redshift."""
    return np.clip(cdf_at(normalise(pdf), grid, z_spec), 0.0, 1.0)


def pit_ks(pit_values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance of the PIT values from uniform (0 is perfect)."""
    from scipy import stats

    return float(stats.kstest(np.asarray(pit_values), "uniform").statistic)


def pit_cvm(pit_values: np.ndarray) -> float:
    """Cramer-von Mises statistic of the PIT values against uniform."""
    from scipy import stats

    return float(stats.cramervonmises(np.asarray(pit_values), "uniform").statistic)


def stacked_nz(
    pdf: np.ndarray, grid: RedshiftGrid, z_spec: np.ndarray | None = None
) -> pd.DataFrame:
    """Stacked N(z) (mean PDF as a density) and, given ``z_spec``, the true histogram density."""
    pdf = normalise(pdf)
    table = pd.DataFrame({"z": grid.centres, "nz_phot": pdf.mean(axis=0) / grid.width})
    if z_spec is not None:
        counts, _ = np.histogram(np.asarray(z_spec), bins=grid.edges)
        table["nz_true"] = counts / max(counts.sum(), 1) / grid.width
    return table


def nz_mean_shift(pdf: np.ndarray, grid: RedshiftGrid, z_spec: np.ndarray) -> float:
    """Difference between the mean of the stacked N(z) and the mean true redshift."""
    return float((normalise(pdf) @ grid.centres).mean() - np.mean(z_spec))


def evaluate(
    z_phot: np.ndarray,
    z_spec: np.ndarray,
    pdf: np.ndarray | None = None,
    grid: RedshiftGrid | None = None,
) -> dict[str, float]:
    """All metrics that apply: point metrics, and with PDFs mean CRPS, PIT KS and CvM.

    Rows without a prediction (non-finite ``z_phot``, ``z_spec`` or PDF) are excluded from
    every metric and counted in ``n_excluded``.
    """
    z_phot = np.asarray(z_phot, dtype=np.float64)
    z_spec = np.asarray(z_spec, dtype=np.float64)
    usable = np.isfinite(z_phot) & np.isfinite(z_spec)
    if pdf is not None:
        usable &= np.isfinite(np.asarray(pdf).sum(axis=1))
    result: dict[str, float] = point_metrics(z_phot[usable], z_spec[usable])
    result["n_excluded"] = int((~usable).sum())
    if pdf is not None and grid is not None and usable.sum() >= 2:
        pdf, z_spec = np.asarray(pdf)[usable], z_spec[usable]
        pit_values = pit(pdf, grid, z_spec)
        result["crps"] = float(crps(pdf, grid, z_spec).mean())
        result["pit_ks"] = pit_ks(pit_values)
        result["pit_cvm"] = pit_cvm(pit_values)
        result["nz_mean_shift"] = nz_mean_shift(pdf, grid, z_spec)
    return result


def binned_metrics(
    z_phot: np.ndarray,
    z_spec: np.ndarray,
    by_values: np.ndarray,
    bins: np.ndarray | int | None = None,
    pdf: np.ndarray | None = None,
    grid: RedshiftGrid | None = None,
) -> pd.DataFrame:
    """Metrics per bin of any column (redshift, magnitude) or per class label.

    Parameters
    ----------
    by_values : array (N,)
        The column to bin by. Numeric values are binned by ``bins`` (edges, or a number of
        equal-count bins); non-numeric values (class labels) are grouped by label.
    """
    by_values = np.asarray(by_values)
    z_phot = np.asarray(z_phot)
    z_spec = np.asarray(z_spec)
    rows = []
    if by_values.dtype.kind in "OUSb":
        for label in pd.unique(by_values):
            mask = by_values == label
            row = {"bin": str(label)}
            row.update(_metrics_for(mask, z_phot, z_spec, pdf, grid))
            rows.append(row)
        return pd.DataFrame(rows)
    if bins is None or np.isscalar(bins):
        n_bins = 10 if bins is None else int(bins)
        edges = np.nanquantile(by_values, np.linspace(0, 1, n_bins + 1))
    else:
        edges = np.asarray(bins, dtype=float)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        last = high == edges[-1]
        mask = (by_values >= low) & ((by_values <= high) if last else (by_values < high))
        row = {"bin_low": float(low), "bin_high": float(high), "bin_centre": 0.5 * (low + high)}
        row.update(_metrics_for(mask, z_phot, z_spec, pdf, grid))
        rows.append(row)
    return pd.DataFrame(rows)


def _metrics_for(mask, z_phot, z_spec, pdf, grid) -> dict[str, float]:
    sub_pdf = None if pdf is None else pdf[mask]
    return evaluate(z_phot[mask], z_spec[mask], sub_pdf, grid)


__all__ = [
    "OUTLIER_THRESHOLD",
    "binned_metrics",
    "cdf_at_edges",
    "crps",
    "delta_z",
    "evaluate",
    "nz_mean_shift",
    "pit",
    "pit_cvm",
    "pit_ks",
    "point_metrics",
    "sigma_nmad",
    "stacked_nz",
]
