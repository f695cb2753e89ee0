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
from nncz.io import atomic_write
from nncz.losses import huber
from nncz.model import FoldedMLP, ResidualMLP
from nncz.train import TrainConfig, train_model

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
    lr, weight_decay, batch_size, max_epochs, patience, lr_patience, clip_norm
        Training settings, NNC's by default (:class:`nncz.train.TrainConfig`).
    seed : int
        Seeds the weights, the batches and the validation hold-out.
    validation_fraction : float
        Fraction held out when ``fit`` gets no validation table.
    verbose : bool
        Progress bars and one log line per epoch.
    """

    kind = "ann_regression"

    def __init__(
        self,
        hidden: Sequence[int] = (512, 256, 128, 64),
        dropout: float = 0.1,
        activation: str = "relu",
        huber_delta: float = 0.05,
        lr: float = 5e-4,
        weight_decay: float = 1e-5,
        batch_size: int = 4096,
        max_epochs: int = 300,
        patience: int = 20,
        lr_patience: int = 5,
        clip_norm: float = 1.0,
        seed: int = 0,
        validation_fraction: float = 0.1,
        verbose: bool = True,
    ) -> None:
        if huber_delta <= 0:
            raise ValueError(f"huber_delta must be > 0, got {huber_delta}")
        self.hidden = tuple(int(h) for h in hidden)
        self.dropout = dropout
        self.activation = activation
        self.huber_delta = huber_delta
        self.train_config = TrainConfig(lr=lr, weight_decay=weight_decay, batch_size=batch_size,
                                        max_epochs=max_epochs, patience=patience,
                                        lr_patience=lr_patience, clip_norm=clip_norm, seed=seed)
        self.seed = seed
        self.validation_fraction = validation_fraction
        self.verbose = verbose

    def get_params(self) -> dict[str, Any]:
        config = self.train_config.to_dict()
        config.pop("lr_factor")  # fixed at NNC's 0.5
        return {"hidden": list(self.hidden), "dropout": self.dropout,
                "activation": self.activation, "huber_delta": self.huber_delta, **config,
                "validation_fraction": self.validation_fraction, "verbose": self.verbose}

    def _fit_arrays(self, x_train, y_train, x_valid, y_valid) -> None:
        self.scaler_mean_ = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        self.scaler_scale_ = np.where(std > 0, std, 1.0)
        torch.manual_seed(self.seed)
        self.model_ = ResidualMLP(x_train.shape[1], 1, self.hidden, self.dropout, self.activation)
        with torch.no_grad():  # start at the mean redshift rather than 0
            self.model_.head.bias.fill_(float(np.mean(y_train)))

        def loss(outputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return huber(outputs[:, 0], z, self.huber_delta)

        self.history_ = train_model(
            self.model_, loss, self._tensor(x_train), _as_tensor(y_train),
            self._tensor(x_valid), _as_tensor(y_valid), self.train_config,
            z_val=y_valid, point_fn=lambda out: out[:, 0].numpy().astype(np.float64),
            verbose=self.verbose,
        )
        self.best_params_, self.grid_results_ = {}, []
        self._folded = None

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return _as_tensor((x - self.scaler_mean_) / self.scaler_scale_)

    def _predict_array(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        if getattr(self, "_folded", None) is None:
            self.model_.eval()
            self._folded = FoldedMLP(self.model_)
        xt = self._tensor(x)
        with torch.no_grad():
            out = [self._folded(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)]
        return torch.cat(out)[:, 0].numpy().astype(np.float64)

    def _extra_meta(self) -> dict[str, Any]:
        return {"scaler": {"mean": self.scaler_mean_.tolist(),
                           "scale": self.scaler_scale_.tolist()},
                "history": self.history_}

    def _save_model(self, directory: Path) -> list[str]:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in self.model_.state_dict().items()}
        atomic_write(directory / WEIGHTS_FILE, lambda temp: save_file(state, str(temp)))
        return [WEIGHTS_FILE]

    def _load_model(self, directory: Path, meta: dict) -> None:
        from safetensors.torch import load_file

        self.scaler_mean_ = np.asarray(meta["scaler"]["mean"], dtype=np.float64)
        self.scaler_scale_ = np.asarray(meta["scaler"]["scale"], dtype=np.float64)
        self.history_ = meta.get("history", [])
        self.model_ = ResidualMLP(len(self.features_), 1, self.hidden, self.dropout,
                                  self.activation)
        self.model_.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
        self.model_.eval()
        self._folded = None


def _as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
