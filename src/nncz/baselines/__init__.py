"""Point-estimate photo-z baselines behind NNCEstimator's fit / predict / save / load.

- :class:`RandomForestPhotoZ` (scikit-learn; saved as npz node arrays + JSON),
- :class:`XGBoostPhotoZ` (xgboost; saved in xgboost's JSON model format),
- :class:`ANNRegressionPhotoZ` (NNC's residual MLP, one output, Huber loss; safetensors + JSON).

``predict`` returns a DataFrame with ``z_phot_mean`` only: these models give no PDF.
"""

from __future__ import annotations

import json
from pathlib import Path

from nncz.baselines._common import META_FILE, PointPhotoZ, expand_grid
from nncz.baselines.ann import ANNRegressionPhotoZ
from nncz.baselines.forest import ForestArrays, RandomForestPhotoZ
from nncz.baselines.xgb import XGBoostPhotoZ

BASELINES: dict[str, type[PointPhotoZ]] = {
    "rf": RandomForestPhotoZ,
    "xgboost": XGBoostPhotoZ,
    "ann": ANNRegressionPhotoZ,
}


def load_baseline(directory: str | Path) -> PointPhotoZ:
    """Load any baseline saved by ``save``, dispatching on the class named in ``meta.json``."""
    meta_path = Path(directory) / META_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path}: no such file; is {directory} a saved baseline?")
    name = json.loads(meta_path.read_text()).get("estimator")
    by_name = {cls.__name__: cls for cls in BASELINES.values()}
    if name not in by_name:
        raise ValueError(
            f"{meta_path}: unknown estimator {name!r}; expected one of {list(by_name)}"
        )
    return by_name[name].load(directory)


__all__ = [
    "ANNRegressionPhotoZ",
    "BASELINES",
    "ForestArrays",
    "PointPhotoZ",
    "RandomForestPhotoZ",
    "XGBoostPhotoZ",
    "expand_grid",
    "load_baseline",
]
