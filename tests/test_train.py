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


def reference_training(model, loss_fn, x, y, x_val, y_val, config, epochs):
    """The loop as the method states it, written plainly (ends on the best epoch's weights)."""
    torch.manual_seed(config.seed)
    best_loss, best_weights = float("inf"), None
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.lr_factor, patience=config.lr_patience)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            index = order[start : start + config.batch_size]
            if len(index) < 2:
                continue
            optimizer.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(x_val), y_val))
        scheduler.step(val_loss)
        if val_loss < best_loss:
            best_loss = val_loss
            best_weights = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_weights)


def test_training_loop_matches_the_plain_reference():
    """Same seed, same data: the weights of ``train_model`` equal those of the plain loop (a
    speed-up of the loop must not change what it computes beyond float rounding)."""
    x, y = data()
    config = TrainConfig(lr=2e-2, batch_size=48, max_epochs=5, patience=50, lr_patience=1,
                         seed=4)
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        models.append(ResidualMLP(3, 1, hidden=(16, 8), dropout=0.1))
    train_model(models[0], mse, x[:401], y[:401], x[401:], y[401:], config, verbose=False)
    reference_training(models[1], mse, x[:401], y[:401], x[401:], y[401:], config, epochs=5)
    for (name, got), want in zip(models[0].state_dict().items(),
                                 models[1].state_dict().values(), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
