"""Table 1: metrics of every row beside the method's published values; Markdown, CSV, LaTeX."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.io import atomic_write, write_table
from nncz.reproduce.configs import TABLE1_ROWS, Subset, Table1Row

METRICS = ("bias", "sigma", "sigma_nmad", "eta")
COLUMNS = ("group", "row", "label", "model", "n", "bias", "bias_published", "sigma",
           "sigma_published", "sigma_nmad", "sigma_nmad_published", "eta", "eta_published",
           "crps", "pit_ks")
HEADERS = {"label": "Configuration", "n": "N", "bias": "bias", "sigma": "sigma",
           "sigma_nmad": "sigma_NMAD", "eta": "eta [%]", "crps": "CRPS", "pit_ks": "PIT KS"}
LATEX_HEADERS = {"bias": r"bias", "sigma": r"$\sigma$", "sigma_nmad": r"$\sigma_{\rm NMAD}$",
                 "eta": r"$\eta$ [\%]", "crps": "CRPS", "pit_ks": "PIT KS"}


def subset_mask(table: pd.DataFrame, subset: Subset | None) -> np.ndarray:
    """Boolean mask (N,) of the rows of ``table`` in ``subset`` (all rows for None)."""
    if subset is None:
        return np.ones(len(table), dtype=bool)
    if subset.column not in table.columns:
        raise KeyError(f"subset column {subset.column!r} missing from the predictions; "
                       f"columns: {list(table.columns)}")
    values = table[subset.column]
    if subset.equals is not None:
        return (values.astype(str) == subset.equals).to_numpy()
    x = values.to_numpy(dtype=float)
    mask = np.isfinite(x)
    if subset.lo is not None:
        mask &= x >= subset.lo
    if subset.hi is not None:
        mask &= x < subset.hi
    return mask


def row_metrics(predictions: pd.DataFrame, subset: Subset | None = None,
                point: str = "z_phot_mean") -> dict[str, float]:
    """n, bias, sigma, sigma_NMAD, eta [%] of ``point``, and with PDFs mean CRPS and PIT KS.

    ``point`` falls back to ``z_phot_mean`` where the table lacks it (point-estimate
    baselines). Rows without a finite point redshift (bad photometry) are left out.
    """
    from nncz.metrics import pit_ks, point_metrics

    point = point if point in predictions.columns else "z_phot_mean"
    sel = predictions.loc[subset_mask(predictions, subset)]
    sel = sel[np.isfinite(sel[point].to_numpy(float))]
    result = point_metrics(sel[point].to_numpy(float), sel["z_spec"].to_numpy(float))
    result["crps"] = result["pit_ks"] = float("nan")
    if "pit" in sel.columns and len(sel) >= 1:
        result["crps"] = float(np.nanmean(sel["crps"].to_numpy(float)))
    if "pit" in sel.columns and len(sel) >= 2:
        pit_values = sel["pit"].to_numpy(float)
        result["pit_ks"] = pit_ks(pit_values[np.isfinite(pit_values)])
    return result


def build_table1(predictions: Mapping[str, pd.DataFrame],
                 rows: Iterable[Table1Row] = TABLE1_ROWS, point: str = "z_phot_mean"
                 ) -> pd.DataFrame:
    """One line per Table 1 row: our metrics and, beside each, the method's published value.

    Parameters
    ----------
    predictions : mapping model key -> DataFrame
        Test-split predictions (``z_spec``, ``z_phot_mean``, the subsets' columns, and for
        PDF models ``pit``/``crps``). A row whose model is missing gets n = 0 and NaN metrics.

    Returns
    -------
    DataFrame with :data:`COLUMNS` (eta in percent; ``*_published`` NaN where the method
    gives no value).
    """
    lines = []
    for row in rows:
        pred = predictions.get(row.model)
        nan = float("nan")
        ours = (row_metrics(pred, row.subset, point) if pred is not None else
                {"n": 0, **dict.fromkeys((*METRICS, "crps", "pit_ks"), nan)})
        line = {"group": row.group, "row": row.key, "label": row.label, "model": row.model,
                **ours}
        for metric in METRICS:
            line[f"{metric}_published"] = row.published.get(metric, nan)
        lines.append(line)
    return pd.DataFrame(lines, columns=list(COLUMNS))


def _fmt(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric == "n":
        return f"{int(value):,}"
    if metric == "bias":
        return f"{value:.2e}"
    if metric == "eta":
        return f"{value:.2f}"
    if metric == "pit_ks":
        return f"{value:.3f}"
    return f"{value:.4f}"


def _display_columns() -> list[tuple[str, str]]:
    """(column, kind) pairs in display order; kind is 'ours' or 'published'."""
    cols = [("label", "text"), ("n", "ours")]
    for metric in METRICS:
        cols += [(metric, "ours"), (f"{metric}_published", "published")]
    return cols + [("crps", "ours"), ("pit_ks", "ours")]


#: test objects below which a row's metrics are flagged as noise in the Markdown table
MIN_RELIABLE_N = 30


def to_markdown(table: pd.DataFrame) -> str:
    """Table 1 as a GitHub Markdown table; published values in '(method)' columns.

    Rows with fewer than :data:`MIN_RELIABLE_N` (but some) test objects get a dagger on N and a
    footnote: their metrics are dominated by noise.
    """
    cols = _display_columns()
    head = [HEADERS[c] if kind != "published" else
            f"{HEADERS[c.removesuffix('_published')]} (method)" for c, kind in cols]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(":--" if kind == "text" else "--:" for _, kind in cols) + "|"]
    group = None
    for _, r in table.iterrows():
        if r["group"] != group:
            group = r["group"]
            lines.append(f"| **{group}** |" + " |" * (len(cols) - 1))
        cells = [str(r[c]) if kind == "text" else _fmt(c.removesuffix("_published"), r[c])
                 for c, kind in cols]
        few = 0 < r["n"] < MIN_RELIABLE_N
        if few:
            cells[[c for c, _ in cols].index("n")] += " †"
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if ((table["n"] > 0) & (table["n"] < MIN_RELIABLE_N)).any():
        text += (f"\n† fewer than {MIN_RELIABLE_N} test objects: these metrics are dominated "
                 "by noise.\n")
    return text


def _latex_escape(text: str) -> str:
    text = text.replace("log M*", r"$\log M_*$").replace(">=", r"$\geq$").replace("<=",
                                                                                  r"$\leq$")
    text = text.replace(" < ", " $<$ ").replace("z_m", r"$z_m$")
    return text.replace("%", r"\%").replace("&", r"\&").replace("_", r"\_") if "$" not in \
        text else text


def to_latex(table: pd.DataFrame) -> str:
    """Table 1 as a LaTeX ``tabular`` (booktabs); each metric: ours, then the method's."""
    cols = _display_columns()
    spec = "l" + "r" * (len(cols) - 1)
    head1 = ["Configuration", "N"] + [rf"\multicolumn{{2}}{{c}}{{{LATEX_HEADERS[m]}}}"
                                      for m in METRICS] + ["CRPS", "PIT KS"]
    head2 = ["", ""] + ["ours", "method"] * len(METRICS) + ["", ""]
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(head1) + r" \\",
             " & ".join(head2) + r" \\", r"\midrule"]
    group = None
    for _, r in table.iterrows():
        if r["group"] != group:
            if group is not None:
                lines.append(r"\midrule")
            group = r["group"]
            lines.append(rf"\multicolumn{{{len(cols)}}}{{l}}{{\textit{{{group}}}}} \\")
        cells = [_latex_escape(str(r["label"]))] + [
            _fmt(c.removesuffix("_published"), r[c]).replace("–", "--") for c, _ in cols[1:]]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table1(table: pd.DataFrame, out_dir: str | Path, stem: str = "table1"
                 ) -> dict[str, Path]:
    """Write ``<stem>.csv`` (all columns, full precision), ``.md`` and ``.tex`` atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_table(table, out / f"{stem}.csv")}
    for kind, text in (("md", to_markdown(table)), ("tex", to_latex(table))):
        paths[kind] = atomic_write(out / f"{stem}.{kind}",
                                   lambda temp, text=text: temp.write_text(text))
    return paths
