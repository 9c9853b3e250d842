"""No hidden host<->device synchronisation in a training step.

On a GPU: a kernel that spins for a second is queued first; if anything in forward, loss,
backward, clip_grad_norm_ or the optimizer step waited for the device, the host would block
behind it and the stream would be idle when the step returns. On the CPU: the queued-checks
logic (``backend.check``) against a fake device array, and ``clip_grad_norm_`` reading no value
on the host unless asked to.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend, nn
from tinygrad_mom.nn import functional as F
from tinygrad_mom.nn import utils as nn_utils


class _DeviceArray(np.ndarray):
    """A host array that the backend takes for a CuPy array on fake device 0."""

    device = types.SimpleNamespace(id=0)


@pytest.fixture
def fake_device(monkeypatch):
    transfers = []

    def asnumpy(a):
        transfers.append(np.asarray(a).shape)
        return np.array(a, copy=True)

    fake = types.SimpleNamespace(
        ndarray=_DeviceArray,
        cuda=types.SimpleNamespace(
            runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
            Device=lambda i: __import__("contextlib").nullcontext(),
        ),
        stack=np.stack,
        asarray=np.asarray,
        asnumpy=asnumpy,
    )
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setattr(backend, "_pending_checks", [])
    monkeypatch.setattr(backend, "_sync_checks", False)
    return transfers


def _flag(value: bool):
    return np.array(value).view(_DeviceArray)


def test_host_checks_raise_at_once():
    with pytest.raises(ValueError, match="bad now"):
        backend.check(np.array(True), ValueError, lambda: "bad now")
    backend.check(np.array(False), ValueError, lambda: "never called")
    assert backend._pending_checks == []


def test_device_checks_wait_for_the_next_sync_and_take_one_transfer(fake_device):
    messages = []

    def message(text):
        def make():
            messages.append(text)
            return text

        return make

    backend.check(_flag(False), ValueError, message("first"))
    backend.check(_flag(True), IndexError, message("second"))
    backend.check(_flag(True), ValueError, message("third"))
    assert fake_device == [] and messages == []  # nothing read from the device yet
    with pytest.raises(IndexError, match="second"):
        tm.tensor(1.0).item()  # a sync point (here a host tensor: it answers the queue too)
    assert fake_device == [(3,)]  # all three flags in one transfer
    assert messages == ["second"]  # only the first failure builds its message
    assert backend._pending_checks == []
    tm.tensor(1.0).item()  # answered once only


def test_device_checks_are_answered_by_to_numpy_and_synchronous_mode(fake_device):
    backend.check(_flag(True), ValueError, lambda: "late")
    with pytest.raises(ValueError, match="late"):
        backend.to_numpy(np.zeros(2).view(_DeviceArray))
    backend.check(_flag(True), ValueError, lambda: "queued")
    with pytest.raises(ValueError, match="queued"):
        backend.set_sync_checks(True)  # switching on answers the queue
    with pytest.raises(ValueError, match="immediately"):
        backend.check(_flag(True), ValueError, lambda: "immediately")
    backend.set_sync_checks(False)
    with pytest.raises(TypeError, match="bool"):
        backend.set_sync_checks(1)


def test_the_queue_is_bounded(fake_device):
    for _ in range(backend._MAX_PENDING - 1):
        backend.check(_flag(False), ValueError, lambda: "x")
    assert fake_device == []
    backend.check(_flag(False), ValueError, lambda: "x")
    assert fake_device == [(backend._MAX_PENDING,)] and backend._pending_checks == []


def test_loss_checks_go_through_backend_check(monkeypatch):
    seen = []
    real = backend.check
    monkeypatch.setattr(backend, "check", lambda *a: (seen.append(a[1]), real(*a)))
    F.cross_entropy(tm.randn(3, 4), tm.tensor([0, 1, 3]))
    F.binary_cross_entropy(tm.rand(3), tm.tensor([0.0, 1.0, 1.0]))
    # label range, the picked-row index bounds, the probability range
    assert ValueError in seen and IndexError in seen and seen.count(ValueError) == 2


def test_clip_grad_norm_reads_no_value_on_the_host_unless_needed(monkeypatch):
    reads = []

    def spy(x=0.0):
        if not isinstance(x, (int, float, str)):
            reads.append(type(x).__name__)
        return float(x)

    monkeypatch.setattr(nn_utils, "float", spy, raising=False)  # shadows the builtin there
    p = tm.ones(3, requires_grad=True)
    p.grad = tm.tensor([3.0, 4.0, 0.0])
    total = nn_utils.clip_grad_norm_([p], 1.0)
    assert isinstance(total, tm.Tensor) and reads == []
    np.testing.assert_allclose(total.item(), 5.0)
    nn_utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert len(reads) == 1  # the finiteness check needs the value (as in PyTorch)
    reads.clear()
    with nn_utils.register_clip_grad_norm_hook(lambda params, norm, coef: None):
        nn_utils.clip_grad_norm_([p], 1.0)
    assert len(reads) == 2  # a hook gets Python floats: total and coefficient


# ----------------------------------------------------------------------------------------------
# on a GPU (skipped without one)


def _spin(cp, seconds: float) -> None:
    """Queue a one-thread kernel that keeps the GPU busy for ``seconds`` (by its global timer)."""
    kernel = cp.RawKernel(
        r"""
        extern "C" __global__ void spin(unsigned long long ns) {
            unsigned long long start, now;
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
            do {
                asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
            } while (now - start < ns);
        }
        """,
        "spin",
    )
    kernel((1,), (1,), (np.uint64(seconds * 1e9),))


def test_gpu_training_step_does_not_wait_for_the_device(device):
    if device == "cpu":
        pytest.skip("needs a CUDA GPU")
    import cupy as cp

    model = nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1),
        nn.Linear(8 * 7 * 7, 10),
    ).to(device)  # fmt: skip
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = tm.randn(16, 3, 16, 16, device=device)
    y = tm.randint(0, 10, (16,), device=device)
    for opt in (
        tm.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        tm.optim.Adam(model.parameters(), lr=1e-3),
    ):

        def step(opt=opt):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss

        step()  # warm-up: kernels compiled, memory pool filled, optimizer state made
        tm.cuda.synchronize()
        _spin(cp, 1.0)
        loss = step()
        assert not cp.cuda.get_current_stream().done, (
            f"a {type(opt).__name__} training step waited for the GPU (a hidden sync)"
        )
        loss.item()  # the one sync a loop makes per step
        assert cp.cuda.get_current_stream().done
