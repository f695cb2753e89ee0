"""Baselines saved before the common bundle format: ``meta.json`` beside their model files.

That layout (``format_version`` 1) held the forest as ``forest.npz``, the ANN as
``ann.safetensors`` with its scaler in ``meta.json``, and XGBoost's JSON model file, with a
SHA-256 of each in ``model_sha256``. Such directories still load, with a deprecation message;
:meth:`save` writes the current format (:mod:`nncz.bundle`). Their bad-value rule was "not
finite", kept as the policy :func:`finite_only_policy`, so they predict what they did.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nncz.baselines._common import PointPhotoZ
from nncz.baselines.ann import ANNRegressionPhotoZ
from nncz.baselines.forest import _ARRAYS, ForestArrays, RandomForestPhotoZ
from nncz.baselines.xgb import MODEL_FILE, XGBoostPhotoZ, read_booster
from nncz.bundle import LEGACY_META_FILE, file_sha256, member_state, read_weights
from nncz.cleaning import BadValuePolicy
from nncz.paths import ModelFileError

log = logging.getLogger("nncz")

FOREST_FILE = "forest.npz"
ANN_FILE = "ann.safetensors"


def finite_only_policy() -> BadValuePolicy:
    """The old layout's bad-value rule: a value is bad only when it is not finite."""
    return BadValuePolicy(mode="drop", sentinels=(), abs_max=np.inf)


def load_legacy(directory: Path, cls: type | None) -> PointPhotoZ:
    """Load a baseline from an old-layout ``directory``; ``cls``: the class it must be (None:
    the one named in ``meta.json``)."""
    meta_path = directory / LEGACY_META_FILE
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{meta_path}: not valid JSON ({error})") from None
    name = meta.get("estimator") if isinstance(meta, dict) else None
    classes = {c.__name__: c for c in _LOADERS}
    if name not in classes:
        raise ModelFileError(f"{meta_path}: field 'estimator': {name!r} is not one of "
                             f"{list(classes)}")
    if cls is not None and classes[name] is not cls:
        raise ModelFileError(f"{meta_path} holds a {name!r}, not a {cls.__name__}")
    log.warning("%s: a baseline in the layout before %s (meta.json): deprecated; it loads, "
                "and save() writes it in the current format", directory, "nncz-model-3")
    _check_model_files(directory, meta, meta_path)

    def field(key: str, default: Any = ...) -> Any:
        if key not in meta and default is ...:
            raise ModelFileError(f"{meta_path}: field '{key}': missing")
        return meta.get(key, default)

    try:
        estimator = classes[name](**field("params"), bad_values=finite_only_policy())
    except TypeError as error:
        raise ModelFileError(f"{meta_path}: field 'params': {error}") from None
    estimator.features_, estimator.target_ = list(field("features")), str(field("target"))
    estimator.policy_ = finite_only_policy()
    estimator.n_train_, estimator.n_valid_ = int(field("n_train")), int(field("n_valid"))
    estimator.best_params_, estimator.grid_results_ = field("best_params"), field("grid_results")
    _LOADERS[classes[name]](estimator, directory, field)
    estimator.metrics_ = field("metrics")
    return estimator


def _forest(estimator: RandomForestPhotoZ, directory: Path, field: Callable) -> None:
    with np.load(directory / FOREST_FILE, allow_pickle=False) as data:
        estimator.forest_ = ForestArrays(**{k: data[k] for k in _ARRAYS},
                                         max_depth=int(data["max_depth"]))


def _xgboost(estimator: XGBoostPhotoZ, directory: Path, field: Callable) -> None:
    estimator.booster_ = read_booster(directory / MODEL_FILE, estimator.n_jobs)
    estimator.n_rounds_ = int(field("n_rounds"))
    estimator.fixed_params_ = field("fixed_params_used")


def _ann(estimator: ANNRegressionPhotoZ, directory: Path, field: Callable) -> None:
    scaler = field("scaler")  # float32 as in a bundle (the old code scaled in float64: its
    # predictions differ from these by float32 rounding, ~1e-7)
    estimator.scaler_mean_ = np.asarray(scaler["mean"], dtype=np.float32)
    estimator.scaler_scale_ = np.asarray(scaler["scale"], dtype=np.float32)
    estimator.history_ = field("history")
    # Saved before "auto" existed: batch_size was always an int.
    estimator.batch_size_ = int(field("batch_size_used", estimator.batch_size))
    state = read_weights(directory / ANN_FILE)
    # Files written before the shared weights format have no "member0." prefix.
    prefixed = any(name.startswith("member0.") for name in state)
    estimator.model_ = estimator._new_model(len(estimator.features_))
    estimator.model_.load_state_dict(member_state(state, 0, prefixed))
    estimator.model_.eval()
    estimator._folded = None


_LOADERS: dict[type, Callable[[Any, Path, Callable], None]] = {
    RandomForestPhotoZ: _forest, XGBoostPhotoZ: _xgboost, ANNRegressionPhotoZ: _ann}


def _check_model_files(directory: Path, meta: dict, meta_path: Path) -> None:
    """Compare each model file with the SHA-256 recorded at save time (files saved before
    checksums were recorded have none and are not checked)."""
    for name, expected in meta.get("model_sha256", {}).items():
        path = directory / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file; {meta_path.name} lists it")
        if file_sha256(path) != expected:
            raise ModelFileError(f"{path}: checksum differs from model_sha256 in "
                                 f"{meta_path.name} (the file was changed or belongs to another "
                                 "model)")
