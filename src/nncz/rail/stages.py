"""RAIL stages: ``NNCInformer`` (train an nncz network) and ``NNCEstimator`` (its PDFs).

``NNCInformer`` turns a RAIL training table into nncz's input table (:mod:`nncz.rail.features`),
fits :class:`nncz.estimator.NNCEstimator` on it with the stage's settings (the ``colours``
feature part becomes the estimator's ``colours``, which derives them) and stores the
result as an nncz model archive (:mod:`nncz.rail.handle`, no pickle). ``NNCEstimator`` reads
its input in ``chunk_size`` rows at a time (RAIL's ``CatEstimator`` loop) and writes, chunk by
chunk, a qp ``hist`` ensemble whose bins are the nncz redshift bins, with ``zmode`` and
``zmean`` in the ancillary table.

The redshift grid follows RAIL's shared parameters: the ``nzbins`` grid points
``linspace(zmin, zmax, nzbins)`` are the bin *edges*, so the network has ``nzbins - 1`` bins.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

import numpy as np
import pandas as pd
import qp
import torch
from ceci.config import StageParameter as Param
from rail.core.common_params import SharedParams
from rail.core.data import TableHandle
from rail.estimation.estimator import CatEstimator
from rail.estimation.informer import CatInformer

from nncz import qpio
from nncz.estimator import NNCEstimator as CoreEstimator
from nncz.grid import RedshiftGrid
from nncz.rail.features import RailFeatureSpec
from nncz.rail.handle import NNCModelHandle, NNCRailModel, as_rail_model

log = logging.getLogger("nncz.rail")
# ceci runs a pipeline stage as `python3 -m <top package of the class's module> <Class>`, or, for
# a module in the `rail` namespace package (RAIL's plugins), `python3 -m ceci <module>.<Class>`.
# The stages therefore present themselves as members of rail.estimation.algos.nncz, the module
# RAIL users import them from (it re-exports them): `python3 -m nncz` is not a ceci entry point.
RAIL_MODULE = "rail.estimation.algos.nncz"

_CORE = inspect.signature(CoreEstimator).parameters
# stage option -> nncz.estimator.NNCEstimator keyword
CORE_OPTIONS = {
    "hidden_layers": "hidden", "dropout": "dropout", "lr": "lr",
    "weight_decay": "weight_decay", "batch_size": "batch_size", "max_epochs": "max_epochs",
    "patience": "patience", "lr_patience": "lr_patience", "n_members": "n_members",
    "calibration": "calibration", "nll_weight": "nll_weight",
    "validation_fraction": "validation_fraction", "seed": "seed",
}


def _default(name: str, fallback: Any) -> Any:
    """nncz's own default for an estimator keyword (``fallback`` if this nncz lacks it)."""
    parameter = _CORE.get(name)
    return fallback if parameter is None else parameter.default


def _threads_param() -> Param:
    return Param(int, 0, msg="torch CPU threads for this stage (0: leave torch's setting; use "
                 "1 on a machine shared with other busy jobs)")


def _informer_options() -> dict:
    shared = ("zmin", "zmax", "nzbins", "bands", "err_bands", "mag_limits", "ref_band",
              "redshift_col", "nondetect_val")
    options = {name: SharedParams.copy_param(name) for name in shared}
    options.update(
        feature_set=Param(str, "mags+colours+errs", msg="'+'-joined feature parts: mags (every "
                          "band), ref (ref_band), colours (adjacent bands), errs (err_bands)"),
        nondetect_policy=Param(str, "mag_limit", msg="non-detections: 'mag_limit' (RAIL's "
                               "convention: magnitude -> mag_limits[band], error -> 1.0) or "
                               "'indicator' (nncz's fill value plus a 0/1 missing feature)"),
        hidden_layers=Param(list, list(_default("hidden", (512, 256, 128, 64))),
                            msg="widths of the residual MLP's hidden layers"),
        dropout=Param(float, _default("dropout", 0.1), msg="dropout rate"),
        lr=Param(float, _default("lr", 5e-4), msg="AdamW learning rate"),
        weight_decay=Param(float, _default("weight_decay", 1e-5), msg="AdamW weight decay"),
        batch_size=Param(None, _default("batch_size", 4096),
                         msg="training batch size (int, or 'auto' where nncz supports it)"),
        max_epochs=Param(int, _default("max_epochs", 300), msg="epoch limit"),
        patience=Param(int, _default("patience", 20), msg="early-stopping patience (epochs)"),
        lr_patience=Param(int, _default("lr_patience", 5), msg="epochs before the LR halves"),
        n_members=Param(int, _default("n_members", 1), msg="networks in the ensemble"),
        calibration=Param(str, _default("calibration", "crps"),
                          msg="calibration fitted on the validation rows (see nncz's "
                          "NNCEstimator: crps, nll, none, and pit where supported)"),
        nll_weight=Param(float, _default("nll_weight", 1e-3),
                         msg="weight of the true bin's NLL added to the CRPS training loss"),
        validation_fraction=Param(float, _default("validation_fraction", 0.1),
                                  msg="seeded share of the training rows held out for early "
                                  "stopping and calibration"),
        seed=Param(int, 0, msg="random seed (validation draw, initial weights, batches)"),
        threads=_threads_param(),
        verbose=Param(bool, False, msg="nncz progress bars and per-epoch log lines"),
    )
    return options


