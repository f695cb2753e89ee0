"""``run_reproduce``: the whole reproduction, stage by stage, resumable, with timings."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nncz.io import OutputError, atomic_write, check_outputs, read_table, write_table
from nncz.reproduce import figures as figs
from nncz.reproduce.configs import MODELS, MODES, ReproduceSettings, model_config
from nncz.reproduce.report import orderings, write_report
from nncz.reproduce.run import (
    DONE_FILE,
    UNCALIBRATED_MEAN,
    backfill_uncalibrated_mean,
    load_predictions,
    split_rows,
    train_models,
)
from nncz.reproduce.table import build_table1, to_markdown, write_table1

log = logging.getLogger("nncz")

FEATURE_SETS = tuple(dict.fromkeys(m.feature_set for m in MODELS))
RUN_FILE = "run_settings.json"
#: what a run derives from its settings (deleted by ``claim_output`` when they change)
DERIVED = ("mock", "datasets", "models", "shap", "figures")


def claim_output(out_dir: str | Path, mode: str, seed: int, mock_dir: str | Path | None,
                 settings: ReproduceSettings, overwrite: bool = False) -> Path:
    """Record the run's settings in ``out_dir``: a rerun resumes only with the same settings.

    ``out_dir/run_settings.json`` holds the mode, seed, mock directory and settings of the run
    that uses ``out_dir``. Other settings raise :class:`~nncz.io.OutputError` unless
    ``overwrite``, which deletes what the old run derived (:data:`DERIVED`; a given
    ``mock_dir`` is kept). Returns the record's path.
    """
    out = Path(out_dir)
    check_outputs([mock_dir], [], output_dirs=[out])
    record = {"mode": mode, "seed": seed, "mock": str(mock_dir),
              "settings": json.loads(json.dumps(dataclasses.asdict(settings), default=str))}
    path = out / RUN_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if old != record:
            if not overwrite:
                differ = [k for k in record if old.get(k) != record[k]]
                raise OutputError(f"{out} holds a reproduction with other settings ({differ} "
                                  f"differ; see {path}); pass --overwrite to replace it, or "
                                  "use another --output")
            for name in DERIVED:
                target = out / name
                if target.is_dir() and (name != "mock" or mock_dir is None):
                    shutil.rmtree(target)
    text = json.dumps(record, indent=1)
    return atomic_write(path, lambda temp: temp.write_text(text))


def make_mock(mock_dir: Path, settings: ReproduceSettings, seed: int, verbose: bool) -> Path:
    """The mode's mock universe in ``mock_dir`` (kept if ``truth.parquet`` is there)."""
    if not (mock_dir / "truth.parquet").exists():
        from nncz.mock.universe import make_universe

        log.info("generating a mock universe of %d galaxies in %s", settings.n_galaxies,
                 mock_dir)
        make_universe(mock_dir, n_galaxies=settings.n_galaxies, seed=seed,
                      formats=("parquet",), progress=verbose, **settings.mock_options)
    return mock_dir


def build_datasets(mock_dir: Path, data_dir: Path) -> dict[str, Path]:
    """Spectroscopic sample and one dataset per feature set, each kept if already written."""
    from nncz.datasets import build_dataset
    from nncz.spec import build_spec_sample

    paths = {fs: data_dir / f"{fs}.parquet" for fs in FEATURE_SETS}
    if all(p.exists() for p in paths.values()):
        return paths
    spec_path = data_dir / "spec.parquet"
    if spec_path.exists():
        spec = read_table(spec_path)
    else:
        spec, _ = build_spec_sample(mock_dir / "sdss_specobj.parquet",
                                    mock_dir / "desi_dr1_zcat.parquet")
        write_table(spec, spec_path)
    for fs, path in paths.items():
        if not path.exists():
            dataset, _ = build_dataset(spec, lsdr10=mock_dir / "ls_dr10.parquet",
                                       ps1_table=mock_dir / "ps1_dr2.parquet",
                                       unwise=mock_dir / "unwise.parquet", feature_set=fs,
                                       truth=mock_dir / "truth.parquet")
            write_table(dataset, path)
            log.info("dataset %s: %d rows", fs, len(dataset))
    return paths


