"""Metrics against redshift (method Figure 3) and stacked N(z) (method Figure 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from nncz.plots._common import (
    METRIC_LABELS,
    Z_LABEL,
    Z_SPEC_LABEL,
    as_1d,
    figure_of,
    new_figure,
    styled,
)


def _curve_xy(df: pd.DataFrame, name: str, x: str | None, metric: str, min_n: int):
    if x is None:
        x = "z_centre" if "z_centre" in df.columns else "bin_centre"
    missing = [c for c in (x, metric) if c not in df.columns]
    if missing:
        raise KeyError(f"curve {name!r} lacks column(s) {missing}; it has {list(df.columns)}")
    xs = df[x].to_numpy(dtype=float)
    ys = df[metric].to_numpy(dtype=float).copy()
    if "n" in df.columns and min_n > 0:
        ys[df["n"].to_numpy() < min_n] = np.nan  # too few objects for a meaningful value
    return xs, ys


@styled
def plot_metric_vs_z(curves: Mapping[str, pd.DataFrame], metric: str | Sequence[str] = "sigma_nmad",
                     reference: Mapping[str, pd.DataFrame] | None = None, x: str | None = None,
                     min_n: int = 1, xlabel: str = Z_SPEC_LABEL, title: str | None = None,
                     ax: Axes | None = None) -> Figure:
    """A binned metric (sigma_NMAD, eta...) against redshift for several configurations.

    Parameters
    ----------
    curves : mapping name -> DataFrame
        One table per configuration with a column ``x`` (bin centre, e.g. in z_spec), the
        metric column(s) and optionally ``n`` (objects per bin). Drawn as solid lines with
        markers, labelled with the names.
    metric : str or sequence of str
        Column(s) to draw, e.g. ``"sigma_nmad"`` or ``"eta"`` (percent); one panel per metric
        (stacked vertically, shared x axis) when several are given.
    reference : mapping name -> DataFrame, optional
        Reference curve(s) (e.g. LSDR10 beside the PS1 configurations), drawn dashed in grey
        tones.
    x : str, optional
        Column holding the bin centres: ``"z_centre"``, else ``"bin_centre"`` (the column of
        :func:`nncz.metrics.binned_metrics`, whose tables can be passed as they are).
    min_n : int
        Bins with fewer objects than this (column ``n``) are not drawn.
    xlabel, title : str
        Axis label and title (of the top panel).
    ax : Axes, optional
        Draw a single metric into this axes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not curves and not reference:
        raise ValueError("plot_metric_vs_z needs at least one curve, got none")
    if ax is not None:
        if len(metrics) != 1:
            raise ValueError(f"ax= takes a single metric; got {metrics}")
        fig, axes = figure_of(ax), np.array([ax])
    else:
        fig, grid = new_figure(len(metrics), 1, panel_size=(5.2, 3.2), sharex=True)
        axes = grid[:, 0]
    for ax_m, name_m in zip(axes, metrics, strict=True):
        for name, df in curves.items():
            xs, ys = _curve_xy(df, name, x, name_m, min_n)
            ax_m.plot(xs, ys, marker="o", ms=3.5, lw=1.4, label=name)
        greys = ["k", "0.45", "0.7"]
        for i, (name, df) in enumerate((reference or {}).items()):
            xs, ys = _curve_xy(df, name, x, name_m, min_n)
            ax_m.plot(xs, ys, ls="--", lw=1.4, color=greys[i % len(greys)], label=name)
        ax_m.set_ylabel(METRIC_LABELS.get(name_m, name_m))
        if name_m in ("sigma_nmad", "eta", "sigma"):
            ax_m.set_ylim(bottom=0.0)
        ax_m.legend(frameon=False, loc="best")
    axes[-1].set_xlabel(xlabel)
    if title:
        axes[0].set_title(title)
    return fig


@styled
def plot_metric_vs_z_panels(panels: Mapping[str, Mapping[str, pd.DataFrame]],
                            metric: str = "sigma_nmad",
                            references: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
                            min_n: int = 1, xlabel: str = Z_SPEC_LABEL) -> Figure:
    """Side-by-side metric-vs-z panels sharing the y axis (method Figure 3).

    Parameters
    ----------
    panels : mapping title -> mapping name -> DataFrame
        Curves of each panel, as ``curves`` of :func:`plot_metric_vs_z`; e.g.
        ``{"LSDR10": {"grzW1W2 + i": df, "SDSS-only": df, ...}, "PS1": {...}}``.
    metric : str
        Column to draw.
    references : mapping title -> mapping name -> DataFrame, optional
        Dashed reference curves per panel (e.g. ``{"PS1": {"LSDR10": df}}``).
    min_n, xlabel : see :func:`plot_metric_vs_z`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per title, in order, titled with it.
    """
    if not panels:
        raise ValueError("plot_metric_vs_z_panels needs at least one panel, got none")
    fig, grid = new_figure(1, len(panels), panel_size=(4.6, 3.6), sharey=True)
    for ax, (title, curves) in zip(grid[0], panels.items(), strict=True):
        plot_metric_vs_z(curves, metric=metric, reference=(references or {}).get(title),
                         min_n=min_n, xlabel=xlabel, title=title, ax=ax)
    for ax in grid[0, 1:]:
        ax.set_ylabel("")
    # Each panel fixed its own y limits; rescale over all panels of the shared axis.
    for ax in grid[0]:
        ax.set_autoscaley_on(True)
        ax.relim()
    grid[0, 0].autoscale_view(scalex=False)
    if metric in ("sigma_nmad", "eta", "sigma"):
        grid[0, 0].set_ylim(bottom=0.0)
    return fig


