"""``tm.cuda``: PyTorch's semantics without a GPU, the logic against a fake CuPy, and on a GPU.

The fake module below implements only the CuPy calls that ``tm.cuda`` and the random-state
plumbing make (runtime queries, ``Device``, the allocator and memory pool, ``default_rng``), so
the bookkeeping — device indices, peak memory, per-device seeds, state save and restore — is
tested on every machine. The GPU tests at the end check the same against real CuPy.
"""

from __future__ import annotations

import hashlib
import types

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend

# ----------------------------------------------------------------------------------------------
# a fake CuPy with two devices


class _FakeCupy(types.SimpleNamespace):
    """Just enough of CuPy's API for tm.cuda: two devices, a memory pool, cuRAND-like states."""

    def __init__(self, count: int = 2):
        current = [0]
        used = {i: 0 for i in range(count)}
        freed = []
        synced = []

        class Device:
            def __init__(self, index=None):
                self.id = current[0] if index is None else index

            def __enter__(self):
                self._previous = current[0]
                current[0] = self.id
                return self

            def __exit__(self, *exc):
                current[0] = self._previous

            def synchronize(self):
                synced.append(self.id)

        def set_device(i):
            current[0] = i

        runtime = types.SimpleNamespace(
            getDeviceCount=lambda: count,
            getDevice=lambda: current[0],
            setDevice=set_device,
            getDeviceProperties=lambda i: {"name": f"Fake GPU {i}".encode()},
        )

        class Memory:
            def __init__(self, size):
                self.size, self.device = size, current[0]
                used[self.device] += size

            def free(self):
                used[self.device] -= self.size

        pool = types.SimpleNamespace(
            used_bytes=lambda: used[current[0]],
            free_all_blocks=lambda: freed.append(True),
        )
        allocator = [Memory]

        def set_allocator(f):
            allocator[0] = f

        class BitGenerator:
            def __init__(self, seed):
                digest = hashlib.sha256(repr(seed).encode()).digest()
                self._state = np.frombuffer(digest * 6, dtype=np.int8).copy()  # 192 "bytes"

        class Generator:
            def __init__(self, seed):
                self.bit_generator = BitGenerator(seed)

            def random(self, shape):
                # a pure function of the state, which it then advances (as cuRAND kernels do)
                seed = int.from_bytes(hashlib.sha256(self.bit_generator._state).digest()[:8])
                self.bit_generator._state += 1
                return np.random.default_rng(seed).random(shape)

        super().__init__(
            ndarray=type("ndarray", (), {}),
            cuda=types.SimpleNamespace(
                runtime=runtime,
                Device=Device,
                get_allocator=lambda: allocator[0],
                set_allocator=set_allocator,
            ),
            get_default_memory_pool=lambda: pool,
            random=types.SimpleNamespace(default_rng=Generator),
            asnumpy=lambda a: np.array(a, copy=True),
            asarray=np.asarray,
            used=used,
            freed=freed,
            synced=synced,
            current=current,
        )

    def allocate(self, size):
        """An allocation through CuPy's current allocator, as an array creation makes."""
        return self.cuda.get_allocator()(size)


@pytest.fixture
def fake(monkeypatch):
    cp = _FakeCupy()
    monkeypatch.setattr(backend, "_peak_bytes", {})
    monkeypatch.setattr(backend, "_cupy_rngs", {})
    monkeypatch.setattr(backend, "_cuda_seeds", {})
    monkeypatch.setattr(backend, "_peak_tracked_module", None)
    backend._track_peak_memory(cp)  # what _import_cupy does on the real first import
    monkeypatch.setattr(backend, "_cupy", cp)
    return cp


# ----------------------------------------------------------------------------------------------
# without CUDA: PyTorch's CPU-only answers


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # import cupy -> ImportError
    monkeypatch.setattr(backend, "_cupy", None)


def test_without_cuda_the_queries_answer_as_pytorch(no_cuda):
    assert tm.cuda.is_available() is False
    assert tm.cuda.device_count() == 0
    assert tm.cuda.memory_allocated() == 0 and tm.cuda.max_memory_allocated() == 0
    assert tm.cuda.memory_allocated(0) == 0 and tm.cuda.max_memory_allocated("cuda:1") == 0
    tm.cuda.empty_cache()  # nothing to free: a no-op, as in PyTorch


