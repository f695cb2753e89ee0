"""Evaluation report: metrics.json, binned metrics and the standard figures in one directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.io import atomic_write, write_table
from nncz.metrics import binned_metrics, evaluate, pit, stacked_nz
from nncz.pdfio import PDFSet

log = logging.getLogger("nncz")


def evaluation_report(
    table: pd.DataFrame,
    truth: str,
    point: str,
    pdfs: PDFSet | None,
    by: list[str],
    out_dir: Path,
    z_bins: np.ndarray | None = None,
    tomo_edges: np.ndarray | None = None,
    tomo_bins: int = 5,
) -> dict:
    """Compute the metrics of ``table[point]`` against ``table[truth]`` and write the report.

    Rows whose point estimate or truth is not finite (e.g. flagged inputs) are left out and
    counted in ``metrics.json`` as ``n_excluded``. With PDFs, the galaxies are also split into
    tomographic bins of the point estimate (``tomo_edges``, or ``tomo_bins`` equal-count bins)
    and each bin's stacked-PDF mean is compared with its mean true redshift, with a bootstrap
    error (``tomographic_nz.csv``; the worst ``|shift| / (1 + z)`` in ``metrics.json``).

    Returns
    -------
    dict with ``overall`` (metrics), ``binned`` (column -> DataFrame) and ``figures`` (paths).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    z_spec = table[truth].to_numpy(np.float64)
    z_phot = table[point].to_numpy(np.float64)
    usable = np.isfinite(z_spec) & np.isfinite(z_phot)
    pdf = grid = None
    if pdfs is not None:
        usable &= np.isfinite(pdfs.pdf).all(axis=1)
        pdf, grid = pdfs.pdf[usable], pdfs.grid
    z_spec, z_phot = z_spec[usable], z_phot[usable]
    overall = evaluate(z_phot, z_spec, pdf, grid)
    overall["n_excluded"] = int((~usable).sum())
    if pdfs is not None:
        overall["calibrated"] = bool(pdfs.calibrated)
        overall["calibration"] = pdfs.calibration
        overall["pdf_n_bins"] = grid.n_bins
        if pdfs.native_n_bins and pdfs.native_n_bins != grid.n_bins:
            overall["crps_note"] = (f"CRPS on the file's {grid.n_bins}-bin grid, coarser than "
                                    f"the model's {pdfs.native_n_bins} bins: it is larger than "
                                    "the native-grid CRPS")
    z_edges = z_bins if z_bins is not None else _z_edges(z_spec)
    binned = {truth: binned_metrics(z_phot, z_spec, z_spec, z_edges, pdf, grid)}
    for column in by:
        values = table[column].to_numpy()[usable]
        binned[column] = binned_metrics(z_phot, z_spec, values, None, pdf, grid)
    for column, frame in binned.items():
        write_table(frame, out_dir / f"metrics_by_{column}.csv")
    if pdf is not None and len(z_spec) >= tomo_bins:
        from nncz.nz import tomographic_shifts

        tomo = tomographic_shifts(pdf, grid, z_phot, z_spec, edges=tomo_edges, n_bins=tomo_bins)
        write_table(tomo, out_dir / "tomographic_nz.csv")
        binned["tomographic"] = tomo
        worst = int(np.argmax(np.abs(tomo["shift"].to_numpy())))
        overall["nz_shift_max_abs"] = float(abs(tomo["shift"].iloc[worst]))
        overall["nz_shift_max_err"] = float(tomo["shift_err"].iloc[worst])
        overall["nz_shift_meets_y1_all"] = bool(tomo["meets_y1"].all())
    text = json.dumps(overall, indent=2)
    atomic_write(out_dir / "metrics.json", lambda temp: temp.write_text(text))
    figures = _figures(z_spec, z_phot, pdf, grid, binned[truth], overall, out_dir)
    return {"overall": overall, "binned": binned, "figures": figures}


def _z_edges(z_spec: np.ndarray) -> np.ndarray:
    top = float(np.nanmax(z_spec)) if z_spec.size else 1.0
    return np.linspace(0.0, max(top, 0.1) * 1.0001, 13)


def _figures(z_spec, z_phot, pdf, grid, by_z, overall, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from nncz import plots

    paths: list[Path] = []

    def save(fig, name: str) -> None:
        paths.append(out_dir / f"{name}.png")
        plots.save_figure(fig, paths[-1])
        import matplotlib.pyplot as plt

        plt.close(fig)

    save(plots.plot_zphot_zspec(z_spec, z_phot), "zphot_vs_zspec")
    curve = by_z.rename(columns={"bin_centre": "z_centre"})
    save(plots.plot_metric_vs_z({"this model": curve}, metric="sigma_nmad"), "sigma_nmad_vs_z")
    if pdf is not None:
        pit_values = pit(pdf, grid, z_spec)
        if overall.get("calibrated", True):
            calibration = overall.get("calibration") or {}
            save(plots.plot_pit(None, pit_values, temperature=calibration.get("temperature"),
                                method=calibration.get("method")), "pit")
        else:  # PDFs written with --uncalibrated
            save(plots.plot_pit(pit_values), "pit")
        nz = stacked_nz(pdf, grid)
        save(plots.plot_nz(grid.centres, nz["nz_phot"].to_numpy(), z_spec), "nz")
    return paths
