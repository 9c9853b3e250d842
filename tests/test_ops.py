"""Forward values against NumPy, non-differentiable ops, dtype rules and the bad-input table."""

import pathlib

import numpy as np
import pytest

import tinygrad_mom as tm

RNG = np.random.default_rng(99)
PACKAGE_DIR = pathlib.Path(tm.__file__).parent

# float64 must match NumPy to 1e-12 relative; float32 to 1e-5 (plus a tiny absolute floor for
# results that cancel to near zero, where a relative bound on float32 rounding is meaningless).
TOLERANCES = {np.float64: dict(rtol=1e-12, atol=0.0), np.float32: dict(rtol=1e-5, atol=1e-6)}


def _lse(a, axis, keepdims=False):
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _pos(shape):
    return RNG.uniform(0.5, 2.0, shape)


def _any(shape):
    return RNG.standard_normal(shape)


# name: (tinygrad_mom fn, numpy reference, input draws)
FORWARD = {
    "add": (lambda a, b: a + b, np.add, [_any((2, 3)), _any((3,))]),
    "sub": (lambda a, b: a - b, np.subtract, [_any((2, 1)), _any((1, 3))]),
    "mul": (lambda a, b: a * b, np.multiply, [_any((4, 1, 3)), _any((2, 3))]),
    "div": (lambda a, b: a / b, np.divide, [_any((2, 3)), _pos((2, 3))]),
    "pow": (lambda a, b: a**b, np.power, [_pos((2, 3)), _any((3,))]),
    "pow_scalar": (lambda a: a**3, lambda a: a**3, [_any((5,))]),
    "rpow": (lambda a: 2.0**a, lambda a: 2.0**a, [_any((5,))]),
    "rsub": (lambda a: 1 - a, lambda a: 1 - a, [_any((5,))]),
    "rdiv": (lambda a: 2 / a, lambda a: 2 / a, [_pos((5,))]),
    "neg": (lambda a: -a, np.negative, [_any((2, 3))]),
    "matmul": (lambda a, b: a @ b, np.matmul, [_any((3, 4)), _any((4, 5))]),
    "matmul_batched": (tm.matmul, np.matmul, [_any((2, 1, 3, 4)), _any((3, 4, 2))]),
    "matmul_vec_mat": (tm.matmul, np.matmul, [_any((4,)), _any((2, 4, 3))]),
    "matmul_mat_vec": (tm.matmul, np.matmul, [_any((2, 3, 4)), _any((4,))]),
    "matmul_vec_vec": (tm.matmul, np.matmul, [_any((4,)), _any((4,))]),
    "exp": (tm.exp, np.exp, [_any((2, 3))]),
    "log": (tm.log, np.log, [_pos((2, 3))]),
    "sqrt": (tm.sqrt, np.sqrt, [_pos((2, 3))]),
    "abs": (tm.abs, np.abs, [_any((2, 3))]),
    "tanh": (tm.tanh, np.tanh, [_any((2, 3))]),
    "sigmoid": (tm.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [_any((4, 5)) * 5]),
    "relu": (tm.relu, lambda a: np.maximum(a, 0), [_any((2, 3))]),
    "leaky_relu": (
        lambda a: tm.leaky_relu(a, 0.1),
        lambda a: np.where(a > 0, a, 0.1 * a),
        [_any((2, 3))],
    ),
    "clamp": (lambda a: a.clamp(-0.5, 0.3), lambda a: np.clip(a, -0.5, 0.3), [_any((3, 3))]),
    "clamp_min": (lambda a: tm.clamp(a, min=0.1), lambda a: np.maximum(a, 0.1), [_any((3, 3))]),
    "maximum": (tm.maximum, np.maximum, [_any((2, 3)), _any((3,))]),
    "minimum": (tm.minimum, np.minimum, [_any((2, 1)), _any((2, 3))]),
    "sum": (lambda a: a.sum(), np.sum, [_any((2, 3, 4))]),
    "sum_dim": (lambda a: a.sum(1), lambda a: a.sum(1), [_any((2, 3, 4))]),
    "sum_dims_keep": (
        lambda a: a.sum((0, 2), keepdim=True),
        lambda a: a.sum((0, 2), keepdims=True),
        [_any((2, 3, 4))],
    ),
    "mean": (lambda a: a.mean(), np.mean, [_any((2, 3, 4))]),
    "mean_dim": (lambda a: a.mean(-1), lambda a: a.mean(-1), [_any((2, 3, 4))]),
    "var": (lambda a: a.var(), lambda a: a.var(ddof=1), [_any((2, 3, 4))]),
    "var_dim": (lambda a: a.var(1), lambda a: a.var(1, ddof=1), [_any((2, 3, 4))]),
    "var_biased": (
        lambda a: a.var(0, unbiased=False, keepdim=True),
        lambda a: a.var(0, keepdims=True),
        [_any((5, 3))],
    ),
    "std": (lambda a: a.std(1), lambda a: a.std(1, ddof=1), [_any((3, 4))]),
    "max": (lambda a: a.max(), np.max, [_any((2, 3, 4))]),
    "min": (lambda a: a.min(), np.min, [_any((2, 3, 4))]),
    "max_dim": (lambda a: a.max(1).values, lambda a: a.max(1), [_any((2, 3, 4))]),
    "min_dim_keep": (
        lambda a: a.min(-1, keepdim=True).values,
        lambda a: a.min(-1, keepdims=True),
        [_any((2, 3, 4))],
    ),
    "logsumexp": (lambda a: tm.logsumexp(a, 1), lambda a: _lse(a, 1), [_any((3, 4)) * 10]),
    "softmax": (lambda a: tm.softmax(a, -1), lambda a: _softmax(a, -1), [_any((3, 4))]),
    "log_softmax": (
        lambda a: tm.log_softmax(a, 0),
        lambda a: np.log(_softmax(a, 0)),
        [_any((3, 4))],
    ),
    "where": (
        lambda a, b: tm.where(a > b, a, b),
        lambda a, b: np.where(a > b, a, b),
        [_any((2, 3)), _any((3,))],
    ),
    "reshape": (lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [_any((2, 3, 4))]),
    "transpose": (lambda a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2), [_any((2, 3, 4))]),
    "permute": (lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), [_any((2, 3, 4))]),
    "flatten": (lambda a: a.flatten(1), lambda a: a.reshape(2, -1), [_any((2, 3, 4))]),
    "squeeze": (lambda a: a.squeeze(), np.squeeze, [_any((1, 3, 1))]),
    "unsqueeze": (lambda a: a.unsqueeze(1), lambda a: a[:, None], [_any((2, 3))]),
    "expand": (
        lambda a: a.expand(2, 3, 4),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        [_any((3, 1))],
    ),
    "getitem": (
        lambda a: a[1:, None, [2, 0, 2]],
        lambda a: a[1:, None, [2, 0, 2]],
        [_any((3, 4))],
    ),
    "getitem_mask": (lambda a: a[a > 0], lambda a: a[a > 0], [_any((3, 4))]),
    "cat": (
        lambda a, b: tm.cat([a, b], 1),
        lambda a, b: np.concatenate([a, b], 1),
        [_any((2, 3)), _any((2, 2))],
    ),
    "stack": (
        lambda a, b: tm.stack([a, b], -1),
        lambda a, b: np.stack([a, b], -1),
        [_any((2, 3)), _any((2, 3))],
    ),
    "pad": (
        lambda a: tm.pad(a, (1, 2, 0, 1), value=0.5),
        lambda a: np.pad(a, ((0, 1), (1, 2)), constant_values=0.5),
        [_any((2, 3))],
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(FORWARD))
def test_forward_matches_numpy(device, name, dtype):
    fn, ref, arrays = FORWARD[name]
    arrays = [a.astype(dtype) for a in arrays]
    out = fn(*[tm.Tensor(a, device=device) for a in arrays])
    expected = np.asarray(ref(*[a.astype(np.float64) for a in arrays]))
    assert out.dtype == np.dtype(dtype), "the op must keep the input's floating dtype"
    assert out.shape == expected.shape
    assert out.device == tm.backend.parse_device(device)
    np.testing.assert_allclose(out.numpy(force=True), expected, **TOLERANCES[dtype])


