"""Figures 2-8 of the method, each a function of plain tables returning a matplotlib Figure.

The drawing is done by :mod:`nncz.plots` and :mod:`nncz.explain`; these functions pick the
configurations and objects each figure shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nncz.reproduce.configs import model_config

Z_BIN_EDGES = np.round(np.arange(0.0, 2.0001, 0.2), 2)
FIG3_LSDR10 = ("nnc_lsdr10", "nnc_lsdr10_ps1i", "nnc_lsdr10_noi", "nnc_lsdr10_sdss",
               "nnc_lsdr10_desi")
FIG3_PS1 = ("nnc_ps1", "nnc_ps1_unwise", "nnc_ps1_unwise_sdss", "nnc_ps1_unwise_desi")


def _finite(pred: pd.DataFrame) -> pd.DataFrame:
    return pred[np.isfinite(pred["z_phot_mean"].to_numpy(float))]


def figure2(predictions: Mapping[str, pd.DataFrame]) -> Figure:
    """z_phot vs z_spec density for LSDR10, PS1 optical and PS1 + unWISE (those present).

    Each panel carries the 1:1 line, the |dz| = 0.15 bounds and its metrics.
    """
    from nncz.plots import plot_zphot_zspec_panels

    names = {"nnc_lsdr10": "LSDR10", "nnc_ps1": "PS1 optical", "nnc_ps1_unwise": "PS1 + unWISE"}
    samples = {}
    for key, title in names.items():
        if key in predictions:
            pred = _finite(predictions[key])
            samples[title] = (pred["z_spec"].to_numpy(float), pred["z_phot_mean"].to_numpy(float))
    return plot_zphot_zspec_panels(samples, gridsize=40)


def binned_sigma(pred: pd.DataFrame, edges: np.ndarray = Z_BIN_EDGES) -> pd.DataFrame:
    """sigma_NMAD, eta and n per z_spec bin (``nncz.metrics.binned_metrics``)."""
    from nncz.metrics import binned_metrics

    pred = _finite(pred)
    zs = pred["z_spec"].to_numpy(float)
    return binned_metrics(pred["z_phot_mean"].to_numpy(float), zs, zs, bins=edges)


def figure3(predictions: Mapping[str, pd.DataFrame], min_n: int = 5,
            lsdr10_keys: Sequence[str] = FIG3_LSDR10,
            ps1_keys: Sequence[str] = FIG3_PS1) -> Figure:
    """sigma_NMAD vs z_spec: LSDR10 training configurations | PS1 ones with LSDR10 dashed."""
    from nncz.plots import plot_metric_vs_z_panels

    def curves(keys: Sequence[str]) -> dict[str, pd.DataFrame]:
        return {model_config(k).label: binned_sigma(predictions[k]) for k in keys
                if k in predictions}

    panels = {"LSDR10": curves(lsdr10_keys), "PS1": curves(ps1_keys)}
    panels = {title: c for title, c in panels.items() if c}
    references = None
    if "PS1" in panels and "nnc_lsdr10" in predictions:
        references = {"PS1": {"LSDR10": binned_sigma(predictions["nnc_lsdr10"])}}
    return plot_metric_vs_z_panels(panels, metric="sigma_nmad", references=references,
                                   min_n=min_n)


def figure4(pred: pd.DataFrame, pdf: np.ndarray, z_centres: np.ndarray, seed: int = 0
            ) -> Figure:
    """Six PDFs of the LSDR10 test split: three good and three outliers (fewer if none)."""
    from nncz.plots import pick_example_pdfs, plot_example_pdfs

    zs = pred["z_spec"].to_numpy(float)
    zp = pred["z_phot_mean"].to_numpy(float)
    good, outliers = pick_example_pdfs(zs, zp, seed=seed)
    idx = np.concatenate([good, outliers]).astype(int)
    titles = [f"good {i + 1}" for i in range(len(good))] + \
        [f"outlier {i + 1}" for i in range(len(outliers))]
    col = {c: pred[c].to_numpy(float)[idx] for c in ("z_phot_mean", "z_phot_l68",
                                                     "z_phot_u68", "z_conf")}
    return plot_example_pdfs(z_centres, pdf[idx], zs[idx], col["z_phot_mean"],
                             col["z_phot_l68"], col["z_phot_u68"], col["z_conf"],
                             titles=titles)


def figure5(pred: pd.DataFrame, temperature: float | None = None) -> Figure:
    """PIT histograms of the LSDR10 test split before and after temperature scaling."""
    from nncz.plots import plot_pit

    return plot_pit(pred["pit_uncalibrated"].to_numpy(float), pred["pit"].to_numpy(float),
                    temperature=temperature)


def figure6(pred: pd.DataFrame, pdf: np.ndarray, z_centres: np.ndarray) -> Figure:
    """Stacked N(z) against the true N(z): all, DESI and SDSS test sources."""
    from nncz.plots import plot_nz

    ok = np.isfinite(pdf).all(axis=1)
    survey = pred["survey"].astype(str).str.upper().to_numpy()[ok]
    groups = {name: survey == name for name in ("DESI", "SDSS") if (survey == name).any()}
    return plot_nz(z_centres, pdf[ok], pred["z_spec"].to_numpy(float)[ok], groups=groups)


def figure7(dataset: pd.DataFrame, max_points: int = 20_000, seed: int = 0) -> Figure:
    """g-r and r-z vs z_spec: SDSS (grey) and DESI coloured by BGS / LRG / ELG."""
    from nncz.plots import plot_colour_z_rows

    rows: dict[str, tuple] = {}
    for name in ("SDSS", "DESI"):
        sel = dataset[dataset["survey"].astype(str).str.upper() == name]
        if sel.empty:
            continue
        colours = {"g-r": (sel["mag_g"] - sel["mag_r"]).to_numpy(float),
                   "r-z": (sel["mag_r"] - sel["mag_z"]).to_numpy(float)}
        row: tuple = (sel["z_spec"].to_numpy(float), colours)
        if name == "DESI":
            row += (sel["desi_class"].astype(str).replace("", "other").to_numpy(),)
        rows[name] = row
    return plot_colour_z_rows(rows, max_points=max_points, seed=seed)


def figure8(results: Mapping[str, Any], max_display: int | None = None) -> Figure:
    """SHAP beeswarm summaries side by side, one panel per model.

    Parameters
    ----------
    results : mapping title -> :class:`nncz.explain.ShapResult`
        E.g. ``{"LSDR10": ..., "PS1 + unWISE": ...}``.
    """
    import shap

    if not results:
        raise ValueError("figure8 needs at least one SHAP result, got none")
    n_rows = max(len(r.feature_names) for r in results.values())
    n_rows = n_rows if max_display is None else min(n_rows, max_display)
    fig = Figure(figsize=(7.0 * len(results), 0.4 * n_rows + 2.0), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, (title, result) in zip(axes, results.items(), strict=True):
        shap.plots.beeswarm(result.to_explanation(), max_display=max_display or n_rows,
                            ax=ax, show=False, plot_size=None, color_bar=True)
        ax.set_xlabel("SHAP value of z_phot_mean")
        ax.set_title(f"{title} ({len(result.values)} objects)")
    return fig
