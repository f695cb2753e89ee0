"""The model bundle: one directory format for every nncz estimator (NNC and the baselines).

A bundle is a directory with ``nncz_model.json`` and one model file. No pickle anywhere: the
JSON holds every setting, the feature columns, the bad-value policy, the scaler, the calibration
and a SHA-256 of the model file; the model file holds numbers only.

Format ``nncz-model-3`` (this version). Its ``kind`` field says which estimator wrote it:

========  =====================================  =========================================
kind      estimator                              model file
========  =====================================  =========================================
``nnc``   :class:`nncz.estimator.NNCEstimator`   ``model.safetensors``, ``member{k}.<param>``
``ann``   ``nncz.baselines.ANNRegressionPhotoZ``  ``model.safetensors``, ``member0.<param>``
``rf``    ``nncz.baselines.RandomForestPhotoZ``   ``model.safetensors``, flat node arrays
``xgb``   ``nncz.baselines.XGBoostPhotoZ``        ``xgboost_model.json`` (XGBoost's format)
========  =====================================  =========================================

Every bundle has ``format``, ``kind``, ``features``, ``input_columns``, ``target``,
``bad_values``, ``model_file``, ``settings`` (the constructor arguments not held elsewhere),
``metrics_validation``, ``history``, ``weights_sha256`` (of the model file) and
``field_sha256`` (of :data:`COMMON_PROTECTED` and every field of the kind); the kind adds its
own fields (NNC: ``grid``, ``colours``, ``architecture``, ``n_members``, ``scaler``,
``calibration``...; NNC bundles written before ``colours`` had its field keep it in ``settings``,
unchecksummed, and still load).
:func:`load_model` verifies everything before use and reports each violation as one
:class:`~nncz.paths.ModelFileError` naming the file and the field.

Older layouts still load: NNC's ``nncz-model-2`` (no ``kind``) and ``nncz-model-1`` (one network,
a temperature, weights without the ``member0.`` prefix), and the baselines' ``meta.json``
directories (:mod:`nncz.baselines.legacy`, with a deprecation message).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nncz import __version__
from nncz.cleaning import BadValuePolicy
from nncz.io import atomic_write
from nncz.model import ACTIVATIONS, ResidualMLP
from nncz.paths import ModelFileError
from nncz.train import TrainConfig

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "nncz_model.json"
LEGACY_META_FILE = "meta.json"  # the baselines' layout before nncz-model-3
FORMAT = "nncz-model-3"
FORMATS = ("nncz-model-1", "nncz-model-2", FORMAT)
MAX_BINS = 100_000
KINDS = {  # kind -> "module:class" of the estimator that writes it
    "nnc": "nncz.estimator:NNCEstimator",
    "ann": "nncz.baselines.ann:ANNRegressionPhotoZ",
    "rf": "nncz.baselines.forest:RandomForestPhotoZ",
    "xgb": "nncz.baselines.xgb:XGBoostPhotoZ",
}
# Fields that decide every prediction: each is checksummed at save time, so an edit of the JSON
# that keeps it self-consistent (another grid, permuted features) is still refused at load.
# The fields a kind adds are all checksummed too.
COMMON_PROTECTED = ("kind", "features", "input_columns", "target", "bad_values", "model_file")
NNC_PROTECTED = ("grid", "colours", "architecture", "n_members", "scaler", "calibration",
                 "temperature", "batch_size_used")
PROTECTED = COMMON_PROTECTED + NNC_PROTECTED  # an NNC bundle's (tests/test_bundle.py checks)


def _field_sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (model files are checked against it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def estimator_class(kind: str) -> type:
    """The estimator class that writes bundles of ``kind`` (see :data:`KINDS`)."""
    module, name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "numpy": np.__version__}
    for name in ("scikit-learn", "xgboost"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _config(estimator: Any, kind_fields: dict, model_file: str) -> dict:
    """Everything but the checksums, as the JSON values read back."""
    skipped = ("bad_values", "verbose", *estimator.params_in_fields)
    settings = {k: v for k, v in estimator.get_params().items() if k not in skipped}
    config = {
        "format": FORMAT,
        "kind": estimator.kind,
        "nncz_version": __version__,
        "versions": _versions(),
        "features": list(estimator.features_),
        "target": estimator.target_,
        "input_columns": estimator.policy_.feature_names(estimator.model_features_),
        "bad_values": estimator.policy_.to_dict(),
        "model_file": model_file,
        **kind_fields,
        "settings": settings,
        "metrics_validation": estimator.metrics_,
        "history": getattr(estimator, "history_", []),
    }
    return json.loads(json.dumps(config, default=_json_default))


def save_bundle(estimator: Any, directory: str | Path) -> Path:
    """Write the model file, then the JSON with its checksums (each atomically)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory}: model output exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    model_file = estimator._write_payload(directory)
    kind_fields = estimator._bundle_fields()
    config = _config(estimator, kind_fields, model_file)
    config["weights_sha256"] = file_sha256(directory / model_file)
    config["field_sha256"] = {name: _field_sha256(config[name])
                              for name in (*COMMON_PROTECTED, *kind_fields)}
    text = json.dumps(config, indent=2)
    atomic_write(directory / CONFIG_FILE, lambda temp: temp.write_text(text))
    return directory