def test_max_min_dim_return_values_and_indices(device):
    a = RNG.standard_normal((3, 5))
    t = tm.Tensor(a, device=device)
    values, indices = t.max(1)
    np.testing.assert_array_equal(values.numpy(force=True), a.max(1))
    np.testing.assert_array_equal(indices.numpy(force=True), a.argmax(1))
    assert indices.dtype == np.int64
    out = tm.min(t, 0, keepdim=True)
    assert out.values.shape == (1, 5) and out.indices.shape == (1, 5)
    np.testing.assert_array_equal(out.indices.numpy(force=True), a.argmin(0)[None])


# log(0) = -inf for the all -inf row is the right answer; numpy warns about it
@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
def test_softmax_and_logsumexp_are_stable(device):
    x = tm.Tensor([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]], device=device)
    assert np.isfinite(tm.softmax(x, 1).numpy(force=True)).all()
    assert np.isfinite(tm.log_softmax(x, 1).numpy(force=True)).all()
    np.testing.assert_allclose(
        tm.logsumexp(x, 1).numpy(force=True), [1000.0, -1e4 + np.log(3)], rtol=1e-6
    )
    big = tm.Tensor([-800.0, 800.0], dtype=tm.float64, device=device)
    np.testing.assert_allclose(tm.sigmoid(big).numpy(force=True), [0.0, 1.0])
    inf = tm.Tensor([-np.inf, -np.inf], device=device)
    assert tm.logsumexp(inf, 0).item() == -np.inf


