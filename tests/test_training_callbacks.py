"""fit's early stopping, best-model checkpoint and keep-last-N snapshots."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn
from tinygrad_mom.data import DataLoader, TensorDataset
from tinygrad_mom.training import EarlyStopping, fit

pytest.importorskip("safetensors")


def _setup(lr=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    ds = TensorDataset(tm.tensor(x), tm.tensor(y))
    tm.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = tm.optim.SGD(model.parameters(), lr=lr)
    return model, opt, DataLoader(ds, batch_size=16, shuffle=True, seed=1), DataLoader(ds, 32)


@pytest.mark.parametrize(
    "mode, values, patience, min_delta, stops",
    [
        # min_delta 0.1: 0.95 is no improvement on 1.0, 0.85 is; then two epochs without
        ("min", [1.0, 0.95, 0.85, 0.8, 0.79], 2, 0.1, [False, False, False, False, True]),
        ("max", [0.5, 0.6, 0.6, 0.7], 1, 0.0, [False, False, True, False]),
        ("min", [1.0, 1.0], 0, 0.0, [False, True]),  # patience 0: the first flat epoch stops
        ("min", [1.0, float("nan"), 0.5], 2, 0.0, [False, False, False]),  # NaN: no improvement
    ],
)
def test_early_stopping_rule_by_hand(mode, values, patience, min_delta, stops):
    es = EarlyStopping("val_loss", min_delta=min_delta, patience=patience, mode=mode)
    assert [es.step(v) for v in values] == stops


def test_early_stopping_auto_mode_follows_the_metric_name():
    assert EarlyStopping("val_acc").mode == "max" and EarlyStopping("train_loss").mode == "min"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"monitor": "loss"}, "Invalid monitor value"),
        ({"patience": -1}, "Invalid patience value"),
        ({"min_delta": float("nan")}, "Invalid min_delta value"),
        ({"mode": "up"}, "Invalid mode value"),
    ],
)
def test_early_stopping_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


def test_fit_stops_early_and_says_why(tmp_path):
    model, opt, train, val = _setup(lr=0.0)  # lr 0: the validation loss never moves
    lines = []
    history = fit(
        model,
        opt,
        train,
        val,
        epochs=10,
        early_stopping=EarlyStopping(patience=2),
        checkpoint_dir=tmp_path,
        progress=False,
        log=lines.append,
    )
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert "early stopping after epoch 3" in lines[-1]
    # a resumed run that had already stopped early trains no further
    model, opt, train, val = _setup(lr=0.0)
    again = fit(
        model,
        opt,
        train,
        val,
        epochs=10,
        early_stopping=EarlyStopping(patience=2),
        checkpoint_dir=tmp_path,
        resume=True,
        progress=False,
        log=None,
    )
    assert len(again) == 3


def test_best_checkpoint_is_the_best_epoch_beside_the_last(tmp_path):
    model, opt, train, val = _setup(lr=0.5)
    # the lr grows tenfold each epoch: the validation loss improves, then gets worse
    sched = tm.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=10.0)
    history = fit(
        model,
        opt,
        train,
        val,
        epochs=4,
        scheduler=sched,
        checkpoint_dir=tmp_path,
        skip_nonfinite=True,
        progress=False,
        log=None,
    )
    losses = [r["val_loss"] for r in history]
    best_epoch = int(np.nanargmin(losses)) + 1
    assert best_epoch < 4, losses  # the setup makes the last epoch not the best one
    best, last = tm.load(tmp_path / "best.safetensors"), tm.load(tmp_path / "last.safetensors")
    assert best["epoch"] == best_epoch and last["epoch"] == 4
    assert not np.array_equal(
        best["model"]["0.weight"].numpy(force=True), last["model"]["0.weight"].numpy(force=True)
    )


def test_best_checkpoint_follows_the_monitored_metric(tmp_path):
    model, opt, train, val = _setup()
    history = fit(
        model,
        opt,
        train,
        val,
        epochs=3,
        monitor="train_acc",
        checkpoint_dir=tmp_path,
        progress=False,
        log=None,
    )
    accs = [r["train_acc"] for r in history]
    assert tm.load(tmp_path / "best.safetensors")["epoch"] == accs.index(max(accs)) + 1


def test_keep_last_keeps_the_n_newest_epoch_snapshots(tmp_path):
    model, opt, train, val = _setup()
    fit(
        model,
        opt,
        train,
        val,
        epochs=4,
        keep_last=2,
        checkpoint_dir=tmp_path,
        progress=False,
        log=None,
    )
    kept = sorted(p.name for p in tmp_path.glob("epoch_*.safetensors"))
    assert kept == ["epoch_0003.safetensors", "epoch_0004.safetensors"]
    assert tm.load(tmp_path / "epoch_0003.safetensors")["epoch"] == 3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"monitor": "val_acc", "val": None}, ValueError, "needs a val_loader"),
        ({"early_stopping": EarlyStopping("val_loss"), "val": None}, ValueError, "val_loader"),
        ({"keep_last": -1}, ValueError, "Invalid keep_last value"),
        ({"early_stopping": 3}, TypeError, "must be an EarlyStopping"),
    ],
)
def test_fit_rejects_bad_callback_settings_before_training(kwargs, error, message, tmp_path):
    model, opt, train, val = _setup()
    before = [p.numpy(force=True).copy() for p in model.parameters()]
    val = kwargs.pop("val", val)
    with pytest.raises(error, match=message):
        fit(model, opt, train, val, epochs=1, checkpoint_dir=tmp_path, log=None, **kwargs)
    assert all(np.array_equal(a, p.numpy(force=True)) for a, p in zip(before, model.parameters()))
    assert not list(tmp_path.iterdir())