class BundleFields:
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


def _is_legacy(directory: Path) -> bool:
    return not (directory / CONFIG_FILE).exists() and (directory / LEGACY_META_FILE).exists()


def load_model(directory: str | Path, cls: type | None = None) -> Any:
    """Rebuild the estimator saved in ``directory``, verifying every field first.

    ``cls``: the estimator class the bundle must hold (None: the one its ``kind`` names).
    """
    directory = Path(directory)
    if _is_legacy(directory):
        from nncz.baselines.legacy import load_legacy

        return load_legacy(directory, cls)
    config, config_path = _read_config(directory)
    fields = BundleFields(config, config_path)
    cls = _bundle_class(fields, cls)
    _check_field_checksums(fields)
    features = fields.get("features")
    inputs = fields.get("input_columns")
    if (not isinstance(features, list) or len(set(features)) != len(features)
            or not isinstance(inputs, list) or not inputs
            or inputs[: len(features)] != features):  # empty only in a colours-only NNC model
        raise fields.fail("features", "must be a list of distinct column names that starts "
                          "input_columns (a non-empty list)")
    try:
        policy = BadValuePolicy.from_dict(fields.get("bad_values"))
    except (TypeError, ValueError) as error:
        raise fields.fail("bad_values", str(error)) from None
    estimator = _construct(cls, fields, policy)
    estimator.features_, estimator.target_ = features, str(fields.get("target"))
    estimator.policy_ = policy
    if policy.feature_names(estimator.model_features_) != inputs:
        raise fields.fail("input_columns", "disagrees with features, settings and bad_values")
    estimator.metrics_ = config.get("metrics_validation", {})
    estimator.history_ = config.get("history", [])
    estimator._restore_payload(fields, _model_file(fields, directory))
    return estimator


def _bundle_class(fields: BundleFields, cls: type | None) -> type:
    """The class of the bundle's format and kind, checked against ``cls`` when given."""
    if fields.get("format") not in FORMATS:
        raise fields.fail("format", f"{fields.config.get('format')!r} is not one of {FORMATS}")
    kind = fields.get("kind") if fields.config["format"] == FORMAT else "nnc"
    if kind not in KINDS:
        raise fields.fail("kind", f"{kind!r} is not one of {list(KINDS)}")
    if cls is not None and cls.kind != kind:
        raise fields.fail("kind", f"the bundle holds a {kind!r} model "
                          f"({KINDS[kind].split(':')[1]}), not a {cls.__name__}")
    return estimator_class(kind) if cls is None else cls


def _construct(cls: type, fields: BundleFields, policy: BadValuePolicy) -> Any:
    settings = dict(fields.get("settings", {}))
    if fields.config["format"] == "nncz-model-1":
        settings = _settings_v1(fields.config)
    if "verbose" in cls._get_param_names():
        settings["verbose"] = False
    try:
        return cls(**settings, **cls._init_kwargs(fields), bad_values=policy.mode)
    except TypeError as error:
        raise fields.fail("settings", str(error)) from None


def _model_file(fields: BundleFields, directory: Path) -> Path:
    """The bundle's model file, after checking its SHA-256 against ``weights_sha256``."""
    if fields.config["format"] == FORMAT:
        name = fields.get("model_file")
        if not isinstance(name, str) or Path(name).name != name or name == CONFIG_FILE:
            raise fields.fail("model_file", f"{name!r} is not a file name in the bundle")
        expected = fields.get("weights_sha256")
    else:  # formats 1 and 2 (NNC): fixed name; checksums were optional
        name, expected = WEIGHTS_FILE, fields.config.get("weights_sha256")
    path = directory / name
    if not path.exists():
        raise FileNotFoundError(f"{directory}: no {name}")
    if expected is not None and file_sha256(path) != expected:
        raise ModelFileError(f"{path}: checksum differs from weights_sha256 in "
                             f"{fields.path.name} (the file was changed or belongs to another "
                             "model)")
    return path