# ---------------------------------------------------------------------------------------------
# non-differentiable ops


def test_argmax_argmin(device):
    a = RNG.standard_normal((3, 4, 5))
    t = tm.Tensor(a, device=device, requires_grad=True)
    for dim in [0, 1, -1]:
        np.testing.assert_array_equal(t.argmax(dim).numpy(force=True), a.argmax(dim))
        np.testing.assert_array_equal(tm.argmin(t, dim).numpy(force=True), a.argmin(dim))
        assert t.argmax(dim, keepdim=True).shape == a.argmax(dim, keepdims=True).shape
    assert t.argmax().item() == a.argmax() and t.argmin().item() == a.argmin()
    out = t.argmax(1)
    assert out.dtype == np.int64 and not out.requires_grad and out.is_leaf


@pytest.mark.parametrize(
    "op, ref",
    [
        (lambda a, b: a < b, np.less),
        (lambda a, b: a <= b, np.less_equal),
        (lambda a, b: a > b, np.greater),
        (lambda a, b: a >= b, np.greater_equal),
        (lambda a, b: a == b, np.equal),
        (lambda a, b: a != b, np.not_equal),
    ],
)
def test_comparisons_return_bool_tensors(device, op, ref):
    a = RNG.integers(0, 3, (2, 3)).astype(np.float32)
    b = RNG.integers(0, 3, (3,)).astype(np.float32)
    ta = tm.Tensor(a, device=device, requires_grad=True)
    out = op(ta, tm.Tensor(b, device=device))
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(force=True), ref(a, b))
    np.testing.assert_array_equal(op(ta, 1).numpy(force=True), ref(a, 1))  # a Python scalar
    np.testing.assert_array_equal(op(2.0, ta).numpy(force=True), ref(2.0, a))  # reflected


def test_comparison_with_unsupported_type_is_not_implemented():
    assert (tm.ones(2) == "abc") is False
    with pytest.raises(TypeError):
        tm.ones(2) < "abc"  # noqa: B015


# ---------------------------------------------------------------------------------------------
# dtype rules for mixed operands (PyTorch's)


def test_dtype_promotion(device):
    f32 = tm.ones(2, device=device)
    f64 = tm.ones(2, dtype=tm.float64, device=device)
    i64 = tm.Tensor([1, 2], device=device)
    assert (f32 + f64).dtype == np.float64
    assert (f32 * 2).dtype == np.float32  # a Python scalar takes the tensor's dtype
    assert (f32 * 2.5).dtype == np.float32
    assert (i64 + 1).dtype == np.int64
    assert (i64 * 1.5).dtype == np.float32  # int tensor with a float scalar -> default float
    assert (i64 + f64).dtype == np.float64
    assert (i64 / 2).dtype == np.float32  # true division of integers
    assert (i64**2).dtype == np.int64
    assert (f64 @ f64).dtype == np.float64


