"""Cross-checks against torch.optim and torch.optim.lr_scheduler (skipped without torch)."""

import math

import numpy as np
import pytest
from test_optim_trajectories import CASES, THETA0, grad_fn

import tinygrad_mom as tm

torch = pytest.importorskip("torch")


@pytest.fixture
def torch_float64():
    """NAdam's mu_product and the step counts are 0-d tensors of torch's default dtype."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def run_torch(name, kw, steps, theta0, dtype=torch.float64):
    p = torch.tensor(theta0, dtype=dtype, requires_grad=True)
    opt = getattr(torch.optim, name)([p], foreach=False, **kw)
    out = []
    for _ in range(steps):
        p.grad = torch.tensor(
            grad_fn(p.detach().numpy(force=True).copy().astype(np.float64)), dtype=dtype
        )
        opt.step()
        out.append(p.detach().numpy(force=True).copy())
    return out


def run_tm(name, kw, steps, theta0, dtype=np.float64):
    p = tm.tensor(theta0.astype(dtype), requires_grad=True)
    opt = getattr(tm.optim, name)([p], **kw)
    out = []
    for _ in range(steps):
        p.grad = tm.tensor(grad_fn(p.numpy(force=True).copy().astype(np.float64)).astype(dtype))
        opt.step()
        out.append(p.numpy(force=True).copy())
    return out


TORCH_CASES = [
    (n, kw) for n, (_, opts) in CASES.items() for kw in opts if "momentum_style" not in kw
]


@pytest.mark.parametrize("name,kw", TORCH_CASES)
def test_matches_torch_float64(name, kw, torch_float64):
    ours = run_tm(name, kw, 12, THETA0)
    theirs = run_torch(name, kw, 12, THETA0)
    for t, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15, err_msg=f"{name} {kw} step {t}")


@pytest.mark.parametrize("name,kw", [
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05}), ("AdamW", {"lr": 0.05}), ("RMSprop", {"centered": True}),
])
def test_matches_torch_float32(name, kw):
    """In float32 both run the same float32 operations in the same order: equal to rounding."""
    ours = run_tm(name, kw, 30, THETA0, np.float32)
    theirs = run_torch(name, kw, 30, THETA0, torch.float32)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in [(3, 4), (5,), ()]]
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        for max_norm in (0.5, 100.0):
            ours = [tm.tensor(a, requires_grad=True) for a in arrays]
            theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
            for o, t, a in zip(ours, theirs, arrays, strict=True):
                o.grad = tm.tensor(a * 2)
                t.grad = torch.tensor(a * 2)
            n1 = tm.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
            n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type, foreach=False)
            assert n1.item() == pytest.approx(n2.item(), rel=1e-13)
            for o, t in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(
                    o.grad.numpy(force=True), t.grad.numpy(force=True), rtol=1e-13
                )


def _sched_pair(make_tm, make_torch, epochs, n_groups=2, metrics=None):
    lrs = [0.1, 0.02][:n_groups]
    pt = [tm.zeros(2, requires_grad=True) for _ in lrs]
    ptorch = [torch.zeros(2, requires_grad=True) for _ in lrs]
    o1 = tm.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(pt, lrs, strict=True)],
                      momentum=0.9)
    o2 = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ptorch, lrs, strict=True)],
                         momentum=0.9)
    s1, s2 = make_tm(o1), make_torch(o2)
    got, want = [s1.get_last_lr()], [s2.get_last_lr()]
    for e in range(epochs):
        o1.step()
        o2.step()
        if metrics is None:
            s1.step()
            s2.step()
        else:
            s1.step(metrics[e])
            s2.step(metrics[e])
        got.append(s1.get_last_lr())
        want.append(s2.get_last_lr())
        assert [g["momentum"] for g in o1.param_groups] == pytest.approx(
            [g["momentum"] for g in o2.param_groups], rel=1e-15)
    return got, want


L = tm.optim.lr_scheduler
TL = torch.optim.lr_scheduler

SCHEDULERS = {
    "StepLR": (lambda o: L.StepLR(o, 3, 0.5), lambda o: TL.StepLR(o, 3, 0.5)),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, [2, 5, 5, 9], 0.3),
                    lambda o: TL.MultiStepLR(o, [2, 5, 5, 9], 0.3)),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, 0.9), lambda o: TL.ExponentialLR(o, 0.9)),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, 7, 0.001),
                          lambda o: TL.CosineAnnealingLR(o, 7, 0.001)),
    "LinearLR": (lambda o: L.LinearLR(o, 0.25, 0.9, 6), lambda o: TL.LinearLR(o, 0.25, 0.9, 6)),
    "LambdaLR": (lambda o: L.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 / (e + 1)]),
                 lambda o: TL.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 / (e + 1)])),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, [1.0, 0.5], total_steps=20),
                   lambda o: TL.OneCycleLR(o, [1.0, 0.5], total_steps=20)),
    "OneCycleLR-3phase-linear": (
        lambda o: L.OneCycleLR(o, 1.0, total_steps=20, three_phase=True, anneal_strategy="linear"),
        lambda o: TL.OneCycleLR(o, 1.0, total_steps=20, three_phase=True,
                                anneal_strategy="linear")),
    "SequentialLR": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 4), L.ExponentialLR(o, 0.8)], [4]),
        lambda o: TL.SequentialLR(o, [TL.LinearLR(o, 0.1, 1.0, 4), TL.ExponentialLR(o, 0.8)],
                                  [4])),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_matches_torch(name):
    make_tm, make_torch = SCHEDULERS[name]
    epochs = 19 if name.startswith("OneCycle") else 25
    got, want = _sched_pair(make_tm, make_torch, epochs)
    for e, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == pytest.approx(w, rel=1e-13, abs=1e-18), f"{name} epoch {e}"


def test_reduce_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.5, 0.6,
               0.7, 0.8]
    got, want = _sched_pair(
        lambda o: L.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1, min_lr=[0.01, 0.0]),
        lambda o: TL.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1,
                                       min_lr=[0.01, 0.0]),
        len(metrics), metrics=metrics)
    assert got == want
    assert got[-1] != got[0]
