"""The array backends: device strings, CuPy's lazy import, device mixing, backend primitives."""

import sys

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend


@pytest.mark.parametrize(
    "given, canonical",
    [
        (None, "cpu"),
        ("cpu", "cpu"),
        ("CPU", "cpu"),
        (" cpu ", "cpu"),
        ("cuda", "cuda:0"),
        ("cuda:0", "cuda:0"),
        ("cuda:3", "cuda:3"),
        ("CUDA:01", "cuda:1"),
    ],
)
def test_parse_device(given, canonical):
    assert backend.parse_device(given) == canonical


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:-1", "cuda:x", "tpu", "", "cpu:x", -1])
def test_unknown_device_string_is_value_error(bad):
    with pytest.raises(ValueError, match="Invalid device") as info:
        backend.parse_device(bad)
    assert repr(bad) in str(info.value)  # the message names what was given
    with pytest.raises(ValueError, match="Invalid device"):
        tm.zeros(2, device=bad if bad is not None else "x")


def test_cupy_is_not_imported_by_cpu_work():
    # The package may be imported on machines without CuPy; CPU work must never import it.
    if "cupy" in sys.modules:
        pytest.skip("CuPy was already imported by this process")
    (tm.randn(3, requires_grad=True) * 2).sum().backward()
    assert "cupy" not in sys.modules


def test_missing_cupy_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(RuntimeError) as info:
        backend.array_module_for("cuda:0")
    message = str(info.value)
    assert "CuPy" in message and "pip install" in message and "cupy-cuda13x" in message
    assert backend.cuda_is_available() is False
    with pytest.raises(RuntimeError, match="pip install"):
        tm.Tensor([1.0], device="cuda")
    with pytest.raises(RuntimeError, match="pip install"):
        tm.ones(2).to("cuda:1")


def test_get_array_module_and_device_of_numpy():
    a = np.zeros(3)
    assert backend.get_array_module(a) is np
    assert backend.device_of(a) == "cpu"
    assert backend.array_module_for("cpu") is np


def test_to_numpy_copies():
    a = np.arange(3.0)
    b = backend.to_numpy(a)
    assert b is not a and not np.shares_memory(a, b)


def test_scatter_add_accumulates_repeats(xp):
    target = xp.zeros(4)
    backend.scatter_add(target, (xp.asarray([0, 2, 0, 0]),), xp.asarray([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(backend.to_numpy(target), [8.0, 0.0, 2.0, 0.0])


def test_as_strided_windows(xp):
    a = xp.arange(6.0)
    step = a.strides[0]
    windows = backend.as_strided(a, (4, 3), (step, step))
    np.testing.assert_array_equal(
        backend.to_numpy(windows), [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    )


def test_rng_state_round_trip():
    tm.manual_seed(5)
    state = backend.get_rng_state()
    a = tm.randn(4).numpy(force=True).copy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(tm.randn(4).numpy(force=True), a)


def test_manual_seed_makes_every_draw_reproducible(device):
    def draws():
        tm.manual_seed(7)
        return [
            tm.randn(3, device=device).numpy(force=True).copy(),
            tm.rand(2, 2, device=device).numpy(force=True).copy(),
            tm.randint(0, 10, (5,), device=device).numpy(force=True).copy(),
            tm.zeros(3, device=device).normal_().numpy(force=True).copy(),
        ]

    for a, b in zip(draws(), draws(), strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# devices beyond the CPU: these need CuPy and a GPU and run through the ``device`` fixture


def _need_cuda(device):
    if device == "cpu":
        pytest.skip("mixing devices needs a CUDA device next to the CPU")


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: a @ b,
        lambda a, b: tm.maximum(a, b),
        lambda a, b: tm.cat([a, b]),
        lambda a, b: tm.where(a > 0, a, b),
        lambda a, b: a < b,
    ],
)
def test_mixing_devices_raises_naming_both(device, op):
    _need_cuda(device)
    a = tm.ones(2, 2, device=device)
    b = tm.ones(2, 2)
    with pytest.raises(RuntimeError) as info:
        op(a, b)
    assert "cpu" in str(info.value) and "cuda:0" in str(info.value)


def test_inplace_mixing_devices_raises(device):
    _need_cuda(device)
    a = tm.ones(2, device=device)
    with pytest.raises(RuntimeError, match="cuda:0"):
        a.add_(tm.ones(2))
    assert a.tolist() == [1.0, 1.0]


def test_scalars_go_with_any_device(device):
    a = tm.ones(2, device=device)
    out = 2.0 * a + 1
    assert out.device == a.device and out.tolist() == [3.0, 3.0]


def test_moves_are_explicit_and_differentiable(device):
    _need_cuda(device)
    x = tm.Tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device)
    assert y.device == "cuda:0" and x.device == "cpu"
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, 4.0]
    assert y.cpu().device == "cpu" and x.cuda().device == "cuda:0"
    assert isinstance(y.numpy(force=True), np.ndarray)


def test_cuda_index_out_of_range(device):
    _need_cuda(device)
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    with pytest.raises(RuntimeError, match="CUDA device"):
        tm.zeros(1, device=f"cuda:{count}")
