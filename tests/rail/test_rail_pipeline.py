"""docs/rail_pipeline.py runs as a real RAIL pipeline under ceci, and RAIL finds nncz's stages.

Runs only where pz-rail-base is installed (``make test-rail``); skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rail.estimation.estimator", reason="needs pz-rail-base (make test-rail)")

import qp  # noqa: E402
import tables_io  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "rail_pipeline.py"


def load_example():
    spec = importlib.util.spec_from_file_location("nncz_rail_pipeline_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rail_environment_attaches_the_stages():
    """RailEnv imports every `rail.*` package (ours is rail.nncz) and lists its stages."""
    import rail.stages
    from rail.core.stage import RailStage

    rail.stages.import_and_attach_all(silent=True)
    from rail.estimation.algos.nncz import NNCEstimator, NNCInformer

    assert rail.stages.NNCInformer is NNCInformer
    assert rail.stages.NNCEstimator is NNCEstimator
    assert RailStage.pipeline_stages["NNCEstimator"][0] is NNCEstimator


def test_docs_pipeline_runs_under_ceci(tmp_path):
    example = load_example()
    yaml_path = example.write_pipeline(
        example.DC2 / "test_dc2_training_9816.hdf5", example.DC2 / "test_dc2_validation_9816.hdf5",
        tmp_path / "nncz_pipeline.yml", output_dir=tmp_path,
        hidden_layers=[32, 32], max_epochs=3, batch_size=256, threads=1)
    assert "rail.estimation.algos.nncz" in yaml_path.read_text()  # RAIL's plugin module path
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # ceci's python3
    done = subprocess.run(["ceci", str(yaml_path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    logs = "".join(p.read_text() for p in tmp_path.glob("*.out"))
    assert done.returncode == 0, done.stdout[-3000:] + logs[-3000:]
    model = tmp_path / "model_inform_nncz.tar"
    assert model.is_file()
    ensemble = qp.read(str(tmp_path / "output_estimate_nncz.hdf5"))
    assert ensemble.gen_class.name == "hist" and ensemble.npdf == 20449
    summary = tables_io.read(str(tmp_path / "summary_evaluate_nncz.hdf5"))
    sigma_mad = float(np.squeeze(summary["point_stats_sigma_mad_zmode_redshift"]))
    assert 0 < sigma_mad < 0.15
