"""Tests of nncz.plots: each figure is checked for what it draws, not only that it ran."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

from nncz import plots

# Ten objects with hand-chosen dz = (z_phot - z_spec) / (1 + z_spec): nine inliers and one
# outlier (dz = 0.5). median(dz) = 0; |dz - 0| sorted is 0,0,0,.01,.01,.01,.01,.02,.02,.5 so
# MAD = 0.01 and sigma_NMAD = 0.014826; eta = 1/10 = 10%; bias over the nine inliers = 0.01/9.
DZ = np.array([-0.02, -0.01, -0.01, 0.0, 0.0, 0.0, 0.01, 0.01, 0.03, 0.5])
Z_SPEC = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.3])
Z_PHOT = Z_SPEC + DZ * (1 + Z_SPEC)


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found[0]


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --------------------------------------------------------------------------- z_phot vs z_spec
def test_zphot_zspec_draws_density_lines_and_metrics():
    fig = plots.plot_zphot_zspec(Z_SPEC, Z_PHOT, title="test", zmax=2.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    hexbins = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(hexbins) == 1
    assert hexbins[0].get_array().sum() == len(Z_SPEC)  # every object counted once
    assert isinstance(hexbins[0].norm, LogNorm)
    assert hexbins[0].colorbar is not None
    assert hexbins[0].colorbar.ax.get_ylabel() == "galaxies per cell"
    one = _by_gid(ax, "one_to_one")
    np.testing.assert_allclose(one.get_xydata(), [[0, 0], [2, 2]])
    # z_phot = z_spec +- 0.15 (1 + z_spec): at z_spec = 0 -> +-0.15, at 2 -> 2.45 / 1.55
    np.testing.assert_allclose(_by_gid(ax, "outlier_upper").get_ydata(), [0.15, 2.45])
    np.testing.assert_allclose(_by_gid(ax, "outlier_lower").get_ydata(), [-0.15, 1.55])
    assert ax.get_xlim() == (0.0, 2.0) and ax.get_ylim() == (0.0, 2.0)
    assert "z_{\\rm spec}" in ax.get_xlabel() and "z_{\\rm phot}" in ax.get_ylabel()
    assert ax.get_title() == "test"
    text = _by_gid(ax, "metrics_text").get_text()
    assert r"$\sigma_{\rm NMAD}$ = 0.0148" in text
    assert r"$\eta$ = 10.00%" in text
    assert "bias = 1.11e-3" in text
    assert "N = 10" in text
    assert _legend_labels(ax)[0] == "1:1"


def test_zphot_zspec_drops_nonfinite_and_uses_given_metrics():
    zs = np.append(Z_SPEC, [np.nan, 0.5])
    zp = np.append(Z_PHOT, [0.5, np.inf])
    fig = plots.plot_zphot_zspec(zs, zp)
    ax = fig.axes[0]
    assert "N = 10" in _by_gid(ax, "metrics_text").get_text()
    assert ax.get_xlim() == (0.0, 1.0)  # largest redshift 0.9 rounded up to 0.5
    fig = plots.plot_zphot_zspec(Z_SPEC, Z_PHOT, metrics={"sigma_nmad": 0.0153, "eta": 0.5})
    text = _by_gid(fig.axes[0], "metrics_text").get_text()
    assert "0.0153" in text and "0.50%" in text and "N =" not in text
    with pytest.raises(ValueError, match="differ in length"):
        plots.plot_zphot_zspec(Z_SPEC, Z_PHOT[:-1])


def test_zphot_zspec_panels_one_panel_per_sample_with_own_metrics():
    samples = {"LSDR10": (Z_SPEC, Z_PHOT), "PS1 optical": (Z_SPEC[:9], Z_PHOT[:9]),
               "PS1 + unWISE": (Z_SPEC[:4], Z_SPEC[:4])}
    fig = plots.plot_zphot_zspec_panels(samples, gridsize=10)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == list(samples)
    texts = [_by_gid(ax, "metrics_text").get_text() for ax in panels]
    assert "N = 10" in texts[0] and "10.00%" in texts[0]
    assert "N = 9" in texts[1] and "0.00%" in texts[1]   # the outlier is the 10th object
    assert r"$\sigma_{\rm NMAD}$ = 0.0000" in texts[2]   # z_phot == z_spec
    assert {ax.get_xlim() for ax in panels} == {(0.0, 1.0)}  # one common zmax


# --------------------------------------------------------------------------- PIT
def test_pit_histogram_values_uniform_line_and_ks_in_legend():
    pit_u = np.array([0.1] * 6 + [0.9] * 2)
    pit_c = np.linspace(0.05, 0.95, 8)
    fig = plots.plot_pit(pit_u, pit_c, n_bins=4, temperature=1.5)
    ax_u, ax_c = fig.axes
    step = _by_gid(ax_u, "pit_uncalibrated")
    assert isinstance(step, StepPatch)
    values, edges = step.get_data()[:2]
    np.testing.assert_allclose(edges, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(values, [3.0, 0.0, 0.0, 1.0])  # 6/8/0.25, 2/8/0.25
    np.testing.assert_allclose(_by_gid(ax_c, "pit_calibrated").get_data()[0], [1, 1, 1, 1])
    # KS by hand: the ECDF jumps to 0.75 at 0.1, so D = 0.75 - 0.1 = 0.65.
    assert _legend_labels(ax_u) == ["uncalibrated (KS = 0.650)", "uniform"]
    assert _legend_labels(ax_c)[0].startswith("calibrated (KS = ")
    for ax in (ax_u, ax_c):
        uniform = [ln for ln in ax.lines if ln.get_label() == "uniform"][0]
        np.testing.assert_allclose(uniform.get_ydata(), [1, 1])
        assert ax.get_xlabel() == "PIT"
    assert "T = 1.5" in ax_c.get_title() and "before" in ax_u.get_title()


def test_pit_single_panel_and_cleaning():
    fig = plots.plot_pit(np.array([0.2, np.nan, 1.0000001, 0.7]), n_bins=2)
    assert len(fig.axes) == 1
    values = _by_gid(fig.axes[0], "pit_uncalibrated").get_data()[0]
    # 1 of 3 finite values in [0, 0.5), 2 (0.7 and the clipped 1.0000001) in [0.5, 1]
    np.testing.assert_allclose(values, [1 / 3 / 0.5, 2 / 3 / 0.5])
    with pytest.raises(ValueError, match="no finite PIT"):
        plots.plot_pit(np.array([np.nan]))


# --------------------------------------------------------------------------- metric vs z
def _curve(values, n=(50, 50, 5)):
    return pd.DataFrame({"z_centre": [0.25, 0.75, 1.25], "sigma_nmad": values,
                         "eta": np.array(values) * 100, "n": n})


def test_metric_vs_z_curves_reference_and_masking():
    curves = {"grzW1W2": _curve([0.01, 0.02, 0.03]), "SDSS-only": _curve([0.015, 0.025, 0.05])}
    ref = {"LSDR10": _curve([0.012, 0.014, 0.016])}
    fig = plots.plot_metric_vs_z(curves, reference=ref, min_n=10)
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["grzW1W2", "SDSS-only", "LSDR10"]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.25, 0.75, 1.25])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.01, 0.02, np.nan])  # n=5 < 10
    assert ax.lines[0].get_linestyle() == "-" and ax.lines[0].get_marker() == "o"
    assert ax.lines[2].get_linestyle() == "--"
    np.testing.assert_allclose(ax.lines[2].get_ydata()[:2], [0.012, 0.014])
    assert "NMAD" in ax.get_ylabel() and "z_{\\rm spec}" in ax.get_xlabel()
    assert _legend_labels(ax) == ["grzW1W2", "SDSS-only", "LSDR10"]


def test_metric_vs_z_several_metrics_and_binned_metrics_table():
    from nncz.metrics import binned_metrics

    rng = np.random.default_rng(0)
    zs = rng.uniform(0, 1, 200)
    zp = zs + 0.02 * rng.standard_normal(200)
    table = binned_metrics(zp, zs, zs, np.array([0.0, 0.5, 1.0]))
    fig = plots.plot_metric_vs_z({"NNC": table}, metric=["sigma_nmad", "eta"])
    ax_s, ax_e = fig.axes
    np.testing.assert_allclose(ax_s.lines[0].get_xdata(), [0.25, 0.75])
    np.testing.assert_allclose(ax_s.lines[0].get_ydata(), table["sigma_nmad"])
    np.testing.assert_allclose(ax_e.lines[0].get_ydata(), table["eta"])
    assert "eta" in ax_e.get_ylabel() and "%" in ax_e.get_ylabel()
    with pytest.raises(KeyError, match="'NNC' lacks column"):
        plots.plot_metric_vs_z({"NNC": table.drop(columns="eta")}, metric="eta")


# --------------------------------------------------------------------------- N(z)
def test_nz_groups_panels_and_unit_area():
    centres = np.array([0.125, 0.375, 0.625, 0.875])
    pdf = np.zeros((4, 4))
    pdf[[0, 1, 2, 3], [0, 1, 1, 3]] = 1.0     # one-hot PDFs in bins 0, 1, 1, 3
    z_true = np.array([0.1, 0.3, 0.6, 0.9])    # true bins 0, 1, 2, 3
    desi = np.array([True, True, False, False])
    fig = plots.plot_nz(centres, pdf, z_true, groups={"DESI": desi, "SDSS": ~desi})
    assert [ax.get_title() for ax in fig.axes] == ["all (N = 4)", "DESI (N = 2)",
                                                   "SDSS (N = 2)"]
    ax_all, ax_desi, ax_sdss = fig.axes
    stacked, edges = _by_gid(ax_all, "nz_stacked").get_data()[:2]
    np.testing.assert_allclose(edges, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(stacked, np.array([1, 2, 0, 1]) / 4 / 0.25)
    np.testing.assert_allclose(_by_gid(ax_all, "nz_true").get_data()[0], [1, 1, 1, 1])
    np.testing.assert_allclose(_by_gid(ax_sdss, "nz_stacked").get_data()[0], [0, 2, 0, 2])
    np.testing.assert_allclose(_by_gid(ax_desi, "nz_true").get_data()[0], [2, 2, 0, 0])
    assert _legend_labels(ax_all) == ["stacked PDFs", r"true $z_{\rm spec}$"]
    assert "N(z)" in ax_all.get_ylabel()


def test_nz_stacked_input_rebin_and_errors():
    centres = np.array([0.125, 0.375, 0.625, 0.875])
    fig = plots.plot_nz(centres, np.array([3.0, 1.0, 0.0, 0.0]), np.array([0.1, 0.6]), rebin=2)
    ax = fig.axes[0]
    stacked, edges = _by_gid(ax, "nz_stacked").get_data()[:2]
    np.testing.assert_allclose(edges, [0, 0.5, 1.0])
    np.testing.assert_allclose(stacked, [2.0, 0.0])
    np.testing.assert_allclose(_by_gid(ax, "nz_true").get_data()[0], [1.0, 1.0])
    fig = plots.plot_nz(centres, {"a": np.ones(4), "b": np.ones(4)},
                        {"a": np.array([0.1]), "b": np.array([0.2, 0.3])})
    assert [ax.get_title() for ax in fig.axes] == ["a (N = 1)", "b (N = 2)"]
    # 400 bins and 3000 objects: at most max(20, 3000 / 50) = 60 bins -> 400 / 8 = 50 bins
    z = np.random.default_rng(0).uniform(0, 2, 3000)
    fig = plots.plot_nz((np.arange(400) + 0.5) * 0.005, np.ones(400), z)
    assert len(_by_gid(fig.axes[0], "nz_stacked").get_data()[1]) == 51
    fig = plots.plot_nz((np.arange(400) + 0.5) * 0.005, np.ones(400), z, rebin=1)
    assert len(_by_gid(fig.axes[0], "nz_stacked").get_data()[1]) == 401
    with pytest.raises(ValueError, match="rebin=3"):
        plots.plot_nz(centres, np.ones(4), np.array([0.1]), rebin=3)
    with pytest.raises(ValueError, match="per-object PDFs"):
        plots.plot_nz(centres, np.ones(4), np.array([0.1]), groups={"x": np.array([True])})


# --------------------------------------------------------------------------- example PDFs
def _gaussian_pdfs(centres, means, sigma=0.05):
    pdf = np.exp(-0.5 * ((centres[None, :] - np.asarray(means)[:, None]) / sigma) ** 2)
    return pdf / pdf.sum(axis=1, keepdims=True)


def test_example_pdfs_grid_lines_interval_and_text():
    centres = (np.arange(200) + 0.5) * 0.01
    means = np.array([0.3, 0.5, 0.8, 1.0, 1.2, 1.5])
    z_spec = means + np.array([0.0, 0.01, -0.01, 0.4, -0.5, 0.3])
    pdfs = _gaussian_pdfs(centres, means)
    titles = [f"obj {i}" for i in range(6)]
    fig = plots.plot_example_pdfs(centres, pdfs, z_spec, means, means - 0.05, means + 0.05,
                                  np.full(6, 0.42), titles)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 6
    assert [round(ax.get_position().y0, 2) for ax in axes].count(
        round(axes[0].get_position().y0, 2)) == 3   # 3 panels in the top row
    for i, ax in enumerate(axes):
        assert ax.get_title() == titles[i]
        density = _by_gid(ax, "pdf").get_data()[0]
        np.testing.assert_allclose(density, pdfs[i] / 0.01)     # probability / bin width
        np.testing.assert_allclose(_by_gid(ax, "z_spec").get_xdata(), [z_spec[i]] * 2)
        np.testing.assert_allclose(_by_gid(ax, "z_mean").get_xdata(), [means[i]] * 2)
        shade = _by_gid(ax, "interval68").get_paths()[0].vertices
        assert shade[:, 0].min() == pytest.approx(means[i] - 0.05)
        assert shade[:, 0].max() == pytest.approx(means[i] + 0.05)
        text = _by_gid(ax, "pdf_text").get_text()
        assert r"$z_{\rm conf}$ = 0.42" in text and f"{z_spec[i]:.3f}" in text
        lo, hi = ax.get_xlim()
        assert lo <= min(z_spec[i], means[i]) and hi >= max(z_spec[i], means[i])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["68% interval", r"$z_{\rm spec}$", r"$z_{\rm mean}$"]
    with pytest.raises(ValueError, match="z_conf has 5 values for 6 PDFs"):
        plots.plot_example_pdfs(centres, pdfs, z_spec, means, means, means, np.ones(5))


def test_pick_example_pdfs_good_and_outliers():
    rng = np.random.default_rng(1)
    z_spec = rng.uniform(0.05, 1.5, 300)
    dz = rng.normal(0, 0.01, 300)
    dz[:20] = rng.choice([-1, 1], 20) * rng.uniform(0.2, 0.5, 20)   # 20 outliers
    z_phot = z_spec + dz * (1 + z_spec)
    good, out = plots.pick_example_pdfs(z_spec, z_phot, n_good=3, n_out=3, seed=5)
    adz = np.abs(dz)
    assert len(good) == 3 and len(out) == 3 and len(set(good) | set(out)) == 6
    assert np.all(adz[good] <= 0.02) and np.all(adz[out] > 0.15)
    assert np.all(np.diff(z_spec[good]) > 0)
    # one good object from each third (in z_spec) of the good candidates
    cand = np.sort(z_spec[adz <= 0.02])
    thirds = np.array_split(cand, 3)
    for zg, part in zip(z_spec[good], thirds, strict=True):
        assert part[0] <= zg <= part[-1]
    again = plots.pick_example_pdfs(z_spec, z_phot, n_good=3, n_out=3, seed=5)
    np.testing.assert_array_equal(again[0], good)
    np.testing.assert_array_equal(again[1], out)
    _, few = plots.pick_example_pdfs(z_spec[20:], z_phot[20:], seed=0)
    assert few.size == 0   # no outliers to pick
    none_good, two = plots.pick_example_pdfs(z_spec[:20], z_phot[:20], n_out=2, seed=0)
    assert none_good.size == 0 and two.size == 2


# --------------------------------------------------------------------------- colours
def test_colour_z_by_class_and_plain():
    z = np.array([0.1, 0.2, 0.5, 0.6, 1.0, 1.1])
    gr = np.array([0.5, 0.6, 1.0, 1.1, 0.4, 0.45])
    rz = gr - 0.2
    classes = np.array(["BGS", "BGS", "LRG", "LRG", "ELG", "ELG"])
    fig = plots.plot_colour_z(z, {"g-r": gr, "r-z": rz}, classes=classes, title="DESI")
    ax_gr, ax_rz = fig.axes
    assert ax_gr.get_ylabel() == "$g - r$ [mag]" and ax_rz.get_ylabel() == "$r - z$ [mag]"
    assert "z_{\\rm spec}" in ax_gr.get_xlabel() and ax_gr.get_title() == "DESI"
    assert _legend_labels(ax_gr) == ["BGS", "LRG", "ELG"]
    offsets = {c.get_label(): c.get_offsets() for c in ax_gr.collections}
    np.testing.assert_allclose(offsets["LRG"], [[0.5, 1.0], [0.6, 1.1]])
    np.testing.assert_allclose(offsets["ELG"], [[1.0, 0.4], [1.1, 0.45]])
    fig = plots.plot_colour_z(z, {"g-r": gr}, max_points=4)
    (coll,) = fig.axes[0].collections
    pts = coll.get_offsets()
    assert len(pts) == 4 and {tuple(p) for p in pts} <= set(zip(z, gr, strict=True))


def test_colour_z_rows_grid():
    z = np.linspace(0.1, 1.0, 8)
    cols = {"g-r": z, "r-z": 2 * z}
    classes = ["BGS"] * 4 + ["LRG"] * 4
    fig = plots.plot_colour_z_rows({"SDSS": (z, cols), "DESI": (z, cols, classes)})
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["SDSS", "SDSS", "DESI", "DESI"]
    assert fig.axes[0].get_legend() is None
    assert _legend_labels(fig.axes[2]) == ["BGS", "LRG"]
    assert fig.axes[0].get_xlabel() == "" and "spec" in fig.axes[2].get_xlabel()
    with pytest.raises(ValueError, match="same colours"):
        plots.plot_colour_z_rows({"a": (z, cols), "b": (z, {"g-r": z})})


# --------------------------------------------------------------------------- saving
def test_save_figure_png_and_pdf_atomically(tmp_path):
    fig = plots.plot_pit(np.linspace(0, 1, 11))
    written = plots.save_figure(fig, tmp_path / "sub" / "pit.png", formats=("png", "pdf"), dpi=30)
    assert written == [tmp_path / "sub" / "pit.png", tmp_path / "sub" / "pit.pdf"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written[1].read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["pit.pdf", "pit.png"]
    with pytest.raises(ValueError):
        plots.save_figure(fig, tmp_path / "bad", formats=("nosuchformat",))
    assert not list(tmp_path.glob(".bad*")) and not (tmp_path / "bad.nosuchformat").exists()


def test_plots_never_import_torch():
    code = ("import sys, nncz; before = 'torch' in sys.modules\n"
            "import numpy as np; from nncz import plots\n"
            "z = np.linspace(0.1, 1, 20)\n"
            "plots.evaluation_figures(z, z, pit_calibrated=z, pdf=np.eye(20),\n"
            "                         z_grid_centres=(np.arange(20) + 0.5) / 20)\n"
            "print(before, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = out.stdout.split()
    if before == "True":
        pytest.skip("the nncz package itself imports torch")
    assert after == "False"


def test_colour_z_legend_order_and_drawing_order():
    z = np.linspace(0.1, 1.0, 7)
    classes = np.array(["ELG", "QSO", "ELG", "ELG", "BGS", "weird", "ELG"])
    fig = plots.plot_colour_z(z, {"g-r": z}, classes=classes)
    ax = fig.axes[0]
    assert _legend_labels(ax) == ["BGS", "ELG", "QSO", "weird"]   # known classes first
    assert ax.collections[0].get_label() == "ELG"                # largest class drawn first
    assert len(ax.collections[0].get_offsets()) == 4


# --------------------------------------------------------------------------- evaluate set
def test_evaluation_figures_names_and_contents(tmp_path):
    rng = np.random.default_rng(2)
    z_spec = rng.uniform(0.05, 0.95, 300)
    z_phot = z_spec + 0.02 * (1 + z_spec) * rng.standard_normal(300)
    centres = (np.arange(20) + 0.5) * 0.05
    pdf = np.full((300, 20), 1 / 20)
    figs = plots.evaluation_figures(z_spec, z_phot)
    assert list(figs) == ["zphot_zspec", "metrics_vs_z"]
    ax_s, ax_e = figs["metrics_vs_z"].axes
    np.testing.assert_allclose(ax_s.lines[0].get_xdata(), np.arange(10) * 0.1 + 0.05)
    figs = plots.evaluation_figures(z_spec, z_phot, pit_calibrated=rng.uniform(size=300),
                                    pdf=pdf, z_grid_centres=centres, temperature=1.2)
    assert list(figs) == ["zphot_zspec", "metrics_vs_z", "pit", "nz"]
    (ax_pit,) = figs["pit"].axes
    assert _legend_labels(ax_pit)[0].startswith("calibrated") and "T = 1.2" in ax_pit.get_title()
    np.testing.assert_allclose(_by_gid(figs["nz"].axes[0], "nz_stacked").get_data()[0], 1.0)
    paths = plots.save_figures(figs, tmp_path, dpi=20)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.png" for n in figs)
    assert paths["pit"] == [tmp_path / "pit.png"]


def test_metric_vs_z_panels_share_y_and_hold_references():
    lsdr10 = {"full": _curve([0.01, 0.02, 0.03]), "SDSS-only": _curve([0.02, 0.03, 0.04])}
    ps1 = {"PS1 + unWISE": _curve([0.02, 0.03, 0.06])}
    fig = plots.plot_metric_vs_z_panels({"LSDR10": lsdr10, "PS1": ps1}, metric="eta",
                                        references={"PS1": {"LSDR10": lsdr10["full"]}})
    ax_l, ax_p = fig.axes
    assert (ax_l.get_title(), ax_p.get_title()) == ("LSDR10", "PS1")
    assert [ln.get_label() for ln in ax_l.lines] == ["full", "SDSS-only"]
    assert [ln.get_label() for ln in ax_p.lines] == ["PS1 + unWISE", "LSDR10"]
    np.testing.assert_allclose(ax_p.lines[1].get_ydata(), [1.0, 2.0, 3.0])   # eta of "full"
    assert ax_p.lines[1].get_linestyle() == "--"
    assert ax_l.get_shared_y_axes().joined(ax_l, ax_p)
    lo, hi = ax_p.get_ylim()
    assert lo == 0.0 and hi >= 6.0   # the right panel's 6% is in view too
    assert "eta" in ax_l.get_ylabel() and ax_p.get_ylabel() == ""
