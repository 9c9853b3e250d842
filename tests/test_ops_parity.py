"""PyTorch-parity functions (issue 9): gradcheck and gradgradcheck in float64 on the suite's
shape set through the ``device`` fixture, values against PyTorch where it is installed, and
bad input named by this library."""

import math

import numpy as np
import pytest

import tinygrad_mom as tm

RNG = np.random.default_rng(2024)

try:
    import torch
except ImportError:  # the comparisons skip; gradchecks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def any_(shape):
    return RNG.standard_normal(shape)


def positive(shape):
    return RNG.uniform(0.5, 2.0, shape)


def unit(shape):
    return RNG.uniform(-0.9, 0.9, shape)


def nonzero(shape):
    return RNG.choice([-1.0, 1.0], shape) * RNG.uniform(0.3, 2.0, shape)


def off_integers(shape):
    """Values at least 0.1 from an integer (and from a .5 tie): flat pieces of floor & co."""
    return RNG.integers(-3, 3, shape) + RNG.choice([0.2, 0.3, 0.7, 0.8], shape)


def distinct(shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.1 + RNG.uniform(0, 0.02, n) - n * 0.05).reshape(shape)


def with_zeros(shape):
    x = RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)
    x[RNG.random(shape) < 0.3] = 0.0
    return x


def leaf(array, device):
    return tm.Tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=True)


def check_both(fn, arrays, device):
    """gradcheck and gradgradcheck (each with a random upstream gradient)."""
    assert tm.gradcheck(fn, [leaf(a, device) for a in arrays])
    assert tm.gradgradcheck(fn, [leaf(a, device) for a in arrays])


# ---------------------------------------------------------------------------------------------
# elementwise math

UNARY = {
    "sin": (tm.sin, any_, "sin"),
    "cos": (lambda x: x.cos(), any_, "cos"),
    "tan": (tm.tan, unit, "tan"),
    "asin": (tm.asin, unit, "asin"),
    "acos": (lambda x: x.acos(), unit, "acos"),
    "atan": (tm.atan, any_, "atan"),
    "arcsin": (tm.arcsin, unit, "arcsin"),
    "sinh": (tm.sinh, any_, "sinh"),
    "cosh": (lambda x: x.cosh(), any_, "cosh"),
    "log1p": (tm.log1p, positive, "log1p"),
    "expm1": (lambda x: x.expm1(), any_, "expm1"),
    "log2": (tm.log2, positive, "log2"),
    "log10": (lambda x: x.log10(), positive, "log10"),
    "erf": (tm.erf, any_, "erf"),
    "reciprocal": (lambda x: x.reciprocal(), nonzero, "reciprocal"),
    "rsqrt": (tm.rsqrt, positive, "rsqrt"),
    "square": (lambda x: x.square(), any_, "square"),
    "pow_scalar": (lambda x: tm.pow(x, 2.5), positive, lambda t: torch.pow(t, 2.5)),
    "rpow": (lambda x: tm.pow(2.0, x), any_, lambda t: torch.pow(2.0, t)),
    "floor": (tm.floor, off_integers, "floor"),
    "ceil": (lambda x: x.ceil(), off_integers, "ceil"),
    "round": (tm.round, off_integers, "round"),
    "round_decimals": (lambda x: x.round(decimals=1), lambda s: off_integers(s) / 10 + 0.004,
                       lambda t: torch.round(t, decimals=1)),
    "trunc": (tm.trunc, off_integers, "trunc"),
    "sign": (lambda x: x.sign(), nonzero, "sign"),
}