def _pdf_of(out_dir: Path, key: str) -> tuple[np.ndarray, np.ndarray, dict]:
    from nncz.grid import RedshiftGrid

    model_dir = out_dir / "models" / key
    done = json.loads((model_dir / DONE_FILE).read_text())
    return np.load(model_dir / "pdf.npy"), RedshiftGrid.from_dict(done["grid"]).centres, done


def _shap_results(out_dir: Path, data_dir: Path, settings: ReproduceSettings,
                  seed: int) -> dict:
    """SHAP results of the LSDR10 and PS1 + unWISE NNC models, cached in ``shap/<key>.npz``."""
    results = {}
    for key, title in (("nnc_lsdr10", "LSDR10"), ("nnc_ps1_unwise", "PS1 + unWISE")):
        model_dir = out_dir / "models" / key / "model"
        if not model_dir.exists():
            continue
        cache = out_dir / "shap" / f"{key}.npz"
        if cache.exists():
            results[title] = load_shap(cache)
            continue
        from nncz.estimator import NNCEstimator
        from nncz.explain import explain

        test = split_rows(read_table(data_dir / f"{model_config(key).feature_set}.parquet"),
                          "test")
        results[title] = explain(NNCEstimator.load(model_dir), test,
                                 n_samples=settings.shap_samples,
                                 n_background=settings.shap_background, seed=seed)
        save_shap(cache, results[title])
    return results


def save_shap(path: Path, result) -> Path:
    """Write a :class:`nncz.explain.ShapResult` as ``.npz`` (arrays and names, no pickle)."""

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.savez(handle, values=result.values, data=result.data,
                     base_value=np.float64(result.base_value),
                     feature_names=np.asarray(result.feature_names, dtype=str),
                     model_name=np.str_(result.model_name), method=np.str_(result.method))

    return atomic_write(path, write)


def load_shap(path: Path):
    """Read a ShapResult written by :func:`save_shap`."""
    from nncz.explain import ShapResult

    with np.load(path, allow_pickle=False) as f:
        return ShapResult(values=f["values"], base_value=float(f["base_value"]), data=f["data"],
                          feature_names=[str(n) for n in f["feature_names"]],
                          model_name=str(f["model_name"]), method=str(f["method"]))


def make_figures(out_dir: Path, data_dir: Path, predictions: Mapping[str, pd.DataFrame],
                 settings: ReproduceSettings, seed: int = 0,
                 formats: tuple[str, ...] = ("png",)) -> dict[str, Path]:
    """Draw and save Figures 2-8 under ``out_dir/figures``; those lacking inputs are skipped."""
    from nncz.plots import save_figure

    makers: dict[str, Callable] = {
        "fig2_zphot_zspec": lambda: figs.figure2(predictions),
        "fig3_sigma_nmad_vs_z": lambda: figs.figure3(predictions),
        "fig7_colour_z": lambda: figs.figure7(read_table(data_dir / "lsdr10.parquet"),
                                              seed=seed),
        "fig8_shap": lambda: figs.figure8(_shap_results(out_dir, data_dir, settings, seed)),
    }
    if "nnc_lsdr10" in predictions:
        pred = predictions["nnc_lsdr10"]
        pdf, centres, done = _pdf_of(out_dir, "nnc_lsdr10")
        makers["fig4_example_pdfs"] = lambda: figs.figure4(pred, pdf, centres, seed=seed)
        makers["fig5_pit"] = lambda: figs.figure5(pred, done.get("temperature"))
        makers["fig6_nz"] = lambda: figs.figure6(pred, pdf, centres)
    written = {}
    for name in sorted(makers):
        try:
            fig = makers[name]()
        except (ValueError, KeyError, FileNotFoundError) as err:
            log.warning("%s not drawn: %s", name, err)
            continue
        written[name] = save_figure(fig, out_dir / "figures" / name, formats=formats)[0]
    return written


