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

import inspect
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
    if model.estimator == "nnc":
        from nncz.estimator import NNCEstimator

        return NNCEstimator(seed=seed, verbose=verbose, **settings.nnc)
    from nncz.baselines import ANNRegressionPhotoZ, RandomForestPhotoZ, XGBoostPhotoZ

    if model.estimator == "ann":
        accepted = inspect.signature(ANNRegressionPhotoZ).parameters
        kwargs = {k: v for k, v in settings.nnc.items() if k in accepted}
        return ANNRegressionPhotoZ(seed=seed, verbose=verbose, **kwargs)
    if model.estimator == "rf":
        return RandomForestPhotoZ(param_grid=settings.rf_grid, seed=seed)
    if model.estimator == "xgboost":
        return XGBoostPhotoZ(param_grid=settings.xgb_grid, n_estimators=settings.xgb_rounds,
                             seed=seed)
    raise ValueError(f"model {model.key!r}: unknown estimator {model.estimator!r}")


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
                 models: Iterable[ModelConfig] = MODELS, verbose: bool = False
                 ) -> dict[str, dict]:
    """Train every model not finished yet; return ``done.json`` of each, by key.

    ``datasets`` maps a feature-set name to its dataset (or is a function of the name).
    """
    from tqdm.auto import tqdm

    get = datasets if callable(datasets) else datasets.__getitem__
    results = {}
    models = list(models)
    for model in tqdm(models, desc="Table 1 models", disable=not verbose):
        model_dir = out_dir / "models" / model.key
        if is_done(model_dir):
            log.info("model %s: results exist, skipped", model.key)
            results[model.key] = json.loads((model_dir / DONE_FILE).read_text())
            continue
        log.info("model %s: training (%s on %s)", model.key, model.estimator,
                 model.feature_set)
        results[model.key] = train_one(model, get(model.feature_set), model_dir, settings,
                                       seed, verbose)
        log.info("model %s done in %.0f s", model.key, results[model.key]["seconds"])
    return results


def load_predictions(out_dir: Path, models: Iterable[ModelConfig] = MODELS
                     ) -> dict[str, pd.DataFrame]:
    """Test-split predictions of every finished model, by key."""
    return {m.key: read_table(out_dir / "models" / m.key / "predictions.parquet")
            for m in models if is_done(out_dir / "models" / m.key)}
