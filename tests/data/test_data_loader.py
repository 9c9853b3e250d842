"""Dataset, TensorDataset, Subset, random_split and DataLoader."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import backend
from tinygrad_mom.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _data(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return x, y


class CountingDataset(TensorDataset):
    """A TensorDataset that counts per-sample fetches."""

    calls = 0

    def __getitem__(self, index):
        CountingDataset.calls += 1
        return super().__getitem__(index)


class PlainDataset(Dataset):
    """A dataset with only __getitem__/__len__: the per-sample path."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])

    def __len__(self):
        return len(self.y)


def test_tensor_dataset_items_and_errors():
    x, y = _data()
    ds = TensorDataset(tm.Tensor(x), y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert isinstance(xi, tm.Tensor) and xi.shape == (2,) and yi.shape == () and yi.item() == 3
    np.testing.assert_array_equal(ds[-1][0].numpy(force=True), x[-1])
    with pytest.raises(IndexError, match="index 10 is out of range"):
        ds[10]
    with pytest.raises(TypeError, match="must be an int"):
        ds[1.5]
    with pytest.raises(ValueError, match=r"Size mismatch.*\[10, 9\]"):
        TensorDataset(x, y[:9])
    with pytest.raises(TypeError, match="Tensors or NumPy arrays"):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_subset_and_concat():
    x, y = _data()
    ds = TensorDataset(x, y)
    sub = Subset(ds, [7, 2, -1])
    assert len(sub) == 3 and [sub[i][1].item() for i in range(3)] == [7, 2, 9]
    with pytest.raises(IndexError, match="Subset index 10"):
        Subset(ds, [10])
    both = ConcatDataset([ds, sub])
    assert len(both) == 13 and both[11][1].item() == 2
    assert len(ds + sub) == 13


@pytest.mark.parametrize(
    ("n", "lengths", "expected"),
    [
        (10, [3, 7], [3, 7]),
        (10, [0.3, 0.3, 0.4], [3, 3, 4]),
        (11, [0.5, 0.5], [6, 5]),
        (10, [0.8, 0.2], [8, 2]),
        (3, [0.2, 0.2, 0.6], [1, 1, 1]),
    ],
)
def test_random_split_lengths_match_pytorch_rules(n, lengths, expected):
    ds = TensorDataset(*_data(n))
    parts = random_split(ds, lengths, seed=0)
    assert [len(p) for p in parts] == expected
    seen = sorted(i for p in parts for i in p.indices)
    assert seen == list(range(n))  # disjoint and covering


def test_random_split_is_seeded():
    ds = TensorDataset(*_data(50))
    a = [p.indices for p in random_split(ds, [0.8, 0.2], seed=3)]
    b = [p.indices for p in random_split(ds, [0.8, 0.2], seed=3)]
    c = [p.indices for p in random_split(ds, [0.8, 0.2], seed=4)]
    assert a == b and a != c
    tm.manual_seed(5)
    d = [p.indices for p in random_split(ds, [40, 10])]
    tm.manual_seed(5)
    assert d == [p.indices for p in random_split(ds, [40, 10])]


def test_random_split_errors():
    ds = TensorDataset(*_data(10))
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\) does not equal .* \(10\)"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [12, -2])
    with pytest.raises(TypeError, match="ints or fractions"):
        random_split(ds, ["a"])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(TensorDataset(*_data(2)), [0.9, 0.1])


def test_loader_without_shuffle_keeps_order_and_sizes(device):
    x, y = _data(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, device=device)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert isinstance(batches[0], list) and all(isinstance(t, tm.Tensor) for t in batches[0])
    assert batches[0][0].device == backend.parse_device(device)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[1].numpy(force=True) for b in batches]), y)
    dropped = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(b[1]) for b in dropped] == [4, 4]


def test_shuffle_is_reproducible_new_each_epoch_and_resumable():
    x, y = _data(20)
    ds = TensorDataset(x, y)

    def orders(loader, epochs):
        return [
            np.concatenate([b[1].numpy(force=True).copy() for b in loader]) for _ in range(epochs)
        ]

    run1 = orders(DataLoader(ds, batch_size=6, shuffle=True, seed=7), 3)
    run2 = orders(DataLoader(ds, batch_size=6, shuffle=True, seed=7), 3)
    assert all(np.array_equal(a, b) for a, b in zip(run1, run2, strict=True))
    assert not np.array_equal(run1[0], run1[1])  # a new permutation each epoch
    assert all(sorted(o) == list(range(20)) for o in run1)
    assert not np.array_equal(run1[0], orders(DataLoader(ds, 6, True, seed=8), 1)[0])

    resumed = DataLoader(ds, batch_size=6, shuffle=True, seed=7)
    resumed.set_epoch(2)
    assert np.array_equal(orders(resumed, 1)[0], run1[2])
    assert resumed.epoch == 3

    original = DataLoader(ds, batch_size=6, shuffle=True, seed=7)
    next(iter(original))  # an epoch that was abandoned early still counts
    state = original.state_dict()
    other = DataLoader(ds, batch_size=6, shuffle=True, seed=99)
    other.load_state_dict(state)
    assert np.array_equal(orders(other, 1)[0], run1[1])


