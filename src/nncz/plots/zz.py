"""z_phot against z_spec density plots (method Figure 2, ``nncz evaluate``)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from nncz.plots._common import (
    OUTLIER_DZ,
    Z_PHOT_LABEL,
    Z_SPEC_LABEL,
    figure_of,
    finite_pairs,
    format_metrics,
    new_figure,
    styled,
)


def _default_zmax(*arrays: np.ndarray) -> float:
    """Round the largest redshift up to the next 0.5 (at least 0.5)."""
    top = max((float(np.max(a)) for a in arrays if a.size), default=1.0)
    return max(0.5, math.ceil(top * 2.0 - 1e-9) / 2.0)


def _reference_lines(ax: Axes, zmax: float) -> None:
    """One-to-one line and the |dz| = 0.15 (1 + z) outlier boundaries, over [0, zmax]."""
    x = np.array([0.0, zmax])
    ax.plot(x, x, color="k", lw=1.0, label="1:1", gid="one_to_one")
    ax.plot(x, x + OUTLIER_DZ * (1 + x), color="k", ls="--", lw=0.9,
            label=r"$|\Delta z| = 0.15\,(1+z_{\rm spec})$", gid="outlier_upper")
    ax.plot(x, x - OUTLIER_DZ * (1 + x), color="k", ls="--", lw=0.9, gid="outlier_lower")


@styled
def plot_zphot_zspec(z_spec, z_phot, ax: Axes | None = None, title: str | None = None,
                     metrics: Mapping[str, float] | None = None, zmax: float | None = None,
                     gridsize: int = 80, colorbar: bool = True) -> Figure:
    """Density of z_phot against z_spec with the 1:1 line, outlier bounds and metrics.

    Parameters
    ----------
    z_spec, z_phot : array_like, shape (N,)
        Spectroscopic and photometric redshifts of the same objects. Rows where either is
        not finite are left out (of the density and of the metrics).
    ax : Axes, optional
        Draw into this axes; a new one-panel figure is made otherwise.
    title : str, optional
        Panel title (e.g. the configuration's name).
    metrics : mapping, optional
        Values to print in the panel (keys ``sigma_nmad``, ``eta`` in percent, ``bias``, ``n``).
        Computed with :func:`nncz.metrics.point_metrics` when not given.
    zmax : float, optional
        Upper limit of both axes; the largest redshift rounded up to 0.5 by default.
    gridsize : int
        Number of hexagons across the x axis.
    colorbar : bool
        Add a colour bar of the number of galaxies per cell.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panel. The hexbin counts are on a logarithmic colour scale;
        objects outside [0, zmax] are not in the density but are in the metrics.
    """
    z_spec, z_phot = finite_pairs(z_spec, z_phot, ("z_spec", "z_phot"))
    if metrics is None:
        # Imported here so that importing nncz.plots stays light.
        from nncz.metrics import point_metrics

        metrics = point_metrics(z_phot, z_spec)
    zmax = _default_zmax(z_spec, z_phot) if zmax is None else float(zmax)
    if ax is None:
        fig, axes = new_figure(1, 1, panel_size=(4.6, 4.0))
        ax = axes[0, 0]
    else:
        fig = figure_of(ax)
    if z_spec.size:
        hb = ax.hexbin(z_spec, z_phot, gridsize=gridsize, extent=(0.0, zmax, 0.0, zmax),
                       mincnt=1, norm=LogNorm(), cmap="viridis", linewidths=0.0,
                       rasterized=True)
        if colorbar:
            # An inset colour bar keeps the height of the square panel.
            cax = ax.inset_axes([1.03, 0.0, 0.045, 1.0])
            fig.colorbar(hb, cax=cax, label="galaxies per cell")
    _reference_lines(ax, zmax)
    ax.set(xlim=(0.0, zmax), ylim=(0.0, zmax), xlabel=Z_SPEC_LABEL, ylabel=Z_PHOT_LABEL)
    ax.set_aspect("equal")
    ax.text(0.04, 0.96, format_metrics(metrics), transform=ax.transAxes, va="top", ha="left",
            fontsize=9, gid="metrics_text",
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
    ax.legend(loc="lower right", frameon=False)
    if title:
        ax.set_title(title)
    return fig


@styled
def plot_zphot_zspec_panels(samples: Mapping[str, tuple], zmax: float | None = None,
                            metrics: Mapping[str, Mapping[str, float]] | None = None,
                            ncols: int | None = None, gridsize: int = 80) -> Figure:
    """Side-by-side z_phot vs z_spec panels, one per configuration (method Figure 2).

    Parameters
    ----------
    samples : mapping name -> (z_spec, z_phot)
        E.g. ``{"LSDR10": (zs, zp), "PS1 optical": (...), "PS1 + unWISE": (...)}``; panel
        titles are the names, in the mapping's order.
    zmax : float, optional
        Common axis limit; the largest redshift over all samples rounded up to 0.5 by default.
    metrics : mapping name -> mapping, optional
        Metrics to print per panel; computed from the data for names not given.
    ncols : int, optional
        Panels per row (all in one row by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not samples:
        raise ValueError("plot_zphot_zspec_panels needs at least one sample, got none")
    pairs = {name: finite_pairs(zs, zp, (f"{name}: z_spec", f"{name}: z_phot"))
             for name, (zs, zp) in samples.items()}
    if zmax is None:
        zmax = _default_zmax(*[a for zs, zp in pairs.values() for a in (zs, zp)])
    ncols = len(pairs) if ncols is None else ncols
    nrows = math.ceil(len(pairs) / ncols)
    fig, axes = new_figure(nrows, ncols, panel_size=(4.4, 3.9))
    for ax, (name, (zs, zp)) in zip(axes.flat, pairs.items(), strict=False):
        plot_zphot_zspec(zs, zp, ax=ax, title=name, zmax=zmax, gridsize=gridsize,
                         metrics=None if metrics is None else metrics.get(name))
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    return fig
