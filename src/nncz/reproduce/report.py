"""The reproduction report: Table 1, the orderings the method claims, and Figures 2-8."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.io import atomic_write

FIGURE_CAPTIONS = {
    "fig2_zphot_zspec": "Figure 2: z_phot vs z_spec (LSDR10, PS1 optical, PS1 + unWISE).",
    "fig3_sigma_nmad_vs_z": "Figure 3: sigma_NMAD vs z_spec; LSDR10 configurations | PS1 "
                            "configurations with LSDR10 dashed.",
    "fig4_example_pdfs": "Figure 4: three good and three outlier PDFs (LSDR10 test split).",
    "fig5_pit": "Figure 5: PIT before and after temperature scaling (LSDR10).",
    "fig6_nz": "Figure 6: stacked N(z) vs the true N(z), all / DESI / SDSS (LSDR10).",
    "fig7_colour_z": "Figure 7: g-r and r-z vs z_spec, SDSS and DESI by class.",
    "fig8_shap": "Figure 8: SHAP summaries of the LSDR10 and PS1 + unWISE models.",
}


def _value(table: pd.DataFrame, row: str, column: str) -> float:
    hit = table.loc[table["row"] == row, column]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def _increasing(values: list[float]) -> bool | None:
    if any(not np.isfinite(v) for v in values):
        return None
    return all(a < b for a, b in zip(values[:-1], values[1:], strict=False))


def sigma_nmad_above(pred: pd.DataFrame | None, z_min: float = 1.0) -> float:
    """sigma_NMAD of the test objects with z_spec > z_min (NaN if fewer than 5)."""
    if pred is None:
        return float("nan")
    sel = pred[(pred["z_spec"] > z_min) & np.isfinite(pred["z_phot_mean"])]
    if len(sel) < 5:
        return float("nan")
    return _metric(sel, "sigma_nmad")


def _metric(pred: pd.DataFrame, metric: str) -> float:
    from nncz.metrics import point_metrics

    ok = np.isfinite(pred["z_phot_mean"].to_numpy(float))
    return point_metrics(pred["z_phot_mean"].to_numpy(float)[ok],
                         pred["z_spec"].to_numpy(float)[ok])[metric]


def bootstrap_gaps(preds: list[pd.DataFrame | None], metric: str = "sigma_nmad",
                   n_boot: int = 500, seed: int = 0) -> list[tuple[float, float]] | None:
    """95% bootstrap intervals of ``metric(preds[k+1]) - metric(preds[k])`` for each k.

    Test sets with the same ``spec_id`` rows are resampled together (paired), others
    independently. None if a prediction table is missing or has fewer than 20 rows.
    """
    if any(p is None or len(p) < 20 for p in preds):
        return None
    rng = np.random.default_rng(seed)
    paired = all(len(p) == len(preds[0]) and "spec_id" in p and np.array_equal(
        p["spec_id"].to_numpy(), preds[0]["spec_id"].to_numpy()) for p in preds)
    draws = np.empty((n_boot, len(preds)))
    for b in range(n_boot):
        rows = rng.integers(0, len(preds[0]), len(preds[0])) if paired else None
        for k, p in enumerate(preds):
            take = rows if paired else rng.integers(0, len(p), len(p))
            draws[b, k] = _metric(p.iloc[take], metric)
    gaps = np.diff(draws, axis=1)
    return [(float(lo), float(hi)) for lo, hi in np.nanpercentile(gaps, [2.5, 97.5], axis=0).T]


def _common_objects(preds: list[pd.DataFrame | None]) -> list[pd.DataFrame] | None:
    """The rows of every table whose ``spec_id`` is in all of them, in one order."""
    if any(p is None or "spec_id" not in p for p in preds):
        return None
    common = set.intersection(*(set(p["spec_id"]) for p in preds))
    if len(common) < 20:
        return None
    return [p[p["spec_id"].isin(common)].sort_values("spec_id").reset_index(drop=True)
            for p in preds]


def _resolved(gaps: list[tuple[float, float]] | None) -> bool | None:
    """True if every gap is positive at 95%, False if one is negative at 95%, else None."""
    if gaps is None:
        return None
    if all(lo > 0 for lo, _ in gaps):
        return True
    if any(hi < 0 for _, hi in gaps):
        return False
    return None


def orderings(table: pd.DataFrame, predictions: Mapping[str, pd.DataFrame],
              n_boot: int = 500) -> pd.DataFrame:
    """The method's qualitative claims, checked on our Table 1 and on the method's.

    Returns
    -------
    DataFrame with columns claim, ours (the numbers compared), agree (True / False / None when
    a value is missing), method (True where the published values satisfy the claim; None where
    the method gives no number for it), gaps (95% bootstrap intervals of each step of the
    claimed ordering, ``n_boot`` draws; None where not computed) and resolved (True: every step
    holds at 95%; False: one step is reversed at 95%; None: not resolved by our test sets).
    """
    checks = []
    keys = ["lsdr10_full", "baseline_ann", "baseline_xgboost", "baseline_rf"]
    ours = [_value(table, k, "sigma_nmad") for k in keys]
    pub = [_value(table, k, "sigma_nmad_published") for k in keys]
    gaps = bootstrap_gaps([predictions.get(k) for k in
                           ("nnc_lsdr10", "ann_lsdr10", "xgboost_lsdr10", "rf_lsdr10")],
                          n_boot=n_boot)
    checks.append(("NNC < ANN < XGBoost < RF in sigma_NMAD", ours, _increasing(ours),
                   _increasing(pub), gaps))
    for metric in ("sigma_nmad", "eta"):
        ours = [_value(table, k, metric) for k in ("ps1_unwise", "ps1_optical")]
        pub = [_value(table, k, f"{metric}_published") for k in ("ps1_unwise", "ps1_optical")]
        gaps = bootstrap_gaps([predictions.get(k) for k in ("nnc_ps1_unwise", "nnc_ps1")],
                              metric, n_boot=n_boot)
        checks.append((f"PS1 + unWISE better than PS1 optical ({metric})", ours,
                       _increasing(ours), _increasing(pub), gaps))
    same = _common_objects([predictions.get(k) for k in
                            ("nnc_lsdr10", "nnc_ps1_unwise", "nnc_ps1")])
    ours = [float("nan")] * 3 if same is None else [_metric(p, "sigma_nmad") for p in same]
    checks.append(("LSDR10 < PS1 + unWISE < PS1 optical in sigma_NMAD, on the objects in all "
                   "three test sets", ours, _increasing(ours),
                   _increasing([_value(table, k, "sigma_nmad_published")
                                for k in ("lsdr10_full", "ps1_unwise", "ps1_optical")]),
                   None if same is None else bootstrap_gaps(same, n_boot=n_boot)))
    above = [sigma_nmad_above(predictions.get(k)) for k in
             ("nnc_lsdr10_desi", "nnc_lsdr10", "nnc_lsdr10_sdss")]
    agree = None if not np.isfinite(above).all() else above[2] > max(above[:2])
    full = predictions.get("nnc_lsdr10")
    n_high = 0 if full is None else int((full["z_spec"] > 1).sum())
    checks.append((f"SDSS-only training worse at z > 1 (sigma_NMAD of the {n_high} test objects "
                   "at z_spec > 1: DESI-only, both, SDSS-only)", above, agree, None, None))
    subsets = ["lsdr10_bright", "lsdr10_faint", "lsdr10_mass_high", "lsdr10_mass_mid",
               "lsdr10_mass_low", "lsdr10_bgs", "lsdr10_lrg", "lsdr10_elg"]
    for metric in ("sigma_nmad", "eta"):
        ours = {k: _value(table, k, metric) for k in subsets}
        pub = {k: _value(table, k, f"{metric}_published") for k in subsets}
        checks.append((f"faint (z_m >= 21) and ELG the two hardest LSDR10 subsets ({metric})",
                       [ours["lsdr10_faint"], ours["lsdr10_elg"]], _two_hardest(ours),
                       _two_hardest(pub), None))
    out = pd.DataFrame(checks, columns=["claim", "ours", "agree", "method", "gaps"])
    out["resolved"] = [_resolved(g) for g in out["gaps"]]
    return out


def _two_hardest(values: Mapping[str, float]) -> bool | None:
    finite = {k: v for k, v in values.items() if np.isfinite(v)}
    if "lsdr10_faint" not in finite or "lsdr10_elg" not in finite:
        return None
    top = sorted(finite, key=finite.get, reverse=True)[:2]
    return set(top) == {"lsdr10_faint", "lsdr10_elg"}


def _yes_no(flag: bool | None) -> str:
    return {True: "yes", False: "**no**"}.get(flag, "n/a")


def orderings_markdown(checks: pd.DataFrame) -> str:
    """The orderings as a Markdown table."""
    lines = ["| Claim | Our values | Holds for us | Steps, 95% bootstrap | Holds at 95% | "
             "Holds for the method |", "|:--|:--|:--|:--|:--|:--|"]
    for _, c in checks.iterrows():
        values = ", ".join("–" if not np.isfinite(v) else f"{v:.4g}" for v in c["ours"])
        gaps = c.get("gaps")
        steps = "–" if gaps is None else "; ".join(f"[{lo:+.2g}, {hi:+.2g}]" for lo, hi in gaps)
        resolved = {True: "yes", False: "**no**"}.get(c.get("resolved"),
                                                      "n/a" if gaps is None else "unresolved")
        lines.append(f"| {c['claim']} | {values} | {_yes_no(c['agree'])} | {steps} | "
                     f"{resolved} | {_yes_no(c['method'])} |")
    return "\n".join(lines) + "\n\nSteps: 95% bootstrap intervals of each consecutive " \
        "difference of the claimed ordering (paired when the test sets are the same objects); " \
        "a claim holds at 95% when every interval is above zero.\n"


def write_report(out_dir: str | Path, table_markdown: str, checks: pd.DataFrame,
                 figures: Mapping[str, Path], table_t1_markdown: str | None,
                 summary: Mapping[str, object]) -> Path:
    """Write ``report.md``: run summary, Table 1, orderings, figures, then Table 1 with the
    point metrics of the uncalibrated PDF mean (``table_t1_markdown``, if given)."""
    out = Path(out_dir)
    lines = ["# nncz reproduction of the NNC method's Table 1 and Figures 2-8", ""]
    lines += [f"- {k}: {v}" for k, v in summary.items()]
    lines += ["", "Our values on the mock universe; '(method)' columns are the published "
              "values on the real LSDR10 / PS1 DR2 data. A dash: no value (point-estimate "
              "baselines give no CRPS/PIT; the method gives sigma_NMAD and eta for most rows).",
              "", "## Table 1", "", table_markdown,
              "Also written as `table1.csv` and `table1.tex`.", "",
              "## Orderings claimed by the method", "", orderings_markdown(checks),
              "## Figures", ""]
    for name, path in figures.items():
        rel = Path(path).resolve().relative_to(out.resolve())
        lines += [f"### {FIGURE_CAPTIONS.get(name, name)}", "", f"![{name}]({rel.as_posix()})",
                  ""]
    if table_t1_markdown:
        lines += ["## Table 1 with the uncalibrated PDF mean (T = 1)", "",
                  "bias, sigma, sigma_NMAD and eta of the mean of the PDF before temperature "
                  "scaling (NNC rows; baselines unchanged); CRPS and PIT KS still calibrated. "
                  "Also `table1_uncalibrated_mean.{csv,md,tex}`.", "", table_t1_markdown]
    text = "\n".join(lines)
    return atomic_write(out / "report.md", lambda temp: temp.write_text(text))
