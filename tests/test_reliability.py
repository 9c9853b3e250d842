"""Attacks on checkpoint loading, state dicts and fit: no failed call changes anything.

Each test damages one part of a checkpoint or state dict (another optimizer's, a missing
entry, a wrong shape, a string for a number, a history of the wrong type, a foreign RNG
state) and checks that the error is the library's, names the entry, and that the model,
optimizer, scheduler and random state are exactly as before.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend, nn, optim
from tinygrad_mom.data import DataLoader, TensorDataset
from tinygrad_mom.optim import lr_scheduler as S
from tinygrad_mom.serialization import CheckpointError
from tinygrad_mom.training import (
    CHECKPOINT_NAME,
    NonFiniteLossError,
    fit,
    load_checkpoint,
)

pytest.importorskip("safetensors")


def _problem(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)
    return TensorDataset(tm.tensor(x), tm.tensor(y))


def _model(seed=1):
    tm.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 4))


def _trained(tmp_path, opt_cls=optim.SGD, sched=True, **opt_kw):
    """A model, optimizer and scheduler after one epoch, with its checkpoint in tmp_path."""
    model = _model()
    opt = opt_cls(model.parameters(), lr=0.05, **opt_kw)
    scheduler = S.StepLR(opt, step_size=1, gamma=0.5) if sched else None
    fit(model, opt, DataLoader(_problem(), batch_size=16, seed=0), epochs=1, scheduler=scheduler,
        checkpoint_dir=tmp_path, progress=False, log=None)
    return model, opt, scheduler


def _snapshot(model, opt, scheduler):
    return (
        [p.numpy(force=True).copy() for p in model.parameters()],
        copy.deepcopy(opt.state_dict()),
        copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None,
        copy.deepcopy(backend.get_rng_state()),
    )


def _assert_same(before, after):
    for a, b in zip(before[0], after[0], strict=True):
        np.testing.assert_array_equal(a, b)
    _assert_tree_equal(before[1], after[1])
    _assert_tree_equal(before[2], after[2])
    assert before[3] == after[3]


def _assert_tree_equal(a, b):
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _assert_tree_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_tree_equal(x, y)
    else:
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def _fresh(opt_cls=optim.SGD, sched=True, seed=7, **opt_kw):
    model = _model(seed)
    opt = opt_cls(model.parameters(), lr=0.05, **opt_kw)
    scheduler = S.StepLR(opt, step_size=1, gamma=0.5) if sched else None
    return model, opt, scheduler


def _rewrite(tmp_path, change):
    """Load the checkpoint's raw structure, apply ``change`` to it, save it back."""
    state = tm.load(tmp_path / CHECKPOINT_NAME)
    change(state)
    tm.save(state, tmp_path / CHECKPOINT_NAME)


# --- transactional load_checkpoint  ---
def _attack(tmp_path, change, match, target=None):
    if change is not None:
        _rewrite(tmp_path, change)
    model, opt, scheduler = target or _fresh(momentum=0.9)
    tm.manual_seed(123)
    before = _snapshot(model, opt, scheduler)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path, model, opt, scheduler)
    _assert_same(before, _snapshot(model, opt, scheduler))


