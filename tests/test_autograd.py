"""Reverse-mode autograd: backward semantics, grad modes, graph lifetime and memory."""

import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_mom as tm


def _leaf(values, device, dtype=tm.float64):
    return tm.Tensor(values, dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# the backward pass


def test_long_chain_backward_has_no_recursion_limit(device):
    n = 100_000
    assert n > sys.getrecursionlimit() * 10
    x = _leaf(0.5, device)
    y = x
    for _ in range(n):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0
    assert y.item() == 0.5 + n


def test_long_chain_is_freed_without_recursion_error(device):
    x = _leaf(1.0, device)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    ref = weakref.ref(y._ctx)
    del y  # dropping the whole chain must not overflow the C stack while deallocating
    assert ref() is None


def test_scalar_backward(device):
    x = _leaf([1.0, 2.0, 3.0], device)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [2.0, 4.0, 6.0])
    assert x.grad.dtype == np.float64 and x.grad.device == x.device


def test_backward_on_a_one_element_non_scalar(device):
    x = _leaf([2.0], device)
    (x * 3).backward()  # numel 1: an implicit gradient is allowed, as in PyTorch
    assert x.grad.tolist() == [3.0]


def test_backward_with_gradient_on_non_scalar(device):
    x = _leaf([[1.0, 2.0], [3.0, 4.0]], device)
    y = x * x
    g = np.array([[1.0, 0.5], [-1.0, 2.0]])
    y.backward(tm.Tensor(g, device=device))
    np.testing.assert_array_equal(x.grad.numpy(force=True), 2 * x.numpy(force=True) * g)
    x.grad = None
    (x * 3).backward(g.tolist())  # a nested list works too
    np.testing.assert_array_equal(x.grad.numpy(force=True), 3 * g)


def test_backward_on_non_scalar_without_gradient_raises(device):
    x = _leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    assert x.grad is None


def test_backward_gradient_shape_mismatch_raises(device):
    x = _leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(tm.ones(3, dtype=tm.float64, device=device))
    assert x.grad is None


def test_backward_on_tensor_not_requiring_grad_raises(device):
    x = tm.ones(3, device=device)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_backward_on_a_leaf(device):
    x = _leaf(3.0, device)
    x.backward()
    assert x.grad.item() == 1.0


def test_gradients_accumulate_on_leaves(device):
    x = _leaf([1.0, -2.0], device)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [3.0 + 2.0, 3.0 - 4.0])


def test_second_backward_raises_clearly(device):
    x = _leaf([1.0, 2.0], device)
    loss = (x.exp() * x).sum()
    loss.backward()
    first = x.grad.numpy(force=True).copy()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    np.testing.assert_array_equal(
        x.grad.numpy(force=True), first
    )  # raised before touching any grad


def test_retain_graph_doubles_gradients_exactly(device):
    x = _leaf([0.3, -1.7, 2.2], device)
    w = _leaf([[0.5], [1.5], [-2.0]], device)
    loss = ((x @ w).tanh() * x.sum()).exp().sum()
    loss.backward(retain_graph=True)
    gx, gw = x.grad.numpy(force=True).copy(), w.grad.numpy(force=True).copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), 2 * gx)
    np.testing.assert_array_equal(w.grad.numpy(force=True), 2 * gw)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_diamond_graph_sums_gradients(device):
    x = _leaf([1.0, 2.0], device)
    a = x * 3
    b = a.exp()
    c = a * a
    (b + c + a).sum().backward()
    xv = np.array([1.0, 2.0])
    expected = 3 * np.exp(3 * xv) + 2 * (3 * xv) * 3 + 3
    np.testing.assert_allclose(x.grad.numpy(force=True), expected, rtol=1e-14)


def test_tensor_used_twice_in_one_op(device):
    x = _leaf([1.5, -2.0], device)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [3.0, -4.0])
    y = _leaf([2.0], device)
    (y + y + y).backward()
    assert y.grad.tolist() == [3.0]


def test_leaf_grads_are_not_aliased(device):
    x = _leaf([1.0, 2.0], device)
    y = _leaf([3.0, 4.0], device)
    (x + y).sum().backward()  # both leaves receive the very same upstream array
    x.grad.mul_(5)
    np.testing.assert_array_equal(y.grad.numpy(force=True), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(force=True), [5.0, 5.0])


def test_leaf_grad_does_not_alias_a_broadcast_view(device):
    b = _leaf(0.0, device)
    w = _leaf([[1.0, 2.0]], device)
    (w.expand(3, 2) * 1.0).sum().backward()
    (b + tm.zeros(4, dtype=tm.float64, device=device)).sum().backward()
    w.grad.add_(1.0)  # would fail on a read-only broadcast view
    np.testing.assert_array_equal(w.grad.numpy(force=True), [[4.0, 4.0]])
    assert b.grad.item() == 4.0


def test_non_leaf_tensors_get_no_grad(device):
    x = _leaf([1.0], device)
    h = x * 2
    (h * 3).sum().backward()
    assert h.grad is None and x.grad.tolist() == [6.0]


def test_grad_dtype_follows_the_leaf(device):
    x = tm.ones(2, device=device, requires_grad=True)  # float32
    (x.double() * tm.ones(2, dtype=tm.float64, device=device)).sum().backward()
    assert x.grad.dtype == np.float32