@pytest.mark.parametrize(
    "call",
    [
        tm.cuda.current_device,
        tm.cuda.synchronize,
        tm.cuda.get_device_name,
        tm.cuda.reset_peak_memory_stats,
        lambda: tm.cuda.set_device(0),
    ],
)
def test_without_cuda_device_functions_raise_saying_what_to_install(no_cuda, call):
    with pytest.raises(RuntimeError, match="needs a CUDA device") as info:
        call()
    assert "pip install" in str(info.value)


def test_without_cuda_manual_seed_is_lazy_and_needs_no_gpu(no_cuda):
    tm.cuda.manual_seed(5)
    assert backend._cuda_seeds == {"cuda:0": 5}
    tm.cuda.manual_seed_all(7)
    assert backend._cuda_seed == 7 and backend._cuda_seeds == {}
    tm.manual_seed(3)  # torch.manual_seed seeds the CUDA generators too
    assert backend._cuda_seed == 3


@pytest.mark.parametrize("bad", [1.5, "1", None, True])
def test_manual_seed_rejects_non_int(bad):
    with pytest.raises(TypeError, match=r"tm.cuda.manual_seed: seed must be an int"):
        tm.cuda.manual_seed(bad)
    with pytest.raises(TypeError, match=r"tm.cuda.manual_seed_all: seed must be an int"):
        tm.cuda.manual_seed_all(bad)