@pytest.mark.parametrize(
    "fn",
    [tm.exp, tm.log, tm.sqrt, tm.tanh, tm.sigmoid]
    + [lambda t: tm.softmax(t, 0), lambda t: tm.log_softmax(t, 0), lambda t: tm.logsumexp(t, 0)],
)
def test_transcendental_functions_of_integers_give_float32(device, fn):
    # PyTorch computes exp/log/... of an integer tensor in the default float32; NumPy would
    # silently give float64.
    for t in (tm.Tensor([1, 4], device=device), tm.Tensor([True, False], device=device)):
        out = fn(t)
        assert out.dtype == np.float32
        expected = fn(t.float()).numpy(force=True).copy()
        np.testing.assert_array_equal(out.numpy(force=True), expected)


def test_integer_ops_stay_exact(device):
    t = tm.Tensor([3, 4], device=device)
    assert (t * 2 + 1).tolist() == [7, 9]
    assert t.sum().item() == 7 and t.sum().dtype == np.int64
    assert (t / 2).tolist() == [1.5, 2.0]


# ---------------------------------------------------------------------------------------------
# bad input: a clear error raised by this library before anything changes, never a raw numpy one


def _raised_here(info) -> bool:
    """The exception was raised from tinygrad_mom code (its last frame is in the package)."""
    return PACKAGE_DIR in pathlib.Path(str(info.traceback[-1].path)).parents


BAD_INPUT = [
    ("broadcast", ValueError, r"\(2, 3\).*\(4,\)", lambda: tm.ones(2, 3) + tm.ones(4)),
    ("broadcast_mul", ValueError, r"\(2, 3\).*\(3, 2\)", lambda: tm.ones(2, 3) * tm.ones(3, 2)),
    ("broadcast_max", ValueError, r"\(2,\).*\(3,\)", lambda: tm.maximum(tm.ones(2), tm.ones(3))),
    (
        "broadcast_where",
        ValueError,
        r"\(2,\).*\(3,\)",
        lambda: tm.where(tm.ones(3) > 0, tm.ones(2), 0.0),
    ),
    ("matmul", ValueError, r"\(2, 3\).*\(4, 2\)", lambda: tm.ones(2, 3) @ tm.ones(4, 2)),
    ("matmul_vec", ValueError, r"\(3,\).*\(4,\)", lambda: tm.ones(3) @ tm.ones(4)),
    ("matmul_batch", ValueError, r"\(2,\).*\(3,\)", lambda: tm.ones(2, 3, 4) @ tm.ones(3, 4, 5)),
    ("matmul_0d", ValueError, r"\(\).*\(3,\)", lambda: tm.matmul(tm.Tensor(1.0), tm.ones(3))),
    (
        "requires_grad_int",
        TypeError,
        "floating point",
        lambda: tm.Tensor([1, 2], requires_grad=True),
    ),
    (
        "requires_grad_int_factory",
        TypeError,
        "floating point",
        lambda: tm.zeros(2, dtype=tm.int64, requires_grad=True),
    ),
    ("device", ValueError, "'gpu'", lambda: tm.Tensor([1.0], device="gpu")),
    ("device_to", ValueError, "'cuda:x'", lambda: tm.ones(2).to("cuda:x")),
    ("index_int", IndexError, "5.*size 2", lambda: tm.ones(2, 3)[5]),
    ("index_neg", IndexError, "-3", lambda: tm.ones(2, 3)[-3]),
    ("index_dim1", IndexError, "dimension 1", lambda: tm.ones(2, 3)[:, 3]),
    ("index_array", IndexError, "out of range", lambda: tm.ones(2, 3)[[0, 2]]),
    ("index_too_many", IndexError, "too many", lambda: tm.ones(2)[0, 0]),
    ("index_mask_shape", IndexError, "mask", lambda: tm.ones(2, 3)[tm.Tensor([True, False, True])]),
    ("index_float", IndexError, "integer", lambda: tm.ones(3)[tm.Tensor([0.0])]),
    ("index_array_value", IndexError, "index 7 .*size 2", lambda: tm.ones(2, 3)[[0, 7]]),
    ("index_str", IndexError, "got str 'a'", lambda: tm.ones(2, 3)["a"]),
    ("index_dict", IndexError, "got dict", lambda: tm.ones(2, 3)[:, {0: 1}]),
    ("index_ragged", IndexError, "rectangular", lambda: tm.ones(2, 3)[[[0, 1], [1]]]),
    ("reshape", ValueError, r"\(4, 2\).*6", lambda: tm.ones(2, 3).reshape(4, 2)),
    ("cat", ValueError, r"\(2, 3\).*\(2, 4\)", lambda: tm.cat([tm.ones(2, 3), tm.ones(2, 4)])),
    ("stack", ValueError, r"\(2,\).*\(3,\)", lambda: tm.stack([tm.ones(2), tm.ones(3)])),
    ("dim", IndexError, "Dimension out of range", lambda: tm.ones(2, 3).sum(2)),
    ("softmax_dim", IndexError, "Dimension out of range", lambda: tm.softmax(tm.ones(2), 1)),
    ("permute", ValueError, "permutation", lambda: tm.ones(2, 3).permute(0, 0)),
    ("expand", ValueError, r"\(2, 3\)", lambda: tm.ones(2, 3).expand(4, 3)),
    ("pad_odd", ValueError, "even", lambda: tm.pad(tm.ones(2), (1,))),
    ("clamp_none", ValueError, "min", lambda: tm.ones(2).clamp()),
    ("max_empty", ValueError, "empty", lambda: tm.zeros(0).max()),
    ("mean_int", TypeError, "floating", lambda: tm.Tensor([1, 2]).mean()),
    ("where_cond", TypeError, "bool", lambda: tm.where(tm.ones(2), tm.ones(2), tm.ones(2))),
    ("int_neg_pow", RuntimeError, "negative integer powers", lambda: tm.Tensor([1, 2]) ** -1),
    ("operand", TypeError, "Cannot make a tensor", lambda: tm.ones(2) + "a"),
    ("stack_non_tensor", TypeError, "stack expects Tensors, got int", lambda: tm.stack([1, 2])),
    ("expand_negative", ValueError, "size -2 is negative", lambda: tm.ones(1, 3).expand(-2, 3)),
    ("clamp_str", TypeError, "clamp: min must be a number", lambda: tm.ones(2).clamp("a")),
    ("clamp_tensor", TypeError, "max must be a number", lambda: tm.ones(2).clamp(0, tm.ones(2))),
    ("leaky_str", TypeError, "negative_slope must", lambda: tm.leaky_relu(tm.ones(2), "a")),
    ("full_str", TypeError, "fill_value must be a number", lambda: tm.full((2,), "a")),
    ("eye_negative", ValueError, "negative dimension -1", lambda: tm.eye(-1)),
    ("eye_float", TypeError, "size must be a sequence of ints", lambda: tm.eye(2.5)),
]


