"""Table 1 rows, metrics, writers, orderings and figure contents of nncz.reproduce (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reproduce_data import fake_predictions

from nncz.explain import ShapResult
from nncz.reproduce import figures as figs
from nncz.reproduce.configs import MODELS, TABLE1_ROWS, Subset, model_config
from nncz.reproduce.report import orderings, orderings_markdown
from nncz.reproduce.table import build_table1, row_metrics, subset_mask, write_table1

ISSUE_ROWS = {  # issue 5: sigma_NMAD / eta [%] as published, one entry per Table 1 row
    "LSDR10 full test set": (0.0153, 0.50), "z_m < 21": (0.0151, 0.36),
    "z_m >= 21": (0.0449, 7.29), "log M* >= 11": (0.0140, 0.40),
    "10 <= log M* < 11": (0.0160, 0.35), "log M* < 10": (0.0180, 1.43), "BGS": (0.0155, 0.31),
    "LRG": (0.0171, 0.42), "ELG": (0.0689, 10.97), "grzW1W2 + PS1 i": (0.0164, 0.34),
    "grzW1W2 (no i)": (0.0189, 0.58), "SDSS-only training": (0.0175, 0.73),
    "DESI-only training": (0.0157, 0.51), "Random forest": (0.0278, 0.64),
    "XGBoost": (0.0220, 0.58), "ANN regression": (0.0170, 0.49),
    "PS1 optical only": (0.0283, 0.62), "PS1 + unWISE": (0.0222, 0.34),
    "PS1 + unWISE, SDSS-only training": (0.0245, 0.48),
    "PS1 + unWISE, DESI-only training": (0.0224, 0.34),
}


def all_predictions(scatter: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    scatter = scatter or {}
    return {m.key: fake_predictions(seed=i, scatter=scatter.get(m.key, 0.02),
                                    with_pdf_columns=m.estimator == "nnc")
            for i, m in enumerate(MODELS)}


def test_table1_rows_match_the_issue():
    assert {r.label: (r.published["sigma_nmad"], r.published["eta"])
            for r in TABLE1_ROWS} == ISSUE_ROWS
    full = TABLE1_ROWS[0]
    assert full.published["bias"] == pytest.approx(-3.65e-4)
    assert full.published["sigma"] == pytest.approx(0.0232)
    for row in TABLE1_ROWS:
        model_config(row.model)  # every row names a trained model
    assert len({m.key for m in MODELS}) == len(MODELS) == 12


def test_subset_mask_bounds_and_labels():
    df = pd.DataFrame({"mag_z": [20.9, 21.0, np.nan, 22.0],
                       "desi_class": ["BGS", "ELG", "", "ELG"]})
    assert subset_mask(df, Subset("mag_z", hi=21.0)).tolist() == [True, False, False, False]
    assert subset_mask(df, Subset("mag_z", lo=21.0)).tolist() == [False, True, False, True]
    assert subset_mask(df, Subset("desi_class", equals="ELG")).tolist() == [False, True, False,
                                                                            True]
    with pytest.raises(KeyError, match="log_mstar"):
        subset_mask(df, Subset("log_mstar", lo=11))


def test_row_metrics_on_known_residuals():
    # 10 bright objects exact, 10 faint objects with dz = +0.3 (all outliers).
    z = np.full(20, 0.5)
    zp = np.where(np.arange(20) < 10, 0.5, 0.5 + 0.3 * 1.5)
    pred = pd.DataFrame({"z_spec": z, "z_phot_mean": zp,
                         "mag_z": np.where(np.arange(20) < 10, 19.0, 22.0)})
    bright = row_metrics(pred, Subset("mag_z", hi=21))
    faint = row_metrics(pred, Subset("mag_z", lo=21))
    assert bright["n"] == 10 and bright["eta"] == 0.0 and bright["sigma_nmad"] == 0.0
    assert faint["eta"] == 100.0 and np.isnan(faint["bias"])  # no inliers left
    assert row_metrics(pred)["eta"] == 50.0
    assert np.isnan(bright["crps"]) and np.isnan(bright["pit_ks"])  # point estimates only


def test_build_and_write_table1(tmp_path):
    preds = all_predictions()
    del preds["rf_lsdr10"]
    table = build_table1(preds)
    assert table["label"].tolist() == list(ISSUE_ROWS)
    rf = table.set_index("row").loc["baseline_rf"]
    assert rf["n"] == 0 and np.isnan(rf["sigma_nmad"]) and rf["sigma_nmad_published"] == 0.0278
    full = table.set_index("row").loc["lsdr10_full"]
    assert full["n"] == 400 and 0.01 < full["sigma_nmad"] < 0.03  # scatter 0.02 in dz
    assert np.isfinite(full["crps"]) and np.isfinite(full["pit_ks"])
    elg = table.set_index("row").loc["lsdr10_elg"]
    assert 50 < elg["n"] < 150  # a quarter of the objects are ELGs

    paths = write_table1(table, tmp_path)
    csv = pd.read_csv(paths["csv"])
    assert len(csv) == 20 and {"sigma_nmad", "sigma_nmad_published", "eta_published",
                               "crps", "pit_ks"} <= set(csv.columns)
    md = paths["md"].read_text()
    assert "sigma_NMAD (method)" in md and "| ELG |" in md and "0.0689" in md
    assert md.count("\n| ") == 20 + 3  # rows and three group lines (header is line 1)
    tex = paths["tex"].read_text()
    assert tex.startswith(r"\begin{tabular}") and tex.rstrip().endswith(r"\end{tabular}")
    assert tex.count(r"\\") == 2 + 20 + 3 and "10.97" in tex


def test_orderings_detect_agreement_and_disagreement():
    good = {"nnc_lsdr10": 0.01, "ann_lsdr10": 0.02, "xgboost_lsdr10": 0.03, "rf_lsdr10": 0.04}
    checks = orderings(build_table1(all_predictions(good)), all_predictions(good))
    first = checks.iloc[0]
    assert first["agree"] is True or first["agree"] == True  # noqa: E712
    assert first["method"] == True  # noqa: E712 published 0.0153 < 0.0170 < 0.0220 < 0.0278
    bad = {**good, "rf_lsdr10": 0.005}
    checks = orderings(build_table1(all_predictions(bad)), all_predictions(bad))
    assert checks.iloc[0]["agree"] == False  # noqa: E712
    assert "**no**" in orderings_markdown(checks)
    faint = checks[checks["claim"].str.startswith("faint")]
    assert (faint["method"] == True).all()  # noqa: E712 the method's own numbers satisfy it


def test_figure2_three_panels_with_metrics():
    fig = figs.figure2(all_predictions())
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["LSDR10", "PS1 optical", "PS1 + unWISE"]
    for ax in fig.axes[:3]:
        text = " ".join(t.get_text() for t in ax.texts)
        assert "NMAD" in text  # metrics printed in every panel


def test_figure3_panels_curves_and_reference():
    fig = figs.figure3(all_predictions(), min_n=1)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["LSDR10", "PS1"]
    lsdr10_labels = [line.get_label() for line in axes[0].get_lines()]
    assert {"LSDR10 grizW1W2", "SDSS-only training", "DESI-only training"} <= set(lsdr10_labels)
    ps1_lines = {line.get_label(): line for line in axes[1].get_lines()}
    assert {"PS1 optical", "PS1 + unWISE", "LSDR10"} <= set(ps1_lines)
    assert ps1_lines["LSDR10"].get_linestyle() == "--"
    assert "NMAD" in axes[0].get_ylabel()


def test_figures_4_5_6_from_pdfs():
    rng = np.random.default_rng(1)
    pred = fake_predictions(n=300, scatter=0.1)
    centres = (np.arange(400) + 0.5) * 0.005
    pdf = np.exp(-0.5 * ((centres[None, :] - pred["z_phot_mean"].to_numpy()[:, None])
                         / 0.05) ** 2) + 1e-6 * rng.random((300, 400))
    pdf /= pdf.sum(axis=1, keepdims=True)
    fig4 = figs.figure4(pred, pdf, centres)
    titles4 = [ax.get_title() for ax in fig4.axes if ax.get_visible()]
    assert sum("good" in t for t in titles4) == 3 and sum("outlier" in t for t in titles4) == 3
    fig5 = figs.figure5(pred, temperature=1.3)
    assert len([ax for ax in fig5.axes if ax.get_visible()]) == 2
    assert "1.3" in " ".join(ax.get_title() for ax in fig5.axes)
    fig6 = figs.figure6(pred, pdf, centres)
    titles6 = " ".join(ax.get_title() for ax in fig6.axes)
    assert "DESI" in titles6 and "SDSS" in titles6 and len(fig6.axes) == 3


def test_figure7_rows_and_classes():
    rng = np.random.default_rng(2)
    n = 300
    ds = pd.DataFrame({"z_spec": rng.uniform(0, 1.5, n), "mag_g": rng.normal(21, 1, n),
                       "mag_r": rng.normal(20, 1, n), "mag_z": rng.normal(19, 1, n),
                       "survey": rng.choice(["SDSS", "DESI"], n),
                       "desi_class": rng.choice(["BGS", "LRG", "ELG"], n)})
    fig = figs.figure7(ds)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["SDSS", "SDSS", "DESI", "DESI"]
    legend = fig.axes[2].get_legend() or fig.axes[3].get_legend()
    assert {"BGS", "LRG", "ELG"} <= {t.get_text() for t in legend.get_texts()}


def test_figure8_two_beeswarms():
    rng = np.random.default_rng(3)

    def result(n_features: int) -> ShapResult:
        names = [f"f{i}" for i in range(n_features)]
        return ShapResult(values=rng.normal(size=(30, n_features)), base_value=0.5,
                          data=rng.normal(size=(30, n_features)), feature_names=names,
                          model_name="NNCEstimator", method="permutation")

    fig = figs.figure8({"LSDR10": result(12), "PS1 + unWISE": result(34)}, max_display=10)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["LSDR10 (30 objects)",
                                                 "PS1 + unWISE (30 objects)"]
    assert all("SHAP" in ax.get_xlabel() for ax in titled)
    assert len(titled[0].get_yticklabels()) == 10  # one row per displayed feature


def test_shap_cache_round_trip(tmp_path):
    from nncz.reproduce.pipeline import load_shap, save_shap

    rng = np.random.default_rng(4)
    result = ShapResult(values=rng.normal(size=(5, 3)), base_value=0.42,
                        data=rng.normal(size=(5, 3)), feature_names=["mag_g", "mag_r", "w1"],
                        model_name="NNCEstimator", method="permutation")
    back = load_shap(save_shap(tmp_path / "shap" / "m.npz", result))
    np.testing.assert_array_equal(back.values, result.values)
    np.testing.assert_array_equal(back.data, result.data)
    assert (back.base_value, back.feature_names, back.model_name, back.method) == (
        0.42, ["mag_g", "mag_r", "w1"], "NNCEstimator", "permutation")


def test_bootstrap_gaps_resolve_clear_orderings_only():
    from nncz.reproduce.report import bootstrap_gaps

    clear = all_predictions({"nnc_lsdr10": 0.01, "ann_lsdr10": 0.03})
    gaps = bootstrap_gaps([clear["nnc_lsdr10"], clear["ann_lsdr10"]], n_boot=200)
    assert len(gaps) == 1 and gaps[0][0] > 0            # 0.01 vs 0.03 scatter: resolved
    same = all_predictions({"nnc_lsdr10": 0.02, "ann_lsdr10": 0.02})
    (lo, hi), = bootstrap_gaps([same["nnc_lsdr10"], same["ann_lsdr10"]], n_boot=200)
    assert lo < 0 < hi                                    # equal scatter: not resolved
    assert bootstrap_gaps([same["nnc_lsdr10"], None]) is None
    checks = orderings(build_table1(clear), clear, n_boot=50)
    assert {"gaps", "resolved"} <= set(checks.columns)
    assert "95% bootstrap" in orderings_markdown(checks)


def test_markdown_flags_rows_with_few_objects():
    from nncz.reproduce.table import to_markdown

    table = build_table1(all_predictions())
    assert "†" not in to_markdown(table)
    table.loc[table["row"] == "lsdr10_elg", "n"] = 3
    md = to_markdown(table)
    elg_line = next(line for line in md.splitlines() if line.startswith("| ELG |"))
    assert "3 †" in elg_line and "fewer than 30 test objects" in md


def test_ann_trains_with_every_setting_it_shares_with_nnc():
    from reproduce_data import TINY

    from nncz.reproduce.run import make_estimator

    nnc = make_estimator(model_config("nnc_lsdr10"), TINY, seed=4, verbose=False)
    ann = make_estimator(model_config("ann_lsdr10"), TINY, seed=4, verbose=False)
    nnc_params, ann_params = nnc.get_params(), ann.get_params()
    shared = set(ann_params) - {"huber_delta"}  # the ANN's own loss setting
    assert shared <= set(nnc_params)
    assert {k: ann_params[k] for k in shared} == {k: nnc_params[k] for k in shared}
    assert (ann.hidden, ann.batch_size, ann.max_epochs, ann.seed) == ((16, 16), 128, 2, 4)
