"""Gradient clipping (tm.nn.utils) and the per-step statistics recorder."""

import math

import numpy as np
import pytest

import tinygrad_mom as tm

clip_grad_norm_ = tm.nn.utils.clip_grad_norm_
clip_grad_value_ = tm.nn.utils.clip_grad_value_


def with_grads(*grads):
    ps = []
    for g in grads:
        p = tm.tensor(np.zeros_like(np.asarray(g, dtype=np.float64)), requires_grad=True)
        p.grad = tm.tensor(np.asarray(g, dtype=np.float64))
        ps.append(p)
    return ps


def test_clip_grad_norm_by_hand():
    """Grads (3, 4) and (12,): N = √(25 + 144) = 13; max_norm 6.5 → c = 6.5/(13 + 1e-6)."""
    ps = with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_(ps, 6.5)
    assert isinstance(total, tm.Tensor) and total.item() == pytest.approx(13.0, rel=1e-15)
    c = 6.5 / (13 + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(force=True), [3 * c, 4 * c], rtol=1e-15)
    np.testing.assert_allclose(ps[1].grad.numpy(force=True), [12 * c], rtol=1e-15)


def test_clip_grad_norm_no_clip_below_max_and_single_tensor():
    p, = with_grads([0.3, -0.4])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(0.5)  # a bare Tensor is accepted
    np.testing.assert_array_equal(p.grad.numpy(force=True), [0.3, -0.4])