def test_an_adam_optimizer_refuses_an_sgd_checkpoint_and_the_model_is_untouched(tmp_path):
    _trained(tmp_path, momentum=0.9)
    _attack(tmp_path, None, "optimizer", target=_fresh(optim.Adam))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("optimizer"), r"lacks the entries \['optimizer'\]"),
        (lambda s: s.pop("rng"), "rng"),
        (lambda s: s["optimizer"]["state"][0].update(
            momentum_buffer=np.zeros((3, 3), np.float32)), "momentum_buffer.*shape"),
        (lambda s: s["optimizer"]["state"][0].pop("momentum_buffer"), "entries"),
        (lambda s: s["optimizer"]["param_groups"][0].update(momentum="0.9"),
         "momentum must be a real number"),
        (lambda s: s["optimizer"]["param_groups"][0].update(nesterov="False"),
         "nesterov must be a bool"),
        (lambda s: s["optimizer"]["param_groups"][0].update(params=[0, 1]), "size"),
        (lambda s: s["scheduler"].update(gamma="0.5"), "gamma.*number"),
        (lambda s: s["scheduler"].update(step="x"), "unexpected"),
        (lambda s: s["scheduler"].update(T_max=3), "unexpected"),
        (lambda s: s.update(history={"a": 1}), "history"),
        (lambda s: s.update(history=[{"epoch": 1}, {"epoch": 2}]), "history.*rows"),
        (lambda s: s.update(epoch="1"), "epoch"),
        (lambda s: s.update(epoch=-1), "epoch"),
        (lambda s: s["rng"]["bit_generator"].update(bit_generator="MT19937"), "PCG64"),
        (lambda s: s["rng"]["bit_generator"].update(state="abc"), "rng"),
        (lambda s: s.update(rng="abc"), "rng"),
        (lambda s: s["model"].pop("0.weight"), r"Missing key.*0\.weight"),
        (lambda s: s["model"].update({"2.bias": tm.zeros(5)}), "size mismatch"),
        (lambda s: s.update(scheduler=None), "no scheduler state"),
        (lambda s: s.update(scheduler_class="CosineAnnealingLR"), "CosineAnnealingLR"),
        (lambda s: s.update(model=[1, 2]), "model"),
    ],
)
def test_a_damaged_part_changes_nothing(tmp_path, change, match):
    _trained(tmp_path, momentum=0.9)
    _attack(tmp_path, change, match)


def test_a_checkpoint_that_is_not_a_dict(tmp_path):
    tm.save([1, 2, 3], tmp_path / CHECKPOINT_NAME)
    _attack(tmp_path, None, "not a training checkpoint")


def test_a_scheduler_state_without_a_scheduler_is_refused(tmp_path):
    _trained(tmp_path, momentum=0.9)
    _attack(tmp_path, None, "scheduler StepLR, but this run uses None",
            target=_fresh(momentum=0.9, sched=False))


def test_fit_resume_with_a_bad_history_fails_before_training(tmp_path):
    _trained(tmp_path, momentum=0.9)
    _rewrite(tmp_path, lambda s: s.update(history="oops"))
    model, opt, scheduler = _fresh(momentum=0.9)
    before = _snapshot(model, opt, scheduler)
    with pytest.raises(CheckpointError, match="history"):
        fit(model, opt, DataLoader(_problem(), batch_size=16, seed=0), epochs=3,
            scheduler=scheduler, checkpoint_dir=tmp_path, resume=True, progress=False, log=None)
    _assert_same(before, _snapshot(model, opt, scheduler))


def test_fit_resume_monitoring_a_metric_the_history_lacks_fails_before_anything(tmp_path):
    # the first run had no val_loader (its history holds no val_loss); the resumed one
    # monitors val_loss: refused, naming the metric, with the model still as it was
    _trained(tmp_path, momentum=0.9)
    model, opt, scheduler = _fresh(momentum=0.9)
    before = _snapshot(model, opt, scheduler)
    loader = DataLoader(_problem(), batch_size=16, seed=0)
    with pytest.raises(CheckpointError, match="monitors 'val_loss'.*resume with the same"):
        fit(model, opt, loader, val_loader=loader, epochs=3, scheduler=scheduler,
            checkpoint_dir=tmp_path, resume=True, progress=False, log=None)
    _assert_same(before, _snapshot(model, opt, scheduler))


def test_a_good_checkpoint_still_loads(tmp_path):
    model, opt, scheduler = _trained(tmp_path, momentum=0.9)
    m2, o2, s2 = _fresh(momentum=0.9)
    state = load_checkpoint(tmp_path, m2, o2, s2)
    assert state["epoch"] == 1
    for a, b in zip(model.parameters(), m2.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(force=True), b.numpy(force=True))
    assert s2.get_last_lr() == scheduler.get_last_lr()


def test_the_training_checkpoint_error_is_the_serialization_one():
    from tinygrad_mom import serialization, training

    assert training.CheckpointError is serialization.CheckpointError
    assert issubclass(CheckpointError, ValueError)


