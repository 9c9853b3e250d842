"""Run under mpiexec: DDP on shares of each batch equals one process on the whole batches.

Every rank also trains a single-process reference on the full batches, so the comparison
needs no second launch. Prints "rank R: ok" at the end; any failure aborts the job.
"""

import numpy as np

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist
from tinygrad_mom.nn.parallel import DistributedDataParallel as DDP

STEPS = 10
BATCH = 12  # divisible by 1, 2, 3, 4 ranks


def make_model(seed):
    tm.manual_seed(seed)
    return tm.nn.Sequential(
        tm.nn.Linear(5, 7), tm.nn.Tanh(), tm.nn.Linear(7, 7), tm.nn.ReLU(), tm.nn.Linear(7, 3)
    ).double()


def data():
    rng = np.random.default_rng(123)
    x = rng.standard_normal((STEPS, BATCH, 5))
    y = rng.standard_normal((STEPS, BATCH, 3))
    return x, y


def gathered(model):
    """Every rank's flat parameters (to check that the replicas are identical)."""
    flat = tm.tensor(np.concatenate([p.numpy(force=True).ravel() for p in model.parameters()]))
    out = [tm.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(out, flat)
    return [o.numpy(force=True) for o in out]


def check_training(make_optimizer, name):
    rank, world = dist.get_rank(), dist.get_world_size()
    share = BATCH // world
    x, y = data()
    reference = make_model(0)
    ref_opt = make_optimizer(reference.parameters())
    # a different initialisation on the other ranks: DDP must copy rank 0's
    model = DDP(make_model(0 if rank == 0 else 100 + rank))
    opt = make_optimizer(model.parameters())
    loss_fn = tm.nn.MSELoss()
    for step in range(STEPS):
        xs, ys = x[step], y[step]
        ref_opt.zero_grad()
        loss_fn(reference(tm.tensor(xs)), tm.tensor(ys)).backward()
        ref_opt.step()
        lo, hi = rank * share, (rank + 1) * share
        opt.zero_grad()
        loss_fn(model(tm.tensor(xs[lo:hi])), tm.tensor(ys[lo:hi])).backward()
        opt.step()
        for p, q in zip(model.module.parameters(), reference.parameters()):
            err = np.abs(p.numpy(force=True) - q.numpy(force=True)).max()
            assert err <= 1e-10, f"{name} step {step}: rank {rank} differs by {err}"
        everyone = gathered(model.module)
        for r, other in enumerate(everyone):
            assert np.array_equal(other, everyone[0]), f"{name} step {step}: rank {r} differs"


def check_no_sync():
    """Two half-batch micro-steps, the first in no_sync, equal one full-batch step."""
    rank, world = dist.get_rank(), dist.get_world_size()
    x, y = data()
    xs, ys = x[0], y[0]
    reference = make_model(0)
    tm.nn.MSELoss()(reference(tm.tensor(xs)), tm.tensor(ys)).backward()
    model = DDP(make_model(0))
    share = BATCH // world
    mine = slice(rank * share, (rank + 1) * share)
    xm, ym = xs[mine], ys[mine]
    half = share // 2
    with model.no_sync():
        (tm.nn.MSELoss()(model(tm.tensor(xm[:half])), tm.tensor(ym[:half])) / 2).backward()
    local = [p.grad.numpy(force=True).copy() for p in model.module.parameters()]
    (tm.nn.MSELoss()(model(tm.tensor(xm[half:])), tm.tensor(ym[half:])) / 2).backward()
    for p, q in zip(model.module.parameters(), reference.parameters()):
        assert np.abs(p.grad.numpy(force=True) - q.grad.numpy(force=True)).max() <= 1e-12
    # the no_sync backward really stayed local: rank 0's first half alone differs
    assert any(
        not np.allclose(a, q.grad.numpy(force=True)) for a, q in zip(local, reference.parameters())
    )


class TwoHeads(tm.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = tm.nn.Linear(4, 4)
        self.unused = tm.nn.Linear(4, 2)

    def forward(self, x):
        return self.body(x)


def check_unused_parameters():
    rank = dist.get_rank()
    model = DDP(TwoHeads())
    try:
        model(tm.ones(2, 4)).sum().backward()
    except RuntimeError as exc:
        assert "unused.weight" in str(exc) and "find_unused_parameters=True" in str(exc), exc
    else:
        raise AssertionError("an unused parameter was not reported")
    model = DDP(TwoHeads(), find_unused_parameters=True)
    model(tm.ones(2, 4) * (rank + 1)).sum().backward()
    assert model.module.unused.weight.grad is None
    expected = np.full((4, 4), (1 + dist.get_world_size()) / 2 * 2.0)  # mean over ranks of 2*(r+1)
    assert np.allclose(model.module.body.weight.grad.numpy(force=True), expected)


def check_model_mismatch():
    rank = dist.get_rank()
    model = tm.nn.Linear(3, 4 if rank == 0 else 5)
    try:
        DDP(model)
    except RuntimeError as exc:
        assert "same model on every rank" in str(exc) and "weight" in str(exc), exc
    else:
        raise AssertionError("different models were accepted")


def check_buffers_follow_rank_0():
    rank, world = dist.get_rank(), dist.get_world_size()
    bn = tm.nn.Sequential(tm.nn.Linear(3, 3), tm.nn.BatchNorm1d(3))
    model = DDP(bn)
    model(tm.randn(6, 3) + 3.0 * rank).sum().backward()
    # local batch statistics moved each rank's running mean differently ...
    before = [tm.zeros(3) for _ in range(world)]
    dist.all_gather(before, bn[1].running_mean)
    assert not np.allclose(before[0].numpy(force=True), before[-1].numpy(force=True))
    # ... and the next forward starts from rank 0's (eval: the forward leaves them as they are)
    model.eval()
    model(tm.randn(6, 3))
    assert np.array_equal(bn[1].running_mean.numpy(force=True), before[0].numpy(force=True)), rank


def check_sync_batchnorm():
    """SyncBatchNorm on half batches equals BatchNorm on the full batch: outputs, gradients,
    running statistics, and 10 DDP training steps."""
    rank, world = dist.get_rank(), dist.get_world_size()
    share = BATCH // world
    mine = slice(rank * share, (rank + 1) * share)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((BATCH, 3, 4))
    g = rng.standard_normal((BATCH, 3, 4))
    ref, sync = tm.nn.BatchNorm1d(3).double(), tm.nn.SyncBatchNorm(3).double()
    for m in (ref, sync):
        with tm.no_grad():
            m.weight.copy_(tm.tensor([0.5, 1.5, -1.0], dtype=tm.float64))
    xr, xs = tm.tensor(x, requires_grad=True), tm.tensor(x[mine], requires_grad=True)
    yr, ys = ref(xr), sync(xs)
    assert np.abs(ys.numpy(force=True) - yr.numpy(force=True)[mine]).max() <= 1e-12
    (yr * tm.tensor(g)).sum().backward()
    (ys * tm.tensor(g[mine])).sum().backward()
    assert np.abs(xs.grad.numpy(force=True) - xr.grad.numpy(force=True)[mine]).max() <= 1e-12
    # the weight gradient is this rank's part; the ranks' parts sum to the whole batch's
    total = sync.weight.grad.clone()
    dist.all_reduce(total)
    assert np.abs(total.numpy(force=True) - ref.weight.grad.numpy(force=True)).max() <= 1e-12
    for name in ("running_mean", "running_var"):
        a, b = getattr(sync, name).numpy(force=True), getattr(ref, name).numpy(force=True)
        assert np.abs(a - b).max() <= 1e-12, name

    def net(norm):
        tm.manual_seed(4)
        return tm.nn.Sequential(
            tm.nn.Linear(5, 6), norm(6), tm.nn.Tanh(), tm.nn.Linear(6, 3)
        ).double()

    reference = net(tm.nn.BatchNorm1d)
    model = DDP(tm.nn.SyncBatchNorm.convert_sync_batchnorm(net(tm.nn.BatchNorm1d)))
    assert isinstance(model.module[1], tm.nn.SyncBatchNorm)
    opts = [tm.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (reference, model)]
    xs, ys = data()
    for step in range(STEPS):
        for m, opt, part in ((reference, opts[0], slice(None)), (model, opts[1], mine)):
            opt.zero_grad()
            out = m(tm.tensor(xs[step][part]))
            tm.nn.MSELoss()(out, tm.tensor(ys[step][part])).backward()
            opt.step()
    for (name, a), b in zip(model.module.state_dict().items(), reference.state_dict().values()):
        assert np.abs(a.numpy(force=True) - b.numpy(force=True)).max() <= 1e-10, name


def check_state_dict_round_trip(tmpdir):
    rank = dist.get_rank()
    model = DDP(make_model(0))
    state = model.state_dict()
    assert all(k.startswith("module.") for k in state), list(state)
    path = f"{tmpdir}/ddp.safetensors"
    if rank == 0:
        tm.save(state, path)
    dist.barrier()
    fresh = DDP(make_model(7))
    fresh.load_state_dict(tm.load(path))
    for p, q in zip(fresh.parameters(), model.parameters()):
        assert np.array_equal(p.numpy(force=True), q.numpy(force=True))


if __name__ == "__main__":
    import sys

    dist.init_process_group("mpi")
    check_training(lambda ps: tm.optim.SGD(ps, lr=0.1, momentum=0.9), "SGD momentum")
    check_training(lambda ps: tm.optim.Adam(ps, lr=0.01), "Adam")
    check_no_sync()
    check_unused_parameters()
    check_model_mismatch()
    check_buffers_follow_rank_0()
    check_sync_batchnorm()
    check_state_dict_round_trip(sys.argv[1])
    print(f"rank {dist.get_rank()}: ok", flush=True)
    dist.destroy_process_group()
