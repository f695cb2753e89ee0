"""Colour against redshift diagrams (method Figure 7)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nncz.plots._common import Z_SPEC_LABEL, as_1d, figure_of, new_figure, styled

#: Colours of the DESI target classes, fixed so that every figure uses the same ones.
CLASS_COLOURS = {"BGS": "tab:blue", "LRG": "tab:red", "ELG": "tab:green", "QSO": "tab:purple"}


def _colour_label(name: str) -> str:
    """'g-r' -> '$g - r$ [mag]'; other names pass through."""
    parts = name.split("-")
    if len(parts) == 2 and all(p.strip() for p in parts):
        return rf"${parts[0].strip()} - {parts[1].strip()}$ [mag]"
    return name


def _subsample(n: int, max_points: int | None, seed: int) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def _draw_colour_panel(ax: Axes, z: np.ndarray, colour: np.ndarray, classes, sel: np.ndarray,
                       ylabel: str) -> None:
    ok = sel[np.isfinite(z[sel]) & np.isfinite(colour[sel])]
    if classes is None:
        ax.scatter(z[ok], colour[ok], s=2, color="0.25", alpha=0.4, lw=0, rasterized=True,
                   label="all")
    else:
        labels = classes[ok]
        names, counts = np.unique(labels, return_counts=True)
        known = list(CLASS_COLOURS)
        order = sorted(names, key=lambda c: (known.index(c) if c in known else len(known), c))
        handles = {}
        # Largest classes first, so that small ones stay visible on top.
        for cls in names[np.argsort(-counts, kind="stable")]:
            m = ok[labels == cls]
            colour_of = CLASS_COLOURS.get(cls, f"C{4 + order.index(cls)}")
            handles[cls] = ax.scatter(z[m], colour[m], s=2, alpha=0.5, lw=0, rasterized=True,
                                      color=colour_of, label=cls)
        leg = ax.legend([handles[c] for c in order], order, frameon=False, markerscale=4,
                        loc="best")
        for handle in leg.legend_handles:
            handle.set_alpha(1.0)
    ax.set(xlabel=Z_SPEC_LABEL, ylabel=ylabel)


@styled
def plot_colour_z(z, colours: Mapping[str, np.ndarray], classes=None, title: str | None = None,
                  max_points: int | None = 50_000, seed: int = 0,
                  axes: np.ndarray | None = None) -> Figure:
    """Colours (e.g. g-r, r-z) against redshift, one panel per colour, in one row.

    Parameters
    ----------
    z : array_like, shape (N,)
        Redshifts (spectroscopic).
    colours : mapping name -> array_like (N,)
        Colours in AB magnitudes, e.g. ``{"g-r": g - r, "r-z": r - z}``. A name "a-b" is
        written as "$a - b$ [mag]" on the y axis.
    classes : array_like (N,) of str, optional
        Class of each object (e.g. "BGS", "LRG", "ELG"); points are then coloured by class with
        one legend entry per class (BGS, LRG, ELG, QSO first, then others alphabetically);
        the largest class is drawn first. Grey points otherwise.
    title : str, optional
        Title written on the first panel (e.g. "SDSS").
    max_points : int or None
        Draw at most this many randomly chosen objects (seeded), to keep files small.
    seed : int
        Seed of that subsample.
    axes : array of Axes, optional
        Draw into these axes (one per colour) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    z = as_1d(z, "z")
    if not colours:
        raise ValueError("plot_colour_z needs at least one colour, got none")
    cols = {name: as_1d(v, f"colours[{name!r}]") for name, v in colours.items()}
    for name, v in cols.items():
        if v.size != z.size:
            raise ValueError(f"colour {name!r} has {v.size} values, z has {z.size}")
    if classes is not None:
        classes = np.asarray(classes).astype(str)
        if classes.shape != z.shape:
            raise ValueError(f"classes has shape {classes.shape}, z has {z.shape}")
    if axes is None:
        fig, grid = new_figure(1, len(cols), panel_size=(4.2, 3.4))
        axes = grid[0]
    fig = figure_of(axes[0])
    sel = _subsample(z.size, max_points, seed)
    for ax, (name, colour) in zip(axes, cols.items(), strict=True):
        _draw_colour_panel(ax, z, colour, classes, sel, _colour_label(name))
    if title:
        axes[0].set_title(title)
    return fig


@styled
def plot_colour_z_rows(rows: Mapping[str, tuple], max_points: int | None = 50_000,
                       seed: int = 0) -> Figure:
    """Colour-redshift diagrams for several samples, one row per sample (method Figure 7).

    Parameters
    ----------
    rows : mapping name -> (z, colours) or (z, colours, classes)
        E.g. ``{"SDSS": (z_sdss, {"g-r": ..., "r-z": ...}),
        "DESI": (z_desi, {...}, desi_class)}``; every sample must have the same colour names.
        The row's name is the title of its panels.
    max_points, seed : see :func:`plot_colour_z`.

    Returns
    -------
    matplotlib.figure.Figure
        len(rows) x n_colours panels with shared x limits.
    """
    if not rows:
        raise ValueError("plot_colour_z_rows needs at least one sample, got none")
    names = [list(r[1]) for r in rows.values()]
    if any(n != names[0] for n in names):
        raise ValueError(f"all samples must have the same colours, got {names}")
    fig, grid = new_figure(len(rows), len(names[0]), panel_size=(4.2, 3.2), sharex=True,
                           sharey="col")
    for axes_row, (name, row) in zip(grid, rows.items(), strict=True):
        z, colours, classes = (tuple(row) + (None,))[:3]
        plot_colour_z(z, colours, classes=classes, max_points=max_points, seed=seed,
                      axes=axes_row)
        for ax in axes_row:
            ax.set_title(name)
    for ax in grid[:-1].flat:
        ax.set_xlabel("")
    return fig