# --- optimizer and scheduler load_state_dict  ---
def _stepped(opt_cls, **kw):
    tm.manual_seed(0)
    p = tm.randn(3, 2, requires_grad=True)
    opt = opt_cls([p], lr=0.01, **kw)
    for _ in range(2):
        p.grad = tm.randn(3, 2)
        opt.step()
    return p, opt


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda sd: sd["state"][0].update(step="2"), TypeError, "'step'.*number"),
        (lambda sd: sd["state"][0].pop("exp_avg"), ValueError, "entries"),
        (lambda sd: sd["state"][0].update(extra=1), ValueError, "entries"),
        (lambda sd: sd["state"][0].update(exp_avg=3.0), TypeError, "exp_avg.*array"),
        (lambda sd: sd["state"].update({5: {}}), ValueError, "index 5"),
        (lambda sd: sd["state"].update({"0": sd["state"][0]}), ValueError, "index '0'"),
        (lambda sd: sd.update(state=[1]), TypeError, "'state' must be a dict"),
        (lambda sd: sd.update(param_groups="x"), TypeError, "param_groups"),
        (lambda sd: sd["param_groups"][0].update(betas=(0.9, "x")), TypeError, "beta"),
        (lambda sd: sd["param_groups"][0].pop("betas"), ValueError, "another optimizer"),
        (lambda sd: sd["param_groups"][0].update(momentum=0.9), ValueError, "another optimizer"),
        (lambda sd: sd["param_groups"][0].update(params="0"), TypeError, "params"),
        (lambda sd: sd.update(extra=1), ValueError, "unexpected"),
    ],
)
def test_optimizer_load_state_dict_checks_everything_first(change, error, match):
    p, opt = _stepped(optim.Adam)
    sd = opt.state_dict()
    change(sd)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(error, match=match):
        opt.load_state_dict(sd)
    _assert_tree_equal(before, opt.state_dict())


def test_an_sgd_state_is_refused_by_adam_and_the_reverse():
    _, sgd = _stepped(optim.SGD, momentum=0.9)
    _, adam = _stepped(optim.Adam)
    with pytest.raises(ValueError, match="another optimizer"):
        adam.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="another optimizer"):
        sgd.load_state_dict(adam.state_dict())


def _sched_opt():
    return optim.SGD([tm.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)


def test_scheduler_load_state_dict_refuses_another_schedulers_state():
    step = S.StepLR(_sched_opt(), step_size=2)
    cos = S.CosineAnnealingLR(_sched_opt(), T_max=5)
    before = cos.state_dict()
    with pytest.raises(ValueError, match="does not belong to a CosineAnnealingLR"):
        cos.load_state_dict(step.state_dict())
    assert cos.state_dict() == before
    for bad, error in (({**before, "eta_min": "0"}, TypeError),
                       ({**before, "get_lr": 1}, ValueError),
                       ({**before, "base_lrs": [0.1, 0.2]}, ValueError),
                       ({**before, "last_epoch": math.nan}, ValueError),
                       ("state", TypeError)):
        with pytest.raises(error):
            cos.load_state_dict(bad)
        assert cos.state_dict() == before
    assert callable(cos.get_lr)


def test_sequential_lr_checks_every_sub_state_before_applying_any():
    opt = _sched_opt()
    seq = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=2), S.StepLR(opt, 2)], [2])
    sd = seq.state_dict()
    sd["_schedulers"][1]["gamma"] = "x"
    sd["last_epoch"] = 7
    with pytest.raises(TypeError, match="gamma"):
        seq.load_state_dict(sd)
    assert seq.last_epoch != 7 and seq._schedulers[0].last_epoch != 7


def test_onecycle_refuses_a_state_of_another_length():
    short = S.OneCycleLR(_sched_opt(), max_lr=0.1, total_steps=10)
    long = S.OneCycleLR(_sched_opt(), max_lr=0.1, total_steps=20)
    with pytest.raises(ValueError, match="total_steps=10.*total_steps=20"):
        long.load_state_dict(short.state_dict())