def test_seed_none_follows_manual_seed():
    ds = TensorDataset(*_data(30))
    tm.manual_seed(11)
    a = np.concatenate([b[1].numpy(force=True).copy() for b in DataLoader(ds, 8, shuffle=True)])
    tm.manual_seed(11)
    b = np.concatenate([b[1].numpy(force=True).copy() for b in DataLoader(ds, 8, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_batch_fast_path_never_calls_getitem_and_matches_slow_path(device):
    x, y = _data(25)
    CountingDataset.calls = 0
    fast = DataLoader(CountingDataset(x, y), batch_size=8, shuffle=True, seed=1, device=device)
    slow = DataLoader(PlainDataset(x, y), batch_size=8, shuffle=True, seed=1, device=device)
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(fx.numpy(force=True), sx.numpy(force=True))
        np.testing.assert_array_equal(fy.numpy(force=True), sy.numpy(force=True))
        assert fx.device == sx.device == backend.parse_device(device)
    assert CountingDataset.calls == 0
    # Subsets of an array-backed dataset keep the fast path
    train, _ = random_split(CountingDataset(x, y), [20, 5], seed=0)
    list(DataLoader(train, batch_size=8))
    assert CountingDataset.calls == 0


def test_one_device_copy_per_batch_array(monkeypatch):
    x, y = _data(20)
    calls = []
    real = backend.to_device
    monkeypatch.setattr(backend, "to_device", lambda a, d: calls.append(a.shape) or real(a, d))
    list(DataLoader(TensorDataset(x, y), batch_size=8))
    assert calls == [(8, 2), (8,), (8, 2), (8,), (4, 2), (4,)]  # whole batches, never samples
    calls.clear()
    list(DataLoader(PlainDataset(x, y), batch_size=8))
    assert calls == [(8, 2), (8,), (8, 2), (8,), (4, 2), (4,)]


def test_default_collate_follows_pytorch():
    batch = default_collate([{"a": 1, "b": 2.5, "c": "x"}, {"a": 2, "b": 3.5, "c": "y"}])
    assert batch["a"].dtype == np.int64 and batch["b"].dtype == np.float64
    assert batch["c"] == ["x", "y"]
    pairs = default_collate([(np.zeros(3, np.float32), True), (np.ones(3, np.float32), False)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 3) and pairs[1].dtype == np.bool_
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])


def test_custom_collate_fn():
    x, y = _data(6)
    loader = DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=lambda s: len(s))
    assert list(loader) == [3, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size should be a positive integer"),
        ({"batch_size": 2.0}, ValueError, "batch_size"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be a bool"),
        ({"seed": -1}, ValueError, "Invalid seed value: -1"),
        ({"seed": "1"}, TypeError, "seed must be an int"),
        ({"drop_last": "False"}, TypeError, "drop_last must be a bool"),
        ({"num_workers": True}, TypeError, "num_workers must be an int"),
        ({"device": "tpu"}, ValueError, "Invalid device"),
        ({"num_workers": -1}, ValueError, "num_workers"),
        ({"collate_fn": 3}, TypeError, "collate_fn must be callable"),
    ],
)
def test_loader_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(*_data()), **kwargs)


def test_loader_misc_errors():
    loader = DataLoader(TensorDataset(*_data()), batch_size=2)
    with pytest.raises(ValueError, match="Invalid epoch value"):
        loader.set_epoch(-1)
    with pytest.raises(ValueError, match="keys 'seed' and 'epoch'"):
        loader.load_state_dict({"epoch": 1})
    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader(5)
    with pytest.warns(UserWarning, match="main process"):
        DataLoader(TensorDataset(*_data()), num_workers=2)


def test_cuda_without_cupy_fails_at_construction():
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="CuPy"):
        DataLoader(TensorDataset(*_data()), device="cuda")
