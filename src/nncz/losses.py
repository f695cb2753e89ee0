"""Losses: the CRPS of a binned CDF (NNC) and the Huber loss (regression baseline)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crps_binned(
    logits: torch.Tensor, z_true: torch.Tensor, upper_edges: torch.Tensor, width: float
) -> torch.Tensor:
    """Mean CRPS of softmax PDFs over redshift bins.

    ``CRPS = sum_i (F_i - 1[e_{i+1} > z_true])^2 dz`` with ``F_i = sum_{j <= i} p_j`` the CDF at
    the *upper edge* ``e_{i+1}`` of bin ``i`` and ``dz`` the bin width; the batch mean is
    returned. The step is taken where the CDF is taken, so the expected loss is minimised by
    ``F_i = P(z < e_{i+1})``: bin ``i`` holds the probability of ``[e_i, e_{i+1})``, the
    convention of every other part of nncz. The method's eq. 2 compares ``F_i`` with the step at
    the bin *centre*; its minimiser puts the mass of ``(c_{i-1}, c_i]`` in bin ``i``, i.e. every
    PDF half a bin too high (see README, "Deviations").

    Parameters
    ----------
    logits : tensor (N, n_bins)
    z_true : tensor (N,)
    upper_edges : tensor (n_bins,)
        Upper edge of each bin, ``grid.edges[1:]``.
    width : float
        Bin width (redshift).
    """
    cdf = torch.cumsum(torch.softmax(logits, dim=1), dim=1)
    step = (upper_edges[None, :] > z_true[:, None]).to(cdf.dtype)
    return ((cdf - step) ** 2).sum(dim=1).mean() * width


def crps_nll_binned(
    logits: torch.Tensor, z_true: torch.Tensor, upper_edges: torch.Tensor, width: float,
    nll_weight: float
) -> torch.Tensor:
    """:func:`crps_binned` plus ``nll_weight`` times the NLL of the bin holding ``z_true``.

    The NLL term keeps every bin trainable. Under CRPS alone the gradient of a bin's logit is
    proportional to its probability, and Adam's step is invariant to the gradient's scale, so a
    bin pushed down early keeps sinking and dies: on a 10^6-galaxy mock 75 of the first 200
    bins of a 400-bin grid ended with no probability for any object, every galaxy at
    z < 0.09 was put at z = 0.093, and the NLL temperature fit gave T = 7.9. The true bin's NLL
    gradient, ``p - 1``, does not vanish.
    """
    loss = crps_binned(logits, z_true, upper_edges, width)
    if nll_weight > 0:
        z_min = upper_edges[0] - width
        index = torch.floor((z_true - z_min) / width).long().clamp(0, len(upper_edges) - 1)
        loss = loss + nll_weight * F.cross_entropy(logits, index)
    return loss


def bin_nll(
    logits: torch.Tensor, bin_index: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Mean negative log-likelihood of the true bin under ``softmax(logits / T)``."""
    return F.cross_entropy(logits / temperature, bin_index)


def huber(prediction: torch.Tensor, target: torch.Tensor, delta: float) -> torch.Tensor:
    """Mean Huber loss with transition at ``delta`` (quadratic inside, linear outside)."""
    return F.huber_loss(prediction, target, delta=delta)
