"""PIT histograms before and after calibration (method Figure 5, ``nncz evaluate``)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from nncz.plots._common import as_1d, new_figure, styled


def _clean_pit(values, name: str) -> np.ndarray:
    pit = as_1d(values, name)
    pit = pit[np.isfinite(pit)]
    if pit.size == 0:
        raise ValueError(f"{name} has no finite PIT values")
    # PIT is a CDF value; rounding can put it a hair outside [0, 1].
    return np.clip(pit, 0.0, 1.0)


@styled
def plot_pit(pit_uncalibrated, pit_calibrated=None, n_bins: int = 20,
             temperature: float | None = None, method: str | None = None) -> Figure:
    """PIT histograms (density) with the uniform expectation and the KS statistic.

    Parameters
    ----------
    pit_uncalibrated : array_like, shape (N,), or None
        PIT values, CDF(z_spec) in [0, 1], of the PDFs before temperature scaling.
        Non-finite values are left out. None when only calibrated values exist.
    pit_calibrated : array_like, shape (M,), optional
        PIT values after temperature scaling; drawn in a (second) panel when given.
    n_bins : int
        Number of histogram bins over [0, 1].
    temperature : float, optional
        Fitted temperature T, shown in the calibrated panel's title.
    method : str, optional
        Calibration method (``nncz.calibrate.METHODS``), named in the calibrated panel's title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per PIT set. Each holds the histogram as a probability density (a calibrated
        PDF gives a flat histogram at 1), the uniform line at density 1, and a legend whose
        histogram entry gives the Kolmogorov-Smirnov distance to U(0, 1) from
        :func:`nncz.metrics.pit_ks`.
    """
    from nncz.metrics import pit_ks  # imported here so importing nncz.plots stays light

    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    sets = []
    if pit_uncalibrated is not None:
        sets.append(("uncalibrated", _clean_pit(pit_uncalibrated, "pit_uncalibrated"), "tab:red"))
    if pit_calibrated is not None:
        sets.append(("calibrated", _clean_pit(pit_calibrated, "pit_calibrated"), "tab:blue"))
    if not sets:
        raise ValueError("plot_pit needs PIT values: both inputs are None")
    fig, axes = new_figure(1, len(sets), panel_size=(4.2, 3.4), sharey=True)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    top = 1.0
    for ax, (name, pit, colour) in zip(axes.flat, sets, strict=True):
        ks = pit_ks(pit)
        density, _ = np.histogram(pit, bins=edges, density=True)
        top = max(top, float(density.max()))
        ax.stairs(density, edges, fill=True, facecolor=to_rgba(colour, 0.35), edgecolor=colour,
                  linewidth=1.2, label=f"{name} (KS = {ks:.3f})", gid=f"pit_{name}")
        ax.axhline(1.0, color="k", ls="--", lw=1.0, label="uniform")
        ax.set(xlim=(0.0, 1.0), xlabel="PIT")
        ax.legend(loc="upper center", frameon=False)
        title = "before calibration" if name == "uncalibrated" else "calibrated"
        if name == "calibrated" and method == "pit":
            title += " (PIT map)"
        elif name == "calibrated" and temperature is not None:
            title += f" (T = {temperature:.3g})"
        ax.set_title(title)
    axes[0, 0].set_ylabel("probability density")
    axes[0, 0].set_ylim(0.0, max(1.5, 1.25 * top))
    return fig
