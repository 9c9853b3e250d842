"""The engine's post-backward mechanisms: post-accumulate grad hooks and queued callbacks."""

import gc
import sys

import numpy as np
import pytest

import tinygrad_mom as tm

engine = sys.modules["tinygrad_mom.tensor"]  # the module (tm.tensor is the factory)


def test_post_accumulate_hook_sees_the_accumulated_grad_and_can_be_removed():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    (w * 3).sum().backward()
    (w * w).sum().backward()
    assert [s.tolist() for s in seen] == [[3.0, 3.0], [5.0, 7.0]]  # after each accumulation
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2


def test_hooks_run_only_for_leaves_that_received_a_gradient():
    a = tm.tensor([1.0], requires_grad=True)
    b = tm.tensor([1.0], requires_grad=True)
    calls = []
    a.register_post_accumulate_grad_hook(lambda p: calls.append("a"))
    b.register_post_accumulate_grad_hook(lambda p: calls.append("b"))
    (a * 2).sum().backward()
    assert calls == ["a"]


def test_hook_registration_errors():
    leaf = tm.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (leaf * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tm.tensor([1.0]).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(TypeError, match="hook must be callable"):
        leaf.register_post_accumulate_grad_hook(3)


def test_a_dead_tensor_drops_its_hooks():
    w = tm.tensor([1.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda p: None)
    key = id(w)
    assert key in engine._post_accumulate_grad_hooks
    del w
    gc.collect()
    assert key not in engine._post_accumulate_grad_hooks


def test_queued_callbacks_run_once_after_the_whole_backward():
    a = tm.tensor([1.0, 2.0], requires_grad=True)
    b = tm.tensor([3.0], requires_grad=True)
    log = []

    def hook(p):
        log.append(("grad", p.shape))
        engine.queue_callback(lambda: log.append(("done", a.grad is not None, b.grad is not None)))

    a.register_post_accumulate_grad_hook(hook)
    ((a * b).sum() + b.sum()).backward()
    assert log == [("grad", (2,)), ("done", True, True)]
    (a.sum()).backward()
    assert log[-1] == ("done", True, True) and len(log) == 4


def test_queue_callback_outside_backward_raises():
    with pytest.raises(RuntimeError, match="only be called while backward is running"):
        engine.queue_callback(lambda: None)
    with pytest.raises(TypeError, match="callback must be callable"):
        a = tm.tensor([1.0], requires_grad=True)
        a.register_post_accumulate_grad_hook(lambda p: engine.queue_callback(None))
        a.sum().backward()


def test_a_failed_backward_runs_no_callbacks_and_leaves_no_queue():
    a = tm.tensor([1.0], requires_grad=True)
    ran = []

    def hook(p):
        engine.queue_callback(lambda: ran.append(1))
        raise KeyError("boom")

    a.register_post_accumulate_grad_hook(hook)
    with pytest.raises(KeyError):
        a.sum().backward()
    assert ran == [] and engine._callback_queues == []
    np.testing.assert_array_equal(a.grad.numpy(), [1.0])