# --- bug 9: every state_dict holds plain types and survives a real file round trip  ---
ALL_OPTIMIZERS = [
    (optim.SGD, {"momentum": 0.9, "nesterov": True}), (optim.Adam, {"amsgrad": True}),
    (optim.AdamW, {}), (optim.RMSprop, {"momentum": 0.5, "centered": True}),
    (optim.Adagrad, {}), (optim.Adadelta, {}), (optim.Adamax, {}), (optim.NAdam, {}),
    (optim.RAdam, {}),
]


def _plain_types_only(obj):
    if isinstance(obj, dict):
        assert type(obj) is dict, type(obj)
        for k, v in obj.items():
            assert isinstance(k, (str, int))
            _plain_types_only(v)
    elif isinstance(obj, (list, tuple)):
        assert type(obj) in (list, tuple)
        for v in obj:
            _plain_types_only(v)
    else:
        assert obj is None or isinstance(obj, (bool, int, float, str, np.ndarray)), type(obj)


@pytest.mark.parametrize(("cls", "kw"), ALL_OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_every_optimizer_resumes_exactly_after_a_file_round_trip(tmp_path, cls, kw):
    p, opt = _stepped(cls, **kw)
    sd = opt.state_dict()
    _plain_types_only(sd)
    tm.save(sd, tmp_path / "opt.safetensors")
    q = tm.tensor(p.numpy(force=True).copy(), requires_grad=True)
    opt2 = cls([q], lr=0.01, **kw)
    opt2.load_state_dict(tm.load(tmp_path / "opt.safetensors"))
    g = tm.randn(3, 2)
    p.grad, q.grad = g, g.detach()
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(p.numpy(force=True), q.numpy(force=True))


SCHEDULER_FACTORIES = [
    lambda o: S.StepLR(o, 2), lambda o: S.MultiStepLR(o, [1, 1, 3]),
    lambda o: S.ExponentialLR(o, 0.9), lambda o: S.CosineAnnealingLR(o, 4),
    lambda o: S.LinearLR(o, total_iters=3), lambda o: S.LambdaLR(o, lambda t: 0.9**t),
    lambda o: S.ExponentialDecay(o, 2, 0.5, staircase=True),
    lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12),
    lambda o: S.SequentialLR(o, [S.LinearLR(o, total_iters=2), S.ExponentialLR(o, 0.8)], [2]),
    lambda o: S.ReduceLROnPlateau(o, patience=0),
]


@pytest.mark.parametrize("index", range(len(SCHEDULER_FACTORIES)))
def test_every_scheduler_resumes_exactly_after_a_file_round_trip(tmp_path, index):
    sched = SCHEDULER_FACTORIES[index](_sched_opt())
    name = type(sched).__name__

    def advance(s, n):
        for i in range(n):
            s.optimizer.step()
            s.step(1.0 / (i + 1)) if name == "ReduceLROnPlateau" else s.step()

    advance(sched, 3)
    sd = sched.state_dict()
    _plain_types_only({k: v for k, v in sd.items()})
    tm.save(sd, tmp_path / "s.safetensors")
    opt2 = _sched_opt()
    twin = SCHEDULER_FACTORIES[index](opt2)  # PyTorch's order: build, then load both states
    opt2.load_state_dict(sched.optimizer.state_dict())
    twin.load_state_dict(tm.load(tmp_path / "s.safetensors"))
    advance(sched, 4)
    advance(twin, 4)
    assert twin.get_last_lr() == sched.get_last_lr()
    assert opt2.param_groups[0]["lr"] == sched.optimizer.param_groups[0]["lr"]


def test_multisteplr_closed_form_after_a_round_trip(tmp_path):
    sched = S.MultiStepLR(_sched_opt(), [1, 1, 3])
    tm.save(sched.state_dict(), tmp_path / "m.safetensors")
    twin = S.MultiStepLR(_sched_opt(), [5])
    twin.load_state_dict(tm.load(tmp_path / "m.safetensors"))
    assert sorted(twin.milestones.elements()) == [1, 1, 3]
    twin.last_epoch = 3
    assert twin._get_closed_form_lr() == pytest.approx([0.1 * 0.1**3])


