"""Every differentiable op against float64 central differences, and the checker itself.

Inputs are drawn away from kinks (|x| not near 0 for abs/relu, away from clamp bounds, no ties
for max/min/maximum/minimum) so that the numerical derivative is well defined. Non-contiguous
inputs are made inside ``fn`` (``.T``, step slicing) so the op sees a strided array.
"""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.gradcheck import GradcheckError

RNG = np.random.default_rng(1234)


def any_(shape):
    return RNG.standard_normal(shape)


def positive(shape):
    return RNG.uniform(0.5, 2.0, shape)


def nonzero(shape):
    """Values with |x| in [0.3, 2]: away from the kink at 0."""
    return RNG.choice([-1.0, 1.0], shape) * RNG.uniform(0.3, 2.0, shape)


def clamp_safe(shape):
    """Values inside (-0.4, 0.4) or outside ±0.6: away from clamp bounds ±0.5."""
    inner = RNG.uniform(-0.4, 0.4, shape)
    outer = RNG.choice([-1.0, 1.0], shape) * RNG.uniform(0.6, 1.5, shape)
    return np.where(RNG.random(shape) < 0.5, inner, outer)


def distinct(shape):
    """Distinct values spaced >= 0.1 apart, in random order: no ties for max/min."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 + RNG.uniform(0, 0.02, n) - n * 0.05).reshape(shape)


def interleaved_pair(shape_a, shape_b):
    """Two arrays whose values never come within 0.06 of each other (no maximum/minimum ties)."""
    a = (2 * RNG.integers(-5, 5, shape_a) + 1) * 0.1 + RNG.uniform(-0.02, 0.02, shape_a)
    b = 2 * RNG.integers(-5, 5, shape_b) * 0.1 + RNG.uniform(-0.02, 0.02, shape_b)
    return a, b


def leaf(array, device):
    return tm.Tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=True)


def check(fn, arrays, device, **kwargs):
    inputs = [leaf(a, device) for a in arrays]
    assert tm.gradcheck(fn, inputs, **kwargs) is True


# ---------------------------------------------------------------------------------------------
# unary ops (elementwise functions, scalar arithmetic incl. reflected forms)

UNARY = {
    "neg": (lambda x: -x, any_),
    "neg_fn": (lambda x: x.neg(), any_),
    "exp": (tm.exp, any_),
    "log": (tm.log, positive),
    "sqrt": (tm.sqrt, positive),
    "abs": (tm.abs, nonzero),
    "tanh": (tm.tanh, any_),
    "sigmoid": (tm.sigmoid, any_),
    "relu": (tm.relu, nonzero),
    "leaky_relu": (lambda x: tm.leaky_relu(x, 0.2), nonzero),
    "leaky_relu_default": (lambda x: x.leaky_relu(), nonzero),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), clamp_safe),
    "clamp_min": (lambda x: tm.clamp(x, min=-0.5), clamp_safe),
    "clamp_max": (lambda x: tm.clamp(x, max=0.5), clamp_safe),
    "pow_2": (lambda x: x**2, any_),
    "pow_3": (lambda x: x**3, any_),
    "pow_half": (lambda x: x**0.5, positive),
    "pow_neg": (lambda x: x**-1.5, positive),
    "rpow": (lambda x: 2.0**x, any_),
    "add_scalar": (lambda x: x + 2.5, any_),
    "radd": (lambda x: 2.5 + x, any_),
    "sub_scalar": (lambda x: x - 1, any_),
    "rsub": (lambda x: 3 - x, any_),
    "mul_scalar": (lambda x: x * -1.5, any_),
    "rmul": (lambda x: 2 * x, any_),
    "div_scalar": (lambda x: x / 3, any_),
    "rdiv": (lambda x: 1.5 / x, nonzero),
    "clone": (lambda x: x.clone(), any_),
}

UNARY_SHAPES = [(), (0,), (2, 0), (5,), (2, 3)]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(device, name, shape):
    fn, draw = UNARY[name]
    check(fn, [draw(shape)], device)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_non_contiguous(device, name):
    fn, draw = UNARY[name]
    check(lambda x: fn(x.T), [draw((4, 3))], device)
    check(lambda x: fn(x[::2, 1::2]), [draw((5, 4))], device)


# ---------------------------------------------------------------------------------------------
# binary ops with broadcasting

BROADCAST_PAIRS = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
    ((0, 3), (3,)),
    ((2, 0), (2, 1)),
]

BINARY = {
    "add": (lambda a, b: a + b, any_, any_),
    "sub": (lambda a, b: a - b, any_, any_),
    "mul": (lambda a, b: a * b, any_, any_),
    "div": (lambda a, b: a / b, any_, nonzero),
    "pow": (lambda a, b: a**b, positive, any_),
    "maximum": (tm.maximum, None, None),
    "minimum": (tm.minimum, None, None),
    "method_add": (lambda a, b: a.add(b, alpha=2.0), any_, any_),
    "method_sub": (lambda a, b: a.sub(b), any_, any_),
}


def _binary_arrays(name, sa, sb):
    _, draw_a, draw_b = BINARY[name]
    if draw_a is None:
        return interleaved_pair(sa, sb)
    return draw_a(sa), draw_b(sb)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(device, name, shapes):
    fn = BINARY[name][0]
    check(fn, _binary_arrays(name, *shapes), device)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_non_contiguous(device, name):
    fn = BINARY[name][0]
    a, b = _binary_arrays(name, (4, 3), (3, 4))
    check(lambda x, y: fn(x.T, y), [a, b], device)
    a, b = _binary_arrays(name, (6, 3), (3,))
    check(lambda x, y: fn(x[::2], y), [a, b], device)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_one_input_requires_grad(device, name):
    fn = BINARY[name][0]
    a, b = _binary_arrays(name, (2, 3), (3,))
    const = tm.Tensor(b, device=device)
    check(lambda x: fn(x, const), [a], device)
    const = tm.Tensor(a, device=device)
    check(lambda y: fn(const, y), [b], device)


def test_same_tensor_both_operands(device):
    check(lambda x: x * x + x / (x * x + 1), [any_((3, 2))], device)


def test_where(device):
    for sc, sa, sb in [
        ((2, 3),) * 3,
        ((2, 3), (3,), ()),
        ((2, 1), (1, 3), (2, 3)),
        ((), (0,), (0,)),
    ]:
        cond = tm.Tensor(RNG.random(sc) < 0.5, device=device)
        check(lambda a, b, c=cond: tm.where(c, a, b), [any_(sa), any_(sb)], device)
    cond = tm.Tensor(RNG.random((3, 4)) < 0.5, device=device)
    check(lambda a, b: tm.where(cond, a.T, b), [any_((4, 3)), any_((3, 4))], device)
    check(lambda a: tm.where(cond, a, 0.0), [any_((3, 4))], device)


# ---------------------------------------------------------------------------------------------
# matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 2)),
    ((4,), (4, 2)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((2, 3, 4), (2, 4, 1)),
    ((0, 4), (4, 2)),
    ((3, 0), (0, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(device, shapes):
    sa, sb = shapes
    check(lambda a, b: a @ b, [any_(sa), any_(sb)], device)


def test_matmul_non_contiguous_and_functional(device):
    check(lambda a, b: tm.matmul(a.T, b[:, ::2]), [any_((4, 3)), any_((4, 6))], device)
    check(lambda a, b: a.matmul(b.transpose(-1, -2)), [any_((2, 3, 4)), any_((2, 5, 4))], device)


# ---------------------------------------------------------------------------------------------
# reductions

REDUCTIONS = {
    "sum_all": (lambda x: x.sum(), any_),
    "sum_dim0": (lambda x: x.sum(0), any_),
    "sum_dim-1_keep": (lambda x: x.sum(-1, keepdim=True), any_),
    "sum_dims": (lambda x: tm.sum(x, (0, 2)), any_),
    "mean_all": (lambda x: x.mean(), any_),
    "mean_dim": (lambda x: x.mean(1), any_),
    "mean_dim_keep": (lambda x: x.mean(-1, keepdim=True), any_),
    "var_all": (lambda x: x.var(), any_),
    "var_dim": (lambda x: x.var(1), any_),
    "var_biased_keep": (lambda x: x.var(0, unbiased=False, keepdim=True), any_),
    "std_dim": (lambda x: tm.std(x, -1), any_),
    "max_all": (lambda x: x.max(), distinct),
    "min_all": (lambda x: tm.min(x), distinct),
    "max_dim": (lambda x: x.max(1).values, distinct),
    "max_dim_keep": (lambda x: x.max(-1, keepdim=True)[0], distinct),
    "min_dim": (lambda x: x.min(0).values, distinct),
    "logsumexp": (lambda x: tm.logsumexp(x, 1), any_),
    "logsumexp_keep": (lambda x: x.logsumexp(-1, keepdim=True), any_),
    "logsumexp_dims": (lambda x: tm.logsumexp(x, (0, 2)), any_),
    "softmax": (lambda x: tm.softmax(x, 1), any_),
    "softmax_last": (lambda x: x.softmax(-1), any_),
    "log_softmax": (lambda x: tm.log_softmax(x, 0), any_),
    "log_softmax_last": (lambda x: x.log_softmax(-1), any_),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction(device, name):
    fn, draw = REDUCTIONS[name]
    check(fn, [draw((2, 3, 4))], device)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_non_contiguous(device, name):
    fn, draw = REDUCTIONS[name]
    check(lambda x: fn(x.permute(2, 0, 1)), [draw((4, 2, 3))], device)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.max(),
        lambda x: x.sum(0),
        lambda x: tm.logsumexp(x, 0),
        lambda x: tm.softmax(x, 0),
        lambda x: tm.log_softmax(x, -1),
        lambda x: x.max(0).values,
    ],
)
def test_reduction_of_scalar(device, fn):
    check(fn, [any_(())], device)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum(),
        lambda x: x.sum(0),
        lambda x: x.sum(1, keepdim=True),
        lambda x: x.mean(1),
        lambda x: tm.logsumexp(x, 1),
        lambda x: tm.softmax(x, 0),
        lambda x: x.max(1).values,
    ],
)
def test_reduction_size_zero(device, fn):
    check(fn, [any_((0, 3))], device)


def test_max_all_ties_share_the_gradient(device):
    x = tm.Tensor([1.0, 3.0, 3.0, 2.0], device=device, requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [0.0, 0.5, 0.5, 0.0])


# ---------------------------------------------------------------------------------------------
# shape ops and indexing

MOVEMENT = {
    "reshape": ((2, 3, 4), lambda x: x.reshape(4, 6)),
    "reshape_-1": ((2, 3, 4), lambda x: x.reshape(-1, 3)),
    "reshape_tuple": ((2, 3), lambda x: tm.reshape(x, (3, 2))),
    "reshape_scalar": ((), lambda x: x.reshape(1, 1)),
    "reshape_to_scalar": ((1,), lambda x: x.reshape(())),
    "view": ((2, 3, 4), lambda x: x.view(6, 4)),
    "view_as": ((2, 3), lambda x: x.view_as(tm.zeros(6))),
    "transpose": ((2, 3, 4), lambda x: x.transpose(0, 2)),
    "transpose_neg": ((2, 3, 4), lambda x: tm.transpose(x, -1, -2)),
    "T": ((2, 3), lambda x: x.T),
    "t": ((2, 3), lambda x: x.t()),
    "permute": ((2, 3, 4), lambda x: x.permute(2, 0, 1)),
    "permute_tuple": ((2, 3, 4), lambda x: tm.permute(x, (1, 2, 0))),
    "flatten": ((2, 3, 4), lambda x: x.flatten()),
    "flatten_1": ((2, 3, 4), lambda x: x.flatten(1)),
    "flatten_0_1": ((2, 3, 4), lambda x: tm.flatten(x, 0, 1)),
    "flatten_scalar": ((), lambda x: x.flatten()),
    "squeeze": ((2, 1, 3, 1), lambda x: x.squeeze()),
    "squeeze_dim": ((2, 1, 3, 1), lambda x: x.squeeze(1)),
    "squeeze_noop": ((2, 1, 3), lambda x: x.squeeze(0)),
    "unsqueeze": ((2, 3), lambda x: x.unsqueeze(1)),
    "unsqueeze_end": ((2, 3), lambda x: tm.unsqueeze(x, -1)),
    "unsqueeze_scalar": ((), lambda x: x.unsqueeze(0)),
    "expand": ((3, 1), lambda x: x.expand(3, 4)),
    "expand_new_dims": ((3, 1), lambda x: x.expand(2, 3, 4)),
    "expand_-1": ((3, 1), lambda x: x.expand(2, -1, 5)),
    "expand_scalar": ((), lambda x: x.expand(2, 3)),
    "expand_as": ((1, 3), lambda x: x.expand_as(tm.zeros(4, 3))),
    "size0_reshape": ((0, 3), lambda x: x.reshape(3, 0)),
    "size0_permute": ((2, 0, 3), lambda x: x.permute(2, 1, 0)),
    "size0_expand": ((0, 1), lambda x: x.expand(0, 4)),
}


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement(device, name):
    shape, fn = MOVEMENT[name]
    check(fn, [any_(shape)], device)


def test_movement_non_contiguous(device):
    check(lambda x: x.T.reshape(-1), [any_((3, 4))], device)
    check(lambda x: x[::2].flatten(), [any_((6, 2, 2))], device)
    check(lambda x: x.T.unsqueeze(0).expand(2, 4, 3), [any_((3, 4))], device)
    check(lambda x: x[:, ::2].permute(1, 0), [any_((3, 6))], device)


INDICES = {
    "int": ((4, 3), 1),
    "neg_int": ((4, 3), -1),
    "slice": ((5, 3), slice(1, 4)),
    "step_slice": ((6, 3), slice(None, None, 2)),
    "tuple": ((4, 5), (slice(1, 3), 2)),
    "slice_both": ((4, 5), (slice(None, None, 2), slice(1, None, 3))),
    "none": ((2, 3), (None, slice(None), None)),
    "ellipsis": ((2, 3, 4), (Ellipsis, 1)),
    "ellipsis_none": ((2, 3, 4), (0, Ellipsis, None)),
    "int_array": ((5, 2), [3, 0, 4]),
    "int_array_repeated": ((4, 2), [1, 1, 3, 1]),
    "int_array_neg": ((4, 2), [-1, 0]),
    "int_array_2d": ((4, 3), np.array([[0, 1], [1, 3]])),
    "int_arrays_pair": ((4, 3), ([0, 2, 2], [1, 1, 0])),
    "int_array_after_slice": ((3, 5), (slice(None), [4, 0, 4])),
    "bool_mask": ((5,), np.array([True, False, True, True, False])),
    "bool_mask_2d": ((2, 3), np.array([[True, False, True], [False, True, True]])),
    "bool_mask_rows": ((3, 2), np.array([True, False, True])),
    "empty_slice": ((4, 3), slice(2, 2)),
    "scalar_index_of_1d": ((3,), 2),
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_getitem(device, name):
    shape, index = INDICES[name]
    check(lambda x: x[index], [any_(shape)], device)


def test_getitem_with_tensor_indices(device):
    idx = tm.Tensor([2, 0, 2], device=device)
    check(lambda x: x[idx], [any_((3, 2))], device)
    mask = tm.Tensor([[True, False], [True, True], [False, False]], device=device)
    check(lambda x: x[mask], [any_((3, 2))], device)
    check(lambda x: x[x > 0], [any_((3, 4))], device)


def test_getitem_non_contiguous(device):
    check(lambda x: x.T[1:, [0, 0, 2]], [any_((4, 3))], device)


def test_repeated_index_accumulates(device):
    x = tm.zeros(3, device=device, requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [3.0, 0.0, 1.0])


CATS = [
    ([(2, 3), (4, 3)], 0),
    ([(2, 3), (2, 1), (2, 2)], 1),
    ([(2, 3), (2, 3)], -1),
    ([(0, 3), (2, 3)], 0),
    ([(3,)], 0),
]


@pytest.mark.parametrize("shapes, dim", CATS, ids=str)
def test_cat(device, shapes, dim):
    check(lambda *xs: tm.cat(xs, dim), [any_(s) for s in shapes], device)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(device, dim):
    check(lambda *xs: tm.stack(xs, dim), [any_((2, 3)) for _ in range(3)], device)


def test_stack_scalars_and_non_contiguous(device):
    check(lambda a, b: tm.stack([a, b]), [any_(()), any_(())], device)
    check(lambda a, b: tm.cat([a.T, b[::2]], 0), [any_((3, 2)), any_((4, 3))], device)


@pytest.mark.parametrize(
    "shape, widths",
    [
        ((2, 3), (1, 2)),
        ((2, 3), (0, 1, 2, 0)),
        ((1, 2, 3, 3), (1, 1, 1, 1)),
        ((3,), (2, 0)),
        ((0, 2), (1, 1)),
    ],
    ids=str,
)
def test_pad(device, shape, widths):
    check(lambda x: tm.pad(x, widths), [any_(shape)], device)
    check(lambda x: tm.pad(x, widths, value=1.5), [any_(shape)], device)


def test_pad_non_contiguous(device):
    check(lambda x: tm.pad(x.T, (1, 0, 0, 2)), [any_((3, 2))], device)


# ---------------------------------------------------------------------------------------------
# composite graphs and dtype casts


def test_composite_mlp(device):
    def mlp(x, w1, b1, w2):
        h = (x @ w1 + b1).tanh()
        return tm.log_softmax(h @ w2, -1)

    check(mlp, [any_((4, 3)), any_((3, 5)), any_((5,)), any_((5, 2))], device)


def test_cast_is_differentiable(device):
    # a float32 round trip: a large step keeps rounding out of the (linear) difference quotient
    check(lambda x: x.float().double() * 2, [any_((3,))], device, eps=1e-2, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# the checker itself


class _WrongSquare(tm.Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return 3 * gy * x


class _WrongSecondInput(tm.Function):
    """a * b whose gradient for b is off by one element."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        gb = gy * a
        gb.reshape(-1)[2] += 1.0
        return gy * b, gb