@pytest.mark.parametrize("bad", ["cpu", "gpu", -1, 1.0, True, "cuda:x"])
def test_bad_device_argument_is_value_error_naming_it(bad):
    # checked before CUDA is looked at, so the same error with or without a GPU
    with pytest.raises(ValueError, match="tm.cuda.memory_allocated") as info:
        tm.cuda.memory_allocated(bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(ValueError, match="tm.cuda.get_device_name"):
        tm.cuda.get_device_name(bad)


def test_cuda_namespace_is_exported():
    assert tm.cuda.__name__ == "tinygrad_mom.cuda" and "cuda" in tm.__all__
    for name in tm.cuda.__all__:
        assert callable(getattr(tm.cuda, name)) and getattr(tm.cuda, name).__doc__


# ----------------------------------------------------------------------------------------------
# the logic, on a fake CuPy


def test_fake_queries_and_device_arguments(fake):
    assert tm.cuda.is_available() and tm.cuda.device_count() == 2
    assert tm.cuda.current_device() == 0
    assert tm.cuda.get_device_name() == "Fake GPU 0"
    assert tm.cuda.get_device_name(1) == tm.cuda.get_device_name("cuda:1") == "Fake GPU 1"
    tm.cuda.set_device("cuda:1")
    assert tm.cuda.current_device() == 1 and tm.cuda.get_device_name("cuda") == "Fake GPU 1"
    tm.cuda.synchronize()
    tm.cuda.synchronize(0)
    assert fake.synced == [1, 0] and fake.current[0] == 1  # synchronize(0) restored the current
    with pytest.raises(RuntimeError, match="only 2 CUDA device"):
        tm.cuda.get_device_name(2)
    with pytest.raises(RuntimeError, match="cuda:5"):
        tm.cuda.set_device(5)
    assert tm.cuda.current_device() == 1  # a refused set_device changed nothing


def test_fake_memory_peak_and_reset(fake):
    a = fake.allocate(1000)
    b = fake.allocate(500)
    assert tm.cuda.memory_allocated() == 1500 and tm.cuda.max_memory_allocated() == 1500
    b.free()
    a.free()
    c = fake.allocate(200)
    assert tm.cuda.memory_allocated() == 200
    assert tm.cuda.max_memory_allocated() == 1500  # the peak stays
    assert tm.cuda.memory_allocated(1) == 0 and tm.cuda.max_memory_allocated(1) == 0
    tm.cuda.reset_peak_memory_stats()
    assert tm.cuda.max_memory_allocated() == 200  # restarts from what is held now
    with fake.cuda.Device(1):
        fake.allocate(64)
    assert tm.cuda.max_memory_allocated("cuda:1") == 64 and tm.cuda.max_memory_allocated() == 200
    c.free()
    tm.cuda.empty_cache()
    assert fake.freed == [True]


def test_allocator_is_wrapped_once_per_module(fake):
    wrapped = fake.cuda.get_allocator()
    backend._track_peak_memory(fake)  # CuPy imported again (a test reset backend._cupy)
    assert fake.cuda.get_allocator() is wrapped
    fake.allocate(10)
    assert tm.cuda.max_memory_allocated() == 10


def test_fake_per_device_seeds(fake):
    tm.manual_seed(0)
    base = backend.rng("cuda:1").random(4)
    tm.cuda.manual_seed(9)  # the current device (0) only
    assert backend._cuda_seeds == {"cuda:0": 9}
    first0 = backend.rng("cuda:0").random(4)
    tm.cuda.manual_seed(9)
    np.testing.assert_array_equal(backend.rng("cuda:0").random(4), first0)
    tm.manual_seed(0)
    np.testing.assert_array_equal(backend.rng("cuda:1").random(4), base)
    assert not np.array_equal(backend.rng("cuda:0").random(4), first0)
    tm.cuda.manual_seed_all(9)
    np.testing.assert_array_equal(backend.rng("cuda:0").random(4), first0)
    np.testing.assert_array_equal(backend.rng("cuda:1").random(4), first0)  # same seed, same draws


def test_fake_rng_state_round_trip_replays_cuda_draws(fake, tmp_path):
    pytest.importorskip("safetensors")
    tm.manual_seed(1)
    backend.rng("cuda:0").random(3)
    backend.rng("cuda:1").random(3)
    state = backend.get_rng_state()
    assert sorted(state["cuda"]) == ["cuda:0", "cuda:1"]
    assert all(s.dtype == np.int8 and s.ndim == 1 for s in state["cuda"].values())
    tm.save({"rng": state}, tmp_path / "ck.safetensors")
    expected = [backend.rng("cuda:0").random(5), backend.rng("cuda:1").random(5)]
    tm.manual_seed(123)  # a fresh process would start elsewhere
    backend.rng("cuda:0").random(7)
    backend.set_rng_state(tm.load(tmp_path / "ck.safetensors")["rng"])
    np.testing.assert_array_equal(backend.rng("cuda:0").random(5), expected[0])
    np.testing.assert_array_equal(backend.rng("cuda:1").random(5), expected[1])


def test_fake_rng_state_mismatch_changes_nothing(fake):
    tm.manual_seed(1)
    backend.rng("cuda:0").random(3)
    state = backend.get_rng_state()
    state["cuda"]["cuda:0"] = state["cuda"]["cuda:0"][:-1]  # another GPU's generator size
    cpu_before = backend.rng("cpu").bit_generator.state
    with pytest.raises(ValueError, match="cannot be replayed"):
        backend.set_rng_state(state)
    assert backend.rng("cpu").bit_generator.state == cpu_before
    state["cuda"]["cuda:0"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="1-d int8"):
        backend.set_rng_state(state)


def test_cuda_states_are_skipped_with_a_warning_without_cuda(no_cuda):
    tm.manual_seed(2)
    state = backend.get_rng_state()
    state["cuda"] = {"cuda:0": np.zeros(8, np.int8)}
    draw = backend.rng("cpu").random(3)
    with pytest.warns(RuntimeWarning, match="not restored"):
        backend.set_rng_state(state)
    np.testing.assert_array_equal(backend.rng("cpu").random(3), draw)  # the CPU part is restored


# ----------------------------------------------------------------------------------------------
# on a GPU (skipped without one)


def _need_gpu(device):
    if device == "cpu":
        pytest.skip("needs a CUDA GPU")


def test_gpu_memory_figures_follow_allocations(device):
    _need_gpu(device)
    tm.cuda.synchronize()
    tm.cuda.reset_peak_memory_stats()
    before = tm.cuda.memory_allocated()
    x = tm.zeros(1 << 20, device=device)  # 4 MiB
    assert tm.cuda.memory_allocated() >= before + (4 << 20)
    del x
    assert tm.cuda.memory_allocated() == before
    assert tm.cuda.max_memory_allocated() >= before + (4 << 20)
    tm.cuda.empty_cache()
    assert tm.cuda.memory_allocated() == before  # empty_cache frees no live array
    assert isinstance(tm.cuda.get_device_name(), str) and tm.cuda.get_device_name()


def test_gpu_dropout_replays_after_rng_state_restore(device):
    _need_gpu(device)
    tm.manual_seed(0)
    x = tm.ones(1000, device=device)
    tm.nn.functional.dropout(x, 0.5, training=True)
    state = backend.get_rng_state()
    first = tm.nn.functional.dropout(x, 0.5, training=True).numpy(force=True).copy()
    tm.manual_seed(99)
    tm.nn.functional.dropout(x, 0.5, training=True)
    backend.set_rng_state(state)
    np.testing.assert_array_equal(
        tm.nn.functional.dropout(x, 0.5, training=True).numpy(force=True), first
    )


def test_gpu_cuda_manual_seed_fixes_draws(device):
    _need_gpu(device)
    tm.cuda.manual_seed(4)
    a = tm.rand(5, device=device).numpy(force=True).copy()
    tm.cuda.manual_seed(4)
    np.testing.assert_array_equal(tm.rand(5, device=device).numpy(force=True), a)


# ----------------------------------------------------------------------------------------------
# ops on a non-current device run under that device's context (logic on a fake CuPy)


class _OnCuda1(np.ndarray):
    """A host array that the backend takes for a CuPy array on device 1."""

    device = types.SimpleNamespace(id=1)


@pytest.fixture
def fake_two_devices(monkeypatch):
    entered = []
    current = [0]

    class Device:
        def __init__(self, index):
            self.id = index

        def __enter__(self):
            entered.append(self.id)
            self._previous, current[0] = current[0], self.id

        def __exit__(self, *exc):
            current[0] = self._previous

    fake = types.SimpleNamespace(
        ndarray=_OnCuda1,
        get_array_module=lambda a: np,
        cuda=types.SimpleNamespace(
            Device=Device,
            runtime=types.SimpleNamespace(getDevice=lambda: current[0], getDeviceCount=lambda: 2),
        ),
    )
    monkeypatch.setattr(backend, "_cupy", fake)
    return entered, current


def test_device_guard_only_for_a_non_current_device(fake_two_devices):
    entered, current = fake_two_devices
    x = np.ones(2).view(_OnCuda1)
    assert backend.device_guard([np.ones(2)]) is None  # host arrays: nothing to switch
    assert backend.device_guard([np.float32(2.0), x]).id == 1  # the first CuPy operand decides
    current[0] = 1
    assert backend.device_guard([x]) is None  # already current
    assert backend.call_on_device_of(x, lambda: current[0]) == 1 and entered == []


def test_device_guard_without_cupy_is_none(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    assert backend.device_guard([np.ones(1)]) is None


def test_forward_backward_and_step_run_under_the_operands_device(fake_two_devices):
    entered, current = fake_two_devices
    inside = []
    w = tm.Tensor._wrap(np.ones(3).view(_OnCuda1), True)

    class Probe(tm.Function):
        def forward(self, a):
            inside.append(("forward", current[0]))
            return a * 2

        def backward(self, gy):
            inside.append(("backward", current[0]))
            return gy * 2

    # (an explicit upstream gradient: numpy functions inside other ops drop the fake's class)
    Probe.apply(w).backward(tm.Tensor._wrap(np.ones(3).view(_OnCuda1)))
    assert ("forward", 1) in inside and ("backward", 1) in inside and current[0] == 0
    assert w.grad is not None and entered.count(1) >= 3  # forward, backward, leaf accumulation

    class Recording(tm.optim.SGD):
        def update(self, p, g, state, group):
            inside.append(("update", current[0]))
            super().update(p, g, state, group)

    Recording([w], lr=0.1).step()
    assert inside[-1] == ("update", 1) and current[0] == 0
    np.testing.assert_allclose(np.asarray(w.array), 0.8)


def test_gpu_ops_on_cuda_1_while_cuda_0_is_current(device):
    if device == "cpu" or tm.cuda.device_count() < 2:
        pytest.skip("needs two CUDA GPUs")
    model = tm.nn.Linear(4, 3).to("cuda:1")
    opt = tm.optim.Adam(model.parameters(), lr=0.1)
    x = tm.randn(5, 4, device="cuda:1")
    assert tm.cuda.current_device() == 0
    loss = tm.nn.functional.dropout(model(x), 0.5).sum()
    loss.backward()
    opt.step()
    assert all(p.device == "cuda:1" and p.grad.device == "cuda:1" for p in model.parameters())
    assert np.isfinite(loss.item())
