"""The method's Table 1 as data: the trained models, the rows, the published values, the modes.

A *model* is one training run (estimator x feature set x training surveys); a *row* of Table 1
is one model evaluated on its test split, or on a subset of it (faint, massive, ELG...). The
eleven LSDR10 rows of subsets share the one LSDR10 NNC model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """One training run.

    Attributes
    ----------
    key : str
        Directory name of its results (``models/<key>/``).
    estimator : {"nnc", "rf", "xgboost", "ann"}
    feature_set : str
        Built-in feature set (:mod:`nncz.surveys.featuresets`).
    train_survey : {"SDSS", "DESI"} or None
        Train and validate on one survey's spectra only (the test split stays whole); None
        uses both.
    label : str
        Short name in figures.
    """

    key: str
    estimator: str
    feature_set: str
    train_survey: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Subset:
    """Rows of a test split selected by one column: ``lo <= column < hi`` or ``column == equals``.

    ``lo``/``hi`` None means unbounded; magnitudes in AB mag, masses in log10(M*/Msun).
    """

    column: str
    lo: float | None = None
    hi: float | None = None
    equals: str | None = None


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1: a model, an optional subset, and the method's published values.

    ``published`` holds any of ``bias``, ``sigma``, ``sigma_nmad``, ``eta`` (eta in percent).
    """

    key: str
    group: str
    label: str
    model: str
    subset: Subset | None = None
    published: dict[str, float] = field(default_factory=dict)


MODELS: tuple[ModelConfig, ...] = (
    ModelConfig("nnc_lsdr10", "nnc", "lsdr10", None, "LSDR10 grizW1W2"),
    ModelConfig("nnc_lsdr10_ps1i", "nnc", "lsdr10_ps1i", None, "grzW1W2 + PS1 i"),
    ModelConfig("nnc_lsdr10_noi", "nnc", "lsdr10_noi", None, "grzW1W2 (no i)"),
    ModelConfig("nnc_lsdr10_sdss", "nnc", "lsdr10", "SDSS", "SDSS-only training"),
    ModelConfig("nnc_lsdr10_desi", "nnc", "lsdr10", "DESI", "DESI-only training"),
    ModelConfig("rf_lsdr10", "rf", "lsdr10", None, "Random forest"),
    ModelConfig("xgboost_lsdr10", "xgboost", "lsdr10", None, "XGBoost"),
    ModelConfig("ann_lsdr10", "ann", "lsdr10", None, "ANN regression"),
    ModelConfig("nnc_ps1", "nnc", "ps1", None, "PS1 optical"),
    ModelConfig("nnc_ps1_unwise", "nnc", "ps1_unwise", None, "PS1 + unWISE"),
    ModelConfig("nnc_ps1_unwise_sdss", "nnc", "ps1_unwise", "SDSS", "PS1 SDSS-only training"),
    ModelConfig("nnc_ps1_unwise_desi", "nnc", "ps1_unwise", "DESI", "PS1 DESI-only training"),
)


def _pub(sigma_nmad: float, eta: float, **more: float) -> dict[str, float]:
    return {"sigma_nmad": sigma_nmad, "eta": eta, **more}


