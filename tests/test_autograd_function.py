"""``tm.autograd.Function``: PyTorch's ctx-style custom ops, checked numerically and against
torch.autograd.Function where it is installed."""

import numpy as np
import pytest

import tinygrad_mom as tm

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RNG = np.random.default_rng(11)


def leaf(values, device):
    return tm.Tensor(np.asarray(values, dtype=np.float64), device=device, requires_grad=True)


def make_classes(lib):
    """The same custom functions, written once, for either library."""

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return gy * y

    class ScaledMul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, gy):
            a, b = ctx.saved_tensors
            ga = gy * b * ctx.scale if ctx.needs_input_grad[0] else None
            gb = gy * a * ctx.scale if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class SinCos(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    class MaxWithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.max(dim=1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            ctx.shape = x.shape
            return values, indices

        @staticmethod
        def backward(ctx, gv, gi):
            (indices,) = ctx.saved_tensors
            g = lib.zeros(ctx.shape, dtype=gv.dtype)
            g[range(ctx.shape[0]), indices] = gv
            return g

    return Exp, ScaledMul, SinCos, MaxWithIndex


TM = make_classes(tm)


def test_gradcheck_and_gradgradcheck(device):
    exp, scaled_mul, sin_cos, _ = TM
    assert tm.gradcheck(exp.apply, [leaf(RNG.standard_normal((2, 3)), device)])
    assert tm.gradgradcheck(exp.apply, [leaf(RNG.standard_normal((2, 3)), device)])
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3,))
    fn = lambda x, y: scaled_mul.apply(x, y, 1.5)  # noqa: E731  (broadcast gradients too)
    assert tm.gradcheck(fn, [leaf(a, device), leaf(b, device)])
    assert tm.gradgradcheck(fn, [leaf(a, device), leaf(b, device)])
    assert tm.gradcheck(sin_cos.apply, [leaf(RNG.standard_normal(4), device)])
    assert tm.gradgradcheck(sin_cos.apply, [leaf(RNG.standard_normal(4), device)])


def test_ctx_attributes_and_graph(device):
    exp, scaled_mul, sin_cos, max_with_index = TM
    x = leaf([1.0, 2.0], device)
    c = tm.Tensor([3.0, 4.0], dtype=tm.float64, device=device)
    y = scaled_mul.apply(x, c, 2.0)
    assert y.grad_fn.name() == "ScaledMulBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    assert y.grad_fn.ctx.needs_input_grad == (True, False, False)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 8.0]
    m = leaf([[1.0, 5.0], [7.0, 2.0]], device)
    values, indices = max_with_index.apply(m)
    assert values.requires_grad and not indices.requires_grad
    (values * tm.Tensor([1.0, 10.0], dtype=tm.float64, device=device)).sum().backward()
    assert m.grad.tolist() == [[0.0, 1.0], [10.0, 0.0]]
    with tm.no_grad():
        assert exp.apply(x).grad_fn is None


def test_multi_output_gradients_stay_separate(device):
    _, _, sin_cos, _ = TM
    x = leaf([0.3, -1.2], device)
    s, c = sin_cos.apply(x)
    (s * 2 + c * 3).sum().backward()
    expected = 2 * np.cos([0.3, -1.2]) - 3 * np.sin([0.3, -1.2])
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    x.grad = None
    s, _ = sin_cos.apply(x)  # only one output used: the other's gradient is zeros
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.3, -1.2]), rtol=1e-12)


def test_set_materialize_grads_false_passes_none():
    seen = []

    class Two(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga is None, gb is None))
            return ga * 2

    x = leaf([1.0], "cpu")
    a, _ = Two.apply(x)
    a.sum().backward()
    assert seen == [(False, True)] and x.grad.tolist() == [2.0]


def test_setup_context_style():
    class Square(tm.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 2 * x * gy

    x = leaf([3.0], "cpu")
    Square.apply(x).backward()
    assert x.grad.tolist() == [6.0]


def test_returning_an_input_does_not_rewrite_it():
    class Identity(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy * 5

    x = leaf([1.0], "cpu")
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and y.grad_fn.name() == "IdentityBackward"
    y.sum().backward()
    assert x.grad.tolist() == [5.0]


def test_saved_tensor_modified_in_place_raises():
    exp = TM[0]
    x = leaf([1.0], "cpu")
    y = exp.apply(x)
    with tm.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_once_differentiable():
    class Cube(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        @tm.autograd.function.once_differentiable
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return 3 * x * x * gy

    x = leaf([2.0], "cpu")
    (g,) = tm.autograd.grad(Cube.apply(x), x, create_graph=True)
    assert g.tolist() == [12.0] and not g.requires_grad


BAD = [
    (RuntimeError, "incorrect number of gradients", "count"),
    (RuntimeError, "invalid gradient at index 0", "shape"),
    (TypeError, "gradient of type float", "type"),
]


@pytest.mark.parametrize("exc, pattern, kind", BAD, ids=[k for _, _, k in BAD])
def test_bad_backward_results_are_named(exc, pattern, kind):
    class Bad(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, gy):
            if kind == "count":
                return gy
            if kind == "shape":
                return tm.ones(5, dtype=tm.float64), None
            return 1.0, None

    x = leaf([1.0, 2.0], "cpu")
    with pytest.raises(exc, match=pattern):
        Bad.apply(x, x.detach()).sum().backward()


def test_save_for_backward_rejects_non_tensors():
    class Bad(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(3)
            return x

        @staticmethod
        def backward(ctx, gy):
            return gy

    with pytest.raises(TypeError, match="save_for_backward can only save tensors"):
        Bad.apply(leaf([1.0], "cpu"))


@needs_torch
def test_same_code_matches_torch():
    ours, theirs = TM, make_classes(torch)
    a = RNG.standard_normal((3, 4))
    results = []
    for lib, (exp, scaled_mul, sin_cos, max_with_index) in ((tm, ours), (torch, theirs)):
        x = lib.tensor(a, requires_grad=True)
        s, c = sin_cos.apply(x)
        v, i = max_with_index.apply(exp.apply(x) * s)
        loss = (scaled_mul.apply(v, c.sum(dim=1), 0.5)).sum()
        loss.backward()
        results.append((loss.item(), i.numpy(), x.grad.numpy()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-12)
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-12)
