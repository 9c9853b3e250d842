"""Masks, scatter, index_* and take (issue 9), and the trailing-underscore in-place methods:
gradcheck and gradgradcheck in float64 with a random upstream gradient through the ``device``
fixture, values and gradients against PyTorch where it is installed, PyTorch's in-place
autograd rules, and bad input named by this library."""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F

RNG = np.random.default_rng(909)

try:
    import torch
except ImportError:  # the comparisons skip; gradchecks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def leaf(array, device):
    return tm.Tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=True)


def check_both(fn, arrays, device):
    """gradcheck and gradgradcheck (each with a random upstream gradient)."""
    assert tm.gradcheck(fn, [leaf(a, device) for a in arrays])
    assert tm.gradgradcheck(fn, [leaf(a, device) for a in arrays])


def ints(values, lib=tm, device=None):
    if lib is tm:
        return tm.tensor(values, dtype=tm.int64, device=device)
    return torch.tensor(values, dtype=torch.int64)


def bools(values, lib=tm, device=None):
    if lib is tm:
        return tm.tensor(values, dtype=tm.bool, device=device)
    return torch.tensor(values, dtype=torch.bool)


# ---------------------------------------------------------------------------------------------
# One program per op, written once for both libraries: ``lib`` is tm or torch, ``dev`` the
# device for tm's constants. Each returns a float tensor; the inputs are float64 leaves. The
# index sets repeat indices (scatter_add, index_add) and use negative dims.

def p_masked_fill(lib, dev, x):
    return x.masked_fill(bools([[True], [False]], lib, dev), -2.5) * x


def p_masked_fill_tensor_value(lib, dev, x, v):
    return lib.masked_fill(x, mask=bools([True, False, True], lib, dev), value=v.sum() * 2)


def p_masked_select(lib, dev, x):
    return lib.masked_select(x, bools([[True, False, True]], lib, dev)) ** 2


def p_masked_scatter(lib, dev, x, s):
    return x.masked_scatter(bools([[True, False, True], [False, True, False]], lib, dev), s) * x


def p_scatter(lib, dev, x, s):
    index = ints([[0, 1, 1], [1, 0, 0]], lib, dev)
    return lib.scatter(x, 0, index, s[:2]) * x


def p_scatter_value(lib, dev, x):
    return x.scatter(-1, ints([[2], [0]], lib, dev), 0.5) * x


def p_scatter_add(lib, dev, x, s):
    index = ints([[0, 0, 2], [0, 1, 0], [2, 2, 2]], lib, dev)  # repeated
    return lib.scatter_add(input=x, dim=-1, index=index, src=s) * x


def p_index_add(lib, dev, x, s):
    index = ints([1, 1, 0, 2], lib, dev)  # repeated
    return x.index_add(-2, index, s, alpha=-1.5) * x


def p_index_select(lib, dev, x):
    return lib.index_select(x, dim=1, index=ints([2, 0, 2], lib, dev)) ** 2


def p_index_fill(lib, dev, x, v):
    return x.index_fill(-1, ints([0, 2], lib, dev), v.sum()) * x


def p_index_copy(lib, dev, x, s):
    return lib.index_copy(x, 0, ints([2, 0], lib, dev), s[:2]) * x


def p_take(lib, dev, x):
    return lib.take(x, ints([[0, -1], [4, 4]], lib, dev)) ** 2


def p_take_along_dim(lib, dev, x):
    return lib.take_along_dim(x, ints([[0, 2], [1, 1], [2, 0]], lib, dev), dim=1) ** 2


def p_composites(lib, dev, x, a, b):
    y = lib.clamp_min(x, -0.5) + x.clamp_max(0.5)
    y = lib.addcmul(y, a, b, value=0.5) + x.addcdiv(a, b * b + 1, value=-2)
    return lib.lerp(y, a, 0.3) + x.lerp(b, a)


