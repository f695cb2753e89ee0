"""RAIL side of the peers benchmark: run inside benchmarks/peers/.venv-rail only.

Trains (``inform``) and runs (``estimate``) each requested RAIL estimator on one prepared data
set and writes, for each, its PDFs as a qp file ``<outdir>/<name>.hdf5`` plus one line of
``<outdir>/rail_results.json`` with status, timings and errors. It never imports nncz: the two
environments only exchange files (HDF5 tables in, qp ensembles and JSON out).

Usage (from benchmarks/peers/run.py)::

    .venv-rail/bin/python rail_side.py job.json
    .venv-rail/bin/python rail_side.py --check-qp pdfs.hdf5 test.hdf5   # qp.metrics PIT of a file

``job.json`` holds ``train``/``test`` (HDF5 files with one 1-D dataset per column, in group
``photometry``), ``outdir``, ``estimators`` (names from ESTIMATORS), ``common`` (shared RAIL
config: bands, err_bands, ref_band, mag_limits, zmin, zmax, nzbins, ...), ``extra`` (per-name
config overrides) and ``max_train`` (per-name subsample size of the training set).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

# (module, informer class, estimator class) for each estimator this script knows.
ESTIMATORS = {
    "TrainZ": ("rail.estimation.algos.train_z", "TrainZInformer", "TrainZEstimator"),
    "KNN": ("rail.estimation.algos.k_nearneigh", "KNearNeighInformer", "KNearNeighEstimator"),
    "FlexZBoost": ("rail.estimation.algos.flexzboost", "FlexZBoostInformer", "FlexZBoostEstimator"),
    "GPz": ("rail.estimation.algos.gpz", "GPzInformer", "GPzEstimator"),
    "DNF": ("rail.estimation.algos.dnf", "DNFInformer", "DNFEstimator"),
    "CMNN": ("rail.estimation.algos.cmnn", "CMNNInformer", "CMNNEstimator"),
    "SklNeurNet": (
        "rail.estimation.algos.sklearn_neurnet",
        "SklNeurNetInformer",
        "SklNeurNetEstimator",
    ),
    "PZFlow": ("rail.estimation.algos.pzflow_nf", "PZFlowInformer", "PZFlowEstimator"),
    "BPZ": ("rail.estimation.algos.bpz_lite", "BPZliteInformer", "BPZliteEstimator"),
}
# qp parameterizations that a plain qp install reads; others are converted to interp.
PLAIN_QP = {"hist", "interp", "interp_irregular", "mixmod", "quant", "norm", "spline"}


def read_photometry(path: str) -> dict[str, np.ndarray]:
    import tables_io

    table = tables_io.read(path)
    return dict(table["photometry"] if "photometry" in table else table)


def config_for(stage_class, common: dict, extra: dict) -> dict:
    """The shared options this stage declares, plus its own overrides."""
    options = stage_class.config_options
    config = {key: value for key, value in common.items() if key in options}
    config.update({key: value for key, value in extra.items() if key in options})
    return config


def subsample(table: dict[str, np.ndarray], n_max: int | None, seed: int = 0) -> dict:
    n_rows = len(next(iter(table.values())))
    if not n_max or n_rows <= n_max:
        return table
    keep = np.sort(np.random.default_rng(seed).choice(n_rows, n_max, replace=False))
    return {key: values[keep] for key, values in table.items()}


def plain_ensemble(ensemble, zmin: float, zmax: float, nzbins: int):
    """The ensemble itself if plain qp reads it, else its ``interp`` on the RAIL grid."""
    import qp

    if ensemble.gen_class.name in PLAIN_QP:
        return ensemble
    xvals = np.linspace(zmin, zmax, nzbins)
    return qp.Ensemble(qp.interp, data={"xvals": xvals, "yvals": ensemble.pdf(xvals)})


def estimate_from_file(estimator, test_path: str):
    """``estimate`` reading the test file from disk in ``chunk_size`` rows at a time.

    RAIL chunks only inputs it reads from a file: data handed over in memory is estimated in one
    piece whatever ``chunk_size`` says (PZFlow's posterior for all 20k DC2 test rows then needs
    ~19 GB). The stage reads the file's ``photometry`` group itself.
    """
    estimator.config.hdf5_groupname = "photometry"
    estimator.set_data("input", None, path=test_path, do_read=False)
    estimator.validate()
    estimator.run()
    estimator.finalize()
    return estimator.get_handle("output").read(force=True)


def run_one(name: str, job: dict, train: dict, test: dict, workdir: Path) -> dict:
    module_name, informer_name, estimator_name = ESTIMATORS[name]
    module = importlib.import_module(module_name)
    informer_class = getattr(module, informer_name)
    estimator_class = getattr(module, estimator_name)
    common = dict(job["common"], hdf5_groupname="")
    extra = job.get("extra", {}).get(name, {})
    train = subsample(train, job.get("max_train", {}).get(name))
    informer = informer_class.make_stage(
        name=f"inform_{name}",
        model=str(workdir / f"{name}.model"),
        **config_for(informer_class, common, extra),
    )
    start = time.perf_counter()
    informer.inform(train)
    train_s = time.perf_counter() - start
    estimator = estimator_class.make_stage(
        name=f"estimate_{name}",
        model=informer.get_handle("model"),
        output=str(workdir / f"{name}_rail_output.hdf5"),
        **config_for(estimator_class, common, extra),
    )
    start = time.perf_counter()
    if "chunk_size" in extra:
        ensemble = estimate_from_file(estimator, job["test"])
    else:
        ensemble = estimator.estimate(test).data
    predict_s = time.perf_counter() - start
    original = ensemble.gen_class.name
    ensemble = plain_ensemble(ensemble, common["zmin"], common["zmax"], common["nzbins"])
    out = Path(job["outdir"]) / f"{name}.hdf5"
    ensemble.write_to(str(out))
    return {
        "status": "ok",
        "train_s": train_s,
        "predict_s": predict_s,
        "qp_file": str(out),
        "n_train": len(train["redshift"]),
        "parameterization": original,
        "config": extra,
    }


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    outdir = Path(job["outdir"])
    workdir = outdir / "rail_work"
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)  # RAIL stages drop their default output files in the working directory
    train, test = read_photometry(job["train"]), read_photometry(job["test"])
    results_path = outdir / job.get("results_name", "rail_results.json")
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in job["estimators"]:
        print(f"[rail] {name}: start", flush=True)
        try:
            results[name] = run_one(name, job, train, test, workdir)
        except Exception as error:  # one estimator failing must not stop the others
            traceback.print_exc()
            results[name] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
        print(f"[rail] {name}: {results[name]}", flush=True)
        results_path.write_text(json.dumps(results, indent=1))
    return 0


def check_qp_file(qp_path: str, truth_path: str) -> int:
    """Score a qp file (e.g. nncz's) with qp.metrics as RAIL's evaluators do; print JSON."""
    import qp
    from qp.metrics.pit import PIT

    ensemble = qp.read(qp_path)
    z_true = np.asarray(read_photometry(truth_path)["redshift"], dtype=float)
    pit = PIT(ensemble, z_true)
    result = {
        "qp_file": qp_path,
        "parameterization": ensemble.gen_class.name,
        "n": int(ensemble.npdf),
        "pit_ks": float(pit.evaluate_PIT_KS().statistic),
        "pit_cvm": float(pit.evaluate_PIT_CvM().statistic),
        "ancil": sorted(ensemble.ancil) if ensemble.ancil else [],
    }
    print("QPCHECK " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--check-qp":
        sys.exit(check_qp_file(sys.argv[2], sys.argv[3]))
    sys.exit(main(sys.argv[1]))