SHAPES = [(), (0,), (2, 0), (5,), (2, 3)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradcheck(device, name, shape):
    fn, draw, _ = UNARY[name]
    check_both(fn, [draw(shape)], device)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_non_contiguous(device, name):
    fn, draw, _ = UNARY[name]
    check_both(lambda x: fn(x.T), [draw((3, 2))], device)
    check_both(lambda x: fn(x[::2, 1::2]), [draw((4, 4))], device)


def _torch_fn(spec):
    return (lambda t: getattr(torch, spec)(t)) if isinstance(spec, str) else spec


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch(name):
    fn, draw, spec = UNARY[name]
    a = draw((3, 4))
    g = RNG.standard_normal((3, 4))
    x = tm.Tensor(a, requires_grad=True)
    y = fn(x)
    (y * tm.Tensor(g)).sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = _torch_fn(spec)(xt)
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(
        y.numpy(force=True), yt.detach().numpy(force=True), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        x.grad.numpy(force=True), xt.grad.numpy(force=True), rtol=1e-12, atol=1e-14
    )
    assert (y.grad_fn is None) == (yt.grad_fn is None)


def test_floor_and_sign_have_zero_gradient_as_pytorch(device):
    x = leaf([-1.5, 0.0, 2.25], device)
    (tm.floor(x) + x.sign() + x.round() + x.ceil() + x.trunc()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_integer_inputs(device):
    i = tm.tensor([-3, 0, 4], device=device)
    assert tm.floor(i).dtype == tm.int64 and tm.floor(i).tolist() == [-3, 0, 4]
    assert i.sign().tolist() == [-1, 0, 1] and i.sign().dtype == tm.int64
    assert tm.sin(i).dtype == tm.float32  # transcendental functions of ints give float32
    assert i.reciprocal().dtype == tm.float32 and i.square().tolist() == [9, 0, 16]


def test_erf_values():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(
        tm.erf(tm.Tensor(x)).numpy(force=True), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16
    )


def test_log1p_expm1_accurate_for_tiny_values():
    x = tm.Tensor([1e-12], dtype=tm.float64)
    assert tm.log1p(x).item() == math.log1p(1e-12) != math.log(1 + 1e-12)
    assert tm.expm1(x).item() == math.expm1(1e-12) != math.exp(1e-12) - 1


BROADCAST_PAIRS = [((), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((0, 3), (3,))]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_atan2_and_pow_broadcasting(device, shapes):
    sa, sb = shapes
    check_both(tm.atan2, [nonzero(sa), nonzero(sb)], device)
    check_both(lambda a, b: a.arctan2(b), [nonzero(sa), nonzero(sb)], device)
    check_both(tm.pow, [positive(sa), any_(sb)], device)


@needs_torch
def test_atan2_matches_torch_in_every_quadrant():
    a = np.array([1.0, 1.0, -1.0, -1.0, 0.0, 2.0])
    b = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 0.0])
    np.testing.assert_allclose(
        tm.atan2(tm.Tensor(a), tm.Tensor(b)).numpy(force=True),
        torch.atan2(torch.tensor(a), torch.tensor(b)).numpy(force=True),
    )


# ---------------------------------------------------------------------------------------------
# comparisons and logic


@needs_torch
@pytest.mark.parametrize(
    "name",
    [
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "greater",
        "less_equal",
        "not_equal",
        "logical_and",
        "logical_or",
        "logical_xor",
    ],
)
def test_comparisons_and_logic_match_torch(device, name):
    a = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.0]])
    b = np.array([1.0, 1.0, 0.0])
    ta, tb = tm.Tensor(a, device=device), tm.Tensor(b, device=device)
    ref = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy(force=True)
    for out in (getattr(tm, name)(ta, tb), getattr(ta, name)(tb)):
        assert out.dtype == tm.bool_ and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(force=True), ref)
    assert (
        getattr(tm, name)(ta, 1.0).tolist()
        == getattr(torch, name)(torch.tensor(a), torch.tensor(1.0)).tolist()
    )


def test_predicates_any_all_nonzero(device):
    x = tm.Tensor([[1.0, float("nan")], [float("inf"), 0.0]], device=device)
    assert tm.isnan(x).tolist() == [[False, True], [False, False]]
    assert x.isinf().tolist() == [[False, False], [True, False]]
    assert tm.isfinite(x).tolist() == [[True, False], [False, True]]
    assert tm.logical_not(x).tolist() == [[False, False], [False, True]]
    assert tm.any(x == 0).item() is True and x.all().item() is False
    assert (x == 0).any(dim=1).tolist() == [False, True]
    assert tm.all(x > -1, dim=0, keepdim=True).tolist() == [[True, False]]
    assert tm.nonzero(x == 0).tolist() == [[1, 1]]
    rows, cols = tm.where(x == 0)
    assert rows.tolist() == [1] and cols.tolist() == [1]