def _edges_from_centres(centres: np.ndarray) -> np.ndarray:
    if centres.size < 2 or np.any(np.diff(centres) <= 0):
        raise ValueError("z_grid_centres must be increasing with at least two bins")
    half = 0.5 * np.diff(centres)
    return np.concatenate([[centres[0] - half[0]], centres[:-1] + half, [centres[-1] + half[-1]]])


def _nz_sets(stacked, z_true, groups, n_bins: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Normalise the three accepted input forms to [(name, stacked (n_bins,), z_true)]."""
    if isinstance(stacked, Mapping):
        if not isinstance(z_true, Mapping) or set(z_true) != set(stacked):
            raise ValueError("with stacked_pdf_nz as a mapping, z_true must be a mapping "
                             "with the same names")
        return [(k, as_1d(v, f"stacked_pdf_nz[{k!r}]"), as_1d(z_true[k], f"z_true[{k!r}]"))
                for k, v in stacked.items()]
    arr = np.asarray(stacked, dtype=float)
    z_true = as_1d(z_true, "z_true")
    if arr.ndim == 1:
        if groups:
            raise ValueError("groups need per-object PDFs: stacked_pdf_nz of shape (N, n_bins)")
        return [("all", arr, z_true)]
    if arr.ndim != 2 or arr.shape[0] != z_true.size:
        raise ValueError(f"per-object PDFs must have shape (N, n_bins) with N = len(z_true) = "
                         f"{z_true.size}, got {arr.shape}")
    sets = [("all", arr.sum(axis=0), z_true)]
    for name, mask in (groups or {}).items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != z_true.shape:
            raise ValueError(f"group {name!r} mask has shape {mask.shape}, expected {z_true.shape}")
        sets.append((name, arr[mask].sum(axis=0), z_true[mask]))
    return sets


def _auto_rebin(n_bins: int, n_objects: int) -> int:
    target = max(20, n_objects // 50)
    return next(d for d in range(1, n_bins + 1) if n_bins % d == 0 and n_bins // d <= target)


def _unit_area(values: np.ndarray, widths: np.ndarray) -> np.ndarray:
    total = float(np.sum(values * widths))
    return values / total if total > 0 else values


@styled
def plot_nz(z_grid_centres, stacked_pdf_nz, z_true, groups: Mapping[str, np.ndarray] | None = None,
            rebin: int | None = None) -> Figure:
    """Stacked photo-z N(z) against the histogram of true redshifts, one panel per group.

    Parameters
    ----------
    z_grid_centres : array_like, shape (n_bins,)
        Centres of the redshift grid bins (increasing); bin edges are placed half-way.
    stacked_pdf_nz : array_like or mapping
        One of: the stacked N(z), shape (n_bins,) (one panel, "all"); per-object PDFs, shape
        (N, n_bins), summed here ("all" panel plus one per group); or a mapping name ->
        stacked N(z) (n_bins,) with ``z_true`` a mapping with the same names (one panel each).
    z_true : array_like, shape (N,), or mapping name -> array
        True (spectroscopic) redshifts, histogrammed on the same bins.
    groups : mapping name -> bool array (N,), optional
        Sub-samples (e.g. ``{"DESI": is_desi, "SDSS": ~is_desi}``); needs per-object PDFs.
    rebin : int, optional
        Sum this many adjacent grid bins before drawing (must divide n_bins), to tame the
        shot noise of the true histogram. By default the smallest divisor of n_bins that
        leaves at most max(20, N / 50) bins, N being the smallest panel's number of objects
        (so about 50 objects per bin or more); 1 keeps the full grid.

    Returns
    -------
    matplotlib.figure.Figure
        Each panel holds two step curves normalised to unit area over the grid: the stacked
        PDFs (filled) and the true-redshift histogram; the legend names them, the title names
        the group and its number of objects.
    """
    centres = as_1d(z_grid_centres, "z_grid_centres")
    edges = _edges_from_centres(centres)
    sets = _nz_sets(stacked_pdf_nz, z_true, groups, centres.size)
    if rebin is None:
        rebin = _auto_rebin(centres.size, min(int(np.isfinite(zt).sum()) for _, _, zt in sets))
    if rebin < 1 or centres.size % rebin:
        raise ValueError(f"rebin={rebin} must be a positive divisor of n_bins={centres.size}")
    edges = edges[::rebin]
    widths = np.diff(edges)
    fig, axes = new_figure(1, len(sets), panel_size=(4.2, 3.3), sharey=True)
    for ax, (name, nz, zt) in zip(axes.flat, sets, strict=True):
        if nz.size != centres.size:
            raise ValueError(f"stacked N(z) {name!r} has {nz.size} bins, grid has {centres.size}")
        nz = _unit_area(nz.reshape(-1, rebin).sum(axis=1), widths)
        zt = zt[np.isfinite(zt)]
        hist = _unit_area(np.histogram(zt, bins=edges)[0].astype(float), widths)
        ax.stairs(nz, edges, fill=True, facecolor=to_rgba("tab:blue", 0.35),
                  edgecolor="tab:blue", lw=1.0, label="stacked PDFs", gid="nz_stacked")
        ax.stairs(hist, edges, color="k", lw=1.3, label=r"true $z_{\rm spec}$",
                  gid="nz_true")
        ax.set(xlim=(edges[0], edges[-1]), xlabel=Z_LABEL,
               title=f"{name} (N = {zt.size:,})")
        ax.set_ylim(bottom=0.0)
        ax.legend(frameon=False, loc="upper right")
    axes[0, 0].set_ylabel(r"$N(z)$, normalised")
    return fig
