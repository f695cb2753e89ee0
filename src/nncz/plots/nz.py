"""Tomographic n(z): each bin's stacked n(z) against its true histogram, and the mean shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nncz.plots._common import Z_LABEL, new_figure, styled

#: LSST DESC SRD limits on the shifts of the mean and the width, in units of (1 + z).
_MEAN_LIMITS = (("Y1", 0.002), ("Y10", 0.001))
_WIDTH_LIMITS = (("Y1", 0.006), ("Y10", 0.003))


def display_rebin(n_bins: int, n_objects: int) -> int:
    """Smallest divisor of ``n_bins`` leaving at most ``max(20, n_objects / 30)`` bins."""
    target = max(20, n_objects // 30)
    return next(r for r in range(1, n_bins + 1) if n_bins % r == 0 and n_bins // r <= target)


def _coarse(values: np.ndarray, rebin: int) -> np.ndarray:
    return values.reshape(values.shape[0], -1, rebin).mean(axis=-1)


@styled
def plot_tomographic_nz(z_edges, nz, summary: pd.DataFrame, nz_true=None, nz_err=None,
                        rebin: int | None = None) -> Figure:
    """Stacked n(z) of each tomographic bin against the truth, and the shift of each mean.

    Parameters
    ----------
    z_edges : array (n_z + 1,)
        Edges of the redshift grid of ``nz``.
    nz : array (k, n_z)
        Density per unit redshift of each tomographic bin (unit area).
    summary : DataFrame
        One row per bin with ``bin``, ``bin_low``, ``bin_high``, ``n``, ``mean`` and, if
        ``nz_true`` is given, ``shift_mean``, ``shift_mean_err``, ``shift_width``,
        ``shift_width_err`` (units of 1 + z), as :attr:`nncz.nz.TomographicNZ.summary`.
    nz_true : array (k, n_z), optional
        True-redshift histograms as densities; adds the shift panel.
    nz_err : array (k, n_z), optional
        Bootstrap standard deviation of ``nz`` (density), drawn as a band.
    rebin : int, optional
        Average this many adjacent grid bins for display (a divisor of n_z); by default
        :func:`display_rebin` of the smallest bin's number of galaxies.

    Returns
    -------
    Figure
        Left: stacked n(z) (step lines, gid ``nz_stack_j``) with bands (``nz_band_j``) and
        true histograms (filled, ``nz_true_j``), one colour per bin. With truth, two more
        panels: the shift of each bin's mean (gid ``shift_mean``) and of its width
        (``shift_width``) with bootstrap errors, over the LSST DESC Y1 / Y10 bands.
    """
    edges = np.asarray(z_edges, dtype=float)
    nz = np.atleast_2d(np.asarray(nz, dtype=float))
    if nz.shape != (len(summary), edges.size - 1):
        raise ValueError(f"nz has shape {nz.shape}, expected ({len(summary)}, {edges.size - 1})")
    if rebin is None:
        rebin = display_rebin(edges.size - 1, int(summary["n"].min()))
    if rebin < 1 or (edges.size - 1) % rebin:
        raise ValueError(f"rebin={rebin} must divide the {edges.size - 1} grid bins")
    ncols = 1 if nz_true is None else 3
    ratios = [1.0] if nz_true is None else [1.6, 1.0, 1.0]
    fig, axes = new_figure(1, ncols, panel_size=(3.6, 3.8), width_ratios=ratios)
    _draw_nz(axes[0, 0], edges[::rebin], _coarse(nz, rebin), summary,
             None if nz_true is None else _coarse(np.asarray(nz_true, float), rebin),
             None if nz_err is None else _coarse(np.asarray(nz_err, float), rebin))
    if nz_true is not None:
        _draw_shifts(axes[0, 1], summary, "mean", _MEAN_LIMITS)
        _draw_shifts(axes[0, 2], summary, "width", _WIDTH_LIMITS)
    return fig


def _draw_nz(ax, edges, nz, summary, nz_true, nz_err) -> None:
    colours = [f"C{j % 10}" for j in range(nz.shape[0])]
    for j, colour in enumerate(colours):
        row = summary.iloc[j]
        if nz_true is not None:
            ax.stairs(nz_true[j], edges, fill=True, color=colour, alpha=0.22, lw=0,
                      gid=f"nz_true_{j + 1}")
        if nz_err is not None:
            ax.fill_between(edges[:-1], nz[j] - nz_err[j], nz[j] + nz_err[j], step="post",
                            color=colour, alpha=0.35, lw=0, gid=f"nz_band_{j + 1}")
        ax.stairs(nz[j], edges, color=colour, lw=1.4, gid=f"nz_stack_{j + 1}",
                  label=f"[{row['bin_low']:.2f}, {row['bin_high']:.2f})")
    upper = edges[np.flatnonzero(nz.max(axis=0) > 1e-3 * nz.max())[-1] + 1]
    ax.set(xlim=(edges[0], min(edges[-1], upper + 0.1)), xlabel=Z_LABEL,
           ylabel=r"$n(z)$ per unit $z$")
    ax.set_ylim(bottom=0.0)
    title = "stacked PDFs (lines)" + (", truth (shaded)" if nz_true is not None else "")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper right", title="bin in point estimate", ncols=1)


def _draw_shifts(ax, summary, name: str, limits) -> None:
    x = summary["bin"].to_numpy()
    for (label, limit), alpha in zip(limits, (0.12, 0.22), strict=True):
        ax.axhspan(-limit, limit, color="tab:green", alpha=alpha, lw=0,
                   label=rf"{label}: $\pm${limit}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.errorbar(x, summary[f"shift_{name}"], yerr=summary[f"shift_{name}_err"], fmt="o",
                color="k", capsize=3, gid=f"shift_{name}")
    symbol = r"\langle z\rangle" if name == "mean" else r"\sigma_z"
    ax.set(xticks=x, xlim=(x[0] - 0.5, x[-1] + 0.5), xlabel="tomographic bin",
           ylabel=rf"$\Delta {symbol}\,/\,(1+\langle z\rangle)$, stack $-$ true")
    ax.set_title(f"shift of the {name}")
    ax.legend(frameon=False, loc="best", fontsize=8)