TABLE1_ROWS: tuple[Table1Row, ...] = (
    Table1Row("lsdr10_full", "LSDR10", "LSDR10 full test set", "nnc_lsdr10", None,
              _pub(0.0153, 0.50, bias=-3.65e-4, sigma=0.0232)),
    Table1Row("lsdr10_bright", "LSDR10", "z_m < 21", "nnc_lsdr10", Subset("mag_z", hi=21.0),
              _pub(0.0151, 0.36)),
    Table1Row("lsdr10_faint", "LSDR10", "z_m >= 21", "nnc_lsdr10", Subset("mag_z", lo=21.0),
              _pub(0.0449, 7.29)),
    Table1Row("lsdr10_mass_high", "LSDR10", "log M* >= 11", "nnc_lsdr10",
              Subset("log_mstar", lo=11.0), _pub(0.0140, 0.40)),
    Table1Row("lsdr10_mass_mid", "LSDR10", "10 <= log M* < 11", "nnc_lsdr10",
              Subset("log_mstar", lo=10.0, hi=11.0), _pub(0.0160, 0.35)),
    Table1Row("lsdr10_mass_low", "LSDR10", "log M* < 10", "nnc_lsdr10",
              Subset("log_mstar", hi=10.0), _pub(0.0180, 1.43)),
    Table1Row("lsdr10_bgs", "LSDR10", "BGS", "nnc_lsdr10", Subset("desi_class", equals="BGS"),
              _pub(0.0155, 0.31)),
    Table1Row("lsdr10_lrg", "LSDR10", "LRG", "nnc_lsdr10", Subset("desi_class", equals="LRG"),
              _pub(0.0171, 0.42)),
    Table1Row("lsdr10_elg", "LSDR10", "ELG", "nnc_lsdr10", Subset("desi_class", equals="ELG"),
              _pub(0.0689, 10.97)),
    Table1Row("lsdr10_ps1i", "LSDR10", "grzW1W2 + PS1 i", "nnc_lsdr10_ps1i", None,
              _pub(0.0164, 0.34)),
    Table1Row("lsdr10_noi", "LSDR10", "grzW1W2 (no i)", "nnc_lsdr10_noi", None,
              _pub(0.0189, 0.58)),
    Table1Row("lsdr10_sdss_only", "LSDR10", "SDSS-only training", "nnc_lsdr10_sdss", None,
              _pub(0.0175, 0.73)),
    Table1Row("lsdr10_desi_only", "LSDR10", "DESI-only training", "nnc_lsdr10_desi", None,
              _pub(0.0157, 0.51)),
    Table1Row("baseline_rf", "Baselines (LSDR10)", "Random forest", "rf_lsdr10", None,
              _pub(0.0278, 0.64)),
    Table1Row("baseline_xgboost", "Baselines (LSDR10)", "XGBoost", "xgboost_lsdr10", None,
              _pub(0.0220, 0.58)),
    Table1Row("baseline_ann", "Baselines (LSDR10)", "ANN regression", "ann_lsdr10", None,
              _pub(0.0170, 0.49)),
    Table1Row("ps1_optical", "PS1", "PS1 optical only", "nnc_ps1", None, _pub(0.0283, 0.62)),
    Table1Row("ps1_unwise", "PS1", "PS1 + unWISE", "nnc_ps1_unwise", None, _pub(0.0222, 0.34)),
    Table1Row("ps1_sdss_only", "PS1", "PS1 + unWISE, SDSS-only training",
              "nnc_ps1_unwise_sdss", None, _pub(0.0245, 0.48)),
    Table1Row("ps1_desi_only", "PS1", "PS1 + unWISE, DESI-only training",
              "nnc_ps1_unwise_desi", None, _pub(0.0224, 0.34)),
)


@dataclass(frozen=True)
class ReproduceSettings:
    """Sizes and training settings of one reproduction mode.

    Attributes
    ----------
    n_galaxies : int
        Galaxies in the mock universe.
    mock_options : dict
        Other :class:`nncz.mock.universe.MockConfig` fields.
    nnc : dict
        :class:`~nncz.estimator.NNCEstimator` keyword arguments (also used for the ANN).
    rf_grid, xgb_grid : dict or None
        Hyper-parameter grids of the baselines (None: their defaults).
    xgb_rounds : int
        Maximum boosting rounds.
    shap_samples, shap_background : int
        Objects explained and background rows of Figure 8.
    """

    name: str
    n_galaxies: int
    mock_options: dict[str, Any]
    nnc: dict[str, Any]
    rf_grid: dict[str, list] | None
    xgb_grid: dict[str, list] | None
    xgb_rounds: int
    shap_samples: int
    shap_background: int


# Quick mode: the method's 4096-row batches would give a few optimiser steps per epoch on
# ~10^4 training rows, hence 512.
# The quick mock is denser in spectra than the default (fainter galaxies than i = 23 never get
# a spectrum, and every source lies in the spectroscopic footprints): its time goes into
# objects that enter the training sets.
QUICK_MOCK = {"i_max": 23.0, "spec_sky_boost": 0.95}

MODES: dict[str, ReproduceSettings] = {
    "quick": ReproduceSettings(
        name="quick", n_galaxies=1_000_000, mock_options=QUICK_MOCK,
        nnc={"max_epochs": 150, "patience": 20, "batch_size": 512},
        rf_grid={"n_estimators": [100], "min_samples_leaf": [3, 10], "max_features": [0.5]},
        xgb_grid={"max_depth": [4, 6], "learning_rate": [0.1]}, xgb_rounds=1000,
        shap_samples=200, shap_background=50),
    "full": ReproduceSettings(
        name="full", n_galaxies=4_000_000, mock_options=QUICK_MOCK, nnc={},
        rf_grid=None, xgb_grid=None, xgb_rounds=3000, shap_samples=1000, shap_background=100),
}


def model_config(key: str) -> ModelConfig:
    """The :data:`MODELS` entry named ``key`` (KeyError listing the keys otherwise)."""
    for model in MODELS:
        if model.key == key:
            return model
    raise KeyError(f"unknown model {key!r}; known: {[m.key for m in MODELS]}")