def p_inplace_index_ops(lib, dev, x, s):
    y = x * 1
    y.masked_fill_(bools([[False, True, False]], lib, dev), 1.5)
    y.scatter_(1, ints([[2], [0], [1]], lib, dev), s[:, :1])
    y.scatter_add_(0, ints([[1, 1, 1], [0, 2, 0]], lib, dev), s[:2])
    y.index_add_(1, ints([0, 0], lib, dev), s[:, :2], alpha=2)
    y.index_fill_(0, ints([2], lib, dev), -1.0)
    y.index_copy_(1, ints([1], lib, dev), s[:, 1:2] * 3)
    y.masked_scatter_(bools([[True, False, False], [False, False, True], [False] * 3], lib, dev),
                      s.reshape(-1))
    return y * x


def p_inplace_elementwise(lib, dev, x, a):
    """Each in-place method on a fresh non-leaf (valid PyTorch: no method overwrites what the
    one before it saved)."""
    def fresh():
        return x * 1 + 2.0  # in (1, 3): every function below is defined and smooth there

    terms = [fresh().sqrt_(), fresh().exp_(), fresh().log_(), fresh().pow_(1.5),
             fresh().reciprocal_(), fresh().neg_(), fresh().abs_(), fresh().sin_(),
             fresh().cos_(), fresh().tanh_(), fresh().sigmoid_(), fresh().relu_(),
             fresh().clamp_min_(2.0), fresh().clamp_max_(2.0), fresh().rsqrt_(),
             fresh().square_(), fresh().log1p_(), fresh().expm1_(), fresh().tan_(),
             (fresh() - 2.5).asin_(), fresh().atan_(), fresh().sinh_(), fresh().cosh_(),
             fresh().log2_(), fresh().log10_(), fresh().erf_(), fresh().trunc_(),
             fresh().addcmul_(a, a, value=0.5), fresh().addcdiv_(a, a * a + 1, value=2),
             fresh().lerp_(a, 0.25), fresh().sub_(a, alpha=0.5), fresh().div_(a * a + 1),
             fresh().floor_(), fresh().ceil_(), fresh().round_(), fresh().sign_()]
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


PROGRAMS = {
    "masked_fill": (p_masked_fill, [(2, 3)]),
    "masked_fill_tensor_value": (p_masked_fill_tensor_value, [(2, 3), (2,)]),
    "masked_select": (p_masked_select, [(2, 3)]),
    "masked_scatter": (p_masked_scatter, [(2, 3), (4,)]),
    "scatter": (p_scatter, [(2, 3), (3, 3)]),
    "scatter_value": (p_scatter_value, [(2, 3)]),
    "scatter_add": (p_scatter_add, [(3, 3), (3, 3)]),
    "index_add": (p_index_add, [(3, 2), (4, 2)]),
    "index_select": (p_index_select, [(2, 3)]),
    "index_fill": (p_index_fill, [(2, 3), (2,)]),
    "index_copy": (p_index_copy, [(3, 2), (3, 2)]),
    "take": (p_take, [(2, 3)]),
    "take_along_dim": (p_take_along_dim, [(3, 3)]),
    "composites": (p_composites, [(2, 3), (2, 3), (3,)]),
    "inplace_index_ops": (p_inplace_index_ops, [(3, 3), (3, 3)]),
}


def _arrays(shapes, name):
    arrays = [RNG.standard_normal(s) for s in shapes]
    if name == "composites":  # keep clamp's kinks away from the check's steps
        arrays[0] = RNG.choice([-1.0, 1.0], shapes[0]) * RNG.uniform(0.6, 1.5, shapes[0])
    return arrays


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_gradcheck_and_gradgradcheck(device, name):
    program, shapes = PROGRAMS[name]
    check_both(lambda *t: program(tm, device, *t), _arrays(shapes, name), device)


