"""Every optimizer against a trajectory computed by hand from its written-out update rule.

The references below are plain float64 NumPy transcriptions of the formulas in the docstrings
(and ../shared/OPTIMIZER_FORMULAS.md), written independently of the library's in-place code.
Each optimizer runs with its defaults and with each option changed on its own, for 8 steps, on
the gradient field g(θ) = Aθ + b of a separable quadratic.
"""

import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.optim import Optimizer

A = np.array([1.0, 3.0, 0.5])
B = np.array([0.1, -0.2, 0.3])
THETA0 = np.array([1.0, -2.0, 0.5])
STEPS = 8


def grad_fn(theta):
    return A * theta + B


def ref_sgd(theta, steps, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
            nesterov=False, maximize=False, momentum_style="torch"):
    out, b, v = [], None, np.zeros_like(theta)
    for _ in range(steps):
        g = grad_fn(theta)
        if maximize:
            g = -g
        g = g + weight_decay * theta
        if momentum == 0:
            theta = theta - lr * g
        elif momentum_style == "torch":
            b = g if b is None else momentum * b + (1 - dampening) * g
            d = g + momentum * b if nesterov else b
            theta = theta - lr * d
        elif momentum_style == "classic":
            v = momentum * v - lr * (1 - dampening) * g
            theta = theta + momentum * v - lr * g if nesterov else theta + v
        else:  # ema
            v = momentum * v + (1 - momentum) * g
            theta = theta - lr * (momentum * v + (1 - momentum) * g) if nesterov else theta - lr * v
        out.append(theta)
    return out


def ref_adam(theta, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, maximize=False, decoupled_weight_decay=False):
    b1, b2 = betas
    m = v = vmax = np.zeros_like(theta)
    out = []
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        if maximize:
            g = -g
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if amsgrad else v
        theta = theta - lr / (1 - b1**t) * m / (np.sqrt(vv) / math.sqrt(1 - b2**t) + eps)
        out.append(theta)
    return out


