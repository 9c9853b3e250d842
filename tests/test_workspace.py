"""The CPU workspace: large conv/pool/ReLU temporaries, reused, never overwriting a live array."""

import mmap

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import conv, workspace

BIG = (64, 32, 16, 16)  # 2 MiB of float32: served by the workspace


@pytest.fixture(autouse=True)
def _restore_limit():
    limit = tm.backend.workspace_stats()["limit_bytes"]
    yield
    tm.backend.set_workspace_limit(limit)


def _in_workspace(a) -> bool:
    owner = a.base.base if isinstance(a.base, np.ndarray) else None  # frombuffer -> memoryview
    return isinstance(owner, memoryview) and isinstance(owner.obj, mmap.mmap)


def test_large_arrays_come_from_the_workspace_small_ones_from_numpy():
    big = workspace.empty(np, BIG, np.float32)
    small = workspace.empty(np, (4, 4), np.float32)
    assert _in_workspace(big) and big.shape == BIG and big.flags.c_contiguous
    assert big.flags.writeable and big.ctypes.data % mmap.PAGESIZE == 0
    assert not _in_workspace(small)
    assert workspace.zeros(np, BIG, np.float32).sum() == 0


def test_memory_is_not_reused_while_any_view_of_it_lives():
    a = workspace.empty(np, BIG, np.float32)
    a[...] = 7.0
    view = a.transpose(0, 2, 3, 1)[:, 1:]
    del a
    others = [workspace.empty(np, BIG, np.float32) for _ in range(3)]
    for o in others:
        o[...] = -1.0
        assert not np.shares_memory(o, view)
    assert np.all(view == 7.0)


def test_freed_memory_is_reused_and_counted():
    before = tm.backend.workspace_stats()
    a = workspace.empty(np, BIG, np.float32)
    address = a.ctypes.data
    assert tm.backend.workspace_stats()["in_use_arrays"] == before["in_use_arrays"] + 1
    del a
    b = workspace.empty(np, BIG, np.float32)
    assert b.ctypes.data == address  # the same memory again: no new mapping, no page faults
    after = tm.backend.workspace_stats()
    assert after["hits"] > before["hits"]
    del b
    assert tm.backend.workspace_stats()["in_use_arrays"] == before["in_use_arrays"]


def test_freed_neighbours_merge_into_one_range():
    a = workspace.empty(np, BIG, np.float32)
    b = workspace.empty(np, BIG, np.float32)
    del a, b
    both = workspace.empty(np, (2, *BIG), np.float32)  # fits only in the two merged ranges
    assert _in_workspace(both)
    assert tm.backend.workspace_stats()["arenas"] >= 1


def test_empty_like_keeps_a_channels_last_layout():
    x = np.empty((8, 16, 32, 64), np.float32).transpose(0, 3, 1, 2)  # NHWC memory
    out = workspace.empty_like(x)
    assert out.shape == x.shape and out.strides == x.strides and _in_workspace(out)
    assert workspace.out_like(np.ones((4, 4), np.float32)) is None  # small: ufunc allocates
    assert workspace.out_like(np.ones(BIG, np.int32)) is None  # not float: ufunc decides


def test_empty_cache_releases_free_memory_and_keeps_live_arrays():
    keep = workspace.empty(np, BIG, np.float32)
    keep[...] = 3.0
    drop = workspace.empty(np, BIG, np.float32)
    del drop
    released = tm.backend.empty_cache()
    assert released > 0
    assert np.all(keep == 3.0)
    assert tm.backend.workspace_stats()["in_use_arrays"] >= 1


def test_limit_zero_turns_the_workspace_off():
    tm.backend.set_workspace_limit(0)
    assert not _in_workspace(workspace.empty(np, BIG, np.float32))
    x = tm.randn(4, 8, 34, 34)
    assert not _in_workspace(tm.relu(x).array)


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_set_workspace_limit_rejects_bad_values_before_changing_anything(bad):
    limit = tm.backend.workspace_stats()["limit_bytes"]
    with pytest.raises(ValueError, match="max_bytes must be an int >= 0"):
        tm.backend.set_workspace_limit(bad)
    assert tm.backend.workspace_stats()["limit_bytes"] == limit


def _cnn_step(x, w1, w2):
    h = conv.max_pool2d(conv.conv2d(x, w1).relu(), 2)
    loss = conv.conv2d(h, w2).relu().sum()
    loss.backward()
    return loss.item(), w1.grad.numpy(force=True), w2.grad.numpy(force=True)


def test_results_are_the_same_with_and_without_the_workspace():
    tm.manual_seed(0)
    x = tm.randn(16, 3, 34, 34)
    w1 = tm.randn(16, 3, 3, 3, requires_grad=True)
    w2 = tm.randn(8, 16, 3, 3, requires_grad=True)
    on = _cnn_step(x, w1, w2)
    w1.grad = w2.grad = None
    tm.backend.set_workspace_limit(0)
    off = _cnn_step(x, w1, w2)
    assert on[0] == off[0]
    for a, b in zip(on[1:], off[1:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_repeated_training_step_maps_nothing_new():
    """After warm-up every large temporary reuses memory: no new mapping, no page faults."""
    tm.manual_seed(0)
    x = tm.randn(16, 3, 34, 34)
    w1 = tm.randn(16, 3, 3, 3, requires_grad=True)
    w2 = tm.randn(8, 16, 3, 3, requires_grad=True)
    for _ in range(2):
        _cnn_step(x, w1, w2)
        w1.grad = w2.grad = None
    before = tm.backend.workspace_stats()
    for _ in range(3):
        _cnn_step(x, w1, w2)
        w1.grad = w2.grad = None
    after = tm.backend.workspace_stats()
    assert after["hits"] > before["hits"]
    assert after["misses"] == before["misses"]
    assert after["mapped_bytes"] == before["mapped_bytes"]