@pytest.mark.parametrize(
    "exc, pattern, make", [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_is_named_by_this_library(exc, pattern, make):
    with pytest.raises(exc, match=pattern) as info:
        make()
    assert _raised_here(info), f"raised from {info.traceback[-1].path}, not tinygrad_mom"


def test_bad_broadcast_changes_nothing():
    x = tm.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        x + tm.ones(4)
    (x * 1).sum().backward()  # the failed op left no half-built graph behind
    np.testing.assert_array_equal(x.grad.numpy(force=True), np.ones((2, 3)))


@pytest.mark.parametrize(
    "fn",
    [
        tm.exp,
        tm.tanh,
        tm.sigmoid,
        tm.relu,
        tm.abs,
        lambda x: x * 2 + 1,
        lambda x: x**2,
        lambda x: x.clamp(-1, 1),
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.var(),
        lambda x: x.max(),
        lambda x: tm.softmax(x, 0),
        lambda x: tm.log_softmax(x, 0),
        lambda x: tm.logsumexp(x, 0),
        lambda x: x @ x,
        lambda x: tm.maximum(x, x * 0),
    ],
)
def test_nan_propagates_without_exception(device, fn):
    x = tm.Tensor([np.nan, 1.0, 2.0], device=device, requires_grad=True)
    out = fn(x)
    assert np.isnan(out.numpy(force=True)).any()
    out.sum().backward()  # no exception on the way back either
    assert x.grad.shape == (3,)


def test_nan_in_max_sends_gradient_to_the_nan(device):
    # PyTorch: max() of a tensor holding NaN is NaN and its gradient goes to the NaN element.
    x = tm.Tensor([np.nan, 1.0, 2.0], device=device, requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), [1.0, 0.0, 0.0])
    y = tm.Tensor([[1.0, np.nan]], device=device, requires_grad=True)
    y.max(1).values.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(force=True), [[0.0, 1.0]])
