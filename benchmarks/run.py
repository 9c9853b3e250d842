"""tinygrad_mom vs PyTorch, side by side: one command, a table, a JSON report.

    python benchmarks/run.py            # full run on the CPU: 3 processes per framework
    python benchmarks/run.py --quick    # a short run
    python benchmarks/run.py --device cuda   # CuPy vs PyTorch CUDA, where a GPU is visible
    python benchmarks/run.py --in-process    # the old mode: both frameworks in one process
    python benchmarks/run.py --threads 1 --cpu-time   # CPU time, one thread: a loaded machine

Workloads: the seeds' CNN training step (batch 64 and 256), inference (batch 256), conv2d
forward+backward at the net's three shapes, a 512×512 matmul, per-op overhead on tiny tensors,
optimizer steps over 10M parameters (1 tensor and 200 tensors), and the peak memory of one
training step.

Each framework runs in its own processes, as a user runs it: ``--processes`` rounds (default
3), each round one fresh process per framework (the order alternating between rounds) and one
for the GEMM-only floor. A process times every workload (warm-up, then ``--repeats`` samples);
the table shows, per framework, the median of the per-process medians and their min–max, and
the ratio tinygrad_mom / PyTorch (below 1: tinygrad_mom is faster). tinygrad_mom runs as
imported, without tuning calls (``--keep-freed-memory`` opts into the allocator setting). The
GEMM-only floor is the sum, over every GEMM of the step in the im2col formulation, of that
GEMM's own median time (NumPy float32 matmul in the floor process). Achieved GFLOP/s is
against the float32 GEMM peak measured by the floor processes (NumPy sgemm, 2048³, best).

Before timing anything, the two frameworks train from the same weights and must agree on the
first step's loss and gradients (float64: to 1e-9; float32: loss to 1e-5, gradients to 1e-2 of
their norm, the slack being ReLU/max-pool near-ties that float32 rounding decides either way).
If they disagree the script exits with status 1: it is a correctness check as well.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
from seed_step import (  # noqa: E402
    batch,
    first_step_gradients,
    inference_flops,
    initial_weights,
    make_tm_trainer,
    make_torch_trainer,
    train_step_flops,
)

import tinygrad_mom as tm  # noqa: E402
from tinygrad_mom import conv  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


class CheckFailed(RuntimeError):
    """The two frameworks disagree: the benchmark would compare different computations."""


# ----------------------------------------------------------------------------------------------
# environment


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas_info() -> dict:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as exc:  # older numpy: no dict mode; report why
        return {"error": repr(exc)}


def machine_info(device: str, torch_threads: int) -> dict:
    """Machine, library versions and BLAS: enough to know what a number was measured on."""
    info = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas_info(),
        "tinygrad_mom": getattr(tm, "__version__", "dev"),
        "device": device,
    }
    torch = _torch()
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch_threads
    if device != "cpu":
        import cupy

        info["cupy"] = cupy.__version__
        props = cupy.cuda.runtime.getDeviceProperties(0)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return info


def gemm_peak_gflops(device: str, n: int, repeats: int) -> float:
    """Best float32 GEMM rate of the array library at n×n×n: the yardstick for GFLOP/s."""
    xp = np if device == "cpu" else __import__("cupy")
    a = xp.asarray(np.random.default_rng(0).standard_normal((n, n), dtype=np.float32))
    b = a.T.copy()
    sync = _sync_tm(device)
    best = float("inf")
    for _ in range(repeats + 1):
        start = CLOCK[0]()
        a @ b
        sync()
        best = min(best, CLOCK[0]() - start)
    return 2 * n**3 / best / 1e9


# ----------------------------------------------------------------------------------------------
# timing


def _sync_tm(device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    return tm.cuda.synchronize


def _torch_full_float32() -> None:
    """PyTorch CUDA without TF32, as CuPy computes (full float32 unless CUPY_TF32=1).

    PyTorch's cuDNN convolutions default to TF32: off, both frameworks do the same arithmetic
    (and the float32 cross-check holds).
    """
    torch = _torch()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def _sync_torch(device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    return _torch().cuda.synchronize


# What a sample measures: wall time, or with --cpu-time the process's CPU time (all threads),
# which a loaded machine barely moves when every pool has one thread (--threads 1).
CLOCK = [time.perf_counter]


def time_pair(
    work: dict[str, Callable],
    syncs: dict[str, Callable],
    repeats: int,
    warmup: int,
    rounds: int = 3,
):
    """Seconds per call of each named work: ``rounds`` alternating blocks per framework.

    Blocks, not single samples, alternate: PyTorch's OpenMP threads and OpenBLAS's threads
    busy-wait for a while after each call, so switching framework on every sample would time
    each one against the other's spinning threads. Each block starts after a pause and an
    untimed call; alternating blocks still spreads machine noise over both frameworks.
    """
    for name, fn in work.items():
        for _ in range(warmup):
            fn()
        syncs[name]()
    samples = {name: [] for name in work}
    per_block = [repeats // rounds + (i < repeats % rounds) for i in range(rounds)]
    for count in per_block:
        for name, fn in work.items():
            time.sleep(0.05)
            fn()
            syncs[name]()
            for _ in range(count):
                start = CLOCK[0]()
                fn()
                syncs[name]()
                samples[name].append(CLOCK[0]() - start)
    return samples


def _stats(seconds: list[float], scale: float = 1e3) -> dict:
    return {
        "median": statistics.median(seconds) * scale,
        "min": min(seconds) * scale,
        "max": max(seconds) * scale,
        "n": len(seconds),
    }


# ----------------------------------------------------------------------------------------------
# correctness cross-check


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def cross_check(device: str, dtype, loss_rtol: float, grad_rtol: float) -> dict:
    """Same weights and batch in both frameworks: losses and gradients must agree."""
    torch = _torch()
    weights = initial_weights(0, dtype)
    xn, yn = batch(64, 1, dtype)
    # The library's model holds float32 parameters; float64 runs the core-API network.
    ours = make_tm_trainer(weights, device, prefer_library=np.dtype(dtype) == np.float32)
    theirs = make_torch_trainer(weights, device)
    loss_a, grads_a = first_step_gradients(
        ours, tm.Tensor(xn, device=device), tm.Tensor(yn, device=device), lambda g: g.numpy()
    )
    loss_b, grads_b = first_step_gradients(
        theirs,
        torch.from_numpy(xn).to(device),
        torch.from_numpy(yn).to(device),
        lambda g: g.detach().cpu().numpy(),
    )
    worst = max(_rel(a, b) for a, b in zip(grads_a, grads_b, strict=True))
    result = {
        "dtype": np.dtype(dtype).name,
        "model": ours.kind,
        "loss_tinygrad_mom": loss_a,
        "loss_torch": loss_b,
        "worst_grad_rel_error": worst,
        "dtypes_ok": all(p.grad.dtype == np.dtype(dtype) for p in ours.params),
    }
    if (
        abs(loss_a - loss_b) > loss_rtol * abs(loss_b)
        or not worst <= grad_rtol
        or not result["dtypes_ok"]
    ):
        raise CheckFailed(
            f"tinygrad_mom and PyTorch disagree on the seeds' CNN ({result['dtype']}): loss "
            f"{loss_a!r} vs {loss_b!r} (rtol {loss_rtol}), worst gradient relative error "
            f"{worst:.3g} (limit {grad_rtol}), gradient dtypes ok: {result['dtypes_ok']}"
        )
    return result


# ----------------------------------------------------------------------------------------------
# workloads: each builds, per framework in ``fws``, the call to time, and returns its row(s)

TM, TORCH = "tinygrad_mom", "torch"


def _row(name, samples, flops=None, peak=None, unit="ms", note="", scale=1e3, keep_samples=False):
    row = {"workload": name, "unit": unit, "note": note, "scale": scale}
    if flops:
        row["flops"] = flops
    for who, secs in samples.items():
        row[who] = _stats(secs, scale)
        if keep_samples:
            row[who]["seconds"] = list(secs)
    _finish_row(row, peak)
    return row


def _finish_row(row: dict, peak: float | None) -> None:
    """Ratio and tinygrad_mom's GFLOP/s from the row's medians."""
    if TM in row and TORCH in row:
        row["ratio"] = row[TM]["median"] / row[TORCH]["median"]
    if row.get("flops") and TM in row:
        row["gflops"] = row["flops"] / (row[TM]["median"] / row["scale"]) / 1e9
        if peak:
            row["pct_of_peak"] = 100 * row["gflops"] / peak


def _measure(work, syncs, repeats, warmup, name, flops=None, peak=None, **kw):
    samples = time_pair(work, syncs, repeats, warmup)
    return _row(name, samples, flops, peak, **kw)


def bench_train(device, n, repeats, warmup, peak, fws, **kw):
    weights = initial_weights(0)
    xn, yn = batch(n, 2)
    work, syncs, note = {}, {}, ""
    if TM in fws:
        ours = make_tm_trainer(weights, device)
        x, y = tm.Tensor(xn, device=device), tm.Tensor(yn, device=device)
        work[TM], syncs[TM], note = (lambda: ours.step(x, y)), _sync_tm(device), ours.kind
    if TORCH in fws:
        torch = _torch()
        theirs = make_torch_trainer(weights, device)
        tx, ty = torch.from_numpy(xn).to(device), torch.from_numpy(yn).to(device)
        work[TORCH], syncs[TORCH] = (lambda: theirs.step(tx, ty)), _sync_torch(device)
    name = f"train step, seeds' CNN, batch {n}"
    return _measure(work, syncs, repeats, warmup, name, train_step_flops(n), peak, note=note, **kw)


def bench_inference(device, n, repeats, warmup, peak, fws, **kw):
    weights = initial_weights(0)
    xn, _ = batch(n, 3)
    work, syncs = {}, {}
    if TM in fws:
        ours = make_tm_trainer(weights, device)
        x = tm.Tensor(xn, device=device)

        def tm_infer():
            with tm.no_grad():
                ours.forward(x)

        work[TM], syncs[TM] = tm_infer, _sync_tm(device)
    if TORCH in fws:
        torch = _torch()
        theirs = make_torch_trainer(weights, device)
        tx = torch.from_numpy(xn).to(device)

        def torch_infer():
            with torch.no_grad():
                theirs.forward(tx)

        work[TORCH], syncs[TORCH] = torch_infer, _sync_torch(device)
    name = f"inference, seeds' CNN, batch {n}"
    return _measure(work, syncs, repeats, warmup, name, inference_flops(n), peak, **kw)


CONV_SHAPES = [  # (N, C, H, O, input needs grad): the seeds' CNN's three convolutions
    (64, 3, 32, 32, False),
    (64, 32, 15, 64, True),
    (64, 64, 6, 64, True),
]


def bench_conv(device, repeats, warmup, peak, fws, **kw):
    rows = []
    rng = np.random.default_rng(4)
    for n, c, h, o, input_grad in CONV_SHAPES:
        xn = rng.standard_normal((n, c, h, h), dtype=np.float32)
        wn = rng.standard_normal((o, c, 3, 3), dtype=np.float32) * 0.1
        bn = np.zeros(o, np.float32)
        ho = h - 2
        gn = rng.standard_normal((n, o, ho, ho), dtype=np.float32)
        work, syncs = {}, {}
        if TM in fws:
            x = tm.Tensor(xn, device=device, requires_grad=input_grad)
            w = tm.Tensor(wn, device=device, requires_grad=True)
            b = tm.Tensor(bn, device=device, requires_grad=True)
            # The upstream gradient in the memory layout of each framework's own output, as a
            # real network hands it over: channels-last here (what conv2d returns), NCHW for
            # PyTorch.
            g = tm.Tensor(gn.transpose(0, 2, 3, 1).copy(), device=device).permute(0, 3, 1, 2)

            def ours(x=x, w=w, b=b, g=g):
                conv.conv2d(x, w, b).backward(g)
                x.grad = w.grad = b.grad = None

            work[TM], syncs[TM] = ours, _sync_tm(device)
        if TORCH in fws:
            torch = _torch()
            conv_t = torch.nn.functional.conv2d
            tx = torch.tensor(xn, device=device, requires_grad=input_grad)
            tw = torch.tensor(wn, device=device, requires_grad=True)
            tb = torch.tensor(bn, device=device, requires_grad=True)
            tg = torch.from_numpy(gn).to(device)

            def theirs(tx=tx, tw=tw, tb=tb, tg=tg, conv_t=conv_t):
                conv_t(tx, tw, tb).backward(tg)
                tx.grad = tw.grad = tb.grad = None

            work[TORCH], syncs[TORCH] = theirs, _sync_torch(device)
        flops = 2 * n * ho * ho * o * c * 9 * (3 if input_grad else 2)
        name = f"conv2d fwd+bwd {n}x{c}x{h}x{h} -> {o} (3x3)"
        note = "" if input_grad else "no input grad"
        rows.append(_measure(work, syncs, repeats, warmup, name, flops, peak, note=note, **kw))
    return rows


def bench_matmul(device, repeats, warmup, peak, fws, size=512, **kw):
    rng = np.random.default_rng(5)
    an = rng.standard_normal((size, size), dtype=np.float32)
    bn = rng.standard_normal((size, size), dtype=np.float32)
    work, syncs = {}, {}
    if TM in fws:
        a, b = tm.Tensor(an, device=device), tm.Tensor(bn, device=device)
        work[TM], syncs[TM] = (lambda: a @ b), _sync_tm(device)
    if TORCH in fws:
        torch = _torch()
        ta, tb = torch.from_numpy(an).to(device), torch.from_numpy(bn).to(device)
        work[TORCH], syncs[TORCH] = (lambda: ta @ tb), _sync_torch(device)
    name = f"matmul {size}x{size} @ {size}x{size}"
    return _measure(work, syncs, repeats, warmup, name, 2 * size**3, peak, **kw)


def bench_overhead(device, repeats, warmup, fws, chain=200, **kw):
    """Microseconds per op (forward + its backward) in a chain of tiny (4, 4) ops."""
    xn = np.random.default_rng(6).standard_normal((4, 4), dtype=np.float32)
    work, syncs = {}, {}
    for who in fws:
        lib = tm if who == TM else _torch()
        x = lib.tensor(xn, device=device, requires_grad=True)

        def chain_fn(x=x):
            y = x
            for _ in range(chain // 2):
                y = (y * 0.999) + 0.001
            y.sum().backward()
            x.grad = None

        work[who] = chain_fn
        syncs[who] = _sync_tm(device) if who == TM else _sync_torch(device)
    name = f"per-op overhead, (4,4) tensors, {chain}-op chain fwd+bwd"
    return _measure(work, syncs, repeats, warmup, name, unit="us/op", scale=1e6 / chain, **kw)


OPTIM_TOTAL = 10_000_000


def bench_optim(device, repeats, warmup, fws, total=OPTIM_TOTAL, **kw):
    """SGD(momentum) and Adam steps over ``total`` (10M) parameters as 1 and as 200 tensors."""
    optim = getattr(tm, "optim", None)
    rows = []
    for name in ("SGD", "Adam"):
        opt_cls = getattr(optim, name, None)
        for count in (1, 200):
            label = f"optimizer {name} step, {total:,} params as {count} tensor(s)"
            if opt_cls is None:
                rows.append({"workload": label, "skipped": f"tm.optim.{name} not available yet"})
                continue
            kwargs = {"lr": 1e-3, "momentum": 0.9} if name == "SGD" else {"lr": 1e-3}
            rng = np.random.default_rng(7)
            sizes = [max(total // count, 1)] * count
            arrays = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
            grads = [rng.standard_normal(s, dtype=np.float32) * 1e-3 for s in sizes]
            work, syncs = {}, {}
            if TM in fws:
                params = [tm.Tensor(a, device=device, requires_grad=True) for a in arrays]
                for p, g in zip(params, grads, strict=True):
                    p.grad = tm.Tensor(g, device=device)
                work[TM], syncs[TM] = opt_cls(params, **kwargs).step, _sync_tm(device)
            if TORCH in fws:
                torch = _torch()
                tparams = [torch.tensor(a, device=device, requires_grad=True) for a in arrays]
                for p, g in zip(tparams, grads, strict=True):
                    p.grad = torch.from_numpy(g).to(device)
                work[TORCH] = getattr(torch.optim, name)(tparams, **kwargs).step
                syncs[TORCH] = _sync_torch(device)
            note = "torch: default (foreach) implementation"
            rows.append(_measure(work, syncs, repeats, warmup, label, note=note, **kw))
    return rows


# ----------------------------------------------------------------------------------------------
# memory: each framework in a fresh process, so that one's caches do not hide the other's peak

_MEMPROBE = """
import sys, resource, tracemalloc
sys.path[:0] = {paths!r}
import numpy as np
from seed_step import batch, initial_weights, make_tm_trainer, make_torch_trainer
who, n = sys.argv[1], int(sys.argv[2])
if {tuned}:
    import tinygrad_mom
    tinygrad_mom.backend.keep_freed_memory()
