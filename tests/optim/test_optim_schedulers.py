"""Schedulers against their closed forms (two param groups, >= 10 epochs), state_dict, errors."""

import math

import pytest

import tinygrad_mom as tm

L = tm.optim.lr_scheduler
LRS = (0.1, 0.03)
EPOCHS = 14


def make_opt(cls=tm.optim.SGD, **kw):
    groups = [{"params": [tm.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS]
    return cls(groups, momentum=0.9, **kw) if cls is tm.optim.SGD else cls(groups, **kw)


def run(make_sched, epochs=EPOCHS, opt=None):
    opt = opt or make_opt()
    sched = make_sched(opt)
    lrs = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    return lrs


CLOSED = {
    "StepLR": (lambda o: L.StepLR(o, step_size=3, gamma=0.5),
               lambda b, t: b * 0.5 ** (t // 3)),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3),
                    lambda b, t: b * 0.3 ** sum(m <= t for m in (2, 5, 9))),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, gamma=0.9), lambda b, t: b * 0.9**t),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.001),
                          lambda b, t: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / EPOCHS))
                          / 2),
    "LinearLR": (lambda o: L.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=6),
                 lambda b, t: b * (0.2 + 0.8 * min(t, 6) / 6)),
    "LambdaLR": (lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)), lambda b, t: b / (1 + t)),
    "ExponentialDecay": (lambda o: L.ExponentialDecay(o, decay_steps=4, decay_rate=0.5),
                         lambda b, t: b * 0.5 ** (t / 4)),
    "ExponentialDecay-staircase": (
        lambda o: L.ExponentialDecay(o, decay_steps=4, decay_rate=0.5, staircase=True),
        lambda b, t: b * 0.5 ** (t // 4)),
    "SequentialLR": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 4), L.ExponentialLR(o, 0.8)], [4]),
        lambda b, t: b * (0.1 + 0.9 * t / 4) if t < 4 else b * 0.8 ** (t - 4)),
}


def onecycle_closed(b_max, t, total=20, pct=0.3, div=25.0, final=1e4):
    """torch's two-phase cosine 1cycle: phase ends at pct·total − 1 and total − 1."""
    lo, hi, end = b_max / div, b_max, b_max / div / final
    e1 = pct * total - 1
    if t <= e1:
        frac = t / e1
        return hi + (lo - hi) / 2 * (1 + math.cos(math.pi * frac))
    frac = (t - e1) / (total - 1 - e1)
    return end + (hi - end) / 2 * (1 + math.cos(math.pi * frac))


@pytest.mark.parametrize("name", list(CLOSED))
def test_closed_form(name):
    make, f = CLOSED[name]
    lrs = run(make)
    for t, got in enumerate(lrs):
        assert got == pytest.approx([f(b, t) for b in LRS], rel=1e-12), f"epoch {t}"


def test_onecycle_closed_form_and_momentum():
    opt = make_opt()
    lrs = run(lambda o: L.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=20), epochs=19, opt=opt)
    for t, got in enumerate(lrs):
        assert got == pytest.approx([onecycle_closed(m, t) for m in (1.0, 0.3)], rel=1e-12)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)  # back to max at the end
    s = L.OneCycleLR(make_opt(), max_lr=1.0, total_steps=20)
    s.optimizer.step()
    for _ in range(19):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 21 times"):
        s.step()
        s.step()


def test_onecycle_cycles_adam_beta1():
    opt = make_opt(tm.optim.Adam)
    s = L.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95)
    for _ in range(3):
        opt.step()
        s.step()
    assert 0.85 <= opt.param_groups[0]["betas"][0] < 0.95


def test_staircase_exponential_decay_equals_steplr_per_batch():
    a = run(lambda o: L.ExponentialDecay(o, decay_steps=5, decay_rate=0.7, staircase=True), 40)
    b = run(lambda o: L.StepLR(o, step_size=5, gamma=0.7), 40)
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, rel=1e-14)
    smooth = run(lambda o: L.ExponentialDecay(o, decay_steps=5, decay_rate=0.7), 40)
    assert smooth[3] != a[3] and smooth[5] == pytest.approx(a[5], rel=1e-14)


def test_reduce_on_plateau_closed_behaviour():
    opt = make_opt()
    s = L.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, min_lr=[0.02, 0.0])
    metrics = [1.0, 0.9, 0.9, 0.9, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6]
    expected = [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125]
    for m, e in zip(metrics, expected, strict=True):
        s.step(m)
        assert s.get_last_lr() == pytest.approx([max(0.1 * e, 0.02), 0.03 * e])
    smax = L.ReduceLROnPlateau(make_opt(), mode="max", patience=0, threshold_mode="abs",
                               threshold=0.1)
    smax.step(1.0)
    smax.step(1.05)  # not better by more than 0.1: one bad epoch > patience 0
    assert smax.get_last_lr() == pytest.approx([0.01, 0.003])