def test_inplace_elementwise_gradcheck(device):
    x = RNG.uniform(-0.4, 0.4, (2, 3))  # x + 2 away from the jumps of floor, round, ...
    a = RNG.uniform(-1, 1, (3,))
    check_both(lambda *t: p_inplace_elementwise(tm, device, *t), [x, a], device)


def _run(lib, program, arrays, upstream):
    if lib is tm:
        leaves = [tm.tensor(a, dtype=tm.float64, requires_grad=True) for a in arrays]
    else:
        leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = program(lib, None, *leaves)
    g = upstream(out.shape)
    out.backward(tm.tensor(g) if lib is tm else torch.tensor(g))
    grads = [np.zeros(a.shape) if t.grad is None else t.grad.numpy() for t, a in
             zip(leaves, arrays)]
    return out.detach().numpy(), grads


@needs_torch
@pytest.mark.parametrize("name", list(PROGRAMS) + ["inplace_elementwise"])
def test_values_and_gradients_match_torch(name):
    if name == "inplace_elementwise":
        program, arrays = p_inplace_elementwise, [RNG.uniform(-0.4, 0.4, (2, 3)),
                                                  RNG.uniform(-1, 1, (3,))]
    else:
        program, shapes = PROGRAMS[name]
        arrays = _arrays(shapes, name)
    g = RNG.standard_normal(64)

    def upstream(shape):
        return g[: int(np.prod(shape))].reshape(tuple(shape))

    ours, ours_g = _run(tm, program, arrays, upstream)
    ref, ref_g = _run(torch, program, arrays, upstream)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)
    for a, b in zip(ours_g, ref_g):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# scatter_reduce


def p_scatter_reduce(reduce, include_self):
    def program(lib, dev, x, s):
        index = ints([[0, 0, 1], [2, 0, 1], [0, 2, 2]], lib, dev)
        return lib.scatter_reduce(x, 0, index, s, reduce, include_self=include_self) * 1

    return program


REDUCTIONS = [(r, inc) for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)]


def _reduce_arrays():
    # distinct values (no amax ties), away from zero (prod's division)
    values = RNG.permutation(18) * 0.1 + 0.5
    values *= RNG.choice([-1.0, 1.0], 18)
    return [values[:9].reshape(3, 3), values[9:].reshape(3, 3)]


@pytest.mark.parametrize("reduce, include_self", REDUCTIONS)
def test_scatter_reduce_gradcheck(device, reduce, include_self):
    program = p_scatter_reduce(reduce, include_self)
    check_both(lambda *t: program(tm, device, *t), _reduce_arrays(), device)


@needs_torch
@pytest.mark.parametrize("reduce, include_self", REDUCTIONS)
def test_scatter_reduce_matches_torch(reduce, include_self):
    program = p_scatter_reduce(reduce, include_self)
    arrays = _reduce_arrays()
    g = RNG.standard_normal((3, 3))
    ours, ours_g = _run(tm, program, arrays, lambda s: g)
    ref, ref_g = _run(torch, program, arrays, lambda s: g)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    for a, b in zip(ours_g, ref_g):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@needs_torch
@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
def test_scatter_reduce_gradient_at_zeros_and_ties_matches_torch(reduce):
    x = np.array([[0.0, 2.0], [3.0, 0.0], [1.0, 1.0]])
    s = np.array([[0.0, 2.0], [3.0, 1.0], [1.0, 0.0], [4.0, 1.0]])
    index = [[0, 0], [0, 1], [2, 1], [2, 2]]

    def program(lib, dev, a, b):
        return lib.scatter_reduce(a, 0, ints(index, lib, dev), b, reduce)

    g = RNG.standard_normal((3, 2))
    ours, ours_g = _run(tm, program, [x, s], lambda shape: g)
    ref, ref_g = _run(torch, program, [x, s], lambda shape: g)
    np.testing.assert_allclose(ours, ref)
    for a, b in zip(ours_g, ref_g):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_scatter_reduce_integers_and_scatter_reduce_argument(device):
    x = tm.tensor([1, 2, 3], dtype=tm.int64, device=device)
    src = tm.tensor([5, 7, 4], dtype=tm.int64, device=device)
    index = ints([0, 0, 2], device=device)
    assert tm.scatter_reduce(x, 0, index, src, "amax").tolist() == [7, 2, 4]
    assert tm.scatter_reduce(x, 0, index, src, "mean").tolist() == [4, 2, 3]  # floor, as PyTorch
    assert x.scatter(0, index, src, reduce="multiply").tolist() == [35, 2, 12]
    assert x.scatter(0, index, 2, reduce="add").tolist() == [5, 2, 5]