def test_only_inputs_requiring_grad_get_gradients(device):
    x = _leaf([1.0, 2.0], device)
    c = tm.Tensor([5.0, 6.0], dtype=tm.float64, device=device)
    (x * c).sum().backward()
    assert c.grad is None and x.grad.tolist() == [5.0, 6.0]


def test_backward_is_deterministic(device):
    def grads():
        tm.manual_seed(0)
        x = tm.randn(5, 4, dtype=tm.float64, device=device, requires_grad=True)
        w = tm.randn(4, 3, dtype=tm.float64, device=device, requires_grad=True)
        h = x @ w
        loss = (h.tanh() + h.sigmoid() * h + tm.softmax(h, 1)).sum() + x.var()
        loss.backward()
        return x.grad.numpy(force=True).copy(), w.grad.numpy(force=True).copy()

    (a1, b1), (a2, b2) = grads(), grads()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)


def test_custom_function_with_skipped_gradient(device):
    class ScaleFirst(tm.Function):
        def forward(self, a, b):
            self.save_for_backward(b)
            return a * b

        def backward(self, gy):
            (b,) = self.saved
            assert self.needs_input_grad == (True, False)
            return gy * b, None

    a = _leaf([1.0, 2.0], device)
    b = tm.Tensor([3.0, 4.0], dtype=tm.float64, device=device)
    ScaleFirst.apply(a, b).sum().backward()
    assert a.grad.tolist() == [3.0, 4.0]


# ---------------------------------------------------------------------------------------------
# grad modes


def test_no_grad_context_builds_no_graph(device):
    x = _leaf([1.0, 2.0], device)
    with tm.no_grad():
        assert not tm.is_grad_enabled()
        y = x * 2 + 1
        z = y.exp().sum()
    assert tm.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.grad_fn is None and t.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        z.backward()


def test_enable_grad_inside_no_grad(device):
    x = _leaf([1.0], device)
    with tm.no_grad():
        with tm.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tm.no_grad():
            1 / 0  # noqa: B018
    assert tm.is_grad_enabled()


def test_grad_mode_decorators():
    x = tm.ones(2, requires_grad=True)

    @tm.no_grad()
    def with_parens(t):
        return t * 2, tm.is_grad_enabled()

    @tm.no_grad
    def without_parens(t):
        return t * 2, tm.is_grad_enabled()

    @tm.enable_grad()
    def enabled(t):
        return t * 2

    @tm.enable_grad
    def enabled_bare(t):
        return t * 2

    for fn in (with_parens, without_parens):
        out, mode = fn(x)
        assert not out.requires_grad and mode is False
        assert tm.is_grad_enabled()
    assert with_parens.__name__ == "with_parens" and without_parens.__name__ == "without_parens"
    with tm.no_grad():
        assert enabled(x).requires_grad and enabled_bare(x).requires_grad
        assert not tm.is_grad_enabled()


def test_set_grad_enabled():
    tm.set_grad_enabled(False)
    try:
        assert not (tm.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        tm.set_grad_enabled(True)
    assert (tm.ones(1, requires_grad=True) * 2).requires_grad


# ---------------------------------------------------------------------------------------------
# graph lifetime and memory


def test_graph_is_held_only_through_the_output(device):
    x = _leaf(np.ones((4, 4)), device)
    gc.disable()  # reference counting alone must free the graph: no cycles
    try:
        h = (x * 2).exp()
        loss = h.sum()
        refs = [weakref.ref(h), weakref.ref(h._ctx), weakref.ref(loss._ctx)]
        del h
        assert refs[1]() is not None  # the graph is alive while the loss is
        del loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_backward_frees_saved_arrays(device):
    x = _leaf(np.ones((64, 64)), device)
    loss = (x * 2).exp().sum()
    exp_fn = loss._ctx.parents[0]
    saved = weakref.ref(exp_fn.saved[0])  # Exp keeps its output for backward
    loss.backward()
    assert saved() is None  # freed by backward, while ``loss`` is still alive
    assert loss.item() > 0


def test_training_loop_keeping_only_loss_values_does_not_grow(device):
    rng = np.random.default_rng(0)
    x = tm.Tensor(rng.standard_normal((64, 32)), device=device)
    y = tm.Tensor(rng.standard_normal((64, 1)), device=device)
    w1 = tm.Tensor(rng.standard_normal((32, 128)) * 0.1, device=device, requires_grad=True)
    w2 = tm.Tensor(rng.standard_normal((128, 1)) * 0.1, device=device, requires_grad=True)
    losses = []

    def step():
        loss = (((x @ w1).relu() @ w2 - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with tm.no_grad():
            for p in (w1, w2):
                p -= 0.01 * p.grad
                p.grad = None

    for _ in range(20):  # warm up caches and the losses list's first allocations
        step()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            step()
        growth = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # one step's graph holds ~100 KB of float32 activations; a leak of 300 graphs is ~30 MB.
    # 300 Python floats in ``losses`` are ~10 KB.
    assert growth < 256 * 1024, f"memory grew by {growth} bytes over 300 steps"
    assert losses[-1] < losses[0]
