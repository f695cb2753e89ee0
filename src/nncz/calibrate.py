"""Temperature scaling: one scalar T > 0 so that softmax(logits / T) is calibrated."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar


def fit_temperature(
    logits: np.ndarray | torch.Tensor,
    bin_index: np.ndarray | torch.Tensor,
    bounds: tuple[float, float] = (0.05, 20.0),
    floor: float = 0.0,
) -> float:
    """Temperature minimising the NLL of the true bin on held-out (validation) data.

    The NLL is a smooth, convex-in-practice function of ``log T``; it is minimised by a bounded
    scalar search over ``log T``, which is exact to ~1e-6 and needs no learning rate.

    With ``floor > 0`` the likelihood is that of the contaminated PDF
    ``(1 - floor) softmax(logits / T) + floor / n_bins``: an outlier whose true bin has
    essentially no probability then costs at most ``-log(floor / n_bins)`` instead of an
    unbounded amount, so a few catastrophic outliers cannot drive ``T`` up and flatten every
    PDF (which is what the plain NLL does to CRPS-trained networks; see the estimator notes).

    Parameters
    ----------
    logits : array (N, n_bins)
        Uncalibrated network outputs on the validation set.
    bin_index : array (N,)
        Index of the bin holding each true redshift.
    bounds : (float, float)
        Search range for T.
    """
    logits_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    target = torch.as_tensor(np.asarray(bin_index), dtype=torch.int64)
    if logits_t.ndim != 2 or len(logits_t) != len(target) or len(target) == 0:
        raise ValueError("fit_temperature needs logits (N, n_bins) and N bin indices, N > 0")

    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), got {floor}")
    rows = torch.arange(len(target))
    n_bins = logits_t.shape[1]

    def nll(log_t: float) -> float:
        log_p = torch.log_softmax(logits_t / np.exp(log_t), dim=1)[rows, target]
        if floor > 0:
            log_p = torch.logaddexp(log_p + np.log1p(-floor),
                                    torch.full_like(log_p, np.log(floor / n_bins)))
        return float(-log_p.mean())

    result = minimize_scalar(
        nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` along the last axis (float32, rows sum to 1)."""
    scaled = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=-1, keepdims=True)
    return scaled


def fit_temperature_crps(
    logits: np.ndarray, z_true: np.ndarray, centres: np.ndarray, width: float,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """Temperature minimising the mean CRPS of ``softmax(logits / T)`` (an alternative to NLL)."""
    from nncz.losses import crps_binned

    logits_t = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    z_t = torch.as_tensor(np.asarray(z_true, dtype=np.float64))
    centres_t = torch.as_tensor(np.asarray(centres), dtype=torch.float64)

    def loss(log_t: float) -> float:
        return float(crps_binned(logits_t / np.exp(log_t), z_t, centres_t, width))

    result = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])),
                             method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def fit_pit_map(pit_values: np.ndarray, n_knots: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Monotone map of [0, 1] onto itself that makes held-out PIT values uniform.

    The PIT recalibration of Bordoloi, Lilly & Amara (2010, MNRAS 406, 881): with ``G`` the
    distribution function of the validation PITs, every CDF ``F`` becomes ``G(F)``, whose PITs
    are then uniform on those rows. Unlike a temperature it also corrects a PIT histogram that
    is humped (PDFs too wide) and skewed at once. ``G`` is the monotone cubic (PCHIP)
    interpolant through the PIT quantiles at ``k / n_knots`` (few knots: smooth, and stable on
    ~10^3 rows; straight lines between the knots leave a visible PIT step in every piece).

    Parameters
    ----------
    pit_values : array (N,)
        PITs of the uncorrected PDFs on held-out rows, in [0, 1].
    n_knots : int
        Number of equal-probability pieces of ``G``.

    Returns
    -------
    (x, y) : arrays (n_knots + 1,)
        Knots of ``G``: ``x`` increasing from 0 to 1 (PIT quantiles), ``y = k / n_knots``.
    """
    values = np.asarray(pit_values, dtype=np.float64)
    if values.ndim != 1 or len(values) < n_knots or n_knots < 1:
        raise ValueError(f"fit_pit_map needs >= n_knots ({n_knots}) PIT values, got {values.shape}")
    if np.any((values < 0) | (values > 1)) or not np.all(np.isfinite(values)):
        raise ValueError("PIT values must be finite and in [0, 1]")
    levels = np.arange(n_knots + 1) / n_knots
    x = np.quantile(values, levels)
    x[0], x[-1] = 0.0, 1.0
    x = np.maximum.accumulate(x)  # quantiles are already sorted; keep it exact at ties
    return x, levels


def apply_pit_map(pdf: np.ndarray, knots: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Bin probabilities of the corrected CDF ``G(F)`` (exact on the bin edges; rows sum to 1).

    Parameters
    ----------
    pdf : array (N, n_bins)
        Bin probabilities (each row summing to 1).
    knots : (x, y)
        From :func:`fit_pit_map`.
    """
    from scipy.interpolate import PchipInterpolator

    x, y = (np.asarray(a, dtype=np.float64) for a in knots)
    # PCHIP needs strictly increasing x: tied knots (many equal PITs) collapse to their first
    # level, except that G(1) = 1 always
    x, first = np.unique(x, return_index=True)
    y = y[first]
    y[-1] = 1.0
    cdf = np.cumsum(np.asarray(pdf, dtype=np.float64), axis=1)
    cdf /= cdf[:, -1:]
    edges_cdf = np.concatenate([np.zeros((len(cdf), 1)), cdf], axis=1)
    mapped = np.clip(PchipInterpolator(x, y)(edges_cdf), 0.0, 1.0)
    mapped[:, 0], mapped[:, -1] = 0.0, 1.0
    return np.diff(np.maximum.accumulate(mapped, axis=1), axis=1)