def test_equal_allclose_isclose(device):
    a = tm.Tensor([1.0, 2.0, float("nan")], device=device)
    b = tm.Tensor([1.0, 2.0 + 1e-9, float("nan")], device=device)
    assert tm.equal(a[:2], a[:2]) is True and tm.equal(a[:2], a[:1]) is False
    assert tm.isclose(a, b).tolist() == [True, True, False]
    assert a.isclose(b, equal_nan=True).tolist() == [True, True, True]
    assert tm.allclose(a[:2], b[:2]) is True and a.allclose(b) is False
    assert tm.allclose(a, b, equal_nan=True) is True


def test_where_with_numbers_has_pytorch_dtypes(device):
    c = tm.tensor([True, False, True], device=device)
    ints = tm.where(c, 1, 0)
    assert ints.dtype == tm.int64 and ints.tolist() == [1, 0, 1] and ints.device == device
    assert tm.where(c, 1.0, 0).dtype == tm.float32
    assert tm.where(c, True, False).dtype == tm.bool_
    x = leaf([1.0, -2.0, 3.0], device)
    tm.where(x > 0, x, 0.0).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]


def test_elementwise_max_and_min_of_two_tensors(device):
    a, b = leaf([1.0, 5.0], device), leaf([3.0, 2.0], device)
    assert tm.max(a, b).tolist() == [3.0, 5.0] and tm.min(a, b).tolist() == [1.0, 2.0]
    assert a.max(b).tolist() == [3.0, 5.0]
    (tm.max(a, b) * tm.Tensor([1.0, 10.0], device=device)).sum().backward()
    assert a.grad.tolist() == [0.0, 10.0] and b.grad.tolist() == [1.0, 0.0]


# ---------------------------------------------------------------------------------------------
# linear algebra

LINALG = {
    "mm": (tm.mm, [any_((2, 3)), any_((3, 4))]),
    "mm_method": (lambda a, b: a.mm(b), [any_((2, 0)), any_((0, 3))]),
    "mv": (tm.mv, [any_((2, 3)), any_((3,))]),
    "bmm": (tm.bmm, [any_((2, 2, 3)), any_((2, 3, 2))]),
    "dot": (tm.dot, [any_((4,)), any_((4,))]),
    "outer": (tm.outer, [any_((3,)), any_((2,))]),
    "mm_non_contiguous": (lambda a, b: tm.mm(a.T, b[:, ::2]), [any_((3, 2)), any_((3, 4))]),
}

EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->i", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij,ij->ij", [(2, 1), (1, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...->...", [(2, 3, 2)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("", [()]),
    ("i,i->i", [(0,), (0,)]),
]


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_gradcheck(device, name):
    fn, arrays = LINALG[name]
    check_both(fn, arrays, device)


@pytest.mark.parametrize("equation, shapes", EINSUM, ids=[e or "scalar" for e, _ in EINSUM])
def test_einsum_gradcheck(device, equation, shapes):
    check_both(lambda *ops: tm.einsum(equation, *ops), [any_(s) for s in shapes], device)


@needs_torch
@pytest.mark.parametrize("equation, shapes", EINSUM, ids=[e or "scalar" for e, _ in EINSUM])
def test_einsum_matches_torch(equation, shapes):
    arrays = [any_(s) for s in shapes]
    ours = tm.einsum(equation, *[tm.Tensor(a) for a in arrays])
    ref = torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    assert ours.shape == tuple(ref.shape)
    np.testing.assert_allclose(
        ours.numpy(force=True), ref.numpy(force=True), rtol=1e-12, atol=1e-12
    )
    assert tm.einsum(equation, [tm.Tensor(a) for a in arrays]).shape == ours.shape  # a list


NORMS = {
    "norm_default": (lambda x: tm.norm(x), any_, lambda t: torch.norm(t)),
    "norm_fro_dim": (lambda x: x.norm(dim=1), any_, lambda t: t.norm(dim=1)),
    "norm_p1": (lambda x: tm.norm(x, 1, dim=0), nonzero, lambda t: torch.norm(t, 1, dim=0)),
    "norm_p3_keepdim": (
        lambda x: tm.norm(x, 3, dim=1, keepdim=True),
        nonzero,
        lambda t: torch.norm(t, 3, dim=1, keepdim=True),
    ),
    "norm_inf": (
        lambda x: tm.norm(x, float("inf")),
        distinct,
        lambda t: torch.norm(t, float("inf")),
    ),
    "vector_norm_half": (
        lambda x: tm.linalg.vector_norm(x, 0.5, dim=(0, 1)),
        positive,
        lambda t: torch.linalg.vector_norm(t, 0.5, dim=(0, 1)),
    ),
    "vector_norm_neg_inf": (
        lambda x: tm.linalg.vector_norm(x, float("-inf"), dim=1),
        distinct,
        lambda t: torch.linalg.vector_norm(t, float("-inf"), dim=1),
    ),
    "linalg_norm": (lambda x: tm.linalg.norm(x), any_, lambda t: torch.linalg.norm(t)),
    "linalg_norm_1": (
        lambda x: tm.linalg.norm(x, 1),
        lambda s: distinct(s) + 0.05,
        lambda t: torch.linalg.norm(t, 1),
    ),
    "linalg_norm_inf": (
        lambda x: tm.linalg.norm(x, float("inf")),
        lambda s: distinct(s) + 0.05,
        lambda t: torch.linalg.norm(t, float("inf")),
    ),
    "matrix_norm_fro": (
        lambda x: tm.linalg.matrix_norm(x),
        any_,
        lambda t: torch.linalg.matrix_norm(t),
    ),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm_gradcheck(device, name):
    fn, draw, _ = NORMS[name]
    check_both(fn, [draw((3, 4))], device)
    check_both(lambda x: fn(x.T), [draw((4, 3))], device)


@needs_torch
@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm_matches_torch(name):
    fn, draw, ref = NORMS[name]
    (a,) = [draw((3, 4))]
    x, xt = tm.Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = fn(x), ref(xt)
    g = RNG.standard_normal(yt.shape)
    (y * tm.Tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(force=True), yt.detach().numpy(force=True), rtol=1e-12)
    np.testing.assert_allclose(
        x.grad.numpy(force=True), xt.grad.numpy(force=True), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("p", [2, 1, 3])
def test_norm_of_zeros_has_zero_gradient_as_pytorch(device, p):
    x = leaf(np.zeros((2, 3)), device)
    tm.norm(x, p).backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2
    assert tm.norm(x, p).item() == 0.0
    assert tm.linalg.vector_norm(tm.Tensor([0.0, 3.0, -4.0]), 0).item() == 2.0


# ---------------------------------------------------------------------------------------------
# scans, products, sorting, splitting, triangles

COMPOSITES = {
    "cumsum0": (lambda x: tm.cumsum(x, 0), any_),
    "cumsum_method": (lambda x: x.cumsum(-1), any_),
    "cumprod": (lambda x: tm.cumprod(x, 1), any_),
    "cumprod_zeros": (lambda x: x.cumprod(1), with_zeros),
    "cumprod_zeros_dim0": (lambda x: tm.cumprod(x, 0), with_zeros),
    "prod_all": (lambda x: tm.prod(x), any_),
    "prod_all_zeros": (lambda x: x.prod(), with_zeros),
    "prod_dim": (lambda x: tm.prod(x, 1), with_zeros),
    "prod_keepdim": (lambda x: x.prod(0, keepdim=True), any_),
    "sort": (lambda x: tm.sort(x, 1).values, distinct),
    "sort_desc": (lambda x: x.sort(0, descending=True)[0], distinct),
    "topk": (lambda x: tm.topk(x, 2).values, distinct),
    "topk_smallest": (lambda x: x.topk(1, dim=0, largest=False).values, distinct),
    "msort": (lambda x: tm.msort(x), distinct),
    "gather": (
        lambda x: tm.gather(x, 1, tm.tensor([[0, 0], [3, 1], [2, 2]], device=x.device)),
        any_,
    ),
    "take_along_dim": (lambda x: tm.take_along_dim(x, tm.argsort(x, 1), 1), distinct),
    "split": (lambda x: tm.split(x, 3, 1)[1] * 2 + tm.split(x, [1, 3], 1)[0].sum(), any_),
    "chunk": (lambda x: x.chunk(2, 0)[1], any_),
    "unbind": (lambda x: tm.unbind(x, 1)[2], any_),
    "tril": (lambda x: tm.tril(x), any_),
    "triu_k": (lambda x: x.triu(1), any_),
    "tril_neg": (lambda x: x.tril(-1), any_),
    "diag_2d": (lambda x: tm.diag(x), any_),
    "diag_2d_k": (lambda x: x.diag(1), any_),
    "diag_2d_neg": (lambda x: tm.diag(x, -2), any_),
    "diag_1d": (lambda x: tm.diag(x[0]), any_),
    "diag_1d_k": (lambda x: tm.diag(x[1], -1), any_),
    "trace": (lambda x: tm.trace(x), any_),
    "amax": (lambda x: tm.amax(x, 1), distinct),
    "amin_all": (lambda x: x.amin(), distinct),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_gradcheck(device, name):
    fn, draw = COMPOSITES[name]
    check_both(fn, [draw((3, 4))], device)
    check_both(lambda x: fn(x.T.T[:, :]), [draw((3, 4))], device)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: tm.cumsum(x, 0),
        lambda x: tm.cumprod(x, 0),
        lambda x: tm.prod(x),
        lambda x: tm.sort(x).values,
    ],
    ids=["cumsum", "cumprod", "prod", "sort"],
)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0)], ids=str)
def test_scans_of_scalars_and_empty(device, fn, shape):
    check_both(fn, [any_(shape)], device)


