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
    fit_scaler,
    member_state,
    network_param_checks,
    network_train_config,
    read_weights,
    write_weights,
)
from nncz.losses import huber
from nncz.model import FoldedMLP, ResidualMLP
from nncz.train import predict_outputs, train_model

WEIGHTS_FILE = "ann.safetensors"


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
    verbose : bool
        Progress bars and one log line per epoch.

    Attributes (after ``fit``)
    --------------------------
    features_, target_, scaler_mean_, scaler_scale_, batch_size_, model_, history_, metrics_
    """

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
        self.verbose = verbose

    def _param_checks(self) -> dict[str, bool]:
        return {**network_param_checks(self), "huber_delta": self.huber_delta > 0}

    def _new_model(self, n_inputs: int) -> ResidualMLP:
        return ResidualMLP(n_inputs, 1, tuple(int(h) for h in self.hidden), self.dropout,
                           self.activation)

    def _fit_arrays(self, x_train, y_train, x_valid, y_valid) -> None:
        from nncz.estimator import auto_batch_size  # NNC's rule, so both train alike

        self.scaler_mean_, self.scaler_scale_ = fit_scaler(x_train)
        self.batch_size_ = (auto_batch_size(len(x_train)) if self.batch_size == "auto"
                            else int(self.batch_size))
        torch.manual_seed(int(self.seed))
        self.model_ = self._new_model(x_train.shape[1])
        with torch.no_grad():  # start at the mean redshift rather than 0
            self.model_.head.bias.fill_(float(np.mean(y_train)))

        def loss(outputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return huber(outputs[:, 0], z, self.huber_delta)

        self.history_ = train_model(
            self.model_, loss, self._tensor(x_train), _as_tensor(y_train),
            self._tensor(x_valid), _as_tensor(y_valid), network_train_config(self, self.seed),
            z_val=y_valid, point_fn=lambda out: out[:, 0].numpy().astype(np.float64),
            verbose=self.verbose,
        )
        self.best_params_, self.grid_results_ = {}, []
        self._folded = None

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return _as_tensor((x - self.scaler_mean_) / self.scaler_scale_)

    def _predict_array(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        if getattr(self, "_folded", None) is None:  # folded once, until the next fit or load
            self._folded = FoldedMLP(self.model_.eval())
        with torch.inference_mode():
            out = predict_outputs(self._folded, self._tensor(x), batch_size)
        return out[:, 0].numpy().astype(np.float64)

    def _extra_meta(self) -> dict[str, Any]:
        return {"scaler": {"mean": self.scaler_mean_.tolist(),
                           "scale": self.scaler_scale_.tolist()},
                "batch_size_used": self.batch_size_, "history": self.history_}

    def _save_model(self, directory: Path) -> list[str]:
        write_weights([self.model_], directory / WEIGHTS_FILE)
        return [WEIGHTS_FILE]

    def _load_model(self, directory: Path, meta: dict) -> None:
        self.scaler_mean_ = np.asarray(meta["scaler"]["mean"], dtype=np.float64)
        self.scaler_scale_ = np.asarray(meta["scaler"]["scale"], dtype=np.float64)
        self.history_ = meta.get("history", [])
        # Saved before "auto" existed: batch_size was always an int.
        self.batch_size_ = int(meta.get("batch_size_used", self.batch_size))
        state = read_weights(directory / WEIGHTS_FILE, None, "meta.json")
        # Files written before the shared weights format have no "member0." prefix.
        prefixed = any(name.startswith("member0.") for name in state)
        self.model_ = self._new_model(len(self.features_))
        self.model_.load_state_dict(member_state(state, 0, prefixed))
        self.model_.eval()
        self._folded = None


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
