"""The training loop shared by NNC and the regression baseline.

AdamW, ReduceLROnPlateau on the validation loss, gradient-norm clipping, early stopping that
restores the best epoch, and a checkpoint after every epoch so an interrupted run resumes.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from nncz.io import atomic_write
from nncz.metrics import point_metrics
from nncz.paths import ModelFileError

log = logging.getLogger("nncz.train")

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Optimisation settings; the defaults are the method's."""

    lr: float = 5e-4
    weight_decay: float = 1e-5
    batch_size: int = 4096
    max_epochs: int = 300
    patience: int = 20
    lr_factor: float = 0.5
    lr_patience: int = 5
    clip_norm: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PointFn = Callable[[torch.Tensor], np.ndarray]


def train_model(
    model: nn.Module,
    loss_fn: LossFn,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    config: TrainConfig,
    z_val: np.ndarray | None = None,
    point_fn: PointFn | None = None,
    checkpoint_dir: str | Path | None = None,
    verbose: bool = True,
    fingerprint: str = "",
) -> list[dict]:
    """Train ``model`` in place and return the per-epoch history.

    Parameters
    ----------
    loss_fn : callable(outputs, targets) -> scalar tensor
        Minimised on the training batches and monitored on the validation set.
    x_train, y_train, x_val, y_val : tensors
        Standardised features and targets (whatever ``loss_fn`` expects).
    z_val, point_fn : optional
        True validation redshifts and a function mapping validation outputs to point estimates;
        with both, each epoch also logs validation sigma_NMAD and eta.
    checkpoint_dir : path, optional
        Where ``checkpoint.pt`` is written after every epoch; if one is there, training resumes
        from it.
    fingerprint : str
        Identity of this run (data, features, settings), stored in the checkpoint; a checkpoint
        with another fingerprint is refused rather than resumed.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=config.lr_factor, patience=config.lr_patience
    )
    state = _TrainState(best_loss=float("inf"), best_weights=copy.deepcopy(model.state_dict()))
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
    if checkpoint is not None and checkpoint.exists():
        state = _resume(checkpoint, model, optimizer, scheduler, generator, fingerprint)
        log.info("resuming from %s at epoch %d", checkpoint, state.epoch)

    with denormals_flushed():
        while state.epoch < config.max_epochs and state.stale < config.patience:
            started = time.perf_counter()
            train_loss = _train_epoch(model, loss_fn, x_train, y_train, optimizer, config,
                                      generator, verbose, state.epoch)
            val_outputs = predict_outputs(model, x_val, config.batch_size)
            val_loss = float(loss_fn(val_outputs, y_val))
            scheduler.step(val_loss)
            record = {"epoch": state.epoch + 1, "train_loss": train_loss, "val_loss": val_loss,
                      "lr": optimizer.param_groups[0]["lr"]}
            if z_val is not None and point_fn is not None:
                quality = point_metrics(point_fn(val_outputs), z_val)
                record.update(val_sigma_nmad=quality["sigma_nmad"], val_eta=quality["eta"])
            record["seconds"] = time.perf_counter() - started
            state.update(record, model)
            _log_epoch(record, verbose)
            if checkpoint is not None:
                _save_checkpoint(checkpoint, state, model, optimizer, scheduler, generator,
                                 fingerprint)

    model.load_state_dict(state.best_weights)
    model.eval()
    return state.history


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Flush float32 denormals (< 1.2e-38) to zero inside the block, then restore torch's
    default (off; the setting is per process and torch cannot report it).

    Where PDFs are sharp, many softmax probabilities fall below float32's normal range, and x86
    arithmetic on denormals is slow: on a toy set of 25,400 rows whose redshift is a function
    of the features (batch 1024, 400 bins; 21% of probabilities denormal or zero after 8
    epochs) an epoch took 0.93 CPU s flushed against 1.18 s. On SDSS BOSS (broad PDFs, no
    denormal after 25 epochs) it changes nothing. No value above 1.2e-38 changes.
    Torch sets this on the calling thread, so with several threads only the main thread's share
    of each operation gains.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@dataclass
class _TrainState:
    best_loss: float
    best_weights: dict
    epoch: int = 0
    stale: int = 0
    history: list | None = None

    def __post_init__(self) -> None:
        self.history = self.history or []

    def update(self, record: dict, model: nn.Module) -> None:
        self.epoch = record["epoch"]
        self.history.append(record)
        if record["val_loss"] < self.best_loss:
            self.best_loss = record["val_loss"]
            self.best_weights = copy.deepcopy(model.state_dict())
            self.stale = 0
        else:
            self.stale += 1


def _train_epoch(model, loss_fn, x, y, optimizer, config, generator, verbose, epoch) -> float:
    model.train()
    order = torch.randperm(len(x), generator=generator)
    n_batches = max(1, int(np.ceil(len(x) / config.batch_size)))
    total, count = 0.0, 0
    bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}", leave=False, disable=not verbose,
               unit="batch")
    for b in bar:
        index = order[b * config.batch_size : (b + 1) * config.batch_size]
        if len(index) < 2:  # batch norm needs two samples
            continue
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[index]), y[index])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        total += loss.item() * len(index)
        count += len(index)
    return total / max(count, 1)


@torch.no_grad()
def predict_outputs(model: nn.Module, x: torch.Tensor, batch_size: int = 65536) -> torch.Tensor:
    """Model outputs in evaluation mode, in batches (the model is left in evaluation mode)."""
    model.eval()
    starts = range(0, max(len(x), 1), batch_size)  # a zero-row input gives zero rows
    return torch.cat([model(x[i : i + batch_size]) for i in starts])


def _log_epoch(record: dict, verbose: bool) -> None:
    parts = [f"epoch {record['epoch']:3d}", f"train {record['train_loss']:.5f}",
             f"val {record['val_loss']:.5f}", f"lr {record['lr']:.2e}"]
    if "val_sigma_nmad" in record:
        parts += [f"val sigma_NMAD {record['val_sigma_nmad']:.4f}",
                  f"val eta {record['val_eta']:.2f}%"]
    parts.append(f"{record['seconds']:.1f}s")
    line = " | ".join(parts)
    if verbose:
        tqdm.write(line)  # keeps the line above the progress bar
    else:
        log.debug(line)


def _save_checkpoint(path, state, model, optimizer, scheduler, generator, fingerprint) -> None:
    payload = {
        "fingerprint": fingerprint,
        "epoch": state.epoch, "stale": state.stale, "best_loss": state.best_loss,
        "history": state.history, "best_weights": state.best_weights,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda temp: torch.save(payload, temp))


def _resume(path, model, optimizer, scheduler, generator, fingerprint) -> _TrainState:
    # weights_only=True: a checkpoint holds tensors and plain values, never code.
    try:
        payload = torch.load(path, weights_only=True)
    except Exception as error:  # noqa: BLE001 - a pickle with code, a truncated file, ...
        raise ModelFileError(f"checkpoint {path} cannot be read as plain tensors "
                         f"({type(error).__name__}); delete it to start over") from None
    if payload.get("fingerprint", "") != fingerprint:
        raise ModelFileError(f"checkpoint {path} belongs to another run (other data, features or "
                         "settings); delete it, or pass --restart, to start over")
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    generator.set_state(payload["generator"])
    torch.set_rng_state(payload["torch_rng"])
    return _TrainState(best_loss=payload["best_loss"], best_weights=payload["best_weights"],
                       epoch=payload["epoch"], stale=payload["stale"], history=payload["history"])
