"""tm.Generator, the torch.utils.data samplers, and ``generator=`` on random_split and DataLoader
(re-testing tutorial scripts: ``random_split(ds, [0.8, 0.2], generator=torch.Generator()
.manual_seed(42))``, ``DataLoader(ds, sampler=RandomSampler(ds))``)."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

try:
    import torch
except ImportError:
    torch = None


def _ds(n=10):
    return TensorDataset(tm.arange(n), tm.arange(n) * 10)


def test_generator_seeds_chain_and_are_independent_of_the_global_one():
    g = tm.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == "cpu"
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    a = list(RandomSampler(_ds(), generator=tm.Generator().manual_seed(7)))
    tm.manual_seed(0)
    b = list(RandomSampler(_ds(), generator=tm.Generator().manual_seed(7)))
    assert a == b and sorted(a) == list(range(10))
    state = g.get_state()
    first = list(RandomSampler(_ds(), generator=g))
    g.set_state(state)
    assert list(RandomSampler(_ds(), generator=g)) == first
    assert isinstance(tm.Generator().seed(), int)
    assert tm.Generator(device="cuda").device == "cuda"  # accepted; draws happen on the host
    if torch is not None:
        assert torch.Generator().initial_seed() == tm.Generator().initial_seed()
    with pytest.raises(TypeError, match="seed must be an int"):
        tm.Generator().manual_seed(1.5)


def test_random_split_takes_a_generator():
    ds = _ds(50)
    a = [list(p.indices) for p in random_split(ds, [0.8, 0.2], tm.Generator().manual_seed(42))]
    b = [list(p.indices) for p in random_split(ds, [0.8, 0.2],
                                                  generator=tm.Generator().manual_seed(42))]
    c = [list(p.indices) for p in random_split(ds, [40, 10],
                                                  generator=tm.Generator().manual_seed(43))]
    assert a == b != c and [len(p) for p in a] == [40, 10]
    assert sorted(a[0] + a[1]) == list(range(50))
    with pytest.raises(TypeError, match="generator must be a tm.Generator or None, got int"):
        random_split(ds, [0.5, 0.5], 3)
    with pytest.raises(ValueError, match="generator or seed, not both"):
        random_split(ds, [0.5, 0.5], tm.Generator(), seed=1)


def test_sequential_random_and_subset_samplers():
    ds = _ds(6)
    assert list(SequentialSampler(ds)) == list(range(6)) and len(SequentialSampler(ds)) == 6
    tm.manual_seed(3)
    r = RandomSampler(ds)
    first, second = list(r), list(r)
    assert sorted(first) == sorted(second) == list(range(6)) and len(r) == 6
    assert first != second or sorted(first) == first  # a new order per iteration
    more = list(RandomSampler(ds, num_samples=14))
    assert len(more) == 14 and all(more.count(i) >= 2 for i in range(6))
    with_repl = list(RandomSampler(ds, replacement=True, num_samples=20))
    assert len(with_repl) == 20 and set(with_repl) <= set(range(6))
    sub = SubsetRandomSampler([5, 1, 3])
    assert sorted(sub) == [1, 3, 5] and len(sub) == 3
    with pytest.raises(TypeError, match="replacement must be a bool"):
        RandomSampler(ds, replacement=1)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(ds, num_samples=0)


def test_weighted_random_sampler():
    tm.manual_seed(0)
    drawn = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    counts = np.bincount(drawn, minlength=3)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.5 and len(drawn) == 4000
    unique = list(WeightedRandomSampler(tm.tensor([1.0, 1.0, 1.0, 0.0]), 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([-1.0, 1.0], 2)
    with pytest.raises(ValueError, match="cannot exceed"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_batch_sampler_matches_torch():
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(range(10)), 3, drop_last))
        assert ours == ([[0, 1, 2], [3, 4, 5], [6, 7, 8]] + ([] if drop_last else [[9]]))
        assert len(BatchSampler(range(10), 3, drop_last)) == len(ours)
        if torch is not None:
            theirs = list(torch.utils.data.BatchSampler(range(10), 3, drop_last))
            assert ours == theirs


def test_dataloader_takes_samplers_generator_and_torchs_worker_arguments():
    ds = _ds(8)
    loader = DataLoader(ds, batch_size=4, sampler=SubsetRandomSampler([0, 2, 4, 6]))
    (xb, yb), = list(loader)
    assert sorted(xb.tolist()) == [0, 2, 4, 6] and (yb == xb * 10).all().item()
    a = [b[0].tolist() for b in DataLoader(ds, 4, True, generator=tm.Generator().manual_seed(1))]
    b = [b[0].tolist() for b in DataLoader(ds, 4, True, generator=tm.Generator().manual_seed(1))]
    assert a == b
    loader = DataLoader(ds, batch_size=4, persistent_workers=False, prefetch_factor=None,
                        timeout=0, worker_init_fn=None, pin_memory_device="")
    assert len(loader) == 2
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(ds, worker_init_fn=3)
    with pytest.raises(ValueError, match="generator or seed, not both"):
        DataLoader(ds, generator=tm.Generator(), seed=1)


def test_a_custom_sampler_subclass():
    class EvenFirst(Sampler):
        def __init__(self, data_source):
            super().__init__(data_source)
            self.n = len(data_source)

        def __iter__(self):
            return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

        def __len__(self):
            return self.n

    batches = [x.tolist() for x, _ in DataLoader(_ds(5), batch_size=5, sampler=EvenFirst(_ds(5)))]
    assert batches == [[0, 2, 4, 1, 3]]
    with pytest.raises(NotImplementedError):
        iter(Sampler())
