"""tinygrad_mom.distributed: argument checks in this process (world size 1), and real jobs.

The multi-process tests start ``mpiexec -n 2 python tests/mpi_workers/<script>.py`` as a
subprocess, so the README's single ``python -m pytest`` runs them; they skip, with the reason,
only where mpi4py or mpiexec is missing.
"""

import datetime
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKERS = pathlib.Path(__file__).resolve().parent / "mpi_workers"


def _mpiexec():
    """mpiexec next to this Python (the mpich wheel in a venv), else the one on PATH."""
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


MPI_SKIP = None if dist.is_mpi_available() else 'mpi4py is not installed (pip install ".[dist]")'
MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(MPI_SKIP is not None, reason=str(MPI_SKIP))
needs_mpiexec = pytest.mark.skipif(
    MPI_SKIP is not None or MPIEXEC is None,
    reason=str(MPI_SKIP or 'no mpiexec found (pip install ".[dist]" brings the mpich wheel)'),
)


def run_mpi(script: str, *args, n: int = 2, timeout: float = 120):
    """Run a worker under ``mpiexec -n n``; a hang fails the test instead of blocking CI."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # n ranks share the cores: one BLAS thread each
    cmd = [MPIEXEC, "-n", str(n), sys.executable, str(WORKERS / script), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def group():
    """A world-size-1 process group in this process, destroyed afterwards."""
    if MPI_SKIP:
        pytest.skip(MPI_SKIP)
    dist.init_process_group("mpi")
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


# --- before a group exists ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        dist.get_rank,
        dist.get_world_size,
        dist.get_backend,
        dist.barrier,
        dist.destroy_process_group,
        lambda: dist.all_reduce(tm.ones(2)),
        lambda: dist.broadcast(tm.ones(2), 0),
        lambda: tm.nn.parallel.DistributedDataParallel(tm.nn.Linear(2, 2)),
    ],
)
def test_without_a_process_group_the_calls_raise_pytorchs_error(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        call()


def test_missing_mpi4py_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert not dist.is_available()
    with pytest.raises(ImportError, match=r'pip install "tinygrad_mom\[dist\]"'):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


@needs_mpi
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"backend": "gloo"}, ValueError, "backend must be 'mpi' or 'nccl'"),
        ({"backend": 3}, ValueError, "backend must be"),
        ({"init_method": "tcp://10.0.0.1:23456"}, ValueError, "does the rendezvous"),
        ({"world_size": 4}, ValueError, "started 1 process"),
        ({"rank": 1}, ValueError, "gave this process rank 0"),
        ({"rank": 0.5}, TypeError, "rank must be an int"),
        ({"timeout": -1}, ValueError, "timeout must be positive"),
        ({"timeout": float("nan")}, ValueError, "timeout must be positive"),
        ({"timeout": "1 min"}, TypeError, "timeout must be a datetime.timedelta"),
        ({"device_id": -1}, ValueError, "device_id must be"),
        ({"store": object()}, ValueError, "store and pg_options"),
    ],
)
def test_init_process_group_rejects_bad_arguments_before_joining(kwargs, error, message):
    with pytest.raises(error, match=message):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()
    assert sys.excepthook is not dist._abort_job_hook


@needs_mpi
@pytest.mark.skipif(tm.cuda.is_available(), reason="a GPU is visible: nccl may work here")
def test_nccl_without_a_gpu_says_so():
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


# --- a world of one process --------------------------------------------------------------------
def test_world_of_one_and_the_abort_hook(group):
    assert dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
    assert dist.get_rank(dist.group.WORLD) == 0
    assert dist.get_node_local_rank() == 0
    assert sys.excepthook is dist._abort_job_hook
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("mpi")
    previous = dist._pg.previous_excepthook
    dist.destroy_process_group()
    assert sys.excepthook is previous and not dist.is_initialized()


def test_collectives_of_one_rank_keep_values_in_place(group):
    t = tm.tensor([[1.0, -2.0], [3.0, 4.5]], dtype=tm.float64)
    array = t.array
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.PRODUCT):
        assert dist.all_reduce(t, op=op) is None
    assert t.array is array and t.numpy(force=True).tolist() == [[1.0, -2.0], [3.0, 4.5]]
    dist.broadcast(t, src=0)
    dist.reduce(t, dst=0, op=dist.ReduceOp.MIN)
    out = [tm.zeros(2, 2, dtype=tm.float64)]
    dist.all_gather(out, t)
    assert np.array_equal(out[0].numpy(force=True), t.numpy(force=True))
    work = dist.all_reduce(t, async_op=True)
    assert isinstance(work, dist.Work) and work.wait() and work.is_completed()
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: dist.all_reduce(np.ones(2)), TypeError, "tensor must be a tinygrad_mom Tensor"),
        (lambda: dist.all_reduce(tm.ones(2), op="sum"), TypeError, "op must be a ReduceOp"),
        (
            lambda: dist.all_reduce(tm.ones(2, dtype=tm.int64), op=dist.ReduceOp.AVG),
            TypeError,
            "AVG needs a floating-point tensor",
        ),
        (
            lambda: dist.all_reduce(tm.ones(2), op=dist.ReduceOp.BAND),
            TypeError,
            "BAND needs an integer or bool tensor",
        ),
        (lambda: dist.broadcast(tm.ones(2), 1), ValueError, r"src=1 is not a rank"),
        (lambda: dist.broadcast(tm.ones(2), True), TypeError, "src must be an int"),
        (lambda: dist.reduce(tm.ones(2), -1), ValueError, r"dst=-1 is not a rank"),
        (lambda: dist.all_gather([], tm.ones(2)), ValueError, "world_size=1 tensors, got 0"),
        (
            lambda: dist.all_gather([tm.ones(3)], tm.ones(2)),
            ValueError,
            r"tensor_list\[0\] has shape \(3,\)",
        ),
        (lambda: dist.barrier(group=object()), ValueError, "only the default group"),
        (lambda: dist.broadcast_object_list("ab"), TypeError, "object_list must be a list"),
    ],
)
def test_collectives_reject_bad_arguments_before_touching_data(group, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_timeouts_accept_timedelta_and_seconds():
    assert dist._timeout_seconds(None) == 1800.0  # PyTorch's default for non-NCCL groups
    assert dist._timeout_seconds(datetime.timedelta(seconds=90)) == 90.0
    assert dist._timeout_seconds(2) == 2.0


# --- real jobs under mpiexec -------------------------------------------------------------------
@needs_mpiexec
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_on_several_ranks(n):
    result = run_mpi("collectives.py", n=n)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(f"rank {r}: ok" in result.stdout for r in range(n)), result.stdout


@needs_mpiexec
def test_ddp_on_two_ranks_equals_one_process_on_full_batches(tmp_path):
    """SGD momentum and Adam, float64, 10 steps, 1e-10; replicas identical after every step;
    no_sync, unused parameters, model mismatch, buffers from rank 0, checkpoint round trip."""
    result = run_mpi("ddp_equivalence.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rank 0: ok" in result.stdout and "rank 1: ok" in result.stdout


@needs_mpiexec
def test_an_exception_on_one_rank_ends_the_whole_job_quickly():
    start = time.monotonic()
    result = run_mpi("faults.py", "raise", timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "rank 1 failed on purpose" in result.stderr
    assert "[rank 1] uncaught exception; aborting all 2 rank(s)" in result.stderr
    assert "finished" not in result.stdout
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"


@needs_mpiexec
def test_a_rank_that_never_joins_times_the_collective_out():
    start = time.monotonic()
    result = run_mpi("faults.py", "timeout", 1.5, timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "[rank 0] barrier timed out after 1.5 s" in result.stderr
    assert "aborting all 2 rank(s)" in result.stderr
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"


@needs_mpiexec
def test_fit_is_rank_aware(tmp_path):
    """fit on 2 ranks equals the single-process loop (1e-10, a batch with an empty share);
    logs and checkpoints on rank 0 only; every rank resumes from rank 0's checkpoint."""
    result = run_mpi("fit_ranks.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rank 0: ok" in result.stdout and "rank 1: ok" in result.stdout


# --- the command line --------------------------------------------------------------------------
CLI_SMALL = ["--train-size", "160", "--test-size", "48", "--epochs", "2", "--no-progress"]


def run_cli(*args, n=None, timeout=300):
    """``tinygrad-mom ARGS`` in one process, or under ``mpiexec -n n`` with --distributed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "tinygrad_mom.cli", *map(str, args)]
    if n is not None:
        cmd = [MPIEXEC, "-n", str(n), *cmd, "--distributed"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def _histories(path):
    import json

    runs = json.loads((path / "results.json").read_text())["runs"]
    # one seed: each optimizer's list of per-seed runs has one entry
    return {k: (r[0]["history"], r[0]["test_loss"], r[0]["test_acc"]) for k, r in runs.items()}


@needs_mpiexec
@pytest.mark.slow
def test_cli_compare_distributed_reproduces_the_single_process_table(tmp_path):
    pytest.importorskip("safetensors")
    args = ["compare", *CLI_SMALL, "--optimizers", "sgd,momentum", "--no-baseline"]
    one = run_cli(*args, "--out-dir", tmp_path / "one")
    two = run_cli(*args, "--out-dir", tmp_path / "two", n=2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stdout + two.stderr
    # rank 0 alone prints: the table appears once
    assert two.stdout.count("| optimizer |") == 1
    a, b = _histories(tmp_path / "one"), _histories(tmp_path / "two")
    assert a.keys() == b.keys()
    for name in a:
        for row_a, row_b in zip(a[name][0], b[name][0]):
            for field in ("train_loss", "train_acc", "val_loss", "val_acc"):
                assert row_b[field] == pytest.approx(row_a[field], rel=1e-5, abs=1e-6), field
        assert b[name][1] == pytest.approx(a[name][1], rel=1e-5)
        assert b[name][2] == pytest.approx(a[name][2], abs=1e-6)


@needs_mpiexec
@pytest.mark.slow
def test_cli_train_distributed_resumes_like_one_uninterrupted_process(tmp_path):
    pytest.importorskip("safetensors")
    import json

    args = ["train", *CLI_SMALL[:4], "--no-progress", "--optimizer", "adam"]
    whole = run_cli(*args, "--epochs", "2", "--checkpoint-dir", tmp_path / "whole")
    first = run_cli(*args, "--epochs", "1", "--checkpoint-dir", tmp_path / "parts", n=2)
    rest = run_cli(*args, "--epochs", "2", "--checkpoint-dir", tmp_path / "parts", "--resume", n=2)
    for result in (whole, first, rest):
        assert result.returncode == 0, result.stdout + result.stderr
    assert "resumed from" in rest.stdout
    h_whole = json.loads((tmp_path / "whole" / "history.json").read_text())
    h_parts = json.loads((tmp_path / "parts" / "history.json").read_text())
    for row_a, row_b in zip(h_whole, h_parts, strict=True):
        assert row_b["train_loss"] == pytest.approx(row_a["train_loss"], rel=1e-5)
        assert row_b["val_acc"] == pytest.approx(row_a["val_acc"], abs=1e-6)


@needs_mpiexec
def test_cli_error_on_every_rank_ends_the_job_with_the_message(tmp_path):
    result = run_cli("train", "--resume", "--checkpoint-dir", tmp_path / "none", n=2, timeout=120)
    assert result.returncode != 0
    assert "no checkpoint to resume from" in result.stderr


@needs_mpiexec
def test_example_train_ddp_runs_on_two_ranks(tmp_path):
    pytest.importorskip("safetensors")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    example = ROOT / "examples" / "train_ddp.py"
    cmd = [MPIEXEC, "-n", "2", sys.executable, str(example), "--epochs", "1", "--train-size", "256"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("epoch 1: mean loss") == 1  # rank 0 alone prints
    accuracy = float(result.stdout.split("test accuracy: ")[1].split()[0])
    assert 0.0 <= accuracy <= 1.0
    assert (tmp_path / "ddp_model.safetensors").exists()


# --- the NCCL backend's host-side logic (a stand-in for cupy.cuda.nccl; no GPU needed) ---------
class _FakeNccl:
    """Records what the "nccl" backend asks of CuPy's NCCL module."""

    NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = range(6)
    NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 6, 7, 8
    NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3

    def __init__(self):
        self.created, self.destroyed = [], 0
        fake = self

        class NcclCommunicator:
            def __init__(self, ndev, uid, rank):
                fake.created.append((ndev, uid, rank))

            def destroy(self):
                fake.destroyed += 1

        self.NcclCommunicator = NcclCommunicator

    @staticmethod
    def get_unique_id():
        return tuple(range(128))


@pytest.fixture
def fake_nccl(monkeypatch):
    if MPI_SKIP:
        pytest.skip(MPI_SKIP)
    fake = _FakeNccl()
    used = []
    monkeypatch.setattr(dist.backend, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(dist.backend, "nccl_module", lambda: fake)
    monkeypatch.setattr(dist.backend, "use_cuda_device", used.append)
    fake.used = used
    yield fake
    if dist.is_initialized():
        dist.destroy_process_group()


def test_nccl_init_picks_the_node_local_gpu_and_shares_rank_0s_id(fake_nccl):
    dist.init_process_group("nccl")
    assert dist.get_backend() == "nccl" and dist._pg.device == "cuda:0"
    assert fake_nccl.used == [0]
    assert fake_nccl.created == [(1, tuple(range(128)), 0)]
    dist.destroy_process_group()
    assert fake_nccl.destroyed == 1


def test_nccl_device_id_beyond_the_gpus_is_refused_before_joining(fake_nccl):
    with pytest.raises(ValueError, match="device_id=3, but only 1 CUDA device"):
        dist.init_process_group("nccl", device_id=3)
    assert not dist.is_initialized() and fake_nccl.created == []


@pytest.mark.parametrize(
    "dtype, op, expected",
    [
        (np.float32, dist.ReduceOp.SUM, ("NCCL_FLOAT32", "NCCL_SUM")),
        (np.float16, dist.ReduceOp.AVG, ("NCCL_FLOAT16", "NCCL_SUM")),  # then divided
        (np.int64, dist.ReduceOp.PRODUCT, ("NCCL_INT64", "NCCL_PROD")),
        (np.bool_, dist.ReduceOp.SUM, ("NCCL_UINT8", "NCCL_MAX")),  # bools: any
        (np.bool_, dist.ReduceOp.PRODUCT, ("NCCL_UINT8", "NCCL_MIN")),  # bools: all
    ],
)
def test_nccl_dtype_and_op_mapping(dtype, op, expected):
    fake = _FakeNccl()
    got = dist._nccl_args(fake, op, np.dtype(dtype))
    assert got == tuple(getattr(fake, name) for name in expected)


@pytest.mark.parametrize(
    "dtype, op, message",
    [
        (np.int32, dist.ReduceOp.BAND, "no ReduceOp.BAND"),
        (np.int32, dist.ReduceOp.AVG, "AVG needs a floating-point tensor"),
        (np.complex64, dist.ReduceOp.SUM, "cannot reduce dtype complex64"),
    ],
)
def test_nccl_rejects_what_nccl_cannot_do(dtype, op, message):
    with pytest.raises(TypeError, match=message):
        dist._nccl_args(_FakeNccl(), op, np.dtype(dtype))


@pytest.mark.gpu
@pytest.mark.skipif(MPI_SKIP is not None, reason=str(MPI_SKIP))
def test_nccl_world_of_one_on_a_real_gpu():
    if not tm.cuda.is_available():
        pytest.skip("no CUDA GPU visible to CuPy: the NCCL backend is untested here")
    dist.init_process_group("nccl")
    try:
        t = tm.tensor([1.0, 2.0], device="cuda")
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        dist.broadcast(t, 0)
        out = [tm.zeros(2, device="cuda")]
        dist.all_gather(out, t)
        assert out[0].numpy(force=True).tolist() == [1.0, 2.0] and t.device == "cuda:0"
        model = tm.nn.parallel.DistributedDataParallel(tm.nn.Linear(2, 1).to("cuda"))
        model(tm.ones(3, 2, device="cuda")).sum().backward()
        assert model.module.weight.grad.numpy(force=True).tolist() == [[3.0, 3.0]]
    finally:
        dist.destroy_process_group()


def test_differentiable_all_reduce_of_one_rank_is_the_identity_with_gradients(group):
    x = tm.tensor([1.0, -2.0, 3.0], dtype=tm.float64, requires_grad=True)
    y = dist.differentiable_all_reduce(x * 2)
    assert y.numpy(force=True).tolist() == [2.0, -4.0, 6.0] and y.grad_fn is not None
    (y * tm.tensor([1.0, 2.0, 3.0], dtype=tm.float64)).sum().backward()
    assert x.grad.numpy(force=True).tolist() == [2.0, 4.0, 6.0]

    def fn(t):
        return dist.differentiable_all_reduce(t).tanh()

    leaf = x.detach().requires_grad_()
    assert tm.gradcheck(fn, (leaf,)) and tm.gradgradcheck(fn, (leaf,))  # create_graph too
    with pytest.raises(TypeError, match="tensor must be a tinygrad_mom Tensor"):
        dist.differentiable_all_reduce([1.0])
