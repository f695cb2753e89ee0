import numpy as np
import torch

from nncz.model import ResidualMLP
from nncz.train import CHECKPOINT_NAME, TrainConfig, train_model


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(512, 3)), dtype=torch.float32)
    y = (x[:, 0] * 0.5 + x[:, 1] ** 2 * 0.2).unsqueeze(1)
    return x, y


def mse(output, target):
    return torch.mean((output - target) ** 2)


def test_early_stopping_restores_the_best_epoch():
    x, y = data()
    model = ResidualMLP(3, 1, hidden=(16,), dropout=0.0)
    config = TrainConfig(lr=5e-2, batch_size=64, max_epochs=60, patience=3, seed=1)
    history = train_model(model, mse, x[:400], y[:400], x[400:], y[400:], config, verbose=False)
    best = min(h["val_loss"] for h in history)
    assert len(history) < 60  # stopped early
    # the last 3 epochs did not improve, and the weights are those of the best epoch
    assert all(h["val_loss"] >= best for h in history[-3:])
    model.eval()
    with torch.no_grad():
        assert float(mse(model(x[400:]), y[400:])) == np.float32(best) or \
            abs(float(mse(model(x[400:]), y[400:])) - best) < 1e-6


def test_lr_is_halved_on_plateau():
    x, y = data()
    model = ResidualMLP(3, 1, hidden=(8,), dropout=0.0)
    # a tiny learning rate keeps the validation loss flat: the scheduler must halve it
    config = TrainConfig(lr=1e-6, batch_size=128, max_epochs=12, patience=50, lr_patience=2)
    history = train_model(model, mse, x, y, x, y, config, verbose=False)
    assert history[0]["lr"] == 1e-6
    assert history[-1]["lr"] <= 1e-6 / 2


def test_interrupted_training_resumes_from_checkpoint(tmp_path):
    x, y = data()
    config = TrainConfig(lr=1e-2, batch_size=64, max_epochs=6, patience=50, seed=3)
    torch.manual_seed(0)
    full = ResidualMLP(3, 1, hidden=(16,), dropout=0.1)
    full_history = train_model(full, mse, x[:400], y[:400], x[400:], y[400:], config,
                               verbose=False)

    torch.manual_seed(0)
    part = ResidualMLP(3, 1, hidden=(16,), dropout=0.1)
    first = TrainConfig(**{**config.to_dict(), "max_epochs": 3})
    train_model(part, mse, x[:400], y[:400], x[400:], y[400:], first,
                checkpoint_dir=tmp_path, verbose=False)
    assert (tmp_path / CHECKPOINT_NAME).exists()
    torch.manual_seed(123)  # a fresh process: different global RNG, fresh model
    resumed = ResidualMLP(3, 1, hidden=(16,), dropout=0.1)
    history = train_model(resumed, mse, x[:400], y[:400], x[400:], y[400:], config,
                          checkpoint_dir=tmp_path, verbose=False)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([h["val_loss"] for h in history],
                               [h["val_loss"] for h in full_history], rtol=1e-5)