_OPTION_DEFAULTS = {name: param.default for name, param in _informer_options().items()}


def core_keywords(config: Any) -> dict:
    """nncz ``NNCEstimator`` keywords from a stage config.

    An option this nncz does not know (e.g. ``n_members`` before ensembles) is passed only when
    set away from its default; then it is an error naming the option.
    """
    keywords = {}
    for option, keyword in CORE_OPTIONS.items():
        value = config[option]
        if keyword in _CORE:
            keywords[keyword] = tuple(value) if option == "hidden_layers" else value
        elif value != _OPTION_DEFAULTS[option]:
            raise ValueError(f"option {option}={value!r}: this nncz's NNCEstimator has no "
                             f"{keyword!r} keyword")
    return keywords


def set_threads(threads: int) -> None:
    """Set torch's CPU threads when ``threads`` > 0 (process-wide, as torch's setting is)."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    if threads:
        torch.set_num_threads(int(threads))


def rail_grid(zmin: float, zmax: float, nzbins: int) -> RedshiftGrid:
    """nncz grid whose edges are RAIL's ``linspace(zmin, zmax, nzbins)`` grid points."""
    if nzbins < 2 or not zmax > zmin:
        raise ValueError(f"need zmax > zmin and nzbins >= 2, got zmin={zmin}, zmax={zmax}, "
                         f"nzbins={nzbins}")
    return RedshiftGrid(float(zmin), float(zmax), int(nzbins) - 1)


def _columns(stage: Any, data: Any) -> Any:
    """A RAIL table (optionally inside ``hdf5_groupname``) as a mapping of 1-D columns."""
    group = stage.config.hdf5_groupname
    if group and isinstance(data, dict) and group in data:
        data = data[group]
    if isinstance(data, pd.DataFrame | dict):
        return data
    return stage._convert_table_format(data, "numpyDict")


class NNCInformer(CatInformer):
    """Train nncz's photo-z network on a RAIL training table (the model is an nncz archive)."""

    name = "NNCInformer"
    entrypoint_function = "inform"
    config_options = CatInformer.config_options.copy()
    config_options.update(**_informer_options())
    outputs = [("model", NNCModelHandle)]

    def __init__(self, args: Any, **kwargs: Any) -> None:
        """Build the stage and check its settings now, not after reading the training data."""
        super().__init__(args, **kwargs)
        try:
            self.feature_spec()
            core_keywords(self.config)
        except ValueError as error:
            raise ValueError(f"{self.instance_name}: {error}") from error

    def feature_spec(self) -> RailFeatureSpec:
        """The feature recipe this stage's config describes."""
        c = self.config
        return RailFeatureSpec(bands=c.bands, err_bands=c.err_bands, ref_band=c.ref_band,
                               mag_limits=dict(c.mag_limits), nondetect_val=c.nondetect_val,
                               nondetect=c.nondetect_policy, feature_set=c.feature_set)

    def run(self) -> None:
        set_threads(self.config.threads)
        spec = self.feature_spec()
        table = _columns(self, self.get_data("input"))
        source = f"{self.name} input"
        redshift_col = self.config.redshift_col
        if redshift_col not in table:
            raise KeyError(f"redshift column {redshift_col!r} missing from {source}; "
                           f"it has {list(table.keys())}")
        frame = spec.feature_frame(table, source)
        frame[redshift_col] = np.asarray(table[redshift_col], dtype=np.float64)
        estimator = CoreEstimator(
            grid=rail_grid(self.config.zmin, self.config.zmax, self.config.nzbins),
            bad_values=spec.bad_value_policy(), colours=spec.colour_bands(),
            verbose=self.config.verbose, **core_keywords(self.config))
        estimator.fit(frame, spec.feature_names(), target=redshift_col, source=source)
        self.model = NNCRailModel(estimator, spec)
        self.add_data("model", self.model)