def _check_field_checksums(fields: BundleFields) -> None:
    recorded = fields.config.get("field_sha256")
    if recorded is None:
        if fields.config["format"] == FORMAT:
            raise fields.fail("field_sha256", "missing")
        return  # NNC bundles written before checksums existed
    if not isinstance(recorded, dict):
        raise fields.fail("field_sha256", "not a mapping of field names to checksums")
    if fields.config["format"] == FORMAT:
        missing = [name for name in COMMON_PROTECTED if name not in recorded]
        if missing:
            raise fields.fail("field_sha256", f"has no checksum of {missing}")
    for name, digest in recorded.items():
        if _field_sha256(fields.config.get(name)) != digest:
            raise fields.fail(name, "was edited after the model was saved (checksum differs); "
                              "retrain, or restore the file")


def _settings_v1(config: dict) -> dict:
    training = dict(config.get("training", {}))
    return {**training, "validation_fraction": config.get("validation_fraction", 0.1),
            "calibration": config.get("calibration", "nll"),
            "nll_weight": config.get("nll_weight", 0.0)}


# -- networks (NNC's members, the ANN) ----------------------------------------------------------
def network_fields(estimator: Any, members: Sequence[torch.nn.Module]) -> dict:
    """Bundle fields of a residual-MLP estimator: architecture, members, scaler, batch size."""
    return {"architecture": {"hidden": [int(h) for h in estimator.hidden],
                             "dropout": estimator.dropout, "activation": estimator.activation},
            "n_members": len(members),
            "scaler": {"mean": np.asarray(estimator.scaler_mean_, float).tolist(),
                       "scale": np.asarray(estimator.scaler_scale_, float).tolist()},
            "batch_size_used": int(estimator.batch_size_)}


def architecture_kwargs(fields: BundleFields) -> dict[str, Any]:
    """``hidden``, ``dropout`` and ``activation`` from a bundle's ``architecture`` field."""
    arch = fields.get("architecture")
    try:
        return {"hidden": tuple(int(h) for h in arch["hidden"]),
                "dropout": float(arch["dropout"]), "activation": str(arch["activation"])}
    except (TypeError, KeyError, ValueError):
        raise fields.fail("architecture", "needs hidden, dropout and activation") from None


def restore_network(estimator: Any, fields: BundleFields, path: Path, n_outputs: int
                    ) -> list[ResidualMLP]:
    """Set the scaler and ``batch_size_`` of a network estimator from its bundle; returns its
    members read from the weights file ``path`` (checksum already verified)."""
    n_inputs = len(fields.get("input_columns"))
    estimator.scaler_mean_ = fields.vector("scaler", "mean", n_inputs)
    estimator.scaler_scale_ = fields.vector("scaler", "scale", n_inputs, positive=True)
    batch = fields.config.get("settings", {}).get("batch_size", 4096)
    estimator.batch_size_ = int(fields.config.get(  # format 1 has no batch_size_used
        "batch_size_used", 4096 if batch == "auto" else batch))
    estimator._folded = None
    state = read_weights(path)
    prefixed = fields.config["format"] != "nncz-model-1"
    members = []
    for k in range(int(fields.get("n_members", 1))):
        model = ResidualMLP(n_inputs, n_outputs, tuple(int(h) for h in estimator.hidden),
                            estimator.dropout, estimator.activation)
        try:
            model.load_state_dict(member_state(state, k, prefixed))
        except RuntimeError as error:
            lines = str(error).strip().splitlines()
            detail = lines[1].strip() if len(lines) > 1 else lines[0]
            raise ModelFileError(f"{path}: weights of member {k} do not fit the architecture in "
                                 f"{fields.path.name} ({detail})") from None
        members.append(model.eval())
    return members


# -- weights files -------------------------------------------------------------------------------
def write_weights(models: Sequence[torch.nn.Module], path: Path) -> Path:
    """Write the models' weights to ``path`` as safetensors named ``member{k}.<parameter>``,
    atomically; returns ``path``."""
    from safetensors.torch import save_file

    state = {f"member{k}.{name}": tensor.detach().contiguous()
             for k, model in enumerate(models) for name, tensor in model.state_dict().items()}
    return atomic_write(path, lambda temp: save_file(state, str(temp)))


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file (its checksum is checked by the caller)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

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
