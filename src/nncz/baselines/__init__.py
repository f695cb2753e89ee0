"""Point-estimate photo-z baselines with NNC's fit / predict / save / load.

- :class:`RandomForestPhotoZ` (scikit-learn; node arrays in safetensors),
- :class:`XGBoostPhotoZ` (xgboost; its own JSON model file),
- :class:`ANNRegressionPhotoZ` (NNC's residual MLP, one output, Huber loss; safetensors).

All derive from :class:`nncz.base.PhotoZEstimator` and save in NNC's bundle format
(:mod:`nncz.bundle`; ``nncz.bundle.load_model`` loads any of them). ``predict`` returns
``z_phot_mean`` and ``nncz_flag`` only: these models give no PDF.
"""

from __future__ import annotations

from nncz.baselines._common import PointPhotoZ, expand_grid
from nncz.baselines.ann import ANNRegressionPhotoZ
from nncz.baselines.forest import ForestArrays, RandomForestPhotoZ
from nncz.baselines.xgb import XGBoostPhotoZ

BASELINES: dict[str, type[PointPhotoZ]] = {
    "rf": RandomForestPhotoZ,
    "xgboost": XGBoostPhotoZ,
    "ann": ANNRegressionPhotoZ,
}

__all__ = [
    "ANNRegressionPhotoZ",
    "BASELINES",
    "ForestArrays",
    "PointPhotoZ",
    "RandomForestPhotoZ",
    "XGBoostPhotoZ",
    "expand_grid",
]
