"""Tests of the tomographic n(z): conventions, bootstrap errors, validation, files and CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import StepPatch
from scipy.special import ndtr

from nncz.cli import main
from nncz.cli.nz import format_summary
from nncz.grid import RedshiftGrid
from nncz.io import write_table
from nncz.nz import (
    assign_bins,
    equal_count_edges,
    hist_stats,
    tomographic_nz,
    tomographic_shifts,
)
from nncz.nzio import write_nz_outputs
from nncz.pdfio import PDFSet, write_pdfs
from nncz.plots.nz import plot_tomographic_nz

GRID = RedshiftGrid(0.0, 3.0, 150)
EDGES = [0.1, 0.35, 0.55, 0.8, 1.1, 2.0]


def exact_catalog(n: int, seed: int, grid: RedshiftGrid = GRID, sigma: float = 0.05):
    """Gaussian PDFs binned on ``grid`` and true redshifts drawn from those binned PDFs.

    The truth is drawn exactly from the piecewise-constant PDF (a bin by its probability, then
    uniformly inside it), so the stacked n(z) of any selection made on the PDFs alone is an
    unbiased estimate of the selection's true n(z).
    """
    rng = np.random.default_rng(seed)
    centre = np.clip(rng.gamma(3.0, 0.2, n), 0.05, 2.3)
    scale = sigma * (1.0 + centre)
    cdf = ndtr((grid.edges[None, :] - centre[:, None]) / scale[:, None])
    pdf = np.diff(cdf, axis=1)
    pdf /= pdf.sum(axis=1, keepdims=True)
    u = rng.random(n)
    index = np.minimum((np.cumsum(pdf, axis=1) < u[:, None]).sum(axis=1), grid.n_bins - 1)
    z_true = grid.edges[index] + grid.width * rng.random(n)
    return pdf.astype(np.float32), pdf @ grid.centres, z_true


@pytest.fixture(scope="module")
def catalog():
    return exact_catalog(20_000, seed=1)


# ----------------------------------------------------------------- conventions
def test_assign_bins_is_half_open_and_equal_count_fills_bins():
    edges = np.array([0.0, 0.5, 1.0])
    labels = assign_bins(np.array([0.0, 0.4999, 0.5, 0.99, 1.0, -0.1, np.nan]), edges)
    assert labels.tolist() == [0, 0, 1, 1, -1, -1, -1]
    z = np.random.default_rng(0).random(1000)
    counts = np.bincount(assign_bins(z, equal_count_edges(z, 4)), minlength=4)
    assert counts.tolist() == [250, 250, 250, 250]  # the maximum is inside the last bin


def test_hist_stats_use_bin_centres():
    grid = RedshiftGrid(0.0, 1.0, 10)
    one_bin = np.zeros(10)
    one_bin[3] = 1.0  # bin [0.3, 0.4): uniform density there
    stats = hist_stats(one_bin, grid)
    assert stats["mean"] == pytest.approx(0.35)
    assert stats["median"] == pytest.approx(0.35)
    assert stats["width"] == pytest.approx(0.1 / np.sqrt(12.0))
    two_bins = np.zeros(10)
    two_bins[[2, 5]] = [0.25, 0.75]  # CDF reaches 1/2 a third of the way into [0.5, 0.6)
    assert hist_stats(two_bins, grid)["median"] == pytest.approx(0.5 + 0.1 / 3.0)


def test_stack_is_the_weighted_sum_of_pdfs(catalog):
    pdf, z_point, _ = catalog
    weights = np.random.default_rng(2).random(pdf.shape[0])
    result = tomographic_nz(pdf, GRID, z_point, edges=EDGES, weights=weights, n_boot=4)
    labels = assign_bins(z_point, np.array(EDGES))
    for j in range(len(EDGES) - 1):
        expected = weights[labels == j] @ pdf[labels == j].astype(np.float64)
        np.testing.assert_allclose(result.nz[j], expected / expected.sum(), atol=2e-6)
    assert result.summary["n"].sum() == np.count_nonzero(labels >= 0)
    coarse = tomographic_nz(pdf, GRID, z_point, edges=EDGES, weights=weights, n_boot=4,
                            nz_bins=30)
    np.testing.assert_allclose(coarse.nz, result.nz.reshape(5, 30, 5).sum(-1), atol=1e-12)
    np.testing.assert_allclose(coarse.summary["mean"], result.summary["mean"])


def test_zero_weights_equal_dropping_galaxies(catalog):
    pdf, z_point, _ = catalog
    keep = np.arange(pdf.shape[0]) % 3 > 0
    weighted = tomographic_nz(pdf, GRID, z_point, edges=EDGES, weights=keep * 1.0, n_boot=4)
    dropped = tomographic_nz(pdf[keep], GRID, z_point[keep], edges=EDGES, n_boot=4)
    np.testing.assert_allclose(weighted.nz, dropped.nz, atol=1e-7)
    assert weighted.summary["n"].tolist() == dropped.summary["n"].tolist()


# ----------------------------------------------------------------- validation
def test_exact_pdfs_give_no_shift_and_an_injected_shift_is_found(catalog):
    pdf, z_point, z_true = catalog
    table = tomographic_shifts(pdf, GRID, z_point, z_true, n_bins=5, n_boot=100)
    assert list(table.columns) == ["bin_low", "bin_high", "n", "mean_true", "mean_stack",
                                   "shift", "shift_err", "meets_y1", "meets_y10"]
    assert np.all(table["shift_err"] < 0.0015)
    assert np.all(np.abs(table["shift"]) < 4.0 * table["shift_err"])
    moved = z_true - 0.005 * (1.0 + z_true)  # the stacks now sit 0.005 (1+z) above the truth
    shifted = tomographic_shifts(pdf, GRID, z_point, moved, n_bins=5, n_boot=100)
    expected = 0.005 * (1.0 + table["mean_true"]) / (1.0 + shifted["mean_true"])
    assert np.all(np.abs(shifted["shift"] - expected) < 4.0 * shifted["shift_err"])
    assert not shifted["meets_y1"].any() and not shifted["meets_y10"].any()


def test_bootstrap_error_matches_scatter_across_independent_draws():
    """The bootstrap error of each bin's mean vs its scatter across independent catalogues.

    The issue asks for 20 draws and 30%. The standard deviation of 20 draws is itself uncertain
    by ~16% (chi-squared with 19 degrees of freedom), so a perfectly calibrated bootstrap would
    miss 30% in some bin of five about one time in four; with 100 draws the scatter is known to
    ~7% and a 30% miss can only come from a miscalibrated bootstrap. Each draw's bootstrap error
    is its own (100 replicates); their median is compared with the scatter.
    """
    grid = RedshiftGrid(0.0, 3.0, 100)
    means, errors = [], []
    for seed in range(100):
        pdf, z_point, _ = exact_catalog(10_000, seed=100 + seed, grid=grid)
        result = tomographic_nz(pdf, grid, z_point, edges=EDGES, n_boot=100, seed=seed)
        means.append(result.summary["mean"].to_numpy())
        errors.append(result.summary["mean_err"].to_numpy())
    scatter = np.std(means, axis=0, ddof=1)
    bootstrap = np.median(errors, axis=0)
    ratio = bootstrap / scatter
    assert np.all(np.abs(ratio - 1.0) < 0.3), ratio
    # pooled over the five bins the ratio's own noise is ~3%
    assert abs(np.sqrt(np.mean(ratio**2)) - 1.0) < 0.12, ratio


def test_member_bootstrap(catalog):
    pdf, z_point, _ = catalog
    same = np.stack([pdf, pdf, pdf])
    base = tomographic_nz(pdf, GRID, z_point, edges=EDGES, n_boot=50)
    copies = tomographic_nz(pdf, GRID, z_point, edges=EDGES, n_boot=50, members=same)
    np.testing.assert_allclose(copies.summary["mean_err"], base.summary["mean_err"],
                               rtol=1e-4)
    # members one grid bin (0.02) below, at and above the PDFs: their means differ by -d, 0, +d
    below, above = np.zeros_like(pdf), np.zeros_like(pdf)
    below[:, :-1], above[:, 1:] = pdf[:, 1:], pdf[:, :-1]
    spread = tomographic_nz(pdf, GRID, z_point, edges=EDGES, n_boot=200,
                            members=np.stack([below, pdf, above]))
    assert spread.n_members == 3
    # resampling 3 members adds a variance of (2 d**2 / 3) / 3 to each bin's mean
    expected = np.sqrt(base.summary["mean_err"] ** 2 + 2.0 * GRID.width**2 / 9.0)
    np.testing.assert_allclose(spread.summary["mean_err"], expected, rtol=0.25)


def test_bad_inputs_name_what_is_wrong(catalog):
    pdf, z_point, _ = catalog
    with pytest.raises(ValueError, match="bin 3 .* holds no usable galaxy"):
        tomographic_nz(pdf, GRID, z_point, edges=[0.1, 0.5, 2.9, 2.95], n_boot=4)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        tomographic_nz(pdf, GRID, z_point, weights=-np.ones(len(z_point)), n_boot=4)
    with pytest.raises(ValueError, match="z_true has shape"):
        tomographic_nz(pdf, GRID, z_point, z_true=z_point[:-1], n_boot=4)


# ----------------------------------------------------------------- files and figure
def test_sacc_qp_and_table_agree(catalog, tmp_path):
    sacc = pytest.importorskip("sacc")
    qp = pytest.importorskip("qp")
    pdf, z_point, z_true = catalog
    result = tomographic_nz(pdf, GRID, z_point, n_bins=4, z_true=z_true, n_boot=10,
                            nz_bins=50)
    paths = write_nz_outputs(result, tmp_path)
    table = pd.read_csv(paths["table"])
    data = sacc.Sacc.load_fits(str(paths["sacc"]))
    ensemble = qp.read(str(paths["qp"]))
    assert sorted(data.tracers) == ["nz_1", "nz_2", "nz_3", "nz_4"]
    assert ensemble.npdf == 4 and ensemble.gen_class.name == "hist"
    np.testing.assert_allclose(np.asarray(ensemble.metadata["bins"]).ravel(),
                               result.grid.edges)
    np.testing.assert_allclose(ensemble.ancil["bin_low"], result.edges[:-1])
    assert set(ensemble.ancil["binned_by"]) == {"z_phot_mean"}
    for j in range(4):
        tracer = data.tracers[f"nz_{j + 1}"]
        np.testing.assert_allclose(tracer.z, table["z"], rtol=1e-12)
        np.testing.assert_allclose(tracer.nz, table[f"n_{j + 1}"], rtol=1e-12)
        np.testing.assert_allclose(ensemble.objdata["pdfs"][j], table[f"n_{j + 1}"],
                                   rtol=1e-12)
        assert tracer.metadata["n_gal"] == result.summary["n"][j]
        assert np.sum(table[f"n_{j + 1}"]) * result.grid.width == pytest.approx(1.0)
    summary = json.loads(paths["summary"].read_text())
    assert [row["n"] for row in summary["bins"]] == result.summary["n"].tolist()
    assert np.shape(summary["mean_cov"]) == (4, 4)


def test_figure_draws_the_stacks_truth_and_shifts(catalog):
    pdf, z_point, z_true = catalog
    result = tomographic_nz(pdf, GRID, z_point, n_bins=3, z_true=z_true, n_boot=10)
    fig = plot_tomographic_nz(result.grid.edges, result.density, result.summary,
                              result.nz_true / GRID.width, result.nz_err / GRID.width, rebin=5)
    nz_axes, mean_axes = fig.axes[0], fig.axes[1]
    by_gid = {p.get_gid(): p for p in nz_axes.patches if isinstance(p, StepPatch)}
    assert {"nz_stack_1", "nz_true_3"} <= set(by_gid)
    values, edges = by_gid["nz_stack_2"].get_data()[:2]
    np.testing.assert_allclose(edges, GRID.edges[::5])
    np.testing.assert_allclose(values, result.density[1].reshape(-1, 5).mean(axis=1))
    points = next(c for c in mean_axes.containers if c.get_label() and
                  c.lines[0].get_gid() == "shift_mean")
    np.testing.assert_allclose(np.asarray(points.lines[0].get_ydata(), float),
                               result.summary["shift_mean"])


# ----------------------------------------------------------------- CLI
def test_cli_end_to_end(tmp_path, capsys):
    pdf, z_point, z_true = exact_catalog(3000, seed=5)
    predictions = tmp_path / "pred.parquet"
    write_table(pd.DataFrame({"z_phot_mean": z_point, "z_true": z_true,
                              "w": np.ones_like(z_point)}), predictions)
    write_pdfs(tmp_path / "pdf.h5", PDFSet(pdf, GRID))
    out = tmp_path / "nz"
    args = ["-q", "nz", str(predictions), "--pdf", str(tmp_path / "pdf.h5"), "--equal-count",
            "3", "--truth", "z_true", "--weights", "w", "--nz-bins", "50", "--bootstrap", "20",
            "--output", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert main(args) != 0  # an earlier result is not replaced silently
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert capsys.readouterr().out == printed
    assert "shift/(1+z)" in printed and len(printed.splitlines()) >= 5
    for name in ("nz.sacc.fits", "nz_qp.hdf5", "nz_table.csv", "summary.json", "nz.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["bins"]) == 3 and summary["truth"] == "z_true"
    assert summary["nz_grid"]["n_bins"] == 50
    assert format_summary(pd.DataFrame(summary["bins"])).splitlines()[1:] == \
        printed.splitlines()[1:4]


def test_cli_errors_are_one_line(tmp_path, capsys):
    pdf, z_point, _ = exact_catalog(100, seed=6)
    write_table(pd.DataFrame({"z_phot_mean": z_point}), tmp_path / "pred.parquet")
    write_pdfs(tmp_path / "pdf.h5", PDFSet(pdf[:-1], GRID))
    base = ["nz", str(tmp_path / "pred.parquet"), "--pdf", str(tmp_path / "pdf.h5"),
            "--output", str(tmp_path / "out")]
    assert main([*base]) != 0
    assert "needs --bins EDGES or --equal-count N" in capsys.readouterr().err
    assert main([*base, "--equal-count", "2"]) != 0
    assert "has 99 PDFs but" in capsys.readouterr().err
    assert main([*base, "--equal-count", "2", "--truth", "zz"]) != 0
    assert "zz" in capsys.readouterr().err
    for flag, value, message in (("--bins", "0.5,0.2", "increasing"),
                                 ("--bootstrap", "1", ">= 2")):
        try:  # argparse's usage error: exit status 2, whether main returns it or exits
            code = main([*base, flag, value])
        except SystemExit as stop:
            code = stop.code
        assert code == 2 and message in capsys.readouterr().err