def ref_adamw(theta, steps, weight_decay=1e-2, **kw):
    return ref_adam(theta, steps, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def ref_rmsprop(theta, steps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    v = gbar = buf = np.zeros_like(theta)
    out = []
    for _ in range(steps):
        g = grad_fn(theta)
        if maximize:
            g = -g
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        gbar = alpha * gbar + (1 - alpha) * g
        vt = v - gbar**2 if centered else v
        if momentum > 0:
            buf = momentum * buf + g / (np.sqrt(vt) + eps)
            theta = theta - lr * buf
        else:
            theta = theta - lr * g / (np.sqrt(vt) + eps)
        out.append(theta)
    return out


def ref_adagrad(theta, steps, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    s = np.full_like(theta, initial_accumulator_value)
    out = []
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        if maximize:
            g = -g
        g = g + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        theta = theta - clr * g / (np.sqrt(s) + eps)
        out.append(theta)
    return out


def ref_adadelta(theta, steps, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    v = u = np.zeros_like(theta)
    out = []
    for _ in range(steps):
        g = grad_fn(theta)
        if maximize:
            g = -g
        g = g + weight_decay * theta
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        theta = theta - lr * delta
        out.append(theta)
    return out


def ref_adamax(theta, steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               maximize=False):
    b1, b2 = betas
    m = u = np.zeros_like(theta)
    out = []
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        if maximize:
            g = -g
        g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        theta = theta - lr / (1 - b1**t) * m / u
        out.append(theta)
    return out


def ref_nadam(theta, steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    m = v = np.zeros_like(theta)
    prod = 1.0
    out = []
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        if maximize:
            g = -g
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod = prod * mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        D = np.sqrt(v / (1 - b2**t)) + eps
        theta = (theta - lr * (1 - mu) / (1 - prod) * g / D
                 - lr * mu_next / (1 - prod * mu_next) * m / D)
        out.append(theta)
    return out


def ref_radam(theta, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    m = v = np.zeros_like(theta)
    out = []
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        if maximize:
            g = -g
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1**t)
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho_t > 5:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            a = math.sqrt(1 - b2**t) / (np.sqrt(v) + eps)
            theta = theta - lr * mhat * a * r
        else:
            theta = theta - lr * mhat
        out.append(theta)
    return out


# name -> (reference, [options changed one at a time]); {} runs the defaults
CASES = {
    "SGD": (ref_sgd, [
        {}, {"lr": 0.05}, {"lr": 0.05, "momentum": 0.9},
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, {"lr": 0.05, "weight_decay": 0.1},
        {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {"lr": 0.05, "maximize": True},
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1, "maximize": True},
        {"lr": 0.05, "momentum": 0.9, "momentum_style": "classic"},
        {"lr": 0.05, "momentum": 0.9, "momentum_style": "classic", "nesterov": True},
        {"lr": 0.05, "momentum": 0.9, "momentum_style": "classic", "dampening": 0.3},
        {"lr": 0.05, "momentum": 0.9, "momentum_style": "ema"},
        {"lr": 0.05, "momentum": 0.9, "momentum_style": "ema", "nesterov": True},
    ]),
    "Adam": (ref_adam, [
        {}, {"lr": 0.05}, {"betas": (0.8, 0.9)}, {"eps": 1e-2}, {"weight_decay": 0.1},
        {"lr": 0.05, "betas": (0.9, 0.5), "amsgrad": True}, {"maximize": True},
        {"weight_decay": 0.1, "decoupled_weight_decay": True},
    ]),
    "AdamW": (ref_adamw, [
        {}, {"lr": 0.05}, {"weight_decay": 0.3}, {"maximize": True},
        {"lr": 0.05, "betas": (0.9, 0.5), "amsgrad": True},
        {"betas": (0.8, 0.9)}, {"eps": 1e-2},
    ]),
    "RMSprop": (ref_rmsprop, [
        {}, {"alpha": 0.9}, {"eps": 1e-2}, {"weight_decay": 0.1}, {"momentum": 0.9},
        {"centered": True}, {"maximize": True}, {"centered": True, "momentum": 0.5},
    ]),
    "Adagrad": (ref_adagrad, [
        {}, {"lr_decay": 0.1}, {"weight_decay": 0.1}, {"initial_accumulator_value": 0.5},
        {"eps": 1e-2}, {"maximize": True},
    ]),
    "Adadelta": (ref_adadelta, [
        {}, {"lr": 0.5}, {"rho": 0.5}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"maximize": True},
    ]),
    "Adamax": (ref_adamax, [
        {}, {"betas": (0.8, 0.9)}, {"eps": 1e-2}, {"weight_decay": 0.1}, {"maximize": True},
    ]),
    "NAdam": (ref_nadam, [
        {}, {"momentum_decay": 0.1}, {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"maximize": True},
        {"betas": (0.8, 0.9)}, {"eps": 1e-2},
    ]),
    "RAdam": (ref_radam, [
        {}, {"betas": (0.9, 0.9)}, {"weight_decay": 0.1},
        {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"maximize": True},
        {"eps": 1e-2, "betas": (0.9, 0.9)},
    ]),
}


def run_tm(name, kw, steps=STEPS, theta0=THETA0):
    p = tm.tensor(theta0.copy(), requires_grad=True)
    opt = getattr(tm.optim, name)([p], **kw)
    out = []
    for _ in range(steps):
        p.grad = tm.tensor(grad_fn(p.numpy(force=True).copy()))
        opt.step()
        out.append(p.numpy(force=True).copy())
    return out


@pytest.mark.parametrize(
    "name,kw", [(n, kw) for n, (_, opts) in CASES.items() for kw in opts],
    ids=lambda x: x if isinstance(x, str) else ",".join(f"{k}={v}" for k, v in x.items()) or "-",
)
def test_trajectory_matches_hand_formula(name, kw):
    ref = CASES[name][0](THETA0.copy(), STEPS, **kw)
    got = run_tm(name, kw)
    for t, (r, g) in enumerate(zip(ref, got, strict=True), 1):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-15, err_msg=f"{name} {kw} step {t}")
    # The option listed last is not silently ignored: dropping it changes the trajectory.
    if kw:
        without_last = dict(list(kw.items())[:-1])
        if kw.get(list(kw)[-1]) == "classic":
            return  # classic equals torch at a constant lr (test_optim_momentum_forms proves it)
        other = run_tm(name, without_last)
        assert np.abs(got[-1] - other[-1]).max() > 1e-9, f"{name}: {list(kw)[-1]} had no effect"


def test_radam_cases_cover_both_branches():
    """The RAdam cases run long enough for ρₜ to pass 5 (the rectified branch)."""
    for b2 in (0.999, 0.9):
        rho_inf = 2 / (1 - b2) - 1
        rho = [rho_inf - 2 * t * b2**t / (1 - b2**t) for t in range(1, STEPS + 1)]
        assert rho[0] <= 5 < rho[-1]


def test_sgd_momentum_literals():
    """θ₀ = 1, loss θ²/2 (g = θ), lr 0.1, momentum 0.9, worked by hand:
    b₁ = 1, θ₁ = 0.9; b₂ = 0.9·1 + 0.9 = 1.8, θ₂ = 0.72; b₃ = 0.9·1.8 + 0.72 = 2.34, θ₃ = 0.486."""
    p = tm.tensor(np.array(1.0), requires_grad=True)
    opt = tm.optim.SGD([p], lr=0.1, momentum=0.9)
    got = []
    for _ in range(3):
        opt.zero_grad()
        (p * p * 0.5).backward()
        opt.step()
        got.append(p.item())
    np.testing.assert_allclose(got, [0.9, 0.72, 0.486], rtol=1e-15)
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], 2.34, rtol=1e-15)


def test_adam_constant_gradient_literals():
    """With a constant gradient g = 1 both bias-corrected moments are exactly 1, so every
    step moves θ by lr/(1 + ε): θ₃ = 2 − 3·0.1/(1 + 1e-8)."""
    p = tm.tensor(np.array(2.0), requires_grad=True)
    opt = tm.optim.Adam([p], lr=0.1)
    for t in range(1, 4):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        assert p.item() == pytest.approx(2.0 - t * 0.1 / (1 + 1e-8), rel=1e-14)


def test_adagrad_literals():
    """g = 1 always: s_t = t, θ_t = θ_{t−1} − 0.1/(√t + ε), ε = 1e-10."""
    p = tm.tensor(np.array(1.0), requires_grad=True)
    opt = tm.optim.Adagrad([p], lr=0.1)
    for _ in range(3):
        p.grad = tm.tensor(np.array(1.0))
        opt.step()
    eps = 1e-10
    expected = 1 - 0.1 * (1 / (1 + eps) + 1 / (math.sqrt(2) + eps) + 1 / (math.sqrt(3) + eps))
    assert p.item() == pytest.approx(expected, rel=1e-14)


def test_every_exported_optimizer_has_a_trajectory_test():
    """Coverage: anything in tm.optim that subclasses Optimizer needs an entry in CASES."""
    exported = {
        name for name in tm.optim.__all__
        if isinstance(getattr(tm.optim, name), type)
        and issubclass(getattr(tm.optim, name), Optimizer)
        and getattr(tm.optim, name) is not Optimizer
    }
    # L-BFGS needs a closure, not a gradient per step: its hand-derived trajectory lives in
    # test_optim_lbfgs.py (test_trajectory_by_hand_on_a_quadratic)
    missing = exported - set(CASES) - {"LBFGS"}
    assert not missing, f"optimizers without a hand-computed trajectory test: {sorted(missing)}"
    assert len(exported) >= 9