# ---------------------------------------------------------------------------------------------
# values and shapes without autograd


def test_scatter_one_hot_and_zero_dim(device):
    labels = ints([2, 0, 1], device=device)
    one_hot = tm.zeros(3, 4, device=device).scatter_(1, labels.unsqueeze(1), 1.0)
    assert one_hot.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    s = tm.tensor(3.0, device=device)
    assert tm.scatter(tm.tensor(1.0, device=device), 0, ints(0, device=device), s).item() == 3.0
    assert tm.index_select(tm.arange(4, device=device), 0, ints(2, device=device)).tolist() == [2]
    empty = tm.zeros(2, 3, device=device).scatter_add(0, ints([[]] * 2, device=device),
                                                      tm.zeros(2, 0, device=device))
    assert empty.tolist() == [[0.0] * 3] * 2


def test_masked_ops_broadcast(device):
    x = tm.arange(6.0, device=device).reshape(2, 3)
    row = bools([True, False, True], device=device)
    assert x.masked_fill(row, 0.0).tolist() == [[0, 1, 0], [0, 4, 0]]
    assert tm.masked_fill(tm.arange(3.0, device=device), bools([[True], [False]], device=device),
                          9.0).shape == (2, 3)  # out of place broadcasts both, as PyTorch
    assert x.masked_select(row).tolist() == [0, 2, 3, 5]
    assert x.masked_scatter(row, tm.tensor([9.0, 8, 7, 6, 5], device=device)).tolist() == [
        [9, 1, 8], [7, 4, 6]]
    attn = tm.zeros(2, 2, device=device).masked_fill(tm.triu(tm.ones(2, 2, device=device),
                                                             1).bool(), float("-inf"))
    assert attn.tolist() == [[0.0, float("-inf")], [0.0, 0.0]]


def test_inplace_on_integer_tensors(device):
    i = tm.tensor([3, -4], dtype=tm.int64, device=device)
    assert i.abs_().neg_().tolist() == [-3, -4]
    assert i.index_fill_(0, ints([1], device=device), 7).tolist() == [-3, 7]
    assert i.masked_fill_(bools([True, False], device=device), 0).tolist() == [0, 7]
    with pytest.raises(TypeError, match="sqrt_: result type float32 can't be cast.*int64"):
        i.sqrt_()
    with pytest.raises(ValueError, match="value inf cannot be converted to dtype int64"):
        i.masked_fill_(bools([True, False], device=device), float("inf"))
    assert i.tolist() == [0, 7]
    assert i.masked_fill(bools([False, True], device=device), -2.7).tolist() == [0, -2]  # as torch
    assert tm.zeros(2, dtype=tm.bool).masked_fill(bools([True, False]), 2).tolist() == [True, False]


# ---------------------------------------------------------------------------------------------
# in-place semantics: PyTorch's rules through the version counter