def test_clip_grad_norm_inf_and_p_norms():
    ps = with_grads([1.0, -5.0], [3.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=math.inf).item() == 5.0
    ps = with_grads([1.0, -5.0], [3.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=1).item() == pytest.approx(9.0)
    ps = with_grads([1.0, -5.0], [3.0])
    total = clip_grad_norm_(ps, 1.0, norm_type=float("inf"))
    np.testing.assert_allclose(ps[0].grad.numpy(force=True), np.array([1.0, -5.0]) / (5 + 1e-6))
    assert total.item() == 5.0


def test_clip_grad_norm_skips_none_and_empty():
    ps = with_grads([3.0, 4.0])
    ps.append(tm.zeros(3, requires_grad=True))  # no grad
    assert clip_grad_norm_(ps, 1.0).item() == pytest.approx(5.0)
    assert clip_grad_norm_([tm.zeros(2, requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    ps = with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ps[0].grad.numpy(force=True), [np.inf, 1.0])  # unchanged on error


def test_clip_grad_norm_bad_arguments():
    with pytest.raises(TypeError, match="Tensor"):
        clip_grad_norm_([np.zeros(2)], 1.0)
    with pytest.raises(TypeError, match="iterable"):
        clip_grad_norm_(3.0, 1.0)


def test_clip_grad_norm_keeps_float32_and_scalar_grads():
    p = tm.tensor(np.float32(2.0), requires_grad=True)
    (p * p).backward()  # grad of a 0-d parameter
    clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == np.float32 and p.grad.item() == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_value():
    ps = with_grads([-3.0, 0.5, 2.0], [[1.5, -0.1]])
    assert clip_grad_value_(ps, 1.0) is None
    np.testing.assert_array_equal(ps[0].grad.numpy(force=True), [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(ps[1].grad.numpy(force=True), [[1.0, -0.1]])


# --- statistics -----------------------------------------------------------------------------
def test_recorder_sgd_by_hand():
    """SGD lr 0.1, θ = (3, 4), g = (6, 8): update = (−0.6, −0.8), norm 1, ‖θ‖ = 5."""
    p = tm.tensor([3.0, 4.0], requires_grad=True)
    opt = tm.optim.SGD([p], lr=0.1)
    rec = tm.optim.StepStatsRecorder(opt)
    p.grad = tm.tensor([6.0, 8.0])
    opt.step()
    s = rec.last["groups"][0]
    assert rec.last["step"] == 1
    assert s["grad_norm"] == pytest.approx(10.0)
    assert s["update_norm"] == pytest.approx(1.0, rel=1e-6)
    assert s["param_norm"] == pytest.approx(5.0)
    assert s["update_ratio"] == pytest.approx(0.2, rel=1e-6)
    assert s["lr_min"] == s["lr_median"] == s["lr_max"] == pytest.approx(0.1)
    assert s["clip_coef"] is None
    rec.remove()
    opt.step()
    assert len(rec.records) == 1  # removed: nothing recorded


def test_recorder_adam_per_element_step_sizes_and_groups():
    a = tm.tensor(np.array([1.0, 1.0, 1.0]), requires_grad=True)
    b = tm.tensor(np.array([1.0]), requires_grad=True)
    opt = tm.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    rec = tm.optim.StepStatsRecorder(opt, max_records=2)
    for _ in range(3):
        a.grad = tm.tensor(np.array([1.0, 2.0, 4.0]))
        b.grad = tm.tensor(np.array([1.0]))
        opt.step()
    assert len(rec.records) == 2 and rec.records[-1]["step"] == 3
    g0, g1 = rec.last["groups"]
    # constant gradient: √v̂ = |g| exactly, so the step size is lr/(|g| + ε) per element
    assert g0["lr_min"] == pytest.approx(0.1 / 4, rel=1e-6)
    assert g0["lr_median"] == pytest.approx(0.1 / 2, rel=1e-6)
    assert g0["lr_max"] == pytest.approx(0.1 / 1, rel=1e-6)
    assert g1["lr_min"] == g1["lr_max"] == pytest.approx(0.5, rel=1e-6)
    # and each element moved by lr (the Adam step with a constant gradient)
    assert g0["update_norm"] == pytest.approx(0.1 * math.sqrt(3), rel=1e-6)
    assert "grad_norm" in rec.table() and len(rec.table().splitlines()) == 5


def test_recorder_reports_clip_coefficient():
    p = tm.tensor([0.0, 0.0], requires_grad=True)
    q = tm.tensor([0.0], requires_grad=True)
    opt = tm.optim.SGD([{"params": [p]}, {"params": [q]}], lr=1.0)
    with tm.optim.StepStatsRecorder(opt) as rec:
        p.grad, q.grad = tm.tensor([3.0, 4.0]), tm.tensor([0.0])
        clip_grad_norm_([p], 1.0)
        opt.step()
        s0, s1 = rec.last["groups"]
        assert s0["clip_coef"] == pytest.approx(1 / (5 + 1e-6))
        assert s0["clip_total_norm"] == pytest.approx(5.0)
        assert s1["clip_coef"] is None  # q was not among the clipped parameters
        assert s0["grad_norm"] == pytest.approx(1.0, rel=1e-5)  # after clipping
        opt.step()
        assert rec.last["groups"][0]["clip_coef"] is None  # consumed by the previous step
    p.grad = tm.tensor([3.0, 4.0])
    live = [h() for h in tm.nn.utils._clip_hooks.values()]
    assert all(getattr(h, "__self__", None) is not rec for h in live)  # its hook is gone


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax", "NAdam", "RAdam"])
def test_recorder_works_for_every_optimizer(name):
    p = tm.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = getattr(tm.optim, name)([p], lr=0.01)
    rec = tm.optim.StepStatsRecorder(opt)
    for _ in range(7):
        p.grad = tm.tensor(p.numpy(force=True).copy() * 2)
        opt.step()
    s = rec.last["groups"][0]
    assert 0 < s["lr_min"] <= s["lr_median"] <= s["lr_max"] < math.inf
    assert s["update_norm"] > 0 and s["update_ratio"] == pytest.approx(
        s["update_norm"] / s["param_norm"])


def test_statistics_are_off_by_default():
    p = tm.zeros(2, requires_grad=True)
    opt = tm.optim.SGD([p], lr=0.1)
    assert not opt._step_pre_hooks and not opt._step_post_hooks
    with pytest.raises(TypeError):
        tm.optim.StepStatsRecorder(object())


def test_forgotten_recorder_does_not_leak_through_clip_hooks():
    import gc
    import weakref

    opt = tm.optim.SGD([tm.zeros(1, requires_grad=True)], lr=0.1)
    ref = weakref.ref(tm.optim.StepStatsRecorder(opt))
    del opt
    gc.collect()
    assert ref() is None
    clip_grad_norm_(with_grads([1.0]), 1.0)  # dead hooks are skipped and dropped
