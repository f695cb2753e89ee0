"""The model bundle: a directory with ``model.safetensors`` (weights) and ``nncz_model.json``.

No pickle anywhere: the JSON holds every setting, the scaler, the bad-value policy, the
calibration and a SHA-256 of the weights file; the weights are plain tensors named
``member{k}.<parameter>``. :func:`load_bundle` verifies everything before use and reports each
violation as one line naming the file and the field.

Format ``nncz-model-2`` (this version): ensembles and calibration objects. ``nncz-model-1``
(one network, a temperature, weights without the ``member0.`` prefix) still loads.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nncz import __version__
from nncz.calibrate import Calibration
from nncz.cleaning import BadValuePolicy
from nncz.grid import RedshiftGrid
from nncz.io import atomic_write
from nncz.model import ACTIVATIONS, ResidualMLP
from nncz.paths import ModelFileError
from nncz.train import TrainConfig

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "nncz_model.json"
FORMAT = "nncz-model-2"
FORMATS = ("nncz-model-1", FORMAT)
MAX_BINS = 100_000
# Fields that decide every prediction: each is checksummed at save time, so an edit of the JSON
# that keeps it self-consistent (another grid, permuted features) is still refused at load.
PROTECTED = ("features", "input_columns", "target", "grid", "architecture", "n_members",
             "scaler", "calibration", "bad_values")


def _field_sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (weights and model files are checked against it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_dict(estimator: Any) -> dict:
    """Everything but the weights, as plain JSON-able values."""
    settings = {k: v for k, v in estimator.get_params().items()
                if k not in ("grid", "bad_values", "verbose", "hidden", "dropout", "activation")}
    return {
        "format": FORMAT,
        "nncz_version": __version__,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__},
        "features": list(estimator.features_),
        "target": estimator.target_,
        "input_columns": estimator.policy_.feature_names(estimator.model_features_),
        "grid": estimator.grid.to_dict(),
        "architecture": {"hidden": [int(h) for h in estimator.hidden],
                         "dropout": estimator.dropout, "activation": estimator.activation},
        "n_members": len(estimator.members_),
        "settings": settings,
        "batch_size_used": int(estimator.batch_size_),
        "scaler": {"mean": np.asarray(estimator.scaler_mean_, float).tolist(),
                   "scale": np.asarray(estimator.scaler_scale_, float).tolist()},
        "calibration": estimator.calibration_.to_dict(),
        "temperature": estimator.temperature_,
        "bad_values": estimator.policy_.to_dict(),
        "metrics_validation": estimator.metrics_,
        "history": estimator.history_,
    }


def save_bundle(estimator: Any, directory: str | Path) -> Path:
    """Write the weights, then the JSON with the weights' checksum (each atomically)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory}: model output exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    weights = write_weights(estimator.members_, directory / WEIGHTS_FILE)
    config = bundle_dict(estimator)
    config["weights_sha256"] = file_sha256(weights)
    config = json.loads(json.dumps(config))  # the values exactly as they will be read back
    config["field_sha256"] = {name: _field_sha256(config[name]) for name in PROTECTED}
    text = json.dumps(config, indent=2)
    atomic_write(directory / CONFIG_FILE, lambda temp: temp.write_text(text))
    return directory