# --- NaN gradients under a finite loss  ---
def _nan_grad_on(calls):
    """A loss whose value is finite but whose gradient is NaN on the given (1-based) calls."""
    count = {"n": 0}

    def loss_fn(logits, y):
        count["n"] += 1
        loss = nn.functional.cross_entropy(logits, y)
        if count["n"] in calls:
            # sqrt(x - x) is 0, its derivative at 0 is inf; times 0 it is NaN
            return loss + 0.0 * (logits - logits.detach()).abs().sqrt().sum()
        return loss

    return loss_fn


def test_a_nan_gradient_stops_fit_before_the_step_and_no_checkpoint_is_poisoned(tmp_path):
    model, opt, scheduler = _trained(tmp_path, momentum=0.9)
    saved = tm.load(tmp_path / CHECKPOINT_NAME)
    before = [p.numpy(force=True).copy() for p in model.parameters()]
    with pytest.raises(NonFiniteLossError, match=r"non-finite gradient.*epoch 2, step 2"):
        fit(model, opt, DataLoader(_problem(), batch_size=16, seed=0), epochs=3,
            scheduler=scheduler, checkpoint_dir=tmp_path, resume=True, progress=False, log=None,
            loss_fn=_nan_grad_on({2}))
    after = tm.load(tmp_path / CHECKPOINT_NAME)
    assert after["epoch"] == saved["epoch"] == 1
    for p in model.parameters():
        assert np.isfinite(p.numpy(force=True)).all()
    assert any(
        not np.array_equal(a, p.numpy(force=True)) for a, p in zip(before, model.parameters())
    )


def test_skip_nonfinite_skips_nan_gradient_steps():
    model, opt, _ = _fresh(momentum=0.9, sched=False)
    history = fit(model, opt, DataLoader(_problem(), batch_size=16, seed=0), epochs=1,
                  progress=False, log=None, skip_nonfinite=True, loss_fn=_nan_grad_on({1, 3}))
    assert history[0]["skipped_steps"] == 2
    assert all(np.isfinite(p.numpy(force=True)).all() for p in model.parameters())
    assert all(np.isfinite(s["momentum_buffer"]).all() for s in opt.state_dict()["state"].values())


def test_a_step_that_makes_parameters_infinite_writes_no_checkpoint(tmp_path):
    model = _model()
    opt = optim.SGD(model.parameters(), lr=3e38)  # finite gradients, but θ − lr·g overflows
    with pytest.raises(NonFiniteLossError, match="checkpoint was not written"):
        fit(model, opt, DataLoader(_problem(), batch_size=48), epochs=1,
            checkpoint_dir=tmp_path, progress=False, log=None,
            loss_fn=lambda out, y: nn.functional.cross_entropy(out, y) + 10.0 * out.sum())
    assert not (tmp_path / CHECKPOINT_NAME).exists()


def test_fit_refuses_an_empty_loader_before_training(tmp_path):
    model, opt, _ = _fresh(sched=False)
    empty = DataLoader(_problem(n=3), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="train_loader yields no batches"):
        fit(model, opt, empty, epochs=1, progress=False, log=None)
    with pytest.raises(ValueError, match="val_loader yields no batches"):
        fit(model, opt, DataLoader(_problem(), batch_size=16), empty, epochs=1,
            progress=False, log=None)

    def no_batches():
        return iter(())

    class Unsized:
        def __iter__(self):
            return no_batches()

    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, opt, Unsized(), epochs=1, progress=False, log=None)


