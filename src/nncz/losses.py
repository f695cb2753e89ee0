"""Losses: the CRPS of a binned CDF (NNC) and the Huber loss (regression baseline)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crps_binned(
    logits: torch.Tensor, z_true: torch.Tensor, centres: torch.Tensor, width: float
) -> torch.Tensor:
    """Mean CRPS of softmax PDFs over redshift bins.

    ``CRPS = sum_i (F_i - 1[z_i >= z_true])^2 dz`` with ``F_i = sum_{j <= i} p_j``, ``z_i`` the bin
    centres and ``dz`` the bin width; the batch mean is returned.

    Parameters
    ----------
    logits : tensor (N, n_bins)
    z_true : tensor (N,)
    centres : tensor (n_bins,)
    width : float
    """
    cdf = torch.cumsum(torch.softmax(logits, dim=1), dim=1)
    step = (centres[None, :] >= z_true[:, None]).to(cdf.dtype)
    return ((cdf - step) ** 2).sum(dim=1).mean() * width


def crps_nll_binned(
    logits: torch.Tensor, z_true: torch.Tensor, centres: torch.Tensor, width: float,
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
    loss = crps_binned(logits, z_true, centres, width)
    if nll_weight > 0:
        edge = centres[0] - 0.5 * width
        index = torch.floor((z_true - edge) / width).long().clamp(0, len(centres) - 1)
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
