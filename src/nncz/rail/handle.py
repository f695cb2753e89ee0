"""The model RAIL stores for nncz: one tar archive of nncz's no-pickle bundle.

RAIL's default ``ModelHandle`` pickles whatever the informer produced. nncz's stages use
:class:`NNCModelHandle` instead, whose file is an uncompressed tar archive holding exactly what
:meth:`nncz.estimator.NNCEstimator.save` writes (``nncz_model.json`` + ``model.safetensors``)
plus ``rail_features.json`` (the :class:`~nncz.rail.features.RailFeatureSpec` the network was
trained with). Nothing in it is executable: reading it never unpickles. A single file (rather
than the bundle directory itself) is what RAIL's machinery expects of a model: ceci moves it
from its in-progress name, ``set_data`` checks it with ``os.path.isfile``, and RAIL's test
helpers delete it with ``os.remove``.

A model directory written by ``nncz train`` is read too (``NNCModelHandle`` paths may name a
directory): its features are then the columns it was trained on, taken as they are.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rail.core.data import ModelHandle

from nncz.estimator import NNCEstimator as CoreEstimator
from nncz.estimator import colour_columns, colour_names
from nncz.io import ColumnError, atomic_write
from nncz.rail.features import RailFeatureSpec

FEATURES_FILE = "rail_features.json"


@dataclass
class NNCRailModel:
    """A fitted nncz estimator and the RAIL feature recipe it was trained with.

    ``features`` is None for a model trained outside RAIL (``nncz train``): the input table must
    then hold the estimator's columns themselves (its features and colour bands).
    """

    estimator: CoreEstimator
    features: RailFeatureSpec | None = None

    def feature_frame(self, table: Mapping[str, Any] | pd.DataFrame,
                      source: str = "input table") -> pd.DataFrame:
        """The estimator's input table for ``table`` (one row per input row)."""
        if self.features is not None:
            frame = self.features.feature_frame(table, source)
            bands = self.features.bands
            if set(colour_names(bands)) & set(self.estimator.features_):
                # an archive written before the stage passed colours to the estimator: they
                # are features of its network, computed by the estimator's own rule
                frame = frame.assign(**colour_columns(frame, bands, self.estimator.policy_))
            return frame
        wanted = list(self.estimator.required_columns_)
        missing = [c for c in wanted if c not in table]
        if missing:
            raise ColumnError(f"column(s) {missing} missing from {source}; "
                              f"it has {list(table.keys())}")
        return pd.DataFrame({c: np.asarray(table[c], dtype=np.float64) for c in wanted})


def as_rail_model(data: Any) -> NNCRailModel:
    """``data`` as an :class:`NNCRailModel` (a bare fitted nncz estimator is wrapped)."""
    if isinstance(data, NNCRailModel):
        return data
    if isinstance(data, CoreEstimator):
        return NNCRailModel(data, None)
    raise TypeError(f"an nncz RAIL model must be an NNCRailModel or a fitted nncz "
                    f"NNCEstimator, got {type(data).__name__}")


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Archive metadata that does not depend on who wrote it or when (same model, same bytes)."""
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def write_model_archive(model: NNCRailModel, path: str | Path) -> Path:
    """Write ``model`` as a tar archive of its nncz bundle, atomically; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".nncz-model-", dir=path.parent) as temp:
        bundle = Path(temp) / "bundle"
        model.estimator.save(bundle)
        if model.features is not None:
            (bundle / FEATURES_FILE).write_text(json.dumps(model.features.to_dict(), indent=2))

        def write(temp_path: Path) -> None:
            with tarfile.open(temp_path, "w") as tar:
                for item in sorted(bundle.rglob("*")):
                    tar.add(item, arcname=str(item.relative_to(bundle)), recursive=False,
                            filter=_normalised)

        return atomic_write(path, write)


def read_model(path: str | Path) -> NNCRailModel:
    """Read a model archive written by :func:`write_model_archive`, or a model directory."""
    path = Path(path)
    if path.is_dir():
        return _load_bundle(path)
    if not path.exists():
        raise FileNotFoundError(f"nncz model {path} does not exist")
    with tempfile.TemporaryDirectory(prefix="nncz-model-") as temp:
        _extract(path, Path(temp))
        return _load_bundle(Path(temp))


def _extract(path: Path, target: Path) -> None:
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar.getmembers():
                name = Path(member.name)
                if not (member.isfile() or member.isdir()) or name.is_absolute() \
                        or ".." in name.parts:
                    raise ValueError(f"{path}: refusing model archive member {member.name!r} "
                                     "(only plain files inside the archive are allowed)")
            tar.extractall(target, filter="data")
    except tarfile.TarError as error:
        raise ValueError(f"{path}: not an nncz model archive (a tar of a model directory): "
                         f"{error}") from error


def _load_bundle(directory: Path) -> NNCRailModel:
    estimator = CoreEstimator.load(directory)
    spec_path = directory / FEATURES_FILE
    features = None
    if spec_path.exists():
        try:
            features = RailFeatureSpec.from_dict(json.loads(spec_path.read_text()))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{spec_path.name} in the nncz model: {error}") from error
    return NNCRailModel(estimator, features)


class NNCModelHandle(ModelHandle):
    """RAIL data handle for an nncz model: a tar archive, never a pickle (see module doc)."""

    suffix = "tar"
    interactive_type = "nncz.rail.handle.NNCRailModel"

    @classmethod
    def _open(cls, path: str, **kwargs: Any) -> NNCRailModel:
        if kwargs.get("mode", "r") != "r":
            raise ValueError(f"{path}: an nncz model archive is written whole, not opened "
                             "for writing")
        return read_model(path)

    @classmethod
    def _read(cls, path: str, **kwargs: Any) -> NNCRailModel:
        return read_model(path)

    @classmethod
    def _write(cls, data: Any, path: str, **kwargs: Any) -> None:
        write_model_archive(as_rail_model(data), path)

    @classmethod
    def _validate_data(cls, data: Any) -> None:
        as_rail_model(data)