def test_clip_grad_norm_arguments_and_error_if_nonfinite():
    p = tm.ones(3, requires_grad=True)
    p.grad = tm.tensor([1.0, math.nan, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    p.grad = tm.tensor([3.0, 4.0, 0.0])
    for bad, error in (("1", TypeError), (None, TypeError), (math.nan, ValueError),
                       (-1.0, ValueError), (True, TypeError)):
        with pytest.raises(error, match="max_norm"):
            nn.utils.clip_grad_norm_([p], bad)
    for bad, error in (("two", TypeError), (math.nan, ValueError), (None, TypeError)):
        with pytest.raises(error, match="norm_type"):
            nn.utils.clip_grad_norm_([p], 1.0, norm_type=bad)
    with pytest.raises(TypeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite="True")
    np.testing.assert_array_equal(p.grad.numpy(force=True), [3.0, 4.0, 0.0])  # nothing clipped yet
    assert float(nn.utils.clip_grad_norm_([p], 1.0, norm_type="inf")) == 4.0


def test_a_safetensors_header_length_that_looks_like_a_pickle_magic_loads(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    for k in range(700, 1000):
        raw = st.save({"w": np.zeros(2, np.float32)}, metadata={"x": "a" * k})
        if raw[:2] == b"\x80\x03":  # a header of 0x0380 bytes: pickle protocol 3's magic
            break
    else:
        pytest.fail("no header length 896 found")
    (tmp_path / "f.safetensors").write_bytes(raw)
    loaded = tm.load(tmp_path / "f.safetensors")
    np.testing.assert_array_equal(loaded["w"].numpy(force=True), np.zeros(2, np.float32))
    with pytest.raises(CheckpointError, match="pickle"):
        import pickle

        tm.load(__import__("io").BytesIO(pickle.dumps({"a": 1}, protocol=3)))


# --- files ---
def test_a_killed_save_leaves_no_temporary_behind_after_the_next_save(tmp_path):
    target = tmp_path / "ckpt.safetensors"
    stale = [tmp_path / f".ckpt.safetensors.{s}.tmp" for s in ("abcd1234", "zz_zz_zz")]
    for f in stale:
        f.write_bytes(b"x" * 100)  # what a SIGKILL between write and rename leaves
    other = tmp_path / ".other.safetensors.abcd1234.tmp"
    other.write_bytes(b"y")
    keep = tmp_path / ".ckpt.safetensors.notes.txt"
    keep.write_bytes(b"z")
    tm.save({"w": tm.ones(2)}, target)
    assert not any(f.exists() for f in stale)
    assert other.exists() and keep.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == [other.name]


def test_saving_through_a_symlink_writes_the_target(tmp_path):
    real = tmp_path / "real" / "model.safetensors"
    real.parent.mkdir()
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    tm.save({"w": tm.ones(2)}, link)
    assert link.is_symlink() and real.is_file()
    tm.save({"w": tm.zeros(2)}, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(tm.load(real)["w"].numpy(force=True), [0.0, 0.0])


def test_self_referencing_and_very_deep_structures_raise_clear_errors(tmp_path):
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"obj\[1\]: it contains itself"):
        tm.save(loop, tmp_path / "a.safetensors")
    d: dict = {}
    d["self"] = {"again": d}
    with pytest.raises(ValueError, match="contains itself"):
        tm.save(d, tmp_path / "a.safetensors")
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    with pytest.raises(ValueError, match="nested more than"):
        tm.save(deep, tmp_path / "a.safetensors")
    shared = [1, 2]
    tm.save({"a": shared, "b": shared}, tmp_path / "a.safetensors")  # shared, not a cycle
    assert tm.load(tmp_path / "a.safetensors") == {"a": [1, 2], "b": [1, 2]}
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    "damage",
    [b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",  # cut inside the dict
     b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,  }",
     b"{'descr': '<f4', 'fortran_order': Fals, 'shape': (2,), }",
     b"\x00\xff\xfe garbage '''"],
)
def test_a_damaged_npy_header_is_a_checkpoint_error(tmp_path, damage):
    buf = __import__("io").BytesIO()
    np.save(buf, np.arange(2, dtype=np.float32))
    raw = buf.getvalue()
    header_len = int.from_bytes(raw[8:10], "little")
    header = damage.ljust(header_len - 1)[: header_len - 1] + b"\n"
    (tmp_path / "x.npy").write_bytes(raw[:10] + header + raw[10 + header_len:])
    with pytest.raises(CheckpointError, match="damaged .npy"):
        tm.load(tmp_path / "x.npy")


def test_duplicate_keys_in_a_safetensors_header_are_refused(tmp_path):
    import json
    import struct

    entry = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    e = json.dumps(entry)
    text = f'{{"w": {e}, "w": {e}}}'
    raw = struct.pack("<Q", len(text)) + text.encode() + b"\x00" * 4
    (tmp_path / "dup.safetensors").write_bytes(raw)
    with pytest.raises(CheckpointError, match="names 'w' twice"):
        tm.load(tmp_path / "dup.safetensors")
