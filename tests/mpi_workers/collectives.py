"""Run under mpiexec: every collective against values computed by hand, on every rank.

Prints "rank R: ok" at the end; any failure aborts the job with the failing rank's traceback.
"""

import numpy as np

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist
from tinygrad_mom.data import DataLoader, DistributedSampler, TensorDataset

R = dist.ReduceOp


def base(dtype):
    return np.arange(1, 7).reshape(2, 3).astype(dtype)


def check_all_reduce(rank, world):
    ranks = np.arange(world)
    for dtype in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8):
        values = [base(dtype) + int(r) for r in ranks]  # rank r holds base + r
        expected = {
            R.SUM: sum(values),
            R.PRODUCT: np.prod(values, axis=0),
            R.MIN: values[0],
            R.MAX: values[-1],
        }
        if np.dtype(dtype).kind == "f":
            expected[R.AVG] = sum(values) / world
        else:
            expected[R.BAND] = np.bitwise_and.reduce(values)
            expected[R.BOR] = np.bitwise_or.reduce(values)
            expected[R.BXOR] = np.bitwise_xor.reduce(values)
        for op, want in expected.items():
            t = tm.tensor(values[rank])
            array = t.array
            dist.all_reduce(t, op=op)
            assert t.array is array, "all_reduce must work in place"
            assert t.dtype == np.dtype(dtype)
            assert np.array_equal(t.numpy(force=True), want.astype(dtype)), (
                dtype,
                op,
                t.numpy(force=True),
                want,
            )
    flags = tm.tensor([rank == 0, True, False])
    dist.all_reduce(flags)  # bools: SUM is "any", as in PyTorch
    assert flags.numpy(force=True).tolist() == [True, True, False]
    flags = tm.tensor([rank == 0, True, False])
    dist.all_reduce(flags, op=R.MIN)
    assert flags.numpy(force=True).tolist() == [world == 1, True, False]
    # a non-contiguous view is reduced through a copy and written back into the same array
    t = tm.tensor(base(np.float64) + rank).T
    dist.all_reduce(t)
    assert np.array_equal(t.numpy(force=True), (world * base(np.float64) + ranks.sum()).T)
    # 0-d and empty tensors
    t = tm.tensor(float(rank))
    dist.all_reduce(t, op=R.MAX)
    assert t.item() == world - 1
    t = tm.zeros(0, 3)
    dist.all_reduce(t)
    assert t.shape == (0, 3)


def check_broadcast_reduce_gather(rank, world):
    for src in range(world):
        t = tm.tensor(base(np.float32) * (rank + 1))
        dist.broadcast(t, src)
        assert np.array_equal(t.numpy(force=True), base(np.float32) * (src + 1))
    dst = world - 1
    t = tm.tensor(base(np.int64) + rank)
    dist.reduce(t, dst)
    if rank == dst:
        assert np.array_equal(t.numpy(force=True), world * base(np.int64) + sum(range(world)))
    else:
        assert np.array_equal(t.numpy(force=True), base(np.int64) + rank), (
            "non-dst ranks stay unchanged"
        )
    out = [tm.zeros(2, 3, dtype=tm.float64) for _ in range(world)]
    dist.all_gather(out, tm.tensor(base(np.float64) * rank))
    for r, o in enumerate(out):
        assert np.array_equal(o.numpy(force=True), base(np.float64) * r)
    objects = [None] * world
    dist.all_gather_object(objects, {"rank": rank, "name": "x" * rank})
    assert objects == [{"rank": r, "name": "x" * r} for r in range(world)]
    items = [rank, f"from {rank}"]
    dist.broadcast_object_list(items, src=world - 1)
    assert items == [world - 1, f"from {world - 1}"]


def check_async(rank, world):
    a, b = tm.ones(4) * rank, tm.ones(4) * 2 * rank
    works = [dist.all_reduce(a, async_op=True), dist.all_reduce(b, async_op=True)]
    assert all(isinstance(w, dist.Work) for w in works)
    assert all(w.wait() for w in works) and all(w.is_completed() for w in works)
    total = sum(range(world))
    assert np.array_equal(a.numpy(force=True), np.full(4, total, np.float32))
    assert np.array_equal(b.numpy(force=True), np.full(4, 2 * total, np.float32))
    dist.barrier(async_op=True).wait()


def check_sampler(rank, world):
    """The default-rank sampler's shards are disjoint, cover the dataset and feed DataLoader."""
    n = 23
    for shuffle in (False, True):
        for drop_last in (False, True):
            sampler = DistributedSampler(range(n), shuffle=shuffle, drop_last=drop_last)
            assert (sampler.num_replicas, sampler.rank) == (world, rank)
            sampler.set_epoch(3)
            mine = sampler.indices()
            shards = [None] * world
            dist.all_gather_object(shards, mine.tolist())
            assert all(len(s) == len(sampler) for s in shards)
            flat = [i for s in shards for i in s]
            if drop_last:
                assert len(set(flat)) == len(flat) == (n // world) * world  # disjoint
            else:
                assert set(flat) == set(range(n))  # covering; the only repeats are padding
                assert len(flat) - len(set(flat)) == -n % world
    x = tm.arange(n, dtype=tm.float64)
    sampler = DistributedSampler(TensorDataset(x), shuffle=True, seed=5)
    loader = DataLoader(TensorDataset(x), batch_size=4, sampler=sampler)
    seen = np.concatenate([xb.numpy(force=True) for (xb,) in loader]).astype(np.int64)
    assert seen.tolist() == sampler.indices().tolist()


if __name__ == "__main__":
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert 0 <= dist.get_node_local_rank() < world
    check_all_reduce(rank, world)
    check_broadcast_reduce_gather(rank, world)
    check_async(rank, world)
    check_sampler(rank, world)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group("mpi")  # a second group after destroy works
    t = tm.ones(2)
    dist.all_reduce(t)
    assert t.numpy(force=True).tolist() == [world, world]
    print(f"rank {rank}: ok", flush=True)
    dist.destroy_process_group()
