"""Shared helpers for nncz figures: figure creation, labels, metric text, atomic saving.

Figures are built on :class:`matplotlib.figure.Figure` directly (not through ``pyplot``), so
drawing them never opens a window, never needs a GUI backend and never leaks figures into
pyplot's global registry; they are garbage-collected like any other object.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nncz.paths import AtomicPath

#: Axis labels used across figures (mathtext, no LaTeX installation needed).
Z_SPEC_LABEL = r"$z_{\rm spec}$"
Z_PHOT_LABEL = r"$z_{\rm phot}$"
Z_LABEL = r"$z$"
METRIC_LABELS = {
    "sigma_nmad": r"$\sigma_{\rm NMAD}$",
    "eta": r"$\eta$ [%]",
    "bias": r"bias $\langle\Delta z\rangle$",
    "sigma": r"$\sigma(\Delta z)$",
    "crps": "mean CRPS",
}

#: Outlier threshold of the method: |dz| > 0.15 with dz = (z_phot - z_spec) / (1 + z_spec).
OUTLIER_DZ = 0.15

F = TypeVar("F", bound=Callable)

_RC = {
    "font.size": 10,
    "axes.labelsize": 11,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
}


def new_figure(nrows: int = 1, ncols: int = 1, panel_size: tuple[float, float] = (4.0, 3.6),
               **subplot_kw) -> tuple[Figure, np.ndarray]:
    """Create a constrained-layout figure and a 2-D array (nrows, ncols) of axes."""
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def styled(func: F) -> F:
    """Run a plotting function under nncz's rc settings (font sizes, inward ticks)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def figure_of(ax: Axes) -> Figure:
    """The top-level Figure that holds ``ax`` (not a SubFigure)."""
    fig = ax.figure
    while getattr(fig, "figure", None) is not None and fig.figure is not fig:
        fig = fig.figure
    return fig


def as_1d(values, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float array, with an error naming ``name`` otherwise."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def finite_pairs(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    """Check two 1-D arrays have the same length and keep the rows where both are finite."""
    a = as_1d(a, names[0])
    b = as_1d(b, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} differ in length: {a.size} != {b.size}")
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def format_metrics(metrics: Mapping[str, float]) -> str:
    """Multi-line mathtext summary: sigma_NMAD, eta (percent), bias and N, those present."""
    lines = []
    if "sigma_nmad" in metrics:
        lines.append(rf"$\sigma_{{\rm NMAD}}$ = {metrics['sigma_nmad']:.4f}")
    if "eta" in metrics:
        lines.append(rf"$\eta$ = {metrics['eta']:.2f}%")
    if "bias" in metrics:
        lines.append(f"bias = {metrics['bias']:.2e}".replace("e-0", "e-").replace("e+0", "e+"))
    if "n" in metrics:
        lines.append(f"N = {int(metrics['n']):,}")
    return "\n".join(lines)


def save_figure(fig: Figure, path: str | os.PathLike, formats: Iterable[str] = ("png",),
                dpi: int = 150) -> list[Path]:
    """Write ``fig`` atomically in each format and return the paths written.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Output path; its extension (if any) is replaced by each format's, so ``"out/pit"`` and
        ``"out/pit.png"`` both give ``out/pit.png`` (and ``out/pit.pdf`` with ``formats=("png",
        "pdf")``). Parent directories are created.
    formats : iterable of str
        Any format matplotlib writes (``"png"``, ``"pdf"``, ``"svg"``...). PNG by default.
    dpi : int
        Resolution of raster formats.

    Each file is written through :class:`nncz.paths.AtomicPath` (a temporary file in the same
    directory, moved into place when complete), so a reader never sees a half-written figure.
    """
    formats = [f.lower().lstrip(".") for f in formats]
    if not formats:
        raise ValueError("save_figure needs at least one format, got none")
    base = Path(path)
    if base.suffix.lower().lstrip(".") in {"png", "pdf", "svg", "eps", "jpg", "jpeg"}:
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = base.with_name(f"{base.name}.{fmt}")
        with AtomicPath(target) as temp, open(temp, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi)
        written.append(target)
    return written