INPLACE = {
    "exp_": lambda t: t.exp_(),
    "relu_": lambda t: t.relu_(),
    "pow_": lambda t: t.pow_(2),
    "round_": lambda t: t.round_(decimals=1),
    "masked_fill_": lambda t: t.masked_fill_(bools([True, False]), 0.0),
    "scatter_": lambda t: t.scatter_(0, ints([1]), 0.0),
    "scatter_add_": lambda t: t.scatter_add_(0, ints([1]), tm.ones(1, dtype=tm.float64)),
    "index_add_": lambda t: t.index_add_(0, ints([0]), tm.ones(1, dtype=tm.float64)),
    "index_fill_": lambda t: t.index_fill_(0, ints([0]), 1.0),
    "index_copy_": lambda t: t.index_copy_(0, ints([0]), tm.ones(1, dtype=tm.float64)),
    "lerp_": lambda t: t.lerp_(tm.ones(2, dtype=tm.float64), 0.5),
    "F.relu(inplace)": lambda t: F.relu(t, inplace=True),
    "nn.ReLU(inplace)": lambda t: tm.nn.ReLU(inplace=True)(t),
    "F.dropout(inplace)": lambda t: F.dropout(t, 0.5, inplace=True),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises_and_changes_nothing(name):
    x = tm.tensor([1.5, -2.0], dtype=tm.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf .*in-place"):
        INPLACE[name](x)
    assert x.tolist() == [1.5, -2.0]
    with tm.no_grad():  # allowed there, as in PyTorch
        assert INPLACE[name](x) is x


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_modifying_a_saved_tensor_raises_at_backward(name):
    w = tm.tensor([1.0, 2.0], dtype=tm.float64, requires_grad=True)
    x = tm.tensor([3.0, 4.0], dtype=tm.float64)
    y = (x * w).sum()  # Mul saved x
    INPLACE[name](x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("name", list(INPLACE))
def test_recorded_inplace_on_a_saved_non_leaf_raises_at_backward(name):
    x = tm.tensor([1.5, -2.0], dtype=tm.float64, requires_grad=True)
    y = x * 1
    w = (y * y).sum()  # Mul saved y
    INPLACE[name](y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*MulBackward0"):
        w.backward()


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_on_a_non_leaf_is_recorded(name):
    x = tm.tensor([1.5, -2.0], dtype=tm.float64, requires_grad=True)
    y = x * 1
    tm.manual_seed(0)
    out = INPLACE[name](y)
    assert out is y and not y.is_leaf and y.grad_fn.name() == "SetItemBackward0"
    tm.manual_seed(0)
    expected = INPLACE[name](tm.tensor([1.5, -2.0], dtype=tm.float64))
    assert y.tolist() == expected.tolist()
    (y * tm.tensor([2.0, 3.0], dtype=tm.float64)).sum().backward()
    assert x.grad is not None and x.grad.shape == (2,)


def test_inplace_keeps_views_and_memory(device):
    x = tm.zeros(2, 3, device=device)
    row = x[1]
    row.index_fill_(0, ints([0, 2], device=device), 5.0)
    x.masked_fill_(bools([True, False, False], device=device), -1.0)
    assert x.tolist() == [[-1, 0, 0], [-1, 0, 5]]
    before = x.array
    x.exp_()
    assert x.array is before


def test_relu_inplace_in_a_network_matches_out_of_place():
    tm.manual_seed(0)
    net = tm.nn.Sequential(tm.nn.Linear(3, 4), tm.nn.ReLU(inplace=True), tm.nn.Linear(4, 1))
    x = tm.randn(5, 3)
    net(x).sum().backward()
    inplace_grads = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    h = tm.nn.functional.relu(net[0](x))
    net[2](h).sum().backward()
    for a, p in zip(inplace_grads, net.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy())


# ---------------------------------------------------------------------------------------------
# bad input: the right type, a message naming the argument, nothing changed


X = tm.zeros(2, 3)
BAD = [
    (TypeError, "'mask' must be a bool tensor, got dtype float32",
     lambda: X.masked_fill(tm.ones(3), 0.0)),
    (TypeError, "'mask' must be a bool tensor", lambda: X.masked_fill_(tm.ones(3, dtype=tm.int64),
                                                                      0.0)),
    (TypeError, "argument 'mask' must be a Tensor", lambda: tm.masked_select(X, [True])),
    (ValueError, "'value' must be a number or a 0-dimensional tensor, got a tensor of shape",
     lambda: X.masked_fill(tm.ones(3).bool(), tm.ones(2))),
    (TypeError, "'value' must be a number", lambda: X.masked_fill(tm.ones(3).bool(), "a")),
    (ValueError, "cannot be broadcast", lambda: X.masked_fill(tm.ones(2).bool(), 1.0)),
    (ValueError, "keeps the tensor's shape", lambda: X[0].masked_fill_(tm.ones(2, 3).bool(), 1.0)),
    (ValueError, "selects 6 elements but 'source' has only 2",
     lambda: X.masked_scatter(tm.ones(2, 3).bool(), tm.ones(2))),
    (TypeError, "'index' must be an integer tensor, got float32",
     lambda: X.scatter(0, tm.zeros(1, 1), 1.0)),
    (TypeError, "'index' must be a Tensor", lambda: X.scatter_add(0, [[0]], tm.ones(1, 1))),
    (IndexError, r"scatter\(\): index 2 is out of bounds for dimension 0 with size 2",
     lambda: X.scatter(0, ints([[2]]), 1.0)),
    (IndexError, "index -1 is out of bounds", lambda: X.scatter_(1, ints([[-1]]), 1.0)),
    (IndexError, r"index_add\(\): index 3 is out of bounds for dimension 1 with size 3",
     lambda: X.index_add(1, ints([3]), tm.ones(2, 1))),
    (IndexError, "index 6 is out of bounds", lambda: X.take(ints([6]))),
    (IndexError, "Dimension out of range", lambda: X.index_select(2, ints([0]))),
    (TypeError, "'src' must have the input's dtype float32, got float64",
     lambda: X.scatter_add(0, ints([[0]]), tm.ones(1, 1, dtype=tm.float64))),
    (ValueError, "'index' has 1 dimensions but input has 2", lambda: X.scatter(0, ints([0]), 1.0)),
    (ValueError, "larger than 'src'", lambda: X.scatter(0, ints([[0, 1]]), tm.ones(1, 1))),
    (ValueError, "'source' must have shape", lambda: X.index_copy(0, ints([0]), tm.ones(2, 3))),
    (ValueError, "'index' must be 0- or 1-dimensional",
     lambda: X.index_fill(0, ints([[0]]), 1.0)),
    (ValueError, "'reduce' must be one of", lambda: X.scatter_reduce(0, ints([[0]]),
                                                                      tm.ones(1, 1), "max")),
    (ValueError, "'reduce' must be 'add' or 'multiply'",
     lambda: X.scatter(0, ints([[0]]), 1.0, reduce="sum")),
    (TypeError, "either 'src' or 'value'", lambda: X.scatter(0, ints([[0]]), tm.ones(1, 1),
                                                            value=1.0)),
    (TypeError, "'alpha' must be a number", lambda: X.index_add(0, ints([0]), tm.ones(1, 3),
                                                                alpha="2")),
    (TypeError, "'tensor1' must be a Tensor", lambda: X.addcmul(1.0, X)),
    (TypeError, "'end' must be a Tensor", lambda: X.lerp(1.0, 0.5)),
]


@pytest.mark.parametrize("exc, pattern, make", BAD, ids=[p[:40] for _, p, _ in BAD])
def test_bad_input_is_named_and_changes_nothing(exc, pattern, make):
    with pytest.raises(exc, match=pattern):
        make()
    tm.backend.run_pending_checks()
    assert X.tolist() == [[0.0] * 3] * 2


def test_every_new_function_is_exported_and_a_method():
    for name in ["masked_fill", "masked_select", "masked_scatter", "scatter", "scatter_add",
                 "scatter_reduce", "index_add", "index_select", "index_fill", "index_copy",
                 "take", "take_along_dim", "clamp_min", "clamp_max", "addcmul", "addcdiv",
                 "lerp"]:
        assert name in tm.__all__ and callable(getattr(tm, name))
        assert callable(getattr(tm.Tensor, name))
    for name in ["masked_fill_", "masked_scatter_", "scatter_", "scatter_add_",
                 "scatter_reduce_", "index_add_", "index_fill_", "index_copy_", "sub_", "div_",
                 "pow_", "neg_", "abs_", "sqrt_", "exp_", "log_", "sin_", "cos_", "tanh_",
                 "sigmoid_", "relu_", "floor_", "ceil_", "round_", "clamp_min_", "clamp_max_",
                 "reciprocal_", "sign_", "addcmul_", "addcdiv_", "lerp_", "copy_", "uniform_",
                 "normal_"]:
        assert callable(getattr(tm.Tensor, name)), name


def test_multiply_in_rounds_equals_numpy_multiply_at():
    """The scatter-multiply CuPy's scatter_reduce("prod") uses, checked on NumPy arrays."""
    target = RNG.uniform(0.5, 1.5, (4, 3))
    rows = RNG.integers(0, 4, (6, 3))
    index = (rows, np.arange(3).reshape(1, 3))
    values = RNG.uniform(0.5, 1.5, (6, 3))
    expected = target.copy()
    np.multiply.at(expected, index, values)
    tm.backend.multiply_at_in_rounds(np, target, index, values)
    np.testing.assert_allclose(target, expected, rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# the suite's other shapes: 0-d, size 0, non-contiguous (a transposed view)

EDGE = {
    "scatter_add_0d": (lambda x, s: tm.scatter_add(x, 0, ints(0, device=x.device), s) * x,
                       [(), ()]),
    "scatter_0d": (lambda x, s: tm.scatter(x, 0, ints(0, device=x.device), s) + x, [(), ()]),
    "index_add_0d": (lambda x, s: x.index_add(0, ints(0, device=x.device), s, alpha=2) * x,
                     [(), ()]),
    "index_select_0d": (lambda x: x.index_select(0, ints(0, device=x.device)) ** 2, [()]),
    "masked_fill_0d": (lambda x: x.masked_fill(tm.tensor(True, device=x.device), 1.0) * x,
                       [()]),
    "take_0d": (lambda x: x.take(ints([0, 0], device=x.device)) ** 2, [()]),
    "index_select_empty": (lambda x: x.index_select(1, ints([], device=x.device)) + 1,
                           [(2, 3)]),
    "masked_select_empty": (lambda x: x.masked_select(tm.zeros(2, 3, device=x.device).bool()),
                            [(2, 3)]),
    "scatter_add_size0": (lambda x, s: x.scatter_add(1, ints([[], []], device=x.device), s) * x,
                          [(2, 3), (2, 0)]),
    "scatter_add_transposed": (
        lambda x, s: x.t().scatter_add(0, ints([[1, 1], [0, 1], [1, 0]], device=x.device),
                                       s.t()) * x.t(), [(2, 3), (2, 3)]),
    "index_add_transposed": (
        lambda x, s: x.t().index_add(1, ints([1, 1, 0], device=x.device), s.t()) * x.t(),
        [(2, 3), (3, 3)]),
    "masked_fill_transposed": (
        lambda x: x.t().masked_fill(bools([[True], [False], [True]], device=x.device), 2.0)
        * x.t(), [(2, 3)]),
    "index_copy_transposed": (
        lambda x, s: x.t().index_copy(0, ints([2, 0], device=x.device), s.t()) * x.t(),
        [(2, 3), (2, 2)]),
}


@pytest.mark.parametrize("name", list(EDGE))
def test_edge_shapes_gradcheck(device, name):
    fn, shapes = EDGE[name]
    check_both(fn, [RNG.standard_normal(s) for s in shapes], device)
