"""The figure set of ``nncz evaluate``: one call from predictions to named figures."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nncz.plots._common import finite_pairs, save_figure
from nncz.plots.binned import plot_metric_vs_z, plot_nz
from nncz.plots.calibration import plot_pit
from nncz.plots.zz import plot_zphot_zspec


def evaluation_figures(z_spec, z_phot, pit_uncalibrated=None, pit_calibrated=None, pdf=None,
                       z_grid_centres=None, z_bins=None, min_n: int = 10,
                       temperature: float | None = None,
                       title: str | None = None) -> dict[str, Figure]:
    """Draw the figures of an evaluation report, those the inputs allow.

    Parameters
    ----------
    z_spec, z_phot : array_like, shape (N,)
        True and photometric (PDF mean) redshifts.
    pit_uncalibrated, pit_calibrated : array_like, optional
        PIT values before / after temperature scaling (either or both).
    pdf : array_like, shape (N, n_bins), optional
        Per-object PDFs (probability per bin), with ``z_grid_centres`` (n_bins,), for N(z).
    z_bins : array_like, optional
        Edges of the z_spec bins of the metric curves; 0.1 wide up to the largest z_spec by
        default.
    min_n : int
        Bins with fewer objects are left out of the metric curves.
    temperature : float, optional
        Fitted temperature, shown on the calibrated PIT panel.
    title : str, optional
        Title of the z_phot vs z_spec panel.

    Returns
    -------
    dict name -> Figure
        ``"zphot_zspec"`` and ``"metrics_vs_z"`` (sigma_NMAD and eta against z_spec) always;
        ``"pit"`` when PIT values are given; ``"nz"`` when PDFs and grid centres are given.
    """
    from nncz.metrics import binned_metrics  # imported here so importing nncz.plots stays light

    zs, zp = finite_pairs(z_spec, z_phot, ("z_spec", "z_phot"))
    figures = {"zphot_zspec": plot_zphot_zspec(zs, zp, title=title)}
    if z_bins is None:
        top = max(0.1, math.ceil(float(np.max(zs, initial=0.0)) * 10 - 1e-9) / 10)
        z_bins = np.linspace(0.0, top, int(round(top / 0.1)) + 1)
    table = binned_metrics(zp, zs, zs, np.asarray(z_bins, dtype=float))
    figures["metrics_vs_z"] = plot_metric_vs_z({"NNC": table}, metric=["sigma_nmad", "eta"],
                                               min_n=min_n)
    if pit_uncalibrated is not None or pit_calibrated is not None:
        figures["pit"] = plot_pit(pit_uncalibrated, pit_calibrated, temperature=temperature)
    if pdf is not None and z_grid_centres is not None:
        figures["nz"] = plot_nz(z_grid_centres, pdf, z_spec)
    return figures


def save_figures(figures: Mapping[str, Figure], out_dir: str | os.PathLike,
                 formats: Iterable[str] = ("png",), dpi: int = 150) -> dict[str, list[Path]]:
    """Save each figure as ``out_dir/<name>.<format>`` (atomically); return the paths."""
    formats = tuple(formats)
    return {name: save_figure(fig, Path(out_dir) / name, formats=formats, dpi=dpi)
            for name, fig in figures.items()}
