"""The catalog's tomographic n(z), accumulated stripe by stripe in the catalog run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import fake_models, prebuilt_config, random_sky

from nncz.catalog import Inputs, run_catalog
from nncz.catalog.config import CatalogConfig
from nncz.catalog.nz import check_nz_config, poisson_counts
from nncz.nz import assign_bins
from nncz.pdfio import read_pdfs

NZ = {"edges": [0.1, 0.3, 0.5, 0.7, 0.9, 1.1], "bootstrap": 40, "seed": 3}


@pytest.fixture(scope="module")
def sky_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nzsky")
    for name, table in zip(("ls", "ps1", "unwise"), random_sky(), strict=True):
        table.to_parquet(folder / f"{name}.parquet")
    return folder


def run(folder, out, chunk_rows, **nz):
    inputs = Inputs(folder / "ls.parquet", folder / "ps1.parquet", folder / "unwise.parquet")
    return run_catalog(inputs, prebuilt_config(nz={**NZ, **nz}), out, fake_models(),
                       chunk_rows=chunk_rows, read_rows=700, buffer_rows=900, progress=False)


def test_catalog_nz_equals_stacking_the_written_catalog(sky_folder, tmp_path):
    report = run(sky_folder, tmp_path / "a", chunk_rows=400)
    assert len(report["manifest"]["edges"]) > 5  # several stripes were summed
    nz_dir = tmp_path / "a" / "nz"
    assert {"nz_sacc", "nz_qp", "nz_table", "nz_summary", "nz_figure"} <= set(report["files"])
    table = pd.read_csv(nz_dir / "nz_table.csv")
    summary = json.loads((nz_dir / "summary.json").read_text())
    # a second pass over the finished catalog gives the same stacks
    main = pd.read_parquet(tmp_path / "a" / "catalog.parquet")
    pdfs = read_pdfs(tmp_path / "a" / "catalog_pdf.hdf5")
    pdf, grid = pdfs.pdf, pdfs.grid
    labels = assign_bins(main["z_phot_mean"].to_numpy(np.float64), np.asarray(NZ["edges"]))
    for j in range(len(NZ["edges"]) - 1):
        stack = pdf[labels == j].sum(axis=0)
        np.testing.assert_allclose(table[f"n_{j + 1}"], stack / stack.sum() / grid.width,
                                   rtol=1e-5, atol=1e-9)
        assert summary["bins"][j]["n"] == np.count_nonzero(labels == j)
        assert summary["bins"][j]["mean_err"] > 0
    assert summary["n_boot"] == NZ["bootstrap"] and summary["source"] == "nncz catalog"


def test_catalog_nz_does_not_depend_on_the_stripes(sky_folder, tmp_path):
    run(sky_folder, tmp_path / "small", chunk_rows=400)
    run(sky_folder, tmp_path / "large", chunk_rows=100_000)
    small = json.loads((tmp_path / "small" / "nz" / "summary.json").read_text())
    large = json.loads((tmp_path / "large" / "nz" / "summary.json").read_text())
    for a, b in zip(small["bins"], large["bins"], strict=True):
        assert a["n"] == b["n"]
        # the bootstrap counts are a function of each source's ids, not of its stripe
        for key in ("mean", "mean_err", "width_err", "median_err"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-12)


def test_poisson_counts_are_poisson_and_keyed_by_ids():
    ids = np.arange(200_000)
    counts = poisson_counts(ids, -np.ones_like(ids), 4, seed=0).astype(float)
    assert counts.mean() == pytest.approx(1.0, abs=0.01)
    assert counts.var() == pytest.approx(1.0, abs=0.02)
    assert abs(np.corrcoef(counts[0], counts[1])[0, 1]) < 0.01
    part = poisson_counts(ids[5000:6000], -np.ones(1000, np.int64), 4, seed=0)
    np.testing.assert_array_equal(part, counts[:, 5000:6000])
    other = poisson_counts(ids, -np.ones_like(ids), 1, seed=1).astype(float)
    assert abs(np.corrcoef(other[0], counts[0])[0, 1]) < 0.01


@pytest.mark.parametrize("value, message", [
    ({"point": "z_phot_mean"}, "needs edges"),
    ({"edges": [0.5, 0.2]}, "increasing"),
    ({"edges": [0.1, 0.5], "bins": 3}, "unknown key"),
    ({"edges": [0.1, 0.5], "bootstrap": 1}, "bootstrap must be an integer >= 2"),
])
def test_bad_nz_config_is_named(value, message):
    with pytest.raises(ValueError, match=message):
        check_nz_config(value)
    with pytest.raises(ValueError, match="catalog config: nz"):
        CatalogConfig(models={1: "m"}, nz=value)
