"""ANN regression baseline: NNC's residual MLP with one output, trained with the Huber loss.

Architecture (:class:`nncz.model.ResidualMLP`), feature standardisation, optimiser, schedule,
clipping, early stopping and batch size are NNC's (:func:`nncz.train.train_model`); only the
head (one output: z) and the loss differ, so the comparison isolates classification + CRPS
against plain regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nncz.baselines._common import PointPhotoZ
from nncz.bundle import (
    WEIGHTS_FILE,
    BundleFields,
    architecture_kwargs,
    network_fields,
    network_param_checks,
    network_train_config,
    restore_network,
    write_weights,
)
from nncz.cleaning import BadValuePolicy
from nncz.losses import huber
from nncz.model import FoldedMLP, ResidualMLP
from nncz.train import predict_outputs, train_model


class ANNRegressionPhotoZ(PointPhotoZ):
    """Residual-MLP regression of z with the Huber loss.

    Parameters
    ----------
    hidden, dropout, activation
        Residual MLP architecture (NNC's defaults: [512, 256, 128, 64], 0.1, "relu").
    huber_delta : float
        Transition of the Huber loss, in units of redshift. Residuals below it are penalised
        quadratically (efficient for the Gaussian core), above it linearly (robust to the
        catastrophic outliers). 0.05 sits above the core error of good photo-z
        (sigma_NMAD (1 + z) ~ 0.02-0.04 at z ~ 0.5) and well below the outlier boundary
        (0.15 (1 + z)), near Huber's 1.345 sigma rule for sigma ~ 0.035.
    lr, weight_decay, max_epochs, patience, lr_patience, lr_factor, clip_norm
        Training settings, NNC's by default (:class:`nncz.train.TrainConfig`).
    batch_size : int or "auto"
        Training batch; ``"auto"`` (default, as NNC) picks
        :func:`nncz.estimator.auto_batch_size` of the training rows.
    seed : int
        Seeds the weights, the batches and the validation hold-out.
    validation_fraction : float
        Fraction held out when ``fit`` gets no validation table.
    bad_values : {"fill", "drop"} or BadValuePolicy
        NNC's bad-value policy (:mod:`nncz.cleaning`): fill bad values (and add indicator
        features), or drop such rows in training and give them NaN.
    verbose : bool
        Progress bars and one log line per epoch.

    Attributes (after ``fit``)
    --------------------------
    features_, target_, policy_, scaler_mean_, scaler_scale_, batch_size_, model_, history_,
    metrics_
    """

    kind = "ann"
    uses_scaler = True
    params_in_fields = ("hidden", "dropout", "activation")

    def __init__(
        self,
        hidden: Sequence[int] = (512, 256, 128, 64),
        dropout: float = 0.1,
        activation: str = "relu",
        huber_delta: float = 0.05,
        lr: float = 5e-4,
        weight_decay: float = 1e-5,
        batch_size: int | str = "auto",
        max_epochs: int = 300,
        patience: int = 20,
        lr_patience: int = 5,
        lr_factor: float = 0.5,
        clip_norm: float = 1.0,
        seed: int = 0,
        validation_fraction: float = 0.1,
        bad_values: str | BadValuePolicy = "fill",
        verbose: bool = True,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.activation = activation
        self.huber_delta = huber_delta
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.clip_norm = clip_norm
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.bad_values = bad_values
        self.verbose = verbose

    def _param_checks(self) -> dict[str, bool]:
        return {**network_param_checks(self), "huber_delta": self.huber_delta > 0}

    def _new_model(self, n_inputs: int) -> ResidualMLP:
        return ResidualMLP(n_inputs, 1, tuple(int(h) for h in self.hidden), self.dropout,
                           self.activation)

    def _fit_arrays(self, x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray,
                    y_valid: np.ndarray) -> None:
        from nncz.estimator import auto_batch_size  # NNC's rule, so both train alike

        self.batch_size_ = (auto_batch_size(len(x_train)) if self.batch_size == "auto"
                            else int(self.batch_size))
        torch.manual_seed(int(self.seed))
        self.model_ = self._new_model(x_train.shape[1])
        with torch.no_grad():  # start at the mean redshift rather than 0
            self.model_.head.bias.fill_(float(np.mean(y_train)))

        def loss(outputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return huber(outputs[:, 0], z, self.huber_delta)

        self.history_ = train_model(
            self.model_, loss, _as_tensor(x_train), _as_tensor(y_train),
            _as_tensor(x_valid), _as_tensor(y_valid), network_train_config(self, self.seed),
            z_val=y_valid, point_fn=lambda out: out[:, 0].numpy().astype(np.float64),
            verbose=self.verbose,
        )
        self.best_params_, self.grid_results_ = {}, []
        self._folded = None

    def _predict_arrays(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        if getattr(self, "_folded", None) is None:  # folded once, until the next fit or load
            self._folded = FoldedMLP(self.model_.eval())
        with torch.inference_mode():
            out = predict_outputs(self._folded, _as_tensor(x), batch_size)
        return out[:, 0].numpy().astype(np.float64)

    def _bundle_fields(self) -> dict[str, Any]:
        return {**super()._bundle_fields(), **network_fields(self, [self.model_])}

    def _write_payload(self, directory: Path) -> str:
        write_weights([self.model_], directory / WEIGHTS_FILE)
        return WEIGHTS_FILE

    @classmethod
    def _init_kwargs(cls, fields: BundleFields) -> dict[str, Any]:
        return architecture_kwargs(fields)

    def _restore_payload(self, fields: BundleFields, path: Path) -> None:
        super()._restore_payload(fields, path)
        members = restore_network(self, fields, path, n_outputs=1)
        if len(members) != 1:
            raise fields.fail("n_members", f"{len(members)}: the ANN is one network")
        self.model_ = members[0]


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
