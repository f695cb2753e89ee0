"""NNCEstimator: the public object. fit / predict / save / load on tables with named columns."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nncz.base import PhotoZEstimator, row_flags
from nncz.bundle import (
    MAX_BINS,
    WEIGHTS_FILE,
    BundleFields,
    architecture_kwargs,
    network_fields,
    network_param_checks,
    network_train_config,
    restore_network,
    write_weights,
)
from nncz.calibrate import METHODS as CALIBRATIONS
from nncz.calibrate import Calibration
from nncz.cleaning import BadValuePolicy
from nncz.grid import RedshiftGrid
from nncz.infer import member_pdf, predict_arrays
from nncz.io import require_columns
from nncz.losses import crps_nll_binned
from nncz.metrics import evaluate
from nncz.model import PRECISIONS, FoldedMLP, ResidualMLP, inference_copy
from nncz.paths import ModelFileError
from nncz.pdf import PRODUCT_COLUMNS
from nncz.train import predict_outputs, train_model

log = logging.getLogger("nncz")

BATCH_RANGE = (256, 4096)
STEPS_PER_EPOCH = 32


def auto_batch_size(n_train: int) -> int:
    """Batch size for ``batch_size="auto"``: the power of two nearest ``n_train / 32``, kept in
    [256, 4096].

    The method's 4096 is right for 10^5+ rows, but gives SDSS BOSS (25k rows) 7 optimiser steps
    an epoch: there batch 1024 measured sigma_NMAD 0.0178 against 0.0189 (test set, issue 11);
    on RAIL's DC2 training file (8.7k rows) batch 256 was the best of 128/256/... (tuned on a
    hold-out of the training file, benchmarks/peers/README.md). ~32 steps an epoch meets both.
    """
    low, high = BATCH_RANGE
    target = max(n_train, 1) / STEPS_PER_EPOCH
    return int(np.clip(2 ** round(np.log2(max(target, 1.0))), low, high))


class NNCEstimator(PhotoZEstimator):
    """Photo-z PDFs by neural-network classification over redshift bins.

    scikit-learn conventions: ``__init__`` only stores its arguments (``get_params``,
    ``set_params`` and ``sklearn.base.clone`` work), ``fit`` validates them and never changes
    its inputs, learned state ends in ``_``.

    Parameters
    ----------
    grid : RedshiftGrid
        Redshift bins (default 400 over [0, 2]).
    hidden, dropout, activation
        Residual MLP architecture (default [512, 256, 128, 64], 0.1, "relu").
    lr, weight_decay, max_epochs, patience, lr_patience, lr_factor, clip_norm, seed
        Training settings (see :class:`nncz.train.TrainConfig`; defaults are the method's).
    batch_size : int or "auto"
        Training batch; ``"auto"`` (default) picks :func:`auto_batch_size` of the training rows
        (the method's 4096 from ~130k rows up).
    n_members : int
        Networks in the ensemble (seeds ``seed .. seed + n_members - 1``, one shared validation
        split); their PDFs are averaged before calibration.
    nll_weight : float
        Weight of the true bin's negative log-likelihood added to the CRPS training loss
        (default 1e-3; 0 trains on the CRPS alone, as the method's text says, which lets bins
        die: see :func:`nncz.losses.crps_nll_binned` and the README).
    bad_values : str or BadValuePolicy
        ``"fill"`` (default: bad values are filled and flagged, so a row is answered while any
        of its features is usable) or ``"drop"`` (see :mod:`nncz.cleaning`).
    colours : sequence of str
        Magnitude columns in wavelength order (e.g. ``("mag_u", "mag_g", "mag_r")``): the
        differences of adjacent ones are added to the model inputs as ``"<blue>-<red>"``,
        computed inside ``fit`` and every prediction from the magnitudes, so a model bundle
        needs only the magnitudes. The bands need not be among ``features`` (the network's
        direct inputs; a model of ``features=["mag_i"]`` and ugrizy colours sees i and the five
        colours), but every input table must hold them. A colour is a bad value (filled and
        flagged under ``fill``) where either magnitude is bad under the bad-value policy (a
        non-detection of 99, NaN, ...), whether or not that band is a feature. With colours,
        ``features`` may be empty. Default none. On a hold-out of RAIL's DC2 training file,
        adding the ugrizy colours to magnitudes + errors moved sigma_NMAD from 0.0246 to 0.0225
        and CRPS from 0.0384 to 0.0359 (3 networks; docs/results/dc2_factors).
    validation_fraction : float
        Share of the training table held out for early stopping and calibration when ``fit``
        gets no validation table (not used with ``cross_fit``).
    cross_fit : bool
        Cross-fitted ensemble (needs ``n_members >= 2`` and no validation table): the training
        rows are dealt into ``n_members`` folds (seeded); member k trains on the other folds and
        stops early on fold k; the calibration is fitted on the out-of-fold PDFs of every
        training row (member k's on fold k) instead of a ``validation_fraction`` split, and
        is applied to the members' average as usual. On a hold-out of RAIL's DC2 training file
        (5 networks, benchmarks/dc2_factors.py) it gave sigma_NMAD 0.0204, CRPS 0.0353, PIT KS
        0.019 against 0.0211, 0.0361, 0.026 with one shared 15% split.
    calibration : str
        ``"pit"`` (default), ``"crps"``, ``"nll"`` or ``"none"``: see
        :class:`nncz.calibrate.Calibration`. The PIT map won on every data set we scored,
        fitted on one half of the validation rows and scored on the other (PIT KS of the
        synthetic catalogue 0.019 against 0.055 for the CRPS temperature, SDSS BOSS 0.020
        against 0.063, SDSS MGS 0.050 against 0.068; CRPS lower too; README).
    verbose : bool
        Progress bars and one log line per epoch.

    Attributes (after ``fit``)
    --------------------------
    features_, target_, policy_, scaler_mean_, scaler_scale_, members_, calibration_,
    batch_size_, history_, metrics_
    """

    def __init__(
        self,
        grid: RedshiftGrid = RedshiftGrid(),  # noqa: B008 - frozen, immutable
        hidden: Sequence[int] = (512, 256, 128, 64),
        dropout: float = 0.1,
        activation: str = "relu",
        lr: float = 5e-4,
        weight_decay: float = 1e-5,
        batch_size: int | str = "auto",
        max_epochs: int = 300,
        patience: int = 20,
        lr_patience: int = 5,
        lr_factor: float = 0.5,
        clip_norm: float = 1.0,
        seed: int = 0,
        n_members: int = 1,
        bad_values: str | BadValuePolicy = "fill",
        colours: Sequence[str] = (),
        validation_fraction: float = 0.1,
        cross_fit: bool = False,
        calibration: str = "pit",
        nll_weight: float = 1e-3,
        verbose: bool = True,
    ) -> None:
        self.grid = grid
        self.hidden = hidden
        self.dropout = dropout
        self.activation = activation
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.clip_norm = clip_norm
        self.seed = seed
        self.n_members = n_members
        self.bad_values = bad_values
        self.colours = colours
        self.validation_fraction = validation_fraction
        self.cross_fit = cross_fit
        self.calibration = calibration
        self.nll_weight = nll_weight
        self.verbose = verbose

    kind = "nnc"
    uses_scaler = True
    params_in_fields = ("grid", "hidden", "dropout", "activation", "colours")

    # ------------------------------------------------------------ settings
    def _check_params(self) -> None:
        """Validate the constructor arguments; one clear error naming the parameter."""
        if not isinstance(self.grid, RedshiftGrid):
            raise ValueError(f"grid must be a RedshiftGrid, got {type(self.grid).__name__}")
        super()._check_params()

    def _param_checks(self) -> dict[str, bool]:
        return {
            **network_param_checks(self),
            "n_members": int(self.n_members) == self.n_members and self.n_members >= 1,
            "calibration": self.calibration in CALIBRATIONS,
            "nll_weight": self.nll_weight >= 0,
            "cross_fit": self.cross_fit in (False, True) and (
                not self.cross_fit or int(self.n_members) >= 2),
            "colours": (not isinstance(self.colours, str) and len(self.colours) != 1
                        and len(set(self.colours)) == len(self.colours)),
        }

    def _target_range(self) -> tuple[float, float]:
        return self.grid.z_min, self.grid.z_max

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        table: pd.DataFrame,
        features: Sequence[str],
        target: str = "z_spec",
        validation: pd.DataFrame | float | None = None,
        checkpoint_dir: str | Path | None = None,
        source: str = "training table",
    ) -> NNCEstimator:
        """Train the network(s) on ``table[features]`` -> ``table[target]`` and calibrate.

        ``validation`` is a separate table, or the fraction of ``table`` to hold out (seeded);
        it drives early stopping and the learning-rate schedule, and the calibration is fitted
        on it (with ``cross_fit`` the folds of ``table`` take its place). ``checkpoint_dir``
        makes an interrupted fit resume (one sub-directory a member).
        """
        if self.cross_fit and validation is not None:
            raise ValueError("NNCEstimator: cross_fit validates on folds of the training table; "
                             "pass no validation")
        x_train, z_train, x_val, z_val = self._training_arrays(
            table, features, target, validation, source, hold_out=not self.cross_fit)
        z_train, z_val = z_train.astype(np.float32), z_val.astype(np.float32)
        folds = (fold_index(len(x_train), int(self.n_members), int(self.seed))
                 if self.cross_fit else np.full(len(x_train), -1))
        self.batch_size_ = (auto_batch_size(int((folds != 0).sum()))
                            if self.batch_size == "auto" else int(self.batch_size))
        self.members_, self.history_ = [], []
        if self.cross_fit:
            log.info("training %d cross-fitted networks on %d rows, %d inputs, batch %d",
                     self.n_members, len(z_train), x_train.shape[1], self.batch_size_)
            fingerprint = self._fingerprint(x_train, z_train, folds)
            pdf_val = self._fit_folds(x_train, z_train, folds, checkpoint_dir, fingerprint)
            z_val = z_train
        else:
            log.info("training %d network(s) on %d rows, validating on %d, %d inputs, batch %d",
                     self.n_members, len(z_train), len(z_val), x_train.shape[1],
                     self.batch_size_)
            fingerprint = self._fingerprint(x_train, z_train, x_val, z_val)
            for member in range(int(self.n_members)):
                self._fit_member(member, x_train, z_train, x_val, z_val, checkpoint_dir,
                                 fingerprint)
            pdf_val = self._member_pdf(x_val)
        self.calibration_ = Calibration(self.calibration).fit(pdf_val, z_val, self.grid)
        self.metrics_ = self._validation_metrics(pdf_val, z_val)
        log.info("calibration %s; validation %s", self.calibration_.to_dict(), self.metrics_)
        return self

    def _fit_folds(self, x: np.ndarray, z: np.ndarray, folds: np.ndarray,
                   checkpoint_dir: str | Path | None, fingerprint: str) -> np.ndarray:
        """Member k trains on the rows outside fold k and stops early on fold k; returns the
        out-of-fold raw PDF (N, n_bins) of every row (member k's on fold k)."""
        oof = np.empty((len(x), self.grid.n_bins), np.float32)
        for member in range(int(self.n_members)):
            held = folds == member
            self._fit_member(member, x[~held], z[~held], x[held], z[held], checkpoint_dir,
                             fingerprint)
            oof[held] = member_pdf(self._inference_models()[member:member + 1], x[held])
        return oof

    def _fit_member(self, member, x_train, z_train, x_val, z_val, checkpoint_dir,
                    fingerprint) -> None:
        seed = int(self.seed) + member
        torch.manual_seed(seed)
        model = ResidualMLP(x_train.shape[1], self.grid.n_bins, self._hidden(), self.dropout,
                            self.activation)
        upper_edges = torch.as_tensor(self.grid.edges[1:], dtype=torch.float32)
        centres = self.grid.centres

        def loss(logits: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return crps_nll_binned(logits, z, upper_edges, self.grid.width, self.nll_weight)

        def point(logits: torch.Tensor) -> np.ndarray:
            return torch.softmax(logits, 1).numpy() @ centres

        member_dir = None
        if checkpoint_dir is not None:
            member_dir = Path(checkpoint_dir) / f"member_{member}"
        history = train_model(
            model, loss, _tensor(x_train), torch.as_tensor(z_train), _tensor(x_val),
            torch.as_tensor(z_val), network_train_config(self, seed), z_val=z_val, point_fn=point,
            checkpoint_dir=member_dir, verbose=self.verbose,
            fingerprint=f"{fingerprint}-member{member}")
        if len(history) > 1 and not any(r["val_loss"] < history[0]["val_loss"]
                                        for r in history[1:]):
            log.warning("member %d: the validation loss never improved on its first epoch; "
                        "the model may be untrained (check lr and max_epochs)", member)
        self.members_.append(model.eval())
        self.history_.extend({"member": member, **record} for record in history)
        self._folded = None

    def _fingerprint(self, *arrays: np.ndarray) -> str:
        """Hash of the data and every setting that changes training (checkpoint identity)."""
        digest = hashlib.sha256()
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
        params = {k: v for k, v in self.get_params().items() if k != "verbose"}
        digest.update(json.dumps({**params, "grid": self.grid.to_dict(),
                                  "bad_values": self.policy_.to_dict(),
                                  "features": self.features_, "batch": self.batch_size_},
                                 sort_keys=True, default=str).encode())
        return digest.hexdigest()[:32]

    def _hidden(self) -> tuple[int, ...]:
        return tuple(int(h) for h in self.hidden)

    def _check_features(self, features: list[str], source: str) -> None:
        """Features may be empty only with colours; no colour name may be a feature."""
        if not len(self.colours):
            super()._check_features(features, source)
        clash = [name for name in colour_names(self.colours) if name in features]
        if clash:
            raise ValueError(f"NNCEstimator: colour feature(s) {clash} clash with feature names")

    def required_columns(self, features: Sequence[str]) -> list[str]:
        """``features`` (as given), then the colour bands that are not among them."""
        return [*features, *(band for band in self.colours if band not in features)]

    @property
    def model_features_(self) -> list[str]:
        """The columns the bad-value policy and the network see (before the ``__missing``
        indicators): ``features_``, then the colours of adjacent ``colours``."""
        return [*self.features_, *colour_names(self.colours)]

    def _model_table(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table[features_]`` plus the colour columns (NaN where a magnitude is bad); the
        bands are read from ``table``, features or not."""
        if not len(self.colours):
            return table
        return table[self.features_].assign(**colour_columns(table, self.colours, self.policy_))

    def _validation_metrics(self, pdf_raw: np.ndarray, z_val: np.ndarray) -> dict:
        pdf = self.calibration_.apply(pdf_raw)
        metrics = evaluate(pdf @ self.grid.centres, z_val, pdf, self.grid)
        raw = evaluate(pdf_raw @ self.grid.centres, z_val, pdf_raw, self.grid)
        metrics["pit_ks_uncalibrated"] = raw.get("pit_ks", float("nan"))
        return metrics

    # ------------------------------------------------------------- predict
    @property
    def epochs_(self) -> list[int]:
        """Epochs each member trained for (from ``history_``, whose records carry ``member``)."""
        return [sum(r.get("member", 0) == k for r in self.history_)
                for k in range(len(self.members_))]

    @property
    def temperature_(self) -> float:
        """The fitted temperature (1.0 when the calibration has none)."""
        return float(self.calibration_.temperature)

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise RuntimeError("this NNCEstimator is not fitted: call fit() or load() first")

    def _inference_models(self, precision: str = "fp32") -> list[torch.nn.Module]:
        """The members folded for inference (:class:`FoldedMLP`), at ``precision`` (see
        :func:`nncz.model.inference_copy`); built once and cached until the next fit or load."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if getattr(self, "_folded", None) is None:
            self._folded = {}
        if "fp32" not in self._folded:
            self._folded["fp32"] = [FoldedMLP(model.eval()) for model in self.members_]
        if precision not in self._folded:
            self._folded[precision] = [inference_copy(f, precision)
                                       for f in self._folded["fp32"]]
        return self._folded[precision]

    def _member_pdf(self, x_scaled: np.ndarray) -> np.ndarray:
        """Raw PDF (N, n_bins) float32: the mean of the members' softmax outputs."""
        return member_pdf(self._inference_models(), x_scaled)

    def predict_logits(self, table: pd.DataFrame, batch_size: int = 65536,
                       source: str = "input table") -> np.ndarray:
        """Uncalibrated network outputs (N, n_bins) float32 of a single-network model."""
        self._check_fitted()
        if len(self.members_) != 1:
            raise ValueError("predict_logits needs a single network; this model is an ensemble "
                             f"of {len(self.members_)}: use predict_pdf(calibrated=False)")
        require_columns(table, self.required_columns_, source)
        with torch.inference_mode():
            return predict_outputs(self._inference_models()[0],
                                   _tensor(self._inputs(table)[0]), batch_size).numpy()

    def predict_pdf(self, table: pd.DataFrame, calibrated: bool = True,
                    source: str = "input table") -> np.ndarray:
        """PDFs (N, n_bins) float32, calibrated unless ``calibrated=False``; rows that cannot
        be predicted are NaN. No products are computed (use :meth:`predict` for both)."""
        self._check_fitted()
        require_columns(table, self.required_columns_, source)
        x, bad = self._inputs(table)
        pdf = member_pdf(self._inference_models(), x,
                         self.calibration_ if calibrated else None)
        pdf[~self.policy_.usable_rows(bad)] = np.nan
        return pdf

    def predict(
        self,
        table: pd.DataFrame,
        calibrated: bool = True,
        return_pdf: bool = False,
        chunk_rows: int = 65536,
        source: str = "input table",
        precision: str = "fp32",
    ) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
        """PDF products, one row per input row in input order (see :mod:`nncz.pdf`).

        ``nncz_flag`` holds bits: 1 (:data:`FLAG_NO_PREDICTION`) where the row's features
        cannot be used (products and PDF are NaN), 2 (:data:`FLAG_FILLED`) where some bad
        values were filled under the ``fill`` policy.

        ``precision="bf16"`` runs the hidden blocks of the network in bfloat16 (opt-in; faster
        where the CPU has bf16 instructions; on the SDSS BOSS test split sigma_NMAD moved by
        < 0.3%, PIT KS by +0.4% and -1.9% for two models trained alike); ``"int8"`` quantizes
        them (sigma_NMAD +1.6% on BOSS: outside a 1% tolerance). The calibration and products
        stay float32; figures in benchmarks/README.md.
        """
        bounds = self._chunk_bounds(table, chunk_rows, source, precision)
        pdfs = np.empty((len(table), self.grid.n_bins), np.float32) if return_pdf else None
        parts = [self._predict_chunk(table.iloc[start:stop], calibrated, precision,
                                     None if pdfs is None else pdfs[start:stop])
                 for start, stop in bounds]
        result = pd.concat(parts, ignore_index=True)
        result.index = table.index
        if return_pdf:
            return result, pdfs
        return result

    def iter_predict(
        self,
        table: pd.DataFrame,
        calibrated: bool = True,
        return_pdf: bool = False,
        chunk_rows: int = 65536,
        source: str = "input table",
        precision: str = "fp32",
    ) -> Iterator[tuple[pd.DataFrame, np.ndarray | None]]:
        """:meth:`predict` chunk by chunk: yields ``(products, pdf or None)`` of each run of
        ``chunk_rows`` rows, so that PDFs can be written out without holding them all."""
        for start, stop in self._chunk_bounds(table, chunk_rows, source, precision):
            chunk = table.iloc[start:stop]
            pdf = np.empty((len(chunk), self.grid.n_bins), np.float32) if return_pdf else None
            products = self._predict_chunk(chunk, calibrated, precision, pdf)
            products.index = chunk.index
            yield products, pdf

    def _chunk_bounds(self, table: pd.DataFrame, chunk_rows: int, source: str,
                      precision: str) -> list[tuple[int, int]]:
        """Check the model and the table, then the (start, stop) rows of each chunk (one
        empty chunk for an empty table, so that its output has the product columns)."""
        self._check_fitted()
        require_columns(table, self.required_columns_, source)
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self._inference_models(precision)  # an unknown precision fails before any work
        return [(start, start + chunk_rows) for start in range(0, max(len(table), 1), chunk_rows)]

    def _predict_chunk(self, chunk: pd.DataFrame, calibrated: bool, precision: str = "fp32",
                       pdf_out: np.ndarray | None = None) -> pd.DataFrame:
        """Products of ``chunk``; its PDFs are written into ``pdf_out`` (len(chunk), n_bins)
        when given (no (chunk, n_bins) array is made otherwise)."""
        x, bad = self._inputs(chunk)  # bad values found once per chunk
        values = predict_arrays(self._inference_models(precision), x,
                                self.calibration_ if calibrated else None, self.grid, pdf_out)
        invalid = ~self.policy_.usable_rows(bad)
        values[invalid] = np.nan
        if pdf_out is not None:
            pdf_out[invalid] = np.nan
        products = pd.DataFrame({name: values[:, j] for j, name in enumerate(PRODUCT_COLUMNS)})
        products["nncz_flag"] = row_flags(bad, ~invalid)
        return products

    # ------------------------------------------------- its part of the bundle
    def _bundle_fields(self) -> dict:
        return {"grid": self.grid.to_dict(), "colours": [str(c) for c in self.colours],
                **network_fields(self, self.members_),
                "calibration": self.calibration_.to_dict(), "temperature": self.temperature_}

    def _write_payload(self, directory: Path) -> str:
        write_weights(self.members_, directory / WEIGHTS_FILE)
        return WEIGHTS_FILE

    @classmethod
    def _init_kwargs(cls, fields: BundleFields) -> dict:
        try:
            grid = RedshiftGrid.from_dict(fields.get("grid"))
        except (TypeError, KeyError, ValueError) as error:
            raise fields.fail("grid", str(error)) from None
        if grid.n_bins > MAX_BINS:
            raise fields.fail("grid", f"n_bins {grid.n_bins} exceeds {MAX_BINS}")
        kwargs = {"grid": grid, **architecture_kwargs(fields)}
        if "colours" in fields.config:  # before its own field, colours was in "settings"
            colours = fields.get("colours")
            if not isinstance(colours, list) or not all(isinstance(c, str) for c in colours):
                raise fields.fail("colours", "must be a list of column names")
            kwargs["colours"] = tuple(colours)
        return kwargs

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:
        calibration = fields.config.get("calibration")
        if not isinstance(calibration, dict):  # format 1: a temperature only
            calibration = {"method": fields.config.get("calibration", "crps") or "crps",
                           "temperature": fields.get("temperature")}
        try:
            self.calibration_ = Calibration.from_dict(calibration, f"{fields.path}: calibration")
        except (TypeError, ValueError) as error:
            raise ModelFileError(str(error)) from None
        self.members_ = restore_network(self, fields, path, self.grid.n_bins)


def fold_index(n_rows: int, n_folds: int, seed: int) -> np.ndarray:
    """Fold (0 .. n_folds - 1) of each row: a seeded deal, fold sizes differ by at most one."""
    return np.random.default_rng(seed).permutation(n_rows) % n_folds


def colour_pairs(bands: Sequence[str]) -> list[tuple[str, str]]:
    """(blue, red) for each pair of adjacent magnitude columns of ``bands``."""
    bands = list(bands)
    return list(zip(bands[:-1], bands[1:], strict=True))


def colour_names(bands: Sequence[str]) -> list[str]:
    """``"<blue>-<red>"``: the feature name of each colour of :func:`colour_pairs`."""
    return [f"{blue}-{red}" for blue, red in colour_pairs(bands)]


def colour_columns(table: pd.DataFrame, bands: Sequence[str], policy: BadValuePolicy
                   ) -> dict[str, np.ndarray]:
    """:func:`colour_names` -> colour (mag, (N,) float64) of each adjacent pair of ``bands``
    of ``table``: blue minus red, NaN where either magnitude is bad under ``policy``."""
    colours = {}
    for blue, red in colour_pairs(bands):
        mag_blue = table[blue].to_numpy(np.float64)
        mag_red = table[red].to_numpy(np.float64)
        bad = policy.bad_mask(mag_blue, blue) | policy.bad_mask(mag_red, red)
        colours[f"{blue}-{red}"] = np.where(bad, np.nan, mag_blue - mag_red)
    return colours


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
