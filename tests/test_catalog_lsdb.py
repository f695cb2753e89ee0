"""The lsdb/HATS path gives the same catalog as the in-memory path.

Both tests are slow (~1 min each here): lsdb/hats JIT-compile their numba kernels in every new
process before the first cross-match. Run them with ``pytest -m slow tests/test_catalog_lsdb.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import fake_models, prebuilt_config, random_sky, sort_result

from nncz.catalog import build_catalog

lsdb = pytest.importorskip("lsdb")

from nncz.catalog.lsdb_path import open_hats, run_catalog_lsdb, to_lsdb, write_hats  # noqa: E402
from nncz.pdfio import read_pdfs  # noqa: E402


def read_output(out):
    main = pd.read_parquet(out / "catalog.parquet")
    pdf = read_pdfs(out / "catalog_pdf.hdf5").pdf
    return sort_result(main, np.round(pdf * 65535).astype(np.uint16))


@pytest.mark.slow
def test_lsdb_path_equals_memory_path(tmp_path):
    # spread over several HEALPix partitions, with sources straddling partition edges
    ls, ps1, wise = random_sky(n_ls=800, n_ps1_only=200, seed=3, ra_span=100.0,
                               dec_span=(-40.0, 40.0))
    cfg, models = prebuilt_config(), fake_models()
    memory = build_catalog(ls, ps1, wise, cfg, models)
    cats = [to_lsdb(t, s, cfg, partition_rows=250) for t, s in
            ((ls, "ls"), (ps1, "ps1"), (wise, "unwise"))]
    assert cats[0].npartitions > 3
    report = run_catalog_lsdb(*cats, cfg, tmp_path / "out", models, progress=False)
    main, pdf = read_output(tmp_path / "out")
    expected_main, expected_pdf = sort_result(memory.main, memory.pdf_u16)
    pd.testing.assert_frame_equal(main, expected_main, check_dtype=False)
    np.testing.assert_array_equal(pdf, expected_pdf)
    assert report["manifest"]["stats"] == memory.stats


@pytest.mark.slow
def test_lsdb_on_hats_files_matches_and_resumes(tmp_path):
    ls, ps1, wise = random_sky(n_ls=600, n_ps1_only=200, seed=4, ra_span=10.0)
    cfg, models = prebuilt_config(), fake_models()
    paths = [write_hats(t, s, tmp_path / s, cfg, partition_rows=200)
             for t, s in ((ls, "ls"), (ps1, "ps1"), (wise, "unwise"))]
    cats = [open_hats(p) for p in paths]
    assert cats[1].margin is not None
    run_catalog_lsdb(*cats, cfg, tmp_path / "out", models, progress=False)
    first = read_output(tmp_path / "out")
    memory = build_catalog(ls, ps1, wise, cfg, models)
    pd.testing.assert_frame_equal(first[0], sort_result(memory.main, memory.pdf_u16)[0],
                                  check_dtype=False)
    run_catalog_lsdb(*cats, cfg, tmp_path / "out", models, progress=False)  # all skipped
    pd.testing.assert_frame_equal(read_output(tmp_path / "out")[0], first[0])