def test_gradcheck_returns_true(device):
    x = leaf(any_((3, 2)), device)
    assert tm.gradcheck(lambda t: (t * t).sum(0), [x]) is True
    assert tm.gradcheck(lambda t: t.exp(), x) is True  # a lone tensor works too


def test_gradcheck_rejects_a_wrong_backward(device):
    x = leaf(positive((2, 3)), device)
    with pytest.raises(GradcheckError) as info:
        tm.gradcheck(lambda t: _WrongSquare.apply(t), [x])
    message = str(info.value)
    assert "input 0" in message and "(2, 3)" in message
    assert "at index (" in message and "worst abs error" in message
    assert isinstance(info.value, RuntimeError)


def test_gradcheck_names_the_input_and_index(device):
    a, b = leaf(positive((2, 3)), device), leaf(positive((2, 3)), device)
    with pytest.raises(GradcheckError, match=r"input 1 .*at index \(0, 2\)"):
        tm.gradcheck(lambda x, y: _WrongSecondInput.apply(x, y), [a, b])


def test_gradcheck_worst_error_value(device):
    x = leaf(np.array([1.0, -2.0, 3.0]), device)
    with pytest.raises(GradcheckError) as info:
        tm.gradcheck(lambda t: _WrongSquare.apply(t), [x])
    # analytic 3x·r vs numeric 2x·r: the error is |x·r| with r the checker's upstream (seed 0)
    r = np.random.default_rng(0).standard_normal(3)
    errors = np.abs(np.array([1.0, -2.0, 3.0]) * r)
    worst = int(np.argmax(errors))
    message = str(info.value)
    assert f"at index ({worst},)" in message
    assert f"worst abs error {errors.max():.3g}" in message


