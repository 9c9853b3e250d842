"""fit/evaluate/train_epoch: history, checkpoints, exact resume, non-finite losses."""

import json
import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn
from tinygrad_mom.data import DataLoader, TensorDataset
from tinygrad_mom.training import NonFiniteLossError, evaluate, fit, load_checkpoint

pytest.importorskip("safetensors")


def _problem(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0)
    return TensorDataset(tm.tensor(x), tm.tensor(y))


def _model():
    tm.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 4))


def _run(tmp_path, epochs, resume=False, name="ckpt"):
    ds = _problem()
    model = _model()
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = tm.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=3)
    history = fit(
        model,
        opt,
        loader,
        DataLoader(ds, batch_size=32),
        epochs=epochs,
        scheduler=sched,
        checkpoint_dir=tmp_path / name,
        resume=resume,
        progress=False,
        log=None,
    )
    return model, opt, history


def _strip_time(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_fit_records_history_and_writes_files(tmp_path):
    model, opt, history = _run(tmp_path, epochs=3)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert [r["lr"] for r in history] == [0.1, 0.05, 0.025]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    saved = json.loads((tmp_path / "ckpt" / "history.json").read_text())
    assert _strip_time(saved) == _strip_time(history)
    header = (tmp_path / "ckpt" / "history.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,train_loss,train_acc,val_loss,val_acc,lr")
    loss, acc = evaluate(model, DataLoader(_problem(), batch_size=50))
    assert 0.0 <= acc <= 1.0 and math.isfinite(loss)


def test_resume_equals_uninterrupted_run_bit_for_bit(tmp_path):
    full_model, full_opt, full_history = _run(tmp_path, epochs=3, name="full")
    _run(tmp_path, epochs=1, name="part")
    part_model, part_opt, part_history = _run(tmp_path, epochs=3, resume=True, name="part")
    assert _strip_time(part_history) == _strip_time(full_history)
    for (k, a), (_, b) in zip(full_model.state_dict().items(), part_model.state_dict().items()):
        assert np.array_equal(a.numpy(force=True), b.numpy(force=True)), k
    sa, sb = full_opt.state_dict(), part_opt.state_dict()
    for i in sa["state"]:
        for key, value in sa["state"][i].items():
            np.testing.assert_array_equal(np.asarray(value), np.asarray(sb["state"][i][key]))


def _nan_on_call(bad_calls):
    calls = {"n": 0}

    def loss_fn(logits, target):
        calls["n"] += 1
        loss = nn.functional.cross_entropy(logits, target)
        return loss * float("nan") if calls["n"] in bad_calls else loss

    return loss_fn


def test_nonfinite_loss_stops_with_epoch_and_step_and_keeps_checkpoint(tmp_path):
    ds = _problem()
    model = _model()
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=3)  # 6 steps per epoch
    fit(model, opt, loader, epochs=1, checkpoint_dir=tmp_path, progress=False, log=None)
    after_epoch_1 = {k: v.numpy(force=True).copy() for k, v in model.state_dict().items()}
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 3"):
        fit(
            model,
            opt,
            loader,
            epochs=2,
            checkpoint_dir=tmp_path,
            resume=True,
            progress=False,
            log=None,
            loss_fn=_nan_on_call({3}),
        )
    fresh = _model()
    load_checkpoint(tmp_path, fresh, tm.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9))
    for k, v in fresh.state_dict().items():
        assert np.array_equal(v.numpy(force=True), after_epoch_1[k])


def test_skip_nonfinite_leaves_parameters_and_state_bit_identical():
    ds = _problem(n=32)
    model = _model()
    model.eval()  # no dropout draws, so the skipped step consumes nothing
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(ds, batch_size=16)
    fit(model, opt, loader, epochs=1, progress=False, log=None)
    before = [p.numpy(force=True).copy() for p in model.parameters()]
    state_before = {
        i: {k: np.array(v) for k, v in s.items()} for i, s in opt.state_dict()["state"].items()
    }
    history = fit(
        model,
        opt,
        loader,
        epochs=1,
        progress=False,
        log=None,
        skip_nonfinite=True,
        loss_fn=_nan_on_call({1, 2}),
    )
    assert history[0]["skipped_steps"] == 2
    for p, b in zip(model.parameters(), before):
        assert np.array_equal(p.numpy(force=True), b)
    for i, s in opt.state_dict()["state"].items():
        for k, v in s.items():
            assert np.array_equal(np.asarray(v), state_before[i][k])


def test_fit_validates_arguments(tmp_path):
    model = _model()
    opt = tm.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(_problem(), batch_size=16)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, opt, loader, epochs=-1)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit(model, opt, loader, epochs=1, resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(model, opt, loader, epochs=1, resume=True, checkpoint_dir=tmp_path / "none", log=None)


def test_progress_bar_only_on_a_terminal(monkeypatch, capsys):
    """tqdm draws on stderr only when it is a TTY and progress is on; otherwise it is silent."""
    pytest.importorskip("tqdm")
    from tinygrad_mom import training

    items = [1, 2, 3]

    class _Stderr:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

        def write(self, text):
            return len(text)

        def flush(self):
            pass

    monkeypatch.setattr(training.sys, "stderr", _Stderr(False))
    assert training._progress(items, True, "epoch 1", 3) is items
    monkeypatch.setattr(training.sys, "stderr", _Stderr(True))
    assert training._progress(items, False, "epoch 1", 3) is items
    bar = training._progress(items, True, "epoch 1", 3)
    assert bar is not items and list(bar) == items
    # a whole fit with progress on but no terminal prints nothing to stderr
    monkeypatch.undo()
    ds = _problem(n=32)
    model = _model()
    fit(
        model,
        tm.optim.SGD(model.parameters(), lr=0.1),
        DataLoader(ds, batch_size=16),
        epochs=1,
        progress=True,
        log=None,
    )
    assert capsys.readouterr().err == ""


def test_nonfinite_step_restores_batchnorm_running_statistics():
    ds = _problem(n=32)
    tm.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))
    opt = tm.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(ds, batch_size=16)
    fit(model, opt, loader, epochs=1, progress=False, log=None)
    before = {k: v.numpy(force=True).copy() for k, v in model.state_dict().items()}
    history = fit(model, opt, loader, epochs=1, progress=False, log=None, skip_nonfinite=True,
                  loss_fn=_nan_on_call({1, 2}))
    assert history[0]["skipped_steps"] == 2
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(force=True), before[k]), (
            k
        )  # running_mean/var, num_batches_tracked
    with pytest.raises(NonFiniteLossError):
        fit(model, opt, loader, epochs=1, progress=False, log=None, loss_fn=_nan_on_call({1}))
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(force=True), before[k]), k
