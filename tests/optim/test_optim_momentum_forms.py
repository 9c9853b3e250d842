"""The three momentum formulas users arrive with: where they agree and where they do not.

torch:   b ← μb + (1−τ)g (b₁ = g) ; θ ← θ − γb
classic: v ← μv − γg ; θ ← θ + v                (Sutskever, Keras, Chainer)
ema:     v ← βv + (1−β)g (v₀ = 0) ; θ ← θ − γv  (Andrew Ng's course)
"""

import numpy as np
import pytest

import tinygrad_mom as tm

A = np.array([1.0, 4.0, 0.25])
THETA0 = np.array([1.0, -1.0, 2.0])


def trajectory(steps=15, lr_schedule=None, **kw):
    p = tm.tensor(THETA0.copy(), requires_grad=True)
    opt = tm.optim.SGD([p], **kw)
    out = []
    for t in range(steps):
        if lr_schedule is not None:
            opt.param_groups[0]["lr"] = lr_schedule(t)
        p.grad = tm.tensor(A * p.numpy(force=True).copy())
        opt.step()
        out.append(p.numpy(force=True).copy())
    return np.array(out)


@pytest.mark.parametrize("extra", [{}, {"nesterov": True}, {"weight_decay": 0.1}])
def test_classic_equals_torch_at_constant_lr(extra):
    torch_form = trajectory(lr=0.1, momentum=0.9, **extra)
    classic = trajectory(lr=0.1, momentum=0.9, momentum_style="classic", **extra)
    np.testing.assert_allclose(classic, torch_form, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("extra", [{}, {"nesterov": True}, {"weight_decay": 0.1}])
def test_ema_at_lr_equals_torch_at_lr_times_one_minus_beta(extra):
    beta, lr = 0.9, 0.5
    ema = trajectory(lr=lr, momentum=beta, momentum_style="ema", **extra)
    torch_form = trajectory(lr=lr * (1 - beta), momentum=beta, **extra)
    np.testing.assert_allclose(ema, torch_form, rtol=1e-12, atol=1e-14)


def test_forms_diverge_when_the_lr_changes():
    """PyTorch rescales the whole buffer by the new γ; classic keeps the old γs inside v."""
    def sched(t):
        return 0.1 * 0.5 ** t

    torch_form = trajectory(lr_schedule=sched, lr=0.1, momentum=0.9)
    classic = trajectory(lr_schedule=sched, lr=0.1, momentum=0.9, momentum_style="classic")
    ema = trajectory(lr_schedule=lambda t: sched(t) / (1 - 0.9), lr=1.0, momentum=0.9,
                     momentum_style="ema")
    # step 1 agrees (v₁ = −γ₁g₁ = −γ₁b₁); step 2 already differs
    np.testing.assert_allclose(classic[0], torch_form[0], rtol=1e-15)
    assert np.abs(classic[1] - torch_form[1]).max() > 1e-3
    # by hand at step 2: torch θ₂ = θ₁ − γ₂(μg₁ + g₂); classic θ₂ = θ₁ − μγ₁g₁ − γ₂g₂
    g1 = A * THETA0
    th1 = THETA0 - 0.1 * g1
    g2 = A * th1
    np.testing.assert_allclose(torch_form[1], th1 - 0.05 * (0.9 * g1 + g2), rtol=1e-14)
    np.testing.assert_allclose(classic[1], th1 - 0.9 * 0.1 * g1 - 0.05 * g2, rtol=1e-14)
    # the ema form rescaled by (1−β) tracks torch under any lr schedule: it is the same recursion
    np.testing.assert_allclose(ema, torch_form, rtol=1e-12, atol=1e-14)


def test_ema_is_not_torch_with_dampening_first_step():
    """torch with τ = β does not dampen its first step (b₁ = g); ema does (v₁ = (1−β)g)."""
    beta, lr = 0.9, 0.1
    ema = trajectory(steps=3, lr=lr, momentum=beta, momentum_style="ema")
    damp = trajectory(steps=3, lr=lr, momentum=beta, dampening=beta)
    g1 = A * THETA0
    np.testing.assert_allclose(ema[0], THETA0 - lr * (1 - beta) * g1, rtol=1e-15)
    np.testing.assert_allclose(damp[0], THETA0 - lr * g1, rtol=1e-15)
    assert np.abs(ema - damp).max() > 1e-2


def test_classic_with_dampening_dampens_its_first_step():
    beta, lr = 0.9, 0.1
    classic = trajectory(steps=2, lr=lr, momentum=beta, dampening=0.5, momentum_style="classic")
    torch_form = trajectory(steps=2, lr=lr, momentum=beta, dampening=0.5)
    g1 = A * THETA0
    np.testing.assert_allclose(classic[0], THETA0 - lr * 0.5 * g1, rtol=1e-15)
    np.testing.assert_allclose(torch_form[0], THETA0 - lr * g1, rtol=1e-15)


def test_keras_nesterov_literal():
    """classic nesterov, θ₀ = 1, g = θ, γ = 0.1, μ = 0.9: v₁ = −0.1, θ₁ = 1 − 0.09 − 0.1 = 0.81;
    v₂ = −0.09 − 0.081 = −0.171, θ₂ = 0.81 − 0.1539 − 0.081 = 0.5751."""
    p = tm.tensor(np.array(1.0), requires_grad=True)
    opt = tm.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, momentum_style="classic")
    got = []
    for _ in range(2):
        p.grad = tm.tensor(np.array(p.item()))
        opt.step()
        got.append(p.item())
    np.testing.assert_allclose(got, [0.81, 0.5751], rtol=1e-14)


def test_invalid_styles():
    p = tm.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="momentum_style.*'nag'"):
        tm.optim.SGD([p], momentum=0.9, momentum_style="nag")
    with pytest.raises(ValueError, match="dampening"):
        tm.optim.SGD([p], momentum=0.9, dampening=0.1, momentum_style="ema")