class NNCEstimator(CatEstimator):
    """nncz photo-z PDFs for a RAIL table, as a qp ``hist`` ensemble (``zmode``, ``zmean``)."""

    name = "NNCEstimator"
    entrypoint_function = "estimate"
    config_options = CatEstimator.config_options.copy()
    config_options.update(threads=_threads_param())
    inputs = [("model", NNCModelHandle), ("input", TableHandle)]

    def open_model(self, **kwargs: Any) -> NNCRailModel:
        """Attach the model; besides RAIL's forms, ``model`` may name an nncz model directory."""
        model = kwargs.get("model")
        if isinstance(model, str) and os.path.isdir(model):
            handle = self.add_handle("model", path=model)
            self.config["model"] = model
            handle.read()
            self.model = handle.data
        else:
            super().open_model(**kwargs)
        self.model = as_rail_model(self.model)
        self._check_grid(self.model.estimator.grid)
        return self.model

    def _check_grid(self, grid: RedshiftGrid) -> None:
        rail_points = (self.config.zmin, self.config.zmax, self.config.nzbins)
        model_points = (grid.z_min, grid.z_max, grid.n_bins + 1)
        if not np.allclose(rail_points, model_points):
            log.warning("%s: zmin, zmax, nzbins = %s but the model's bin edges are %s; the "
                        "output uses the model's bins", self.name, rail_points, model_points)

    def run(self) -> None:
        set_threads(self.config.threads)
        super().run()

    def _process_chunk(self, start: int, end: int, data: Any, first: bool) -> None:
        model: NNCRailModel = self.model
        table = _columns(self, data)
        frame = model.feature_frame(table, f"{self.name} input rows {start}-{end}")
        products, pdf = model.estimator.predict(frame, return_pdf=True,
                                                source=f"{self.name} input")
        bad = ~np.isfinite(pdf).all(axis=1)
        if bad.any():
            raise ValueError(
                f"{self.name}: rows {(start + np.flatnonzero(bad)[:5]).tolist()} have no PDF "
                "(no usable feature value, or a bad one under the model's 'drop' policy); RAIL "
                "needs one PDF a row: train with nncz's 'fill' policy (the NNCInformer's)")
        ensemble = to_rail_ensemble(pdf, model.estimator.grid,
                                    products["nncz_flag"].to_numpy(np.int16))
        self._do_chunk_output(ensemble, start, end, first, data=table)


# after the class statements: ceci's __init_subclass__ looks the defining module up by name
NNCInformer.__module__ = NNCEstimator.__module__ = RAIL_MODULE


def to_rail_ensemble(pdf: np.ndarray, grid: RedshiftGrid,
                     flag: np.ndarray | None = None) -> qp.Ensemble:
    """qp ``hist`` ensemble of binned PDFs with RAIL's ``zmode`` / ``zmean`` ancillary columns.

    Parameters
    ----------
    pdf : array (N, grid.n_bins)
        Probability of each redshift bin.
    grid : RedshiftGrid
    flag : int array (N,), optional
        nncz's ``nncz_flag`` bits, stored as the ancillary column ``nncz_flag`` (2: some bad
        feature values were filled).

    Returns
    -------
    qp.Ensemble
        :func:`nncz.qpio.to_qp`'s ensemble; its ``z_phot_mode`` and ``z_phot_mean`` (the
        values ``nncz predict`` writes) are stored under RAIL's names ``zmode`` and ``zmean``.
    """
    ensemble = qpio.to_qp(pdf, grid)
    ancil = {"zmode": ensemble.ancil["z_phot_mode"], "zmean": ensemble.ancil["z_phot_mean"]}
    if flag is not None:
        ancil["nncz_flag"] = np.asarray(flag)
    ensemble.set_ancil(ancil)
    return ensemble


__all__ = ["NNCEstimator", "NNCInformer", "core_keywords", "rail_grid", "to_rail_ensemble"]
