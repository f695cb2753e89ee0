"""Orchestration of ``nncz reproduce``: mock -> datasets -> every Table 1 model -> table, figures.

Layout of the output directory (every file written atomically; a rerun skips what exists)::

    mock/                      the mock universe (or --mock DIR)
    datasets/<feature_set>.parquet, datasets/spec.parquet
    models/<key>/done.json     the marker of a finished model: metrics, timings, grid
    models/<key>/predictions.parquet   its test split: z_spec, subsets' columns, z_phot_*, PIT
    models/<key>/pdf.npy       calibrated test PDFs (N, n_bins) of NNC models
    models/<key>/model/        the fitted estimator (``save``)
    table1.{md,csv,tex}, figures/fig*.png, report.md, timings.json
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nncz.io import atomic_write, read_table, write_table
from nncz.reproduce.configs import MODELS, ModelConfig, ReproduceSettings

log = logging.getLogger("nncz")

KEEP_COLUMNS = ("spec_id", "z_spec", "survey", "desi_class", "mag_z", "log_mstar")
DONE_FILE = "done.json"
# Mean of the PDF before temperature scaling (T = 1), kept beside the calibrated products.
UNCALIBRATED_MEAN = "z_phot_mean_uncalibrated"


def split_rows(dataset: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of ``split`` ('train', 'val' or 'test'; 'validation' is accepted for 'val')."""
    names = {"val": ("val", "validation"), "validation": ("val", "validation")}.get(split,
                                                                                  (split,))
    return dataset[dataset["split"].astype(str).isin(names)]


def training_tables(dataset: pd.DataFrame, train_survey: str | None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, validation, test) of a dataset, train/validation restricted to one survey."""
    if train_survey is not None:
        from nncz.datasets import survey_training_set

        dataset = survey_training_set(dataset, train_survey)
    return split_rows(dataset, "train"), split_rows(dataset, "val"), split_rows(dataset, "test")


def make_estimator(model: ModelConfig, settings: ReproduceSettings, seed: int,
                   verbose: bool) -> Any:
    """An unfitted estimator for ``model`` with the mode's settings."""
    from nncz.estimator import NNCEstimator

    nnc = NNCEstimator(seed=seed, verbose=verbose, **settings.nnc)
    if model.estimator == "nnc":
        return nnc
    from nncz.baselines import RandomForestPhotoZ, XGBoostPhotoZ

    if model.estimator == "ann":
        return ann_like(nnc)
    if model.estimator == "rf":  # every model applies NNC's bad-value policy
        return RandomForestPhotoZ(param_grid=settings.rf_grid, seed=seed,
                                  bad_values=nnc.bad_values)
    if model.estimator == "xgboost":
        return XGBoostPhotoZ(param_grid=settings.xgb_grid, n_estimators=settings.xgb_rounds,
                             seed=seed, bad_values=nnc.bad_values)
    raise ValueError(f"model {model.key!r}: unknown estimator {model.estimator!r}")


def ann_like(nnc: Any) -> Any:
    """The ANN regression baseline with the architecture, training settings and bad-value
    policy of ``nnc`` (an :class:`~nncz.estimator.NNCEstimator`), so the two differ only in head
    and loss."""
    from nncz.baselines import ANNRegressionPhotoZ

    return ANNRegressionPhotoZ(
        hidden=nnc.hidden, dropout=nnc.dropout, activation=nnc.activation, lr=nnc.lr,
        weight_decay=nnc.weight_decay, batch_size=nnc.batch_size, max_epochs=nnc.max_epochs,
        patience=nnc.patience, lr_patience=nnc.lr_patience, lr_factor=nnc.lr_factor,
        clip_norm=nnc.clip_norm, seed=nnc.seed, validation_fraction=nnc.validation_fraction,
        bad_values=nnc.bad_values, verbose=nnc.verbose)