weights = initial_weights(0)
xn, yn = batch(n, 2)
if who == "torch":
    import torch
    torch.set_num_threads({threads})
    tr = make_torch_trainer(weights)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)
else:
    import tinygrad_mom as tm
    tr = make_tm_trainer(weights)
    x, y = tm.Tensor(xn), tm.Tensor(yn)


def rss_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])


# Linux: reset the peak-RSS mark to the current RSS (ru_maxrss would include the parent's RSS
# at fork time); elsewhere fall back to ru_maxrss.
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base, peak = rss_kib("VmRSS:"), lambda: rss_kib("VmHWM:")
except OSError:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
for _ in range(3):
    tr.step(x, y)
traced = tracemalloc.get_traced_memory()[1]
print(traced, (peak() - base) * 1024)
"""


def bench_memory(n: int, fws, threads: int, tuned: bool) -> dict:
    """Peak memory of a training step: tracemalloc (NumPy allocations) and RSS growth."""
    code = _MEMPROBE.format(
        paths=[str(ROOT), str(ROOT / "benchmarks")], threads=threads, tuned=tuned
    )
    row = {
        "workload": f"peak memory of one training step, batch {n}",
        "unit": "MiB",
        "note": "tracemalloc peak (sees NumPy, not PyTorch's allocator) and peak-RSS "
        "growth over 3 steps from a fresh process with model and batch built",
    }
    for who in fws:
        out = subprocess.run(
            [sys.executable, "-c", code, who, str(n)], capture_output=True, text=True, check=True
        ).stdout.split()
        traced, rss = int(out[0]), int(out[1])
        row[who] = {"tracemalloc_peak": traced / 2**20, "rss_growth": rss / 2**20}
    return row


# ----------------------------------------------------------------------------------------------
# the GEMM-only floor: every GEMM of a step (in the im2col formulation), each at its own rate

CONV_LAYERS = [(3, 32, 30, False), (32, 64, 13, True), (64, 64, 4, True)]  # C, O, side, gx?
DENSE_LAYERS = [(1024, 64), (64, 10)]  # in, out


def step_gemms(n: int, train: bool) -> list[tuple[str, tuple[int, int, int], bool, bool]]:
    """(label, (M, K, N), transpose A, transpose B) for every GEMM of one step of the CNN.

    Forward: rows (M, K) @ W^T per conv (M = N·Ho·Wo, K = 9·C) and per linear layer. Backward:
    the weight GEMM rows^T @ gy and the input GEMM gy @ W (none for the first conv, whose input
    needs no gradient). Operands are in the layouts a framework has at hand (rows and gy
    C-contiguous, so rows^T is a transposed view), with no bias columns.
    """
    out = []
    for i, (c, o, side, input_grad) in enumerate(CONV_LAYERS, 1):
        m, k = n * side * side, 9 * c
        out.append((f"conv{i} fwd", (m, k, o), False, True))
        if train:
            out.append((f"conv{i} weight", (k, m, o), True, False))
            if input_grad:
                out.append((f"conv{i} input", (m, o, k), False, False))
    for i, (fin, fout) in enumerate(DENSE_LAYERS, 1):
        out.append((f"fc{i} fwd", (n, fin, fout), False, True))
        if train:
            out.append((f"fc{i} weight", (fout, n, fin), True, False))
            out.append((f"fc{i} input", (n, fout, fin), False, False))
    return out


def gemm_floor(device: str, n: int, train: bool, repeats: int) -> dict:
    """Sum over the step's GEMMs of each one's median time (NumPy/CuPy matmul, float32)."""
    xp = np if device == "cpu" else __import__("cupy")
    rng = np.random.default_rng(8)
    sync = _sync_tm(device)
    parts = {}
    for label, (m, k, nn), ta, tb in step_gemms(n, train):
        a = xp.asarray(rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32))
        b = xp.asarray(rng.standard_normal((nn, k) if tb else (k, nn), dtype=np.float32))
        a, b = (a.T if ta else a), (b.T if tb else b)
        out = xp.empty((m, nn), np.float32)
        xp.matmul(a, b, out=out)
        sync()
        times = []
        for _ in range(repeats):
            start = CLOCK[0]()
            xp.matmul(a, b, out=out)
            sync()
            times.append(CLOCK[0]() - start)
        parts[label] = statistics.median(times) * 1e3
    return {"ms": sum(parts.values()), "parts_ms": parts}


def floor_cases(batch_sizes) -> dict[str, tuple[int, bool]]:
    """Workload row name -> (batch, train) for the rows that get a GEMM-only floor."""
    cases = {f"train step, seeds' CNN, batch {n}": (n, True) for n in batch_sizes}
    cases[f"inference, seeds' CNN, batch {batch_sizes[-1]}"] = (batch_sizes[-1], False)
    return cases


def _batch_sizes(args) -> list[int]:
    return [int(b) for b in args.batch_sizes.split(",")]


# ----------------------------------------------------------------------------------------------
# separate processes: one framework per process, as a user runs it


def run_workloads(
    device,
    want,
    repeats,
    warmup,
    peak,
    fws,
    batch_sizes=(64, 256),
    optim_params=OPTIM_TOTAL,
    keep_samples=False,
) -> list[dict]:
    """Every wanted timing workload for the frameworks ``fws`` (memory is separate)."""
    kw = {"keep_samples": keep_samples}
    rows = []
    if "train" in want:
        for k, n in enumerate(batch_sizes):
            # larger batches: fewer samples and warm-up calls (each is 4x a batch-64 step)
            more = (repeats, warmup) if k == 0 else (max(repeats // 3, 5), min(warmup, 3))
            rows.append(bench_train(device, n, *more, peak, fws, **kw))
    if "infer" in want:
        n, more = batch_sizes[-1], (max(repeats // 2, 5), min(warmup, 3))
        rows.append(bench_inference(device, n, *more, peak, fws, **kw))
    if "conv" in want:
        rows += bench_conv(device, repeats, warmup, peak, fws, **kw)
    if "matmul" in want:
        rows.append(bench_matmul(device, repeats * 3, warmup, peak, fws, **kw))
    if "overhead" in want:
        rows.append(bench_overhead(device, repeats, warmup, fws, **kw))
    if "optim" in want:
        rows += bench_optim(device, max(repeats // 3, 5), warmup, fws, optim_params, **kw)
    return rows


def worker(args, want, repeats, warmup) -> dict:
    """The body of one child process: a single framework (or the GEMM floor), as JSON."""
    device = "cuda:0" if args.device == "cuda" else "cpu"
    who = args.worker
    if args.cpu_time:
        CLOCK[0] = time.process_time
    if who == "floor":
        quick = args.quick
        peak = gemm_peak_gflops(device, 1024 if quick else 2048, 3)
        floors = {
            name: gemm_floor(device, n, train, max(repeats // 2, 5))
            for name, (n, train) in floor_cases(_batch_sizes(args)).items()
            if ("train" if train else "infer") in want
        }
        return {"who": who, "gemm_peak_gflops": peak, "floors": floors}
    if who == TORCH:
        _torch().set_num_threads(args.torch_threads)
        if device != "cpu":
            _torch_full_float32()
    tuned = who == TM and args.keep_freed_memory and tm.backend.keep_freed_memory()
    rows = run_workloads(
        device, want, repeats, warmup, None, (who,), _batch_sizes(args), args.optim_params, True
    )
    return {"who": who, "malloc_keeps_freed_memory": bool(tuned), "rows": rows}


def _child(args, who: str, want) -> dict:
    """Run one worker process and return its JSON."""
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker", who]
    cmd += ["--device", args.device, "--torch-threads", str(args.torch_threads)]
    cmd += ["--workloads", ",".join(sorted(want)), "--batch-sizes", args.batch_sizes]
    cmd += ["--optim-params", str(args.optim_params)]
    if args.repeats:
        cmd += ["--repeats", str(args.repeats)]
    if args.quick:
        cmd.append("--quick")
    if args.keep_freed_memory:
        cmd.append("--keep-freed-memory")
    if args.cpu_time:
        cmd.append("--cpu-time")
    env = dict(os.environ)
    if args.threads:
        # before NumPy/PyTorch start their pools: OpenBLAS, OpenMP (PyTorch, MKL) and the
        # interop pool all get the same count
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
        cmd += ["--torch-threads", str(args.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {who} failed (status {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_processes(args, want, fws) -> tuple[list[dict], dict]:
    """``args.processes`` rounds; each round one process per framework (order alternating).

    A round also runs one process for the GEMM floor. Per framework and workload the result
    is the median of the per-process medians, with their min and max: the spread between
    processes (placement, machine load) is the noise a user sees, so it is what is reported.
    """
    results = {who: [] for who in fws}
    floors = []
    for r in range(args.processes):
        order = list(fws) if r % 2 == 0 else list(reversed(fws))
        for who in [*order, "floor"]:
            time.sleep(0.2)
            out = _child(args, who, want)
            print(f"  round {r + 1}/{args.processes}: {who} done", file=sys.stderr, flush=True)
            (floors if who == "floor" else results[who]).append(out)
    peak = max(f["gemm_peak_gflops"] for f in floors)
    rows = []
    for i, template in enumerate(results[fws[0]][0]["rows"]):
        row = {
            k: template[k] for k in ("workload", "unit", "note", "scale", "flops") if k in template
        }
        if "skipped" in template:
            rows.append(template)
            continue
        for who in fws:
            cells = [proc["rows"][i][who] for proc in results[who]]
            medians = [c["median"] for c in cells]
            row[who] = {
                "median": statistics.median(medians),
                "min": min(medians),
                "max": max(medians),
                "process_medians": medians,
                "processes": len(medians),
                "n_per_process": cells[0]["n"],
                "sample_min": min(c["min"] for c in cells),
                "sample_max": max(c["max"] for c in cells),
            }
        _finish_row(row, peak)
        if row["workload"] in floor_cases(_batch_sizes(args)):
            per_proc = [f["floors"][row["workload"]]["ms"] for f in floors]
            floor_ms = statistics.median(per_proc)
            row["gemm_floor_ms"] = {
                "median": floor_ms,
                "min": min(per_proc),
                "max": max(per_proc),
                "parts_ms": floors[0]["floors"][row["workload"]]["parts_ms"],
            }
            for who in fws:
                row[f"{who}_over_floor"] = row[who]["median"] / floor_ms
        rows.append(row)
    meta = {
        "gemm_peak_gflops": peak,
        "malloc_keeps_freed_memory": bool(
            results.get(TM) and results[TM][0]["malloc_keeps_freed_memory"]
        ),
    }
    return rows, meta


# ----------------------------------------------------------------------------------------------
# report


def _fmt(cell) -> str:
    if not cell:
        return "-"
    if "median" in cell:
        return f"{cell['median']:.3g} ({cell['min']:.3g}–{cell['max']:.3g})"
    return f"traced {cell['tracemalloc_peak']:.1f}, RSS +{cell['rss_growth']:.1f}"


def print_table(rows: list[dict]) -> None:
    header = [
        "workload",
        "unit",
        "tinygrad_mom median (min–max)",
        "PyTorch median (min–max)",
        "ratio",
        "GEMM floor ms (tm/floor)",
        "GFLOP/s (% peak)",
    ]
    lines = [header]
    for r in rows:
        if "skipped" in r:
            lines.append([r["workload"], "", "skipped: " + r["skipped"], "", "", "", ""])
            continue
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        gf = f"{r['gflops']:.1f} ({r['pct_of_peak']:.0f}%)" if "pct_of_peak" in r else "-"
        floor = "-"
        if "gemm_floor_ms" in r:
            over = r.get(f"{TM}_over_floor")
            floor = f"{r['gemm_floor_ms']['median']:.3g}" + (f" ({over:.2f}x)" if over else "")
        lines.append(
            [
                r["workload"],
                r.get("unit", ""),
                _fmt(r.get(TM)),
                _fmt(r.get(TORCH)),
                ratio,
                floor,
                gf,
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for k, line in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


WORKLOADS = ("train", "infer", "conv", "matmul", "overhead", "optim", "memory")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed samples per process (default 20)"
    )
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="thread count of every pool in the timing processes (BLAS, OpenMP, PyTorch); "
        "with --cpu-time and 1, the comparison a loaded machine cannot skew",
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="samples are process CPU time (all threads), not wall time",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="separate processes per framework, run in alternating order (default 3; 1 with "
        "--quick or --device cuda)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="the old mode: both frameworks in this one process, in alternating blocks "
        "(each framework's thread pools then spin while the other runs)",
    )
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="call tm.backend.keep_freed_memory() (glibc mallopt) in tinygrad_mom's process; "
        "the default measures the library as imported, without tuning",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="kept for old command lines: the default now (no allocator setting)",
    )
    parser.add_argument("--no-torch", action="store_true", help="time tinygrad_mom only")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}",
    )
    parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON path")
    parser.add_argument(
        "--batch-sizes",
        default="64,256",
        help="training-step batch sizes; inference runs at the last (small ones for smoke runs)",
    )
    parser.add_argument(
        "--optim-params", type=int, default=OPTIM_TOTAL, help="parameters in the optimizer rows"
    )
    parser.add_argument("--worker", choices=[TM, TORCH, "floor"], help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.processes is None:
        # one round on a GPU and in a quick run (the GPU check has a time limit), else 3
        args.processes = 1 if args.quick or args.device == "cuda" else 3
    if args.keep_freed_memory and args.default_malloc:
        parser.error("--keep-freed-memory and --default-malloc contradict each other")
    if args.processes < 1:
        parser.error(f"--processes must be >= 1, got {args.processes}")
    try:
        sizes = _batch_sizes(args)
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        parser.error(f"--batch-sizes: expected positive ints like 64,256, got {args.batch_sizes!r}")
    want = set(args.workloads.split(","))
    unknown = want - set(WORKLOADS)
    if unknown:
        parser.error(f"--workloads: unknown {sorted(unknown)}; expected a subset of {WORKLOADS}")
    repeats = args.repeats or (8 if args.quick else 20)
    warmup = 2 if args.quick else 5
    if args.worker:
        print(json.dumps(worker(args, want, repeats, warmup)))
        return 0

    device = "cuda:0" if args.device == "cuda" else "cpu"
    if device != "cpu" and not tm.cuda_is_available():
        print("--device cuda: no CUDA GPU visible to CuPy", file=sys.stderr)
        return 2
    torch = None if args.no_torch else _torch()
    torch_on = torch is not None
    if torch_on:
        torch.set_num_threads(args.torch_threads)
        if device != "cpu" and not torch.cuda.is_available():
            print("PyTorch here has no CUDA: timing tinygrad_mom alone", file=sys.stderr)
            torch_on = False
    fws = (TM, TORCH) if torch_on else (TM,)
    mode = (
        "in one process (alternating blocks)"
        if args.in_process
        else (f"separate processes ({args.processes} per framework, alternating order)")
    )

    info = machine_info(device, args.torch_threads)
    if torch_on and device != "cpu":
        _torch_full_float32()
        info["torch_tf32"] = False
        info["CUPY_TF32"] = os.environ.get("CUPY_TF32", "0")
    print(
        f"{info['cpu']} ({info['cpu_count']} cores), numpy {info['numpy']} "
        f"[{info['blas'].get('name')} {info['blas'].get('version')}], torch "
        f"{info.get('torch', 'not installed')}; {mode}"
    )

    checks = []
    if torch_on:
        try:
            checks.append(cross_check(device, np.float64, 1e-9, 1e-9))
            checks.append(cross_check(device, np.float32, 1e-5, 1e-2))
        except CheckFailed as exc:
            print(f"CORRECTNESS CHECK FAILED: {exc}", file=sys.stderr)
            return 1
        for c in checks:
            print(
                f"cross-check {c['dtype']}: loss {c['loss_tinygrad_mom']:.9g} vs "
                f"{c['loss_torch']:.9g}, worst gradient rel. error {c['worst_grad_rel_error']:.2g}"
            )

    timing = want - {"memory"}
    if args.cpu_time:
        CLOCK[0] = time.process_time
    if args.in_process:
        tuned = args.keep_freed_memory and tm.backend.keep_freed_memory()
        quick = args.quick
        peak = gemm_peak_gflops(device, 1024 if quick else 2048, 3 if quick else 5)
        rows = run_workloads(
            device, timing, repeats, warmup, peak, fws, _batch_sizes(args), args.optim_params
        )
        # Re-measured at the end: on a shared machine the best of both runs is the honest peak.
        peak = max(peak, gemm_peak_gflops(device, 1024 if quick else 2048, 3))
        for r in rows:
            _finish_row(r, peak)
        meta = {"gemm_peak_gflops": peak, "malloc_keeps_freed_memory": bool(tuned)}
    elif timing:
        time.sleep(0.5)  # let this process's (cross-check) thread pools go idle
        rows, meta = run_processes(args, timing, fws)
    else:
        rows, meta = [], {"gemm_peak_gflops": None, "malloc_keeps_freed_memory": False}
    info["malloc_keeps_freed_memory"] = meta["malloc_keeps_freed_memory"]
    if "memory" in want and device == "cpu":
        rows.append(bench_memory(64, fws, args.torch_threads, args.keep_freed_memory))
    print(
        f"\nfloat32 GEMM peak {meta['gemm_peak_gflops'] or 0:.0f} GFLOP/s; "
        f"tm.backend.keep_freed_memory() applied: {meta['malloc_keeps_freed_memory']}"
    )
    print_table(rows)

    report = {
        "machine": info,
        "mode": "in-process" if args.in_process else "processes",
        "clock": "process CPU time" if args.cpu_time else "wall time",
        "threads": args.threads,
        "processes": None if args.in_process else args.processes,
        "gemm_peak_gflops": meta["gemm_peak_gflops"],
        "repeats": repeats,
        "warmup": warmup,
        "quick": args.quick,
        "cross_checks": checks,
        "rows": rows,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    suffix = ("_quick" if args.quick else "") + ("_inprocess" if args.in_process else "")
    suffix += ("_cputime" if args.cpu_time else "") + (
        f"_{args.threads}thread" if args.threads else ""
    )
    out = args.out or RESULTS / f"run_{args.device}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    tracemalloc.stop()
    sys.exit(main())
