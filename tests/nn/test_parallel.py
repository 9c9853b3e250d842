"""DistributedDataParallel in one process (world size 1); several ranks: test_distributed.py."""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist
from tinygrad_mom.nn.parallel import DistributedDataParallel as DDP

pytestmark = pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py is not installed")


@pytest.fixture(autouse=True)
def group():
    dist.init_process_group("mpi")
    yield
    dist.destroy_process_group()


def mlp():
    return tm.nn.Sequential(tm.nn.Linear(4, 6), tm.nn.Tanh(), tm.nn.Linear(6, 2)).double()


def test_exposed_as_tm_nn_parallel():
    assert tm.nn.parallel.DistributedDataParallel is DDP


def test_forward_passthrough_module_and_prefixed_state_dict():
    model = mlp()
    ddp = DDP(model)
    assert ddp.module is model
    x = tm.randn(3, 4, dtype=tm.float64)
    assert np.array_equal(ddp(x).numpy(force=True), model(x).numpy(force=True))
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    assert [id(p) for p in ddp.parameters()] == [id(p) for p in model.parameters()]
    fresh = DDP(mlp())
    fresh.load_state_dict(ddp.state_dict())
    assert all(
        np.array_equal(a.numpy(force=True), b.numpy(force=True))
        for a, b in zip(fresh.parameters(), model.parameters())
    )
    ddp.eval()
    assert not model.training


def test_training_at_world_size_one_equals_plain_training():
    tm.manual_seed(1)
    plain = mlp()
    tm.manual_seed(1)
    wrapped = DDP(mlp())
    opts = [tm.optim.Adam(m.parameters(), lr=0.01) for m in (plain, wrapped)]
    x, y = tm.randn(8, 4, dtype=tm.float64), tm.randn(8, 2, dtype=tm.float64)
    for _ in range(3):
        for m, opt in zip((plain, wrapped), opts):
            opt.zero_grad()
            tm.nn.MSELoss()(m(x), y).backward()
            opt.step()
    for p, q in zip(plain.parameters(), wrapped.parameters()):
        assert np.array_equal(p.numpy(force=True), q.numpy(force=True))


def test_buckets_follow_the_size_cap_in_reverse_order():
    model = tm.nn.Sequential(*[tm.nn.Linear(64, 64) for _ in range(4)])  # 16640 B per layer
    ddp = DDP(model, bucket_cap_mb=16640 / 2**20)
    names = [b.names for b in ddp._buckets]
    assert names[0] == ["3.bias", "3.weight"]  # the last layer's gradients arrive first
    assert sum(len(n) for n in names) == 8 and len(names) == 4
    assert len(DDP(model)._buckets) == 1  # 25 MiB by default: one all-reduce


def test_an_unused_parameter_is_an_error_unless_allowed():
    class Partly(tm.nn.Module):
        def __init__(self):
            super().__init__()
            self.used = tm.nn.Linear(2, 2)
            self.spare = tm.nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    ddp = DDP(Partly())
    with pytest.raises(RuntimeError, match="spare.weight, spare.bias.*find_unused_parameters"):
        ddp(tm.ones(1, 2)).sum().backward()
    model = Partly()
    ddp = DDP(model, find_unused_parameters=True)
    ddp(tm.ones(1, 2)).sum().backward()
    assert model.spare.weight.grad is None and model.used.weight.grad is not None


def test_no_sync_and_backward_without_ddp_forward_do_not_reduce():
    ddp = DDP(mlp())
    with ddp.no_sync():
        ddp(tm.ones(2, 4, dtype=tm.float64)).sum().backward()
    assert not ddp._armed and ddp.require_backward_grad_sync
    ddp.module(tm.ones(2, 4, dtype=tm.float64)).sum().backward()  # around the wrapper: local
    assert not ddp._armed


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"module": "model"}, TypeError, "module must be a tinygrad_mom nn.Module"),
        ({"module": tm.nn.ReLU()}, RuntimeError, "doesn't have any parameter"),
        ({"dim": 1}, ValueError, "dim must be 0"),
        ({"bucket_cap_mb": 0}, ValueError, "bucket_cap_mb must be positive"),
        ({"bucket_cap_mb": "25"}, TypeError, "bucket_cap_mb must be a number"),
        ({"broadcast_buffers": 1}, TypeError, "broadcast_buffers must be a bool"),
        ({"gradient_as_bucket_view": True}, NotImplementedError, "gradient_as_bucket_view"),
        ({"device_ids": [0]}, ValueError, "the module's parameters are on cpu"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    kwargs.setdefault("module", mlp())
    with pytest.raises(error, match=message):
        DDP(**kwargs)


def test_a_dropped_wrapper_leaves_no_hooks_behind():
    import gc

    model = mlp()
    ddp = DDP(model)
    del ddp
    gc.collect()
    assert all(not p._post_hooks for p in model.parameters())


# --- SyncBatchNorm in one process: a BatchNorm (several ranks: mpi_workers/ddp_equivalence.py)
@pytest.mark.parametrize(
    "shape, plain",
    [
        ((6, 3), tm.nn.BatchNorm1d),
        ((6, 3, 4), tm.nn.BatchNorm1d),
        ((4, 3, 2, 2), tm.nn.BatchNorm2d),
    ],
)
def test_sync_batchnorm_of_one_rank_is_batchnorm(shape, plain):
    x = tm.randn(*shape, dtype=tm.float64)
    sync, ref = tm.nn.SyncBatchNorm(3).double(), plain(3).double()
    for m in (sync, ref):
        m.train()
    assert np.array_equal(sync(x).numpy(force=True), ref(x).numpy(force=True))
    assert np.array_equal(sync.running_var.numpy(force=True), ref.running_var.numpy(force=True))
    sync.eval(), ref.eval()
    assert np.array_equal(sync(x).numpy(force=True), ref(x).numpy(force=True))


def test_convert_sync_batchnorm_keeps_the_parameters_and_buffers():
    model = tm.nn.Sequential(tm.nn.Conv2d(1, 2, 3), tm.nn.BatchNorm2d(2), tm.nn.ReLU())
    bn = model[1]
    converted = tm.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model and isinstance(model[1], tm.nn.SyncBatchNorm)
    assert model[1].weight is bn.weight and model[1].running_mean is bn.running_mean
    assert isinstance(model[0], tm.nn.Conv2d)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: tm.nn.SyncBatchNorm(3)(tm.ones(3)), ValueError, "expected at least 2D input"),
        (lambda: tm.nn.SyncBatchNorm(3, process_group=object()), ValueError, "default process"),
        (lambda: tm.nn.SyncBatchNorm(0), ValueError, "num_features"),
    ],
)
def test_sync_batchnorm_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()