class _Fields:
    """Reads fields of a bundle's JSON, turning every problem into one named error."""

    def __init__(self, config: dict, path: Path) -> None:
        self.config, self.path = config, path

    def fail(self, field: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: field '{field}': {problem}")

    def get(self, field: str, default: Any = ...) -> Any:
        if field not in self.config:
            if default is ...:
                raise self.fail(field, "missing")
            return default
        return self.config[field]

    def vector(self, field: str, key: str, length: int, positive: bool = False) -> np.ndarray:
        try:
            values = np.asarray(self.get(field)[key], dtype=np.float64)
        except (TypeError, KeyError, ValueError):
            raise self.fail(f"{field}.{key}", "not a list of numbers") from None
        if values.shape != (length,):
            raise self.fail(f"{field}.{key}", f"has {values.size} values, the model "
                            f"{length} inputs")
        if not np.all(np.isfinite(values)) or (positive and not np.all(values > 0)):
            raise self.fail(f"{field}.{key}", "values must be finite" +
                            (" and > 0" if positive else ""))
        return values.astype(np.float32)


def _read_config(directory: Path) -> tuple[dict, Path]:
    config_path = directory / CONFIG_FILE
    if not directory.is_dir() or not config_path.exists():
        raise FileNotFoundError(f"{directory}: not an nncz model directory (no {CONFIG_FILE})")
    try:
        config = json.loads(config_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{config_path}: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_path}: not a JSON object")
    return config, config_path


def load_bundle(cls: type, directory: str | Path) -> Any:
    """Rebuild an estimator of class ``cls`` from a bundle, verifying every field first."""
    directory = Path(directory)
    config, config_path = _read_config(directory)
    fields = _Fields(config, config_path)
    if fields.get("format") not in FORMATS:
        raise fields.fail("format", f"{config.get('format')!r} is not one of {FORMATS}")
    _check_field_checksums(fields)
    grid = _grid(fields)
    arch = fields.get("architecture")
    try:
        hidden = tuple(int(h) for h in arch["hidden"])
        dropout, activation = float(arch["dropout"]), str(arch["activation"])
    except (TypeError, KeyError, ValueError):
        raise fields.fail("architecture", "needs hidden, dropout and activation") from None
    features = fields.get("features")
    inputs = fields.get("input_columns")
    if (not isinstance(features, list) or not features or len(set(features)) != len(features)
            or not isinstance(inputs, list) or inputs[: len(features)] != features):
        raise fields.fail("features", "must be a non-empty list of distinct column names "
                          "that starts input_columns")
    settings = dict(fields.get("settings", {}))
    if config["format"] == "nncz-model-1":
        settings = _settings_v1(config)
    try:
        policy = BadValuePolicy.from_dict(fields.get("bad_values"))
    except (TypeError, ValueError) as error:
        raise fields.fail("bad_values", str(error)) from None
    try:
        estimator = cls(grid=grid, hidden=hidden, dropout=dropout, activation=activation,
                        bad_values=policy.mode, verbose=False, **settings)
    except TypeError as error:
        raise fields.fail("settings", str(error)) from None
    estimator.features_, estimator.target_ = features, str(fields.get("target"))
    estimator.policy_ = policy
    if policy.feature_names(estimator.model_features_) != inputs:
        raise fields.fail("input_columns", "disagrees with features and bad_values")
    estimator.scaler_mean_ = fields.vector("scaler", "mean", len(inputs))
    estimator.scaler_scale_ = fields.vector("scaler", "scale", len(inputs), positive=True)
    calibration = config.get("calibration")
    if not isinstance(calibration, dict):  # format 1: a temperature only
        calibration = {"method": config.get("calibration", "crps") or "crps",
                       "temperature": fields.get("temperature")}
    try:
        estimator.calibration_ = Calibration.from_dict(calibration, f"{config_path}: calibration")
    except (TypeError, ValueError) as error:
        raise ModelFileError(str(error)) from None
    batch = settings.get("batch_size", 4096)  # format 1 has no batch_size_used
    estimator.batch_size_ = int(config.get("batch_size_used", 4096 if batch == "auto" else batch))
    estimator.metrics_ = config.get("metrics_validation", {})
    estimator.history_ = config.get("history", [])
    estimator.members_ = _load_members(fields, directory, config, len(inputs), grid, hidden,
                                       dropout, activation)
    estimator._folded = None
    return estimator


def _check_field_checksums(fields: _Fields) -> None:
    recorded = fields.config.get("field_sha256")
    if recorded is None:  # bundles written before checksums existed
        return
    for name in PROTECTED:
        if name in recorded and _field_sha256(fields.config.get(name)) != recorded[name]:
            raise fields.fail(name, "was edited after the model was saved (checksum differs); "
                              "retrain, or restore the file")


def _grid(fields: _Fields) -> RedshiftGrid:
    values = fields.get("grid")
    try:
        grid = RedshiftGrid.from_dict(values)
    except (TypeError, KeyError, ValueError) as error:
        raise fields.fail("grid", str(error)) from None
    if grid.n_bins > MAX_BINS:
        raise fields.fail("grid", f"n_bins {grid.n_bins} exceeds {MAX_BINS}")
    return grid


def _settings_v1(config: dict) -> dict:
    training = dict(config.get("training", {}))
    return {**training, "validation_fraction": config.get("validation_fraction", 0.1),
            "calibration": config.get("calibration", "nll"),
            "nll_weight": config.get("nll_weight", 0.0)}


def _load_members(fields: _Fields, directory: Path, config: dict, n_inputs: int,
                  grid: RedshiftGrid, hidden, dropout, activation) -> list[ResidualMLP]:
    weights = directory / WEIGHTS_FILE
    state = read_weights(weights, config.get("weights_sha256"),
                         f"weights_sha256 in {fields.path.name}")
    n_members = int(fields.get("n_members", 1))
    members = []
    for k in range(n_members):
        model = ResidualMLP(n_inputs, grid.n_bins, hidden, dropout, activation)
        try:
            model.load_state_dict(member_state(state, k, config["format"] != "nncz-model-1"))
        except RuntimeError as error:
            lines = str(error).strip().splitlines()
            detail = lines[1].strip() if len(lines) > 1 else lines[0]
            raise ModelFileError(f"{weights}: weights of member {k} do not fit the architecture in "
                             f"{fields.path.name} ({detail})") from None
        members.append(model.eval())
    return members


# -- weights files, shared with the ANN baseline (nncz.baselines.ann) ---------------------------
def write_weights(models: Sequence[torch.nn.Module], path: Path) -> Path:
    """Write the models' weights to ``path`` as safetensors named ``member{k}.<parameter>``,
    atomically; returns ``path``."""
    from safetensors.torch import save_file

    state = {f"member{k}.{name}": tensor.detach().contiguous()
             for k, model in enumerate(models) for name, tensor in model.state_dict().items()}
    return atomic_write(path, lambda temp: save_file(state, str(temp)))


def read_weights(path: Path, expected_sha256: str | None, recorded_in: str
                 ) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, after checking its SHA-256 against ``expected_sha256``
    (None: not checked; ``recorded_in`` says where it was recorded, for the error)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.exists():
        raise FileNotFoundError(f"{path.parent}: no {path.name}")
    if expected_sha256 is not None and file_sha256(path) != expected_sha256:
        raise ModelFileError(f"{path}: checksum differs from {recorded_in} (the weights were "
                             "changed or belong to another model)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(f"{path}: not a readable safetensors file ({error})") from None


def member_state(state: dict[str, torch.Tensor], member: int, prefixed: bool = True
                 ) -> dict[str, torch.Tensor]:
    """The state dict of member ``member`` in tensors written by :func:`write_weights`
    (``prefixed=False``: a file of one model whose names have no ``member{k}.`` prefix)."""
    prefix = f"member{member}." if prefixed else ""
    return {name[len(prefix):]: tensor for name, tensor in state.items()
            if name.startswith(prefix)}


def fit_scaler(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardisation of features ``x`` (N, n_inputs): per-column mean and scale (the
    standard deviation; 1 for a constant column, so it maps to 0 instead of dividing by 0)."""
    spread = x.std(axis=0)
    return x.mean(axis=0), np.where(spread > 0, spread, 1.0)


# -- settings of the network estimators (NNCEstimator, ANNRegressionPhotoZ) ---------------------
def network_param_checks(estimator: Any) -> dict[str, bool]:
    """``{name: valid?}`` of the architecture and training settings NNC and the ANN share
    (``hidden``, ``dropout``, ``activation``, ``lr`` ... ``clip_norm``), for their ``fit``."""
    batch = estimator.batch_size
    return {
        "hidden": len(estimator.hidden) > 0 and all(int(h) >= 1 for h in estimator.hidden),
        "dropout": 0 <= estimator.dropout < 1, "activation": estimator.activation in ACTIVATIONS,
        "lr": estimator.lr > 0, "weight_decay": estimator.weight_decay >= 0,
        "batch_size": batch == "auto" or (isinstance(batch, int | np.integer) and batch >= 2),
        "max_epochs": int(estimator.max_epochs) >= 1, "patience": int(estimator.patience) >= 1,
        "lr_patience": int(estimator.lr_patience) >= 0,
        "lr_factor": 0 < estimator.lr_factor < 1, "clip_norm": estimator.clip_norm > 0,
    }


def network_train_config(estimator: Any, seed: int) -> TrainConfig:
    """The :class:`~nncz.train.TrainConfig` of a network estimator's settings, with the batch
    size it resolved in ``fit`` (``batch_size_``) and ``seed``."""
    return TrainConfig(lr=estimator.lr, weight_decay=estimator.weight_decay,
                       batch_size=int(estimator.batch_size_),
                       max_epochs=int(estimator.max_epochs), patience=int(estimator.patience),
                       lr_patience=int(estimator.lr_patience), lr_factor=estimator.lr_factor,
                       clip_norm=estimator.clip_norm, seed=int(seed))