def _evaluate_nnc(est: Any, test: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    from nncz.metrics import crps, pit

    products, pdf = est.predict(test, return_pdf=True, source="test split")
    raw = est.predict_pdf(test, calibrated=False, source="test split")
    z = test["z_spec"].to_numpy(float)
    ok = np.isfinite(pdf).all(axis=1)
    extra = {name: np.full(len(test), np.nan) for name in ("pit", "pit_uncalibrated", "crps")}
    extra["pit"][ok] = pit(pdf[ok], est.grid, z[ok])
    extra["pit_uncalibrated"][ok] = pit(raw[ok], est.grid, z[ok])
    extra["crps"][ok] = crps(pdf[ok], est.grid, z[ok])
    extra[UNCALIBRATED_MEAN] = np.where(ok, raw @ est.grid.centres, np.nan)
    return products.assign(**extra), pdf.astype(np.float32)


def backfill_uncalibrated_mean(model: ModelConfig, dataset: pd.DataFrame, model_dir: Path
                               ) -> bool:
    """Add ``z_phot_mean_uncalibrated`` to a finished NNC model's predictions if it lacks it.

    Results written before the column existed are completed from the saved model; returns
    True when the file was rewritten.
    """
    path = model_dir / "predictions.parquet"
    if model.estimator != "nnc" or not is_done(model_dir):
        return False
    predictions = read_table(path)
    if UNCALIBRATED_MEAN in predictions.columns:
        return False
    from nncz.estimator import NNCEstimator

    est = NNCEstimator.load(model_dir / "model")
    test = training_tables(dataset, model.train_survey)[2]
    if len(test) != len(predictions):
        raise ValueError(f"{path}: {len(predictions)} rows, the test split has {len(test)}")
    raw = est.predict_pdf(test, calibrated=False, source="test split")
    predictions[UNCALIBRATED_MEAN] = raw @ est.grid.centres
    write_table(predictions, path)
    return True


def train_one(model: ModelConfig, dataset: pd.DataFrame, model_dir: Path,
              settings: ReproduceSettings, seed: int = 0, verbose: bool = False) -> dict:
    """Train ``model`` on its dataset, predict its test split and write its result files.

    Returns the content of ``done.json`` (written last, so its presence means complete).
    """
    from nncz.surveys.featuresets import get_feature_set

    features = list(get_feature_set(model.feature_set).features)
    train, val, test = training_tables(dataset, model.train_survey)
    for name, part in (("train", train), ("validation", val), ("test", test)):
        if len(part) < 2:
            raise ValueError(f"model {model.key}: the {model.feature_set} dataset has "
                             f"{len(part)} {name} rows (train_survey={model.train_survey})")
    started, cpu_started = time.perf_counter(), time.process_time()
    est = make_estimator(model, settings, seed, verbose)
    if model.estimator == "nnc":
        est.fit(train, features, validation=val, checkpoint_dir=model_dir / "checkpoint",
                source=f"{model.feature_set} dataset")
    else:
        est.fit(train, features, validation=val)
    fit_seconds = time.perf_counter() - started
    est.save(model_dir / "model")
    (model_dir / "checkpoint" / "checkpoint.pt").unlink(missing_ok=True)
    keep = test[[c for c in KEEP_COLUMNS if c in test.columns]].reset_index(drop=True)
    done: dict[str, Any] = {"model": model.key, "estimator": model.estimator,
                            "feature_set": model.feature_set,
                            "train_survey": model.train_survey, "n_train": len(train),
                            "n_validation": len(val), "n_test": len(test),
                            "fit_seconds": fit_seconds}
    if model.estimator == "nnc":
        products, pdf = _evaluate_nnc(est, test)
        save_array(model_dir / "pdf.npy", pdf)
        done.update(temperature=float(est.temperature_), epochs=len(est.history_),
                    grid=est.grid.to_dict())
    else:
        products = est.predict(test)
        done.update(best_params=getattr(est, "best_params_", None))
    predictions = keep.join(products.reset_index(drop=True))
    write_table(predictions, model_dir / "predictions.parquet")
    done["seconds"] = time.perf_counter() - started
    done["cpu_seconds"] = time.process_time() - cpu_started  # all threads of this process
    text = json.dumps(done, indent=2, default=str)
    atomic_write(model_dir / DONE_FILE, lambda temp: temp.write_text(text))
    return done


def save_array(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as ``.npy`` atomically (np.save on a handle: no suffix is appended)."""

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:
            np.save(handle, array)

    return atomic_write(path, write)


def is_done(model_dir: Path) -> bool:
    """True when the model's results are complete (``done.json`` and its predictions)."""
    return (model_dir / DONE_FILE).exists() and (model_dir / "predictions.parquet").exists()


def train_models(datasets: Mapping[str, pd.DataFrame] | Callable[[str], pd.DataFrame],
                 out_dir: Path, settings: ReproduceSettings, seed: int = 0,
                 models: Iterable[ModelConfig] = MODELS, verbose: bool = False,
                 jobs: int = 1, data_dir: Path | None = None) -> dict[str, dict]:
    """Train every model not finished yet; return ``done.json`` of each, by key.

    ``datasets`` maps a feature-set name to its dataset (or is a function of the name). With
    ``jobs`` > 1 the models train in that many worker processes of one torch thread each
    (small networks use cores better side by side than multi-threaded); the workers read the
    datasets from ``data_dir/<feature_set>.parquet``.
    """
    from tqdm.auto import tqdm

    get = datasets if callable(datasets) else datasets.__getitem__
    results, todo = {}, []
    for model in models:
        model_dir = out_dir / "models" / model.key
        if is_done(model_dir):
            log.info("model %s: results exist, skipped", model.key)
            results[model.key] = json.loads((model_dir / DONE_FILE).read_text())
        else:
            todo.append(model)
    if jobs > 1 and len(todo) > 1:
        if data_dir is None:
            raise ValueError("train_models: jobs > 1 needs data_dir (the workers read the "
                             "datasets from files)")
        return {**results, **_train_in_workers(todo, Path(data_dir), out_dir, settings, seed,
                                               jobs, verbose)}
    for model in tqdm(todo, desc="Table 1 models", disable=not verbose):
        log.info("model %s: training (%s on %s)", model.key, model.estimator,
                 model.feature_set)
        results[model.key] = train_one(model, get(model.feature_set),
                                       out_dir / "models" / model.key, settings, seed, verbose)
        log.info("model %s done in %.0f s", model.key, results[model.key]["seconds"])
    return results


def _train_worker(key: str, data_dir: Path, out_dir: Path, settings: ReproduceSettings,
                  seed: int) -> dict:
    """One model in a worker process (one torch thread, no progress bars)."""
    import torch

    from nncz.reproduce.configs import model_config

    torch.set_num_threads(1)
    model = model_config(key)
    dataset = read_table(data_dir / f"{model.feature_set}.parquet")
    return train_one(model, dataset, out_dir / "models" / key, settings, seed, verbose=False)


def _train_in_workers(todo: list[ModelConfig], data_dir: Path, out_dir: Path,
                      settings: ReproduceSettings, seed: int, jobs: int, verbose: bool
                      ) -> dict[str, dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    results = {}
    context = multiprocessing.get_context("spawn")  # no forked torch/OpenMP state
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_train_worker, m.key, data_dir, out_dir, settings, seed): m
                   for m in todo}
        log.info("training %d models in %d worker processes", len(todo), jobs)
        for future in tqdm(as_completed(futures), total=len(futures), desc="Table 1 models",
                           disable=not verbose):
            key = futures[future].key
            results[key] = future.result()
            log.info("model %s done in %.0f s", key, results[key]["seconds"])
    return results


def load_predictions(out_dir: Path, models: Iterable[ModelConfig] = MODELS
                     ) -> dict[str, pd.DataFrame]:
    """Test-split predictions of every finished model, by key."""
    return {m.key: read_table(out_dir / "models" / m.key / "predictions.parquet")
            for m in models if is_done(out_dir / "models" / m.key)}
