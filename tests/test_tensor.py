"""Tensor construction, attributes, conversions, factories and in-place updates."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend


def _host(t: tm.Tensor) -> np.ndarray:
    return t.numpy(force=True).copy()


# ---------------------------------------------------------------------------------------------
# construction rules


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),  # Python float -> float32, as in PyTorch
        ([1.0, 2.0], np.float32),
        ([[1, 2.5], [3, 4]], np.float32),  # mixed int/float list -> float32
        (3, np.int64),  # Python int -> int64 (labels)
        ([1, 2, 3], np.int64),
        ([True, False], np.bool_),
        (np.zeros(3), np.float64),  # a float64 numpy array stays float64
        (np.zeros(3, np.float32), np.float32),
        (np.zeros(3, np.float16), np.float16),
        (np.arange(3, dtype=np.int32), np.int32),
        (np.float64(2.0), np.float64),
    ],
)
def test_constructor_dtype_rules(device, data, dtype):
    t = tm.tensor(data, device=device)  # tm.Tensor(3) would be PyTorch's size constructor
    assert t.dtype == np.dtype(dtype)
    assert t.device == backend.parse_device(device)
    np.testing.assert_array_equal(_host(t), np.asarray(data, dtype=dtype))


def test_constructor_explicit_dtype(device):
    t = tm.Tensor([1, 2], dtype=tm.float64, device=device)
    assert t.dtype == np.float64
    assert tm.Tensor(np.ones(2), dtype=tm.float32, device=device).dtype == np.float32
    assert tm.Tensor([1.7], dtype=tm.int64).tolist() == [1]


def test_constructor_always_copies_numpy():
    a = np.arange(4.0)
    t = tm.Tensor(a)
    a[0] = 100.0
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert not np.shares_memory(t.array, a)


def test_constructor_copies_tensor(device):
    src = tm.Tensor([1.0, 2.0], device=device, requires_grad=True)
    t = tm.Tensor(src)
    assert t.device == src.device and t.dtype == src.dtype
    assert t.is_leaf and not t.requires_grad  # a new leaf, not a view into src's graph
    with tm.no_grad():
        src.mul_(10)
    assert t.tolist() == [1.0, 2.0]


def test_constructor_from_cupy_array():
    cupy = pytest.importorskip("cupy")
    if not tm.cuda.is_available():
        pytest.skip("CuPy is installed but no CUDA GPU is visible")
    a = cupy.arange(3, dtype=cupy.float64)
    t = tm.Tensor(a)
    assert t.device == "cuda:0" and t.dtype == np.float64
    a[0] = 7
    assert t.tolist() == [0.0, 1.0, 2.0]
    assert tm.Tensor(a, device="cpu").device == "cpu"


def test_constructor_rejects_non_numbers():
    with pytest.raises(TypeError, match="Cannot make a tensor"):
        tm.Tensor(["a", "b"])
    with pytest.raises(ValueError, match="Cannot make a tensor from list"):
        tm.Tensor([[1, 2], [3]])  # ragged: PyTorch's ValueError ("expected sequence of length")
    with pytest.raises(TypeError, match="Invalid dtype"):
        tm.Tensor([1.0], dtype="not-a-dtype")


def test_requires_grad_on_integer_tensor_is_type_error():
    with pytest.raises(TypeError, match="floating point"):
        tm.Tensor([1, 2], requires_grad=True)
    t = tm.Tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        t.requires_grad_()
    assert not t.requires_grad  # nothing changed


# ---------------------------------------------------------------------------------------------
# attributes and methods


def test_attributes(device):
    t = tm.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24
    assert t.dtype == tm.float32
    assert t.device == backend.parse_device(device)
    assert not t.requires_grad and t.grad is None and t.is_leaf
    assert len(t) == 2
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(3)


def test_len_of_scalar_raises():
    with pytest.raises(TypeError, match="0-d"):
        len(tm.Tensor(1.0))


def test_requires_grad_and_is_leaf(device):
    x = tm.ones(3, device=device)
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    x.requires_grad = False
    assert not x.requires_grad
    assert (x * 2).is_leaf  # nothing requires grad: no graph


def test_grad_can_be_assigned_and_is_validated(device):
    x = tm.zeros(2, 3, device=device, requires_grad=True)
    g = tm.ones(2, 3, device=device)
    x.grad = g
    assert x.grad is g
    x.grad = None
    assert x.grad is None
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        x.grad = tm.ones(3, device=device)
    with pytest.raises(TypeError, match="ndarray"):
        x.grad = np.ones((2, 3))
    assert x.grad is None  # a rejected assignment changes nothing
    # accumulation continues from a hand-assigned grad, as in PyTorch
    x.grad = tm.full((2, 3), 5.0, device=device)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), np.full((2, 3), 7.0))


def test_numpy_is_a_host_copy_only_from_a_gpu(device):
    t = tm.arange(4, dtype=tm.float32, device=device)
    a = t.numpy(force=True)
    assert isinstance(a, np.ndarray)
    a[0] = 42.0
    if device == "cpu":  # numpy() shares memory with a CPU tensor, as in PyTorch
        assert t.tolist() == [42.0, 1.0, 2.0, 3.0] and np.shares_memory(t.numpy(), t.array)
    else:  # a GPU tensor needs force=True (a host copy) or .cpu() first
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
        with pytest.raises(TypeError, match=r"\.cpu\(\)"):
            t.numpy()


def test_item_and_tolist(device):
    assert tm.Tensor([[3.5]], device=device).item() == 3.5
    assert isinstance(tm.tensor(2, device=device).item(), int)
    with pytest.raises(RuntimeError, match="3 elements"):
        tm.ones(3, device=device).item()
    assert tm.Tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    assert tm.Tensor(1.5, device=device).tolist() == 1.5


def test_to_cpu_and_dtype(device):
    t = tm.ones(2, device=device)
    assert t.to(device) is t  # already there: no copy
    assert t.cpu().device == "cpu"
    d = t.to(tm.float64)
    assert d.dtype == np.float64 and d.device == t.device
    d2 = t.to(dtype=tm.float64, device="cpu")
    assert d2.dtype == np.float64 and d2.device == "cpu"
    like = tm.zeros(1, dtype=tm.float64)
    assert t.to(like).dtype == np.float64


def test_to_is_differentiable(device):
    x = tm.ones(3, device=device, requires_grad=True)
    (x.to("cpu").to(tm.float64) * 3).sum().backward()
    assert x.grad.device == x.device and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(force=True), [3.0, 3.0, 3.0])


def test_cuda_without_cupy_says_what_to_install(monkeypatch):
    # Simulate a machine without CuPy: the import fails and no module was imported before.
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)
    monkeypatch.setattr(backend, "_cupy", None)
    t = tm.ones(2)
    with pytest.raises(RuntimeError, match=r"pip install") as info:
        t.cuda()
    assert "CuPy" in str(info.value)
    with pytest.raises(RuntimeError, match="CuPy"):
        tm.zeros(2, device="cuda")
    assert not tm.cuda.is_available()


def test_detach_shares_data_but_cuts_the_graph(device):
    x = tm.ones(3, device=device, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert d.array is y.array  # PyTorch's detach shares storage
    with pytest.raises(RuntimeError, match="does not require grad"):
        d.sum().backward()


def test_data_property_is_detached(device):
    x = tm.ones(2, device=device, requires_grad=True)
    assert not x.data.requires_grad
    x.data.mul_(3)  # .data bypasses the leaf check, as in PyTorch
    assert x.tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: tm.Tensor(1.5), "tensor(1.5)"),
        (lambda: tm.Tensor([1, 2]), "tensor([1, 2])"),
        (lambda: tm.Tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
        (lambda: tm.Tensor(np.ones(2)), "tensor([1., 1.], dtype=float64)"),
        (lambda: tm.Tensor([1.0], requires_grad=True) * 2, "tensor([2.], grad_fn=<MulBackward0>)"),
    ],
)
def test_repr(make, expected):
    assert repr(make()) == expected


def test_repr_names_cuda_device(device):
    if device == "cpu":
        pytest.skip("repr of a CPU tensor names no device")
    assert "device='cuda:0'" in repr(tm.ones(1, device=device))


def test_bool_float_int_index_protocols():
    assert bool(tm.Tensor([1.0])) and not bool(tm.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tm.ones(2))
    assert float(tm.Tensor(2.5)) == 2.5 and int(tm.tensor(3)) == 3
    assert [10, 20, 30][tm.tensor(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][tm.Tensor(1.0)]


# ---------------------------------------------------------------------------------------------
# factories


def test_zeros_ones_full(device):
    z = tm.zeros(2, 3, device=device)
    assert z.shape == (2, 3) and z.dtype == np.float32 and (z.numpy(force=True) == 0).all()
    assert tm.zeros((2, 3), device=device).shape == (2, 3)
    o = tm.ones([4], dtype=tm.float64, device=device, requires_grad=True)
    assert o.dtype == np.float64 and o.requires_grad and (o.numpy(force=True) == 1).all()
    assert tm.zeros(device=device).shape == ()
    f = tm.full((2, 2), 1.5, device=device)
    assert f.dtype == np.float32 and (f.numpy(force=True) == 1.5).all()
    assert tm.full((2,), 3, device=device).dtype == np.int64  # int fill -> int64, as in PyTorch
    assert tm.full((2,), True, device=device).dtype == np.bool_
    assert tm.full(3, 0.5).shape == (3,)


def test_factory_bad_sizes():
    with pytest.raises(ValueError, match="negative dimension"):
        tm.zeros(2, -1)
    with pytest.raises(TypeError, match="size must be"):
        tm.ones(2.5)
    with pytest.raises(ValueError, match="Invalid device"):
        tm.zeros(2, device="tpu")


def test_arange(device):
    a = tm.arange(5, device=device)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert tm.arange(2, 8, 3, device=device).tolist() == [2, 5]
    f = tm.arange(0, 1, 0.25, device=device)
    assert f.dtype == np.float32 and f.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tm.arange(3, dtype=tm.float64).dtype == np.float64
    assert tm.arange(5, 0, -2).tolist() == [5, 3, 1]
    with pytest.raises(ValueError, match="step"):
        tm.arange(0, 5, 0)


def test_eye(device):
    e = tm.eye(3, device=device)
    assert e.dtype == np.float32
    np.testing.assert_array_equal(e.numpy(force=True), np.eye(3))
    np.testing.assert_array_equal(tm.eye(2, 4, device=device).numpy(force=True), np.eye(2, 4))


def test_like_factories(device):
    t = tm.ones(2, 3, dtype=tm.float64, device=device)
    z = tm.zeros_like(t)
    o = tm.ones_like(t, dtype=tm.float32)
    assert z.shape == (2, 3) and z.dtype == np.float64 and z.device == t.device
    assert (z.numpy(force=True) == 0).all()
    assert o.dtype == np.float32 and (o.numpy(force=True) == 1).all()
    assert not tm.zeros_like(tm.ones(2, requires_grad=True)).requires_grad


def test_randn_rand_and_manual_seed(device):
    tm.manual_seed(123)
    a = tm.randn(1000, device=device)
    b = tm.rand(1000, device=device)
    tm.manual_seed(123)
    np.testing.assert_array_equal(
        a.numpy(force=True), tm.randn(1000, device=device).numpy(force=True)
    )
    np.testing.assert_array_equal(
        b.numpy(force=True), tm.rand(1000, device=device).numpy(force=True)
    )
    tm.manual_seed(124)
    assert not np.array_equal(a.numpy(force=True), tm.randn(1000, device=device).numpy(force=True))
    assert a.dtype == np.float32 and b.dtype == np.float32
    an, bn = a.numpy(force=True).copy(), b.numpy(force=True).copy()
    assert abs(an.mean()) < 0.15 and 0.85 < an.std() < 1.15  # 1000 draws: ~5 sigma bounds
    assert bn.min() >= 0.0 and bn.max() < 1.0 and abs(bn.mean() - 0.5) < 0.05
    assert tm.randn(2, 3, dtype=tm.float64, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating"):
        tm.randn(2, dtype=tm.int64)
    with pytest.raises(TypeError, match="seed must be an int"):
        tm.manual_seed(1.5)


# ---------------------------------------------------------------------------------------------
# in-place updates


def test_inplace_updates(device):
    t = tm.ones(2, 2, device=device)
    assert t.add_(1) is t
    t.mul_(tm.full((2, 2), 3.0, device=device))
    np.testing.assert_array_equal(t.numpy(force=True), np.full((2, 2), 6.0))
    t.add_(tm.ones(2, device=device), alpha=-2)  # broadcasting, alpha
    np.testing.assert_array_equal(t.numpy(force=True), np.full((2, 2), 4.0))
    t.sub_(1).div_(3)
    np.testing.assert_array_equal(t.numpy(force=True), np.ones((2, 2)))
    t.copy_(tm.Tensor([[1.0, 2.0], [3.0, 4.0]], device=device))
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    t.copy_(tm.Tensor([5.0, 6.0], device=device))  # broadcast copy
    assert t.tolist() == [[5.0, 6.0], [5.0, 6.0]]
    array_before = t.array
    t.zero_()
    assert t.array is array_before and (t.numpy(force=True) == 0).all()
    t.fill_(2.5)
    assert (t.numpy(force=True) == 2.5).all()


def test_copy_bad_shape_changes_nothing(device):
    t = tm.ones(2, 2, device=device)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        t.copy_(tm.zeros(3, device=device))
    assert (t.numpy(force=True) == 1).all()


def test_isub_under_no_grad_updates_the_leaf_in_place(device):
    w = tm.ones(3, device=device, requires_grad=True)
    array_before = w.array
    (w * 2).sum().backward()
    with tm.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad and w.array is array_before
    np.testing.assert_array_equal(w.numpy(force=True), np.zeros(3))


@pytest.mark.parametrize(
    "update",
    [
        lambda t: t.add_(1),
        lambda t: t.mul_(2),
        lambda t: t.zero_(),
        lambda t: t.copy_(tm.zeros(3)),
        lambda t: t.fill_(0),
        lambda t: t.sub_(1),
    ],
)
def test_inplace_on_leaf_requiring_grad_raises(update):
    w = tm.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        update(w)
    assert w.tolist() == [1.0, 1.0, 1.0]  # raised before anything changed


def test_isub_on_leaf_requiring_grad_raises_with_grad_enabled():
    w = tm.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1
    assert w.tolist() == [1.0, 1.0, 1.0]


def test_iadd_on_graph_tensor_rebinds():
    x = tm.ones(2, requires_grad=True)
    y = x * 2
    y_before = y
    y += 1  # a new graph node, as ``y = y + 1``
    assert y is not y_before
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
