"""Tiny synthetic Table 1 inputs for tests/test_reproduce*.py: datasets and predictions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from nncz.reproduce.configs import MODELS, MODES
from nncz.surveys.featuresets import get_feature_set

FEATURE_SETS = tuple(dict.fromkeys(m.feature_set for m in MODELS))

# Settings small enough for a whole run in seconds: tiny networks, 2 epochs, 5 trees.
TINY = dataclasses.replace(
    MODES["quick"], name="tiny", n_galaxies=0,
    nnc={"max_epochs": 2, "patience": 2, "hidden": (16, 16), "batch_size": 128},
    rf_grid={"n_estimators": [5], "min_samples_leaf": [5], "max_features": [0.5]},
    xgb_grid={"max_depth": [2], "learning_rate": [0.3]}, xgb_rounds=5,
    shap_samples=8, shap_background=4)


def synthetic_dataset(feature_set: str, n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A dataset shaped like ``nncz.datasets.build_dataset``'s: meta columns + the features.

    Every feature is a smooth function of redshift plus noise, so the networks can learn
    something in two epochs; surveys, DESI classes, masses and splits are spread over rows.
    """
    rng = np.random.default_rng(seed)
    z_max = get_feature_set(feature_set).z_range[1]
    z = rng.uniform(0.02, 0.95 * z_max, n)
    survey = np.where(rng.random(n) < 0.3, "SDSS", "DESI")
    classes = np.where(survey == "DESI", rng.choice(["BGS", "LRG", "ELG"], n), "")
    table = {"spec_id": [f"{s}:{i}" for i, s in enumerate(survey)], "z_spec": z,
             "survey": survey, "desi_class": classes,
             "mag_z": rng.uniform(17.0, 23.0, n), "log_mstar": rng.uniform(9.0, 12.0, n),
             "split": rng.choice(["train", "val", "test"], n, p=[0.6, 0.2, 0.2])}
    for k, name in enumerate(get_feature_set(feature_set).features):
        if "err" in name:
            table[name] = 0.02 + 0.01 * rng.random(n)
        else:
            table[name] = 20.0 + 1.5 * np.sin(2.0 * z + 0.4 * k) + 0.1 * rng.standard_normal(n)
    return pd.DataFrame(table)


def synthetic_datasets(n: int = 600) -> dict[str, pd.DataFrame]:
    """One synthetic dataset per feature set of Table 1."""
    return {fs: synthetic_dataset(fs, n, seed=i) for i, fs in enumerate(FEATURE_SETS)}


def fake_predictions(n: int = 400, seed: int = 0, scatter: float = 0.02,
                     with_pdf_columns: bool = True) -> pd.DataFrame:
    """Test-split predictions with ``z_phot_mean = z_spec + scatter * (1 + z) * N(0, 1)``."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.05, 1.9, n)
    zp = z + scatter * (1 + z) * rng.standard_normal(n)
    table = pd.DataFrame({"z_spec": z, "z_phot_mean": zp,
                          "survey": np.where(rng.random(n) < 0.3, "SDSS", "DESI"),
                          "desi_class": rng.choice(["BGS", "LRG", "ELG", ""], n),
                          "mag_z": rng.uniform(17, 23, n), "log_mstar": rng.uniform(9, 12, n)})
    if with_pdf_columns:
        table["z_phot_l68"] = zp - 0.05
        table["z_phot_u68"] = zp + 0.05
        table["z_conf"] = rng.uniform(0.2, 0.9, n)
        table["pit"] = rng.random(n)
        table["pit_uncalibrated"] = np.clip(rng.normal(0.5, 0.15, n), 0, 1)
        table["crps"] = rng.uniform(0.01, 0.03, n)
    return table
