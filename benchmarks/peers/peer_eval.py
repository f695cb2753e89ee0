"""Scoring of the peers benchmark: every method's qp file, one fine grid, nncz's metric code.

Each method's PDFs are read from its qp file (nncz's own through the same path as RAIL's), turned
into bin probabilities on the data set's fine grid by the ensemble's own CDF
(:func:`nncz.qpio.bin_probabilities`; mass outside the grid is dropped and rows renormalised),
and scored with :mod:`nncz.metrics`. Point estimates are the PDF mean and the PDF mode
(:func:`nncz.qpio.plateau_mode`) on that grid, for every method alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nncz import metrics, qpio
from nncz.grid import RedshiftGrid

TABLE_COLUMNS = [
    "dataset",
    "method",
    "point",
    "sigma_nmad",
    "eta",
    "bias",
    "sigma",
    "crps",
    "pit_ks",
    "pit_cvm",
    "train_s",
    "predict_s",
    "n_train",
    "n_test",
    "mass_out",
    "note",
]


def score_pdfs(pdf: np.ndarray, grid: RedshiftGrid, z_spec: np.ndarray) -> list[dict]:
    """Metrics of binned PDFs on ``grid``: one row for the PDF mean, one for the PDF mode.

    Parameters
    ----------
    pdf : array (N, grid.n_bins), probabilities per bin
    grid : RedshiftGrid, the common fine grid
    z_spec : array (N,), true redshifts

    Returns
    -------
    Two dicts with keys point, sigma_nmad, eta (percent), bias, sigma, crps, pit_ks, pit_cvm.
    The PDF scores (CRPS, PIT) do not depend on the point estimate and repeat in both rows.
    """
    pit_values = metrics.pit(pdf, grid, z_spec)
    pdf_scores = {
        "crps": float(metrics.crps(pdf, grid, z_spec).mean()),
        "pit_ks": metrics.pit_ks(pit_values),
        "pit_cvm": metrics.pit_cvm(pit_values),
    }
    rows = []
    for point, z_phot in qpio.point_estimates(pdf, grid).items():
        row = {"point": point.removeprefix("z_phot_")}
        row.update(metrics.point_metrics(z_phot, z_spec))
        row.update(pdf_scores)
        rows.append(row)
    return rows


def score_qp_file(path: str, grid: RedshiftGrid, z_spec: np.ndarray) -> list[dict]:
    """Read a qp file, evaluate it on ``grid`` and score it (see :func:`score_pdfs`).

    The rows are cached next to the file (``<file>.scores.json``) and reused while the file,
    the grid and the true redshifts are unchanged.
    """
    cache = Path(f"{path}.scores.json")
    stat = Path(path).stat()
    key = {
        "size": stat.st_size,
        "mtime": stat.st_mtime,
        "grid": grid.to_dict(),
        "n": len(z_spec),
        "z_sum": float(np.sum(z_spec)),
    }
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached["rows"]
    rows = _score_qp_file(path, grid, z_spec)
    cache.write_text(json.dumps({"key": key, "rows": rows}, default=_plain))
    return rows


def _plain(value):
    """numpy scalars as Python numbers for JSON."""
    return value.item() if isinstance(value, np.generic) else str(value)


def _score_qp_file(path: str, grid: RedshiftGrid, z_spec: np.ndarray) -> list[dict]:
    ensemble = qpio.read_qp(path)
    if ensemble.npdf != len(z_spec):
        raise ValueError(f"{path} holds {ensemble.npdf} PDFs for {len(z_spec)} test objects")
    pdf, kept = qpio.bin_probabilities(ensemble, grid)
    rows = score_pdfs(pdf, grid, z_spec)
    for row in rows:
        row["mass_out"] = float(1.0 - kept.mean())
    return rows


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """The table as strings: fixed decimals, eta in percent, '-' for missing numbers."""
    formats = {
        "sigma_nmad": "{:.4f}",
        "eta": "{:.2f}",
        "bias": "{:+.4f}",
        "sigma": "{:.4f}",
        "crps": "{:.4f}",
        "pit_ks": "{:.4f}",
        "pit_cvm": "{:.3f}",
        "train_s": "{:.1f}",
        "predict_s": "{:.1f}",
        "mass_out": "{:.4f}",
        "n_train": "{:.0f}",
        "n_test": "{:.0f}",
    }
    shown = table.astype(object).copy()
    for column in shown.columns:
        fmt = formats.get(column)
        shown[column] = [_cell(value, fmt) for value in shown[column]]
    return shown


def _cell(value, fmt: str | None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-" if fmt else ""
    if fmt and isinstance(value, (int, float, np.integer, np.floating)):
        return fmt.format(value)
    return str(value)


def format_table(table: pd.DataFrame) -> str:
    """Fixed-width text of the benchmark table."""
    return formatted(table).to_string(index=False)


def to_markdown(table: pd.DataFrame) -> str:
    """The same table as Markdown (for the issue note)."""
    shown = formatted(table)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines)