def run_reproduce(out_dir: str | Path = "nncz_reproduce", mode: str = "quick",
                  seed: int = 0, mock_dir: str | Path | None = None,
                  settings: ReproduceSettings | None = None,
                  datasets: Mapping[str, pd.DataFrame] | None = None,
                  formats: tuple[str, ...] = ("png",), models: Sequence[str] | None = None,
                  verbose: bool = True, jobs: int = 1) -> dict:
    """Reproduce Table 1 and Figures 2-8 under ``out_dir``; return the run summary.

    Parameters
    ----------
    out_dir : path
        Everything is written here (see :mod:`nncz.reproduce.run`); a rerun skips the mock,
        datasets and models already there.
    mode : {"quick", "full"}
        Sizes and training settings (:data:`nncz.reproduce.configs.MODES`).
    seed : int
        Seed of the mock and of every model.
    mock_dir : path, optional
        An existing mock universe to use instead of generating ``out_dir/mock``.
    settings : ReproduceSettings, optional
        Overrides the mode's settings.
    datasets : mapping feature set -> DataFrame, optional
        Ready datasets (as :func:`nncz.datasets.build_dataset` makes): no mock is made.
    formats : figure formats ("png", "pdf").
    models : sequence of model keys, optional
        Train only these (:data:`nncz.reproduce.configs.MODELS` keys); the table and figures
        use every finished model found under ``out_dir``. Default: all.
    jobs : int
        Models trained side by side in worker processes of one torch thread each (1: one after
        the other in this process).
    """
    out = Path(out_dir)
    settings = settings or MODES[mode]
    data_dir = out / "datasets"
    timings: dict[str, dict[str, float]] = {}

    def stage(name: str, func: Callable):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = func()
        timings[name] = {"wall_s": round(time.perf_counter() - started, 1),
                         "cpu_s": round(time.process_time() - cpu_started, 1)}
        log.info("stage %s: %.0f s (CPU %.0f s)", name, timings[name]["wall_s"],
                 timings[name]["cpu_s"])
        return result

    if datasets is not None:
        for fs, df in datasets.items():
            write_table(df, data_dir / f"{fs}.parquet")
    else:
        mock = Path(mock_dir) if mock_dir else out / "mock"
        stage("mock", lambda: make_mock(mock, settings, seed, verbose))
        stage("datasets", lambda: build_datasets(mock, data_dir))
    cache: dict[str, pd.DataFrame] = {}

    def dataset(fs: str) -> pd.DataFrame:
        if fs not in cache:
            cache[fs] = read_table(data_dir / f"{fs}.parquet")
        return cache[fs]

    chosen = MODELS if models is None else tuple(model_config(k) for k in models)
    done = stage("models", lambda: train_models(dataset, out, settings, seed, chosen, verbose,
                                                jobs=jobs, data_dir=data_dir))
    for model in MODELS:
        if (out / "models" / model.key / DONE_FILE).exists():
            backfill_uncalibrated_mean(model, dataset(model.feature_set),
                                       out / "models" / model.key)
    predictions = load_predictions(out)
    table = build_table1(predictions)
    paths = write_table1(table, out)
    table_t1 = build_table1(predictions, point=UNCALIBRATED_MEAN)
    write_table1(table_t1, out, stem="table1_uncalibrated_mean")
    checks = orderings(table, predictions)
    figures = stage("figures", lambda: make_figures(out, data_dir, predictions, settings, seed,
                                                    formats))
    summary = {"mode": settings.name, "seed": seed, "n_galaxies": settings.n_galaxies,
               "models": {k: {f: v.get(f) for f in ("n_train", "n_test", "epochs",
                                                     "temperature", "seconds",
                                                     "cpu_seconds")}
                          for k, v in done.items()},
               "timings_s": timings}
    report = write_report(out, to_markdown(table), checks, figures,
                          to_markdown(table_t1),
                          {"mode": settings.name, "seed": seed,
                           "mock galaxies": settings.n_galaxies,
                           "stage seconds (this run; ~0 where resumed from earlier files)":
                               timings})
    text = json.dumps(summary, indent=2, default=str)
    atomic_write(out / "summary.json", lambda temp: temp.write_text(text))
    return {**summary, "table": table, "orderings": checks, "figures": figures,
            "table_paths": paths, "report": report}