ROUND_TRIP = dict(CLOSED)
ROUND_TRIP["OneCycleLR"] = (lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=30), None)


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_round_trip(name):
    make = ROUND_TRIP[name][0]
    opt = make_opt()
    s = make(opt)
    for _ in range(5):
        opt.step()
        s.step()
    sd, osd = s.state_dict(), opt.state_dict()
    rest = []
    for _ in range(6):
        opt.step()
        s.step()
        rest.append(s.get_last_lr())
    opt2 = make_opt()
    s2 = make(opt2)
    opt2.load_state_dict(osd)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 5
    for want in rest:
        opt2.step()
        s2.step()
        assert s2.get_last_lr() == pytest.approx(want, rel=1e-14)


def test_reduce_on_plateau_state_dict():
    opt = make_opt()
    s = L.ReduceLROnPlateau(opt, patience=1)
    for m in (1.0, 2.0):
        s.step(m)
    opt2 = make_opt()
    s2 = L.ReduceLROnPlateau(opt2, patience=1)
    s2.load_state_dict(s.state_dict())
    opt2.load_state_dict(opt.state_dict())
    s.step(3.0)
    s2.step(3.0)
    assert s.get_last_lr() == s2.get_last_lr() == pytest.approx([0.01, 0.003])


INVALID = [
    (lambda o: L.StepLR(o, step_size=0), "step_size value: 0"),
    (lambda o: L.StepLR(o, step_size=2, gamma=-1.0), "gamma value: -1.0"),
    (lambda o: L.MultiStepLR(o, milestones=[3, -1]), "milestones"),
    (lambda o: L.MultiStepLR(o, milestones=[3], gamma=float("nan")), "gamma value: nan"),
    (lambda o: L.ExponentialLR(o, gamma=0.0), "gamma value: 0.0"),
    (lambda o: L.CosineAnnealingLR(o, T_max=0), "T_max value: 0"),
    (lambda o: L.CosineAnnealingLR(o, T_max=5, eta_min=-1.0), "eta_min value: -1.0"),
    (lambda o: L.LinearLR(o, start_factor=0.0), "start_factor value: 0.0"),
    (lambda o: L.LinearLR(o, end_factor=1.5), "end_factor value: 1.5"),
    (lambda o: L.LinearLR(o, total_iters=0), "total_iters value: 0"),
    (lambda o: L.LambdaLR(o, [lambda e: 1.0]), "Expected 2 lr_lambdas, but got 1"),
    (lambda o: L.OneCycleLR(o, max_lr=1.0), "total_steps OR"),
    (lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), "pct_start"),
    (lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), "anneal"),
    (lambda o: L.OneCycleLR(o, max_lr=[1.0], total_steps=10), "expected 2 values"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], [3]), "one more than"),
    (lambda o: L.SequentialLR(o, [], []), "at least one"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.ReduceLROnPlateau(o)], [3]),
     "ReduceLROnPlateau"),
    (lambda o: L.ReduceLROnPlateau(o, factor=1.0), "factor value: 1.0"),
    (lambda o: L.ReduceLROnPlateau(o, mode="up"), "mode value: 'up'"),
    (lambda o: L.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    (lambda o: L.ReduceLROnPlateau(o, patience=-1), "patience value: -1"),
    (lambda o: L.ReduceLROnPlateau(o, min_lr=[0.1]), "expected 2 min_lrs"),
    (lambda o: L.ExponentialDecay(o, decay_steps=0, decay_rate=0.5), "decay_steps value: 0"),
    (lambda o: L.ExponentialDecay(o, decay_steps=5, decay_rate=-0.5), "decay_rate value: -0.5"),
]


@pytest.mark.parametrize("make,msg", INVALID)
def test_invalid_arguments(make, msg):
    opt = make_opt()
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace("[", r"\[")):
        make(opt)


def test_every_scheduler_has_invalid_and_closed_form_cases():
    names = {n for n in L.__all__ if n != "LRScheduler"}
    covered = {n.split("-")[0] for n in CLOSED} | {"OneCycleLR", "ReduceLROnPlateau"}
    assert names == covered


def test_not_an_optimizer_and_resume_without_initial_lr():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        L.StepLR(object(), 2)
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(make_opt(), 2, last_epoch=3)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_opt()
    s = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()


def test_submodule_import_paths():
    import tinygrad_mom.optim.lr_scheduler as mod

    assert tm.optim.lr_scheduler.StepLR is mod.StepLR
