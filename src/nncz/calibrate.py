"""Temperature scaling: one scalar T > 0 so that softmax(logits / T) is calibrated."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar


def fit_temperature(
    logits: np.ndarray | torch.Tensor,
    bin_index: np.ndarray | torch.Tensor,
    bounds: tuple[float, float] = (0.05, 20.0),
) -> float:
    """Temperature minimising the NLL of the true bin on held-out (validation) data.

    The NLL is a smooth, convex-in-practice function of ``log T``; it is minimised by a bounded
    scalar search over ``log T``, which is exact to ~1e-6 and needs no learning rate.

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

    def nll(log_t: float) -> float:
        log_p = torch.log_softmax(logits_t / np.exp(log_t), dim=1)
        return float(-log_p[torch.arange(len(target)), target].mean())

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
