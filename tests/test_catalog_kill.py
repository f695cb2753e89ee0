"""A real ``nncz catalog`` process killed with SIGKILL resumes and skips its finished chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from test_catalog_common import LEVEL_FEATURES, random_sky, sort_result

from nncz.pdfio import read_pdfs


def tiny_models(folder):
    from nncz.estimator import NNCEstimator

    rng = np.random.default_rng(0)
    lines = ["levels:"]
    for level, features in LEVEL_FEATURES.items():
        table = pd.DataFrame(rng.normal(20, 1, (400, len(features))), columns=features)
        table["z_spec"] = rng.uniform(0.05, 1.5, 400)
        est = NNCEstimator(hidden=(16,), max_epochs=1, batch_size=128, verbose=False)
        est.fit(table, features)
        est.save(folder / f"m{level}")
        lines.append(f"  {level}: {{model: m{level}}}")
    (folder / "cat.yaml").write_text("\n".join(lines) + "\nfeatures: prebuilt\n")
    return folder / "cat.yaml"


def cli(config, sky, out, *extra):
    return [sys.executable, "-m", "nncz.cli", "catalog", str(config), str(out),
            "--ls", str(sky / "ls.parquet"), "--ps1", str(sky / "ps1.parquet"),
            "--unwise", str(sky / "unwise.parquet"), "--chunk-rows", "300", "--keep-work",
            "--no-progress", *extra]


def output(out):
    main = pd.read_parquet(out / "catalog.parquet")
    pdf = read_pdfs(out / "catalog_pdf.hdf5").pdf
    return sort_result(main, pdf)


@pytest.mark.slow
def test_sigkill_then_resume(tmp_path):
    ls, ps1, wise = random_sky(n_ls=3000, n_ps1_only=800, seed=11)
    for name, table in (("ls", ls), ("ps1", ps1), ("unwise", wise)):
        table.to_parquet(tmp_path / f"{name}.parquet")
    config = tiny_models(tmp_path)
    proc = subprocess.Popen(cli(config, tmp_path, tmp_path / "out"), start_new_session=True)
    parts = tmp_path / "out" / "work" / "parts"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(parts.glob("chunk_*.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(parts.glob("chunk_*.json")))
    assert done_before >= 2
    assert not (tmp_path / "out" / "catalog.parquet").exists()
    subprocess.run(cli(config, tmp_path, tmp_path / "out"), check=True)
    import json

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["chunks_skipped"]) >= done_before
    subprocess.run(cli(config, tmp_path, tmp_path / "clean"), check=True)
    (main_a, pdf_a), (main_b, pdf_b) = output(tmp_path / "out"), output(tmp_path / "clean")
    pd.testing.assert_frame_equal(main_a, main_b)
    np.testing.assert_array_equal(pdf_a, pdf_b)
