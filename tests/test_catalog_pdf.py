"""Compact catalog PDFs: quantisation precision, exact normalisation, qp round trip."""

from __future__ import annotations

import numpy as np
import pytest

from nncz.catalog.pdfstore import SCALE, PdfWriter, dequantise, quantise, read_pdfs, read_qp
from nncz.grid import RedshiftGrid


def random_pdfs(n=500, bins=40, seed=1):
    rng = np.random.default_rng(seed)
    pdf = rng.dirichlet(np.full(bins, 0.3), size=n)
    pdf[:5] = 0.0
    pdf[:5, 7] = 1.0  # delta functions
    return pdf


def test_quantise_sums_exactly_and_is_within_one_count():
    pdf = random_pdfs()
    counts = quantise(pdf)
    assert counts.dtype == np.uint16
    assert (counts.sum(axis=1, dtype=np.int64) == SCALE).all()
    assert np.abs(dequantise(counts) - pdf).max() < 1.0 / SCALE
    cdf_err = np.abs(np.cumsum(dequantise(counts) - pdf, axis=1)).max()
    assert cdf_err < 40.0 / SCALE
    assert (counts[:5, 7] == SCALE).all()


def test_quantise_rejects_invalid_rows():
    with pytest.raises(ValueError, match="row 1"):
        quantise(np.array([[0.5, 0.5], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="not valid"):
        quantise(np.array([[np.nan, 1.0]]))


def test_file_and_qp_round_trip(tmp_path):
    grid = RedshiftGrid(0.0, 2.0, 40)
    pdf = random_pdfs()
    counts = quantise(pdf)
    with PdfWriter(tmp_path / "p.h5", grid, {"who": "test"}) as writer:
        writer.append(counts[:200], np.arange(200), np.full(200, -1))
        writer.append(counts[200:], np.arange(200, 500), np.arange(300))
    back, grid_back, ids = read_pdfs(tmp_path / "p.h5")
    assert grid_back == grid
    np.testing.assert_array_equal(back, counts / SCALE)
    assert ids["ps1_objid"][199] == -1 and ids["ps1_objid"][200] == 0
    ens = read_qp(tmp_path / "p.h5")
    assert ens.gen_class.name == "hist"
    assert ens.npdf == 500
    np.testing.assert_allclose(np.asarray(ens.metadata["bins"]).ravel(), grid.edges)
    # the qp CDF at the bin edges reproduces the stored cumulative probabilities
    cdf = ens.cdf(grid.edges)
    expected = np.concatenate([np.zeros((500, 1)), np.cumsum(counts / SCALE, axis=1)], axis=1)
    np.testing.assert_allclose(cdf, expected, atol=1e-9)
    # and the qp mean matches the mean of the stored histogram
    np.testing.assert_allclose(ens.mean().ravel(), (counts / SCALE) @ grid.centres, atol=1e-6)


def test_partial_file_never_appears(tmp_path):
    grid = RedshiftGrid(0.0, 2.0, 40)
    with pytest.raises(RuntimeError), PdfWriter(tmp_path / "p.h5", grid) as writer:
        writer.append(quantise(random_pdfs(10)), np.arange(10), np.arange(10))
        raise RuntimeError("died")
    assert list(tmp_path.iterdir()) == []



def test_finished_file_has_the_usual_mode(tmp_path):
    """Like every nncz output: 0o666 less the umask (mkstemp alone would leave 0o600)."""
    import os

    mask = os.umask(0o022)
    try:
        with PdfWriter(tmp_path / "p.h5", RedshiftGrid(0.0, 2.0, 40)) as writer:
            writer.append(quantise(random_pdfs(5)), np.arange(5), np.arange(5))
    finally:
        os.umask(mask)
    assert os.stat(tmp_path / "p.h5").st_mode & 0o777 == 0o644
