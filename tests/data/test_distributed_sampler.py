"""DistributedSampler: PyTorch's lengths, padding and dealing; shards disjoint and covering."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.data import DataLoader, DistributedSampler, TensorDataset


def shards(n, world, **kwargs):
    return [
        DistributedSampler(range(n), num_replicas=world, rank=r, **kwargs) for r in range(world)
    ]


@pytest.mark.parametrize("n", [0, 1, 5, 12, 23])
@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_same_indices_as_pytorch_without_shuffle(n, world, drop_last):
    torch_data = pytest.importorskip("torch.utils.data.distributed")
    for r, sampler in enumerate(shards(n, world, shuffle=False, drop_last=drop_last)):
        theirs = torch_data.DistributedSampler(
            range(n), num_replicas=world, rank=r, shuffle=False, drop_last=drop_last
        )
        assert list(sampler) == list(theirs)
        assert len(sampler) == len(theirs) and sampler.total_size == theirs.total_size


@pytest.mark.parametrize("n, world", [(23, 2), (23, 4), (3, 5), (10, 5)])
def test_shuffled_shards_are_disjoint_and_cover_the_dataset(n, world):
    for epoch in (0, 1):
        parts = shards(n, world, seed=7)
        for s in parts:
            s.set_epoch(epoch)
        flat = np.concatenate([s.indices() for s in parts])
        assert len({len(s.indices()) for s in parts}) == 1
        assert set(flat.tolist()) == set(range(n))
        padded = len(flat) - n
        assert padded == (-n) % world if n >= world else len(flat) - n
        dropped = np.concatenate([s.indices() for s in shards(n, world, seed=7, drop_last=True)])
        assert len(set(dropped.tolist())) == len(dropped) == (n // world) * world


def test_the_order_depends_on_seed_and_epoch_only():
    a, b = DistributedSampler(range(50), 2, 0, seed=3), DistributedSampler(range(50), 2, 0, seed=3)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    a.set_epoch(1)
    assert list(a) == list(b)
    assert list(DistributedSampler(range(50), 2, 0, seed=4)) != list(
        DistributedSampler(range(50), 2, 0, seed=3)
    )


def test_padding_repeats_the_order_when_the_dataset_is_smaller_than_the_world():
    got = [list(s) for s in shards(2, 5, shuffle=False)]
    assert got == [[0], [1], [0], [1], [0]]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"num_replicas": 2, "rank": 2},
            ValueError,
            r"Invalid rank 2, rank should be in the interval \[0, 1\]",
        ),
        ({"num_replicas": 2, "rank": -1}, ValueError, "Invalid rank -1"),
        ({"num_replicas": 0, "rank": 0}, ValueError, "num_replicas must be >= 1"),
        ({"num_replicas": 2.0, "rank": 0}, TypeError, "num_replicas must be an int"),
        ({"num_replicas": 2, "rank": 0, "shuffle": "yes"}, TypeError, "shuffle must be a bool"),
        ({"num_replicas": 2, "rank": 0, "seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        DistributedSampler(range(4), **kwargs)


def test_set_epoch_checks_its_argument():
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        DistributedSampler(range(4), 2, 0).set_epoch(-1)


def test_without_a_process_group_num_replicas_is_required():
    with pytest.raises((ValueError, RuntimeError), match="process group|distributed package"):
        DistributedSampler(range(4))


def test_dataloader_batches_the_samplers_indices():
    x = tm.arange(10, dtype=tm.float64)
    sampler = DistributedSampler(TensorDataset(x), num_replicas=3, rank=1, seed=2)
    loader = DataLoader(TensorDataset(x), batch_size=2, sampler=sampler)
    assert len(loader) == 2
    got = np.concatenate([xb.numpy(force=True) for (xb,) in loader]).astype(int).tolist()
    assert got == list(sampler)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(TensorDataset(x), shuffle=True, sampler=sampler)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices"):
        DataLoader(TensorDataset(x), sampler=3)