def test_gradcheck_rejects_ones_blind_bug(device):
    """A softmax backward that ignores the upstream gradient passes with ones, not here."""

    class LazySoftmax(tm.Function):
        def forward(self, x):
            e = np.exp(x - x.max())
            self.out = e / e.sum()
            return self.out

        def backward(self, gy):
            return gy * 0.0  # right for gy = ones (sum of softmax is constant), wrong otherwise

    if device != "cpu":
        pytest.skip("the deliberately wrong Function uses numpy directly")
    x = leaf(any_((4,)), device)
    with pytest.raises(GradcheckError):
        tm.gradcheck(lambda t: LazySoftmax.apply(t), [x])


def test_gradcheck_leaves_inputs_untouched(device):
    data = any_((2, 2)).astype(np.float32)
    x = tm.Tensor(data, device=device, requires_grad=True)
    tm.gradcheck(lambda t: t * 2, [x], atol=1e-4)
    assert x.grad is None and x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(force=True), data)


def test_gradcheck_multiple_outputs_and_constants(device):
    const = tm.Tensor(any_((3,)), device=device)
    x = leaf(any_((3,)), device)
    assert tm.gradcheck(lambda t, c: (t * c, t.exp()), [x, const]) is True


def test_gradcheck_needs_an_input_requiring_grad(device):
    with pytest.raises(ValueError, match="nothing to check"):
        tm.gradcheck(lambda t: t * 2, [tm.ones(2, device=device)])