@needs_torch
def test_scans_sort_and_unique_match_torch():
    a = with_zeros((3, 5))
    x, xt = tm.Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g = RNG.standard_normal((3, 5))
    (tm.cumprod(x, 1) * tm.Tensor(g)).sum().backward()
    (torch.cumprod(xt, 1) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(
        x.grad.numpy(force=True), xt.grad.numpy(force=True), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(tm.prod(x, 1).detach().numpy(force=True), torch.prod(xt, 1).detach())
    d = distinct((4, 5))
    v, i = tm.sort(tm.Tensor(d), dim=0, descending=True)
    vt, it = torch.sort(torch.tensor(d), dim=0, descending=True)
    np.testing.assert_array_equal(v.numpy(force=True), vt.numpy(force=True))
    np.testing.assert_array_equal(i.numpy(force=True), it.numpy(force=True))
    v, i = tm.topk(tm.Tensor(d), 3, dim=1)
    vt, it = torch.topk(torch.tensor(d), 3, dim=1)
    np.testing.assert_array_equal(i.numpy(force=True), it.numpy(force=True))
    u = np.array([[3, 1, 3], [2, 1, 1]])
    ours = tm.unique(tm.tensor(u), return_inverse=True, return_counts=True)
    ref = torch.unique(torch.tensor(u), return_inverse=True, return_counts=True)
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(o.numpy(force=True), r.numpy(force=True))
    rows = tm.unique(tm.tensor([[1, 2], [1, 2], [0, 5]]), dim=0)
    assert rows.tolist() == [[0, 5], [1, 2]]
    for n, chunks in [(5, 2), (6, 4), (2, 5), (7, 3)]:
        ours = [c.shape for c in tm.chunk(tm.zeros(n), chunks)]
        assert ours == [tuple(c.shape) for c in torch.chunk(torch.zeros(n), chunks)]
    assert [s.shape for s in tm.zeros(7, 2).split(3)] == [(3, 2), (3, 2), (1, 2)]


def test_sort_is_stable_and_puts_nan_last(device):
    x = tm.Tensor([2.0, 1.0, 2.0, float("nan"), 1.0], device=device)
    values, indices = tm.sort(x)
    assert indices.tolist() == [1, 4, 0, 2, 3]
    assert tm.argsort(x, descending=True).tolist() == [3, 0, 2, 1, 4]
    assert tm.sort(tm.tensor([True, False, True])).values.tolist() == [False, True, True]


def test_dtype_arguments(device):
    x = tm.tensor([[1, 2], [3, 4]], dtype=tm.int32, device=device)
    assert tm.sum(x, dtype=tm.float64).dtype == tm.float64
    assert x.sum(dim=0, dtype=tm.int64).tolist() == [4, 6]
    assert tm.mean(x, dtype=tm.float32).item() == 2.5
    assert x.float().softmax(1, dtype=tm.float64).dtype == tm.float64
    assert tm.log_softmax(x, dim=1, dtype=tm.float64).dtype == tm.float64
    assert tm.cumsum(x, 0, dtype=tm.float32).dtype == tm.float32
    assert x.prod(dtype=tm.float64).item() == 24.0
    assert tm.norm(x, dtype=tm.float64).item() == pytest.approx(math.sqrt(30))


def test_out_argument(device):
    a = tm.Tensor([1.0, 4.0], device=device)
    out = tm.zeros(2, device=device)
    same = out.array
    assert tm.sqrt(a, out=out) is out and out.tolist() == [1.0, 2.0] and out.array is same
    tm.add(a, a, alpha=2, out=out)
    assert out.tolist() == [3.0, 12.0]
    for fn in (tm.sin, tm.floor, tm.exp, tm.abs):
        assert fn(a, out=out).tolist() == fn(a).tolist()
    resized = tm.zeros(0, device=device)
    tm.matmul(tm.ones(2, 3, device=device), tm.ones(3, device=device), out=resized)
    assert resized.tolist() == [3.0, 3.0]  # resized to the result's shape, as PyTorch
    tm.cat([a, a], out=resized)
    assert resized.shape == (4,)
    assert tm.sum(a, out=out[:1].reshape(())).item() == 5.0
    mask = tm.zeros(2, dtype=tm.bool_, device=device)
    tm.gt(a, 2.0, out=mask)
    assert mask.tolist() == [False, True]


def test_out_argument_rejects_grad_and_bad_dtypes(device):
    x = leaf([1.0, 2.0], device)
    out = tm.zeros(2, device=device)
    with pytest.raises(RuntimeError, match="out=.*automatic differentiation"):
        tm.sin(x, out=out)
    assert out.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="can't be cast .* 'out'"):
        tm.sin(tm.Tensor([1.0], device=device), out=tm.zeros(1, dtype=tm.int64, device=device))
    with pytest.raises(TypeError, match="'out' must be a Tensor"):
        tm.exp(x.detach(), out=[0.0, 0.0])


def test_div_rounding_modes(device):
    a, b = tm.tensor([7, -7], device=device), tm.tensor([2, 2], device=device)
    assert tm.div(a, b, rounding_mode="trunc").tolist() == [3, -3]
    assert a.div(b, rounding_mode="floor").tolist() == [3, -4]
    assert tm.div(a, b, rounding_mode="floor").dtype == tm.int64
    assert tm.div(a, b).tolist() == [3.5, -3.5]
    assert tm.true_divide(a, 2).tolist() == [3.5, -3.5]


# ---------------------------------------------------------------------------------------------
# bad input: the right exception, naming the argument, raised by this library

BAD = [
    (TypeError, "'input' must be a Tensor", lambda: tm.sin([1.0, 2.0])),
    (TypeError, "'decimals'", lambda: tm.round(tm.ones(2), decimals=0.5)),
    (TypeError, "'other'", lambda: tm.eq(tm.ones(2), "a")),
    (TypeError, "'other'", lambda: tm.equal(tm.ones(2), [1.0, 1.0])),
    (ValueError, "'rtol'", lambda: tm.isclose(tm.ones(2), tm.ones(2), rtol=-1.0)),
    (ValueError, "'input' must be 2-D", lambda: tm.mm(tm.ones(3), tm.ones(3, 2))),
    (ValueError, "'mat2' must be 2-D", lambda: tm.mm(tm.ones(2, 3), tm.ones(3))),
    (ValueError, "'vec' must be 1-D", lambda: tm.mv(tm.ones(2, 3), tm.ones(3, 1))),
    (ValueError, "batch sizes", lambda: tm.bmm(tm.ones(2, 2, 3), tm.ones(3, 3, 2))),
    (ValueError, "differ in length", lambda: tm.dot(tm.ones(2), tm.ones(3))),
    (ValueError, "names 2 operands", lambda: tm.einsum("ij,jk", tm.ones(2, 2))),
    (ValueError, "name 3 dimensions", lambda: tm.einsum("ijk", tm.ones(2, 2))),
    (
        ValueError,
        "subscript 'j' has size",
        lambda: tm.einsum("ij,jk", tm.ones(2, 2), tm.ones(3, 2)),
    ),
    (ValueError, "invalid subscripts", lambda: tm.einsum("i1", tm.ones(2, 2))),
    (TypeError, "'equation'", lambda: tm.einsum(tm.ones(2), tm.ones(2))),
    (TypeError, "floating point", lambda: tm.norm(tm.tensor([1, 2]))),
    (ValueError, "'p'", lambda: tm.norm(tm.ones(2, 2), "nucl")),
    (ValueError, "'p'", lambda: tm.norm(tm.ones(2, 2), "max")),
    (TypeError, "'ord'", lambda: tm.linalg.vector_norm(tm.ones(2), "fro")),
    (ValueError, "ord 3 is not supported", lambda: tm.linalg.matrix_norm(tm.ones(2, 2), 3)),
    (ValueError, "'k'", lambda: tm.topk(tm.ones(3), 4)),
    (ValueError, "split_size", lambda: tm.split(tm.ones(3), 0)),
    (ValueError, "sum to the size 3", lambda: tm.split(tm.ones(3), [1, 1])),
    (ValueError, "'chunks'", lambda: tm.chunk(tm.ones(3), 0)),
    (ValueError, "at least 2 dimensions", lambda: tm.tril(tm.ones(3))),
    (TypeError, "'diagonal'", lambda: tm.triu(tm.ones(3, 3), 0.5)),
    (ValueError, "1-D or 2-D", lambda: tm.diag(tm.ones(2, 2, 2))),
    (ValueError, "'input' must be 2-D", lambda: tm.trace(tm.ones(3))),
    (TypeError, "'index' must be an integer", lambda: tm.gather(tm.ones(2, 2), 0, tm.ones(2, 2))),
    (IndexError, "Dimension out of range", lambda: tm.cumsum(tm.ones(2, 2), 2)),
    (ValueError, "rounding_mode", lambda: tm.div(tm.ones(2), 2, rounding_mode="up")),
    (ValueError, "empty dimension", lambda: tm.amax(tm.ones(0, 2), 0)),
]


@pytest.mark.parametrize("exc, pattern, make", BAD, ids=[p for _, p, _ in BAD])
def test_bad_input_is_named(exc, pattern, make):
    with pytest.raises(exc, match=pattern) as info:
        make()
    assert "tinygrad_mom" in info.traceback[-1].path.as_posix()


# ---------------------------------------------------------------------------------------------
# bitwise operators, % and //


def test_bitwise_operators(device):
    a = tm.tensor([True, False, True], device=device)
    b = tm.tensor([True, True, False], device=device)
    assert (a & b).tolist() == [True, False, False] and (a | b).tolist() == [True, True, True]
    assert (a ^ b).tolist() == [False, True, True] and (~a).tolist() == [False, True, False]
    assert (True & a).tolist() == a.tolist() and tm.bitwise_not(a).tolist() == (~a).tolist()
    i = tm.tensor([0b1100, 0b1010], device=device)
    assert (i & 0b1000).tolist() == [8, 8] and i.bitwise_xor(i).tolist() == [0, 0]
    with pytest.raises(TypeError, match="integer or bool"):
        tm.ones(2) & tm.ones(2)


@needs_torch
def test_remainder_and_floor_divide_match_torch(device):
    ints = np.array([7, -7, 2**40 + 1, 0])
    divisors = np.array([2, 3, -3, 5])
    for fn in (
        lambda a, b: a % b,
        lambda a, b: a // b,
        lambda a, b: a.remainder(b),
        lambda a, b: a.floor_divide(b),
    ):
        ours = fn(tm.tensor(ints, device=device), tm.tensor(divisors, device=device))
        ref = fn(torch.tensor(ints), torch.tensor(divisors))
        assert ours.tolist() == ref.tolist() and ours.dtype == tm.int64
    floats = np.array([7.5, -7.5, 0.25])
    np.testing.assert_allclose(
        (tm.Tensor(floats, device=device) % 2).numpy(force=True),
        (torch.tensor(floats) % 2).numpy(force=True),
    )
    np.testing.assert_allclose(
        (3.0 // tm.Tensor(floats, device=device)).numpy(force=True),
        (3.0 // torch.tensor(floats)).numpy(force=True),
    )
    assert (tm.tensor([5], device=device) % 3).tolist() == [2]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_remainder_gradcheck(device, shapes):
    sa, sb = shapes
    # a / b stays >= 0.15 from an integer (a jump of floor): b near 2, a = 2·(k + f), f in .2–.8
    b = RNG.uniform(1.98, 2.02, sb)
    check_both(tm.remainder, [2 * off_integers(sa), b], device)
