"""tinygrad_mom vs PyTorch, side by side: one command, a table, a JSON report.

    python benchmarks/run.py            # full run on the CPU (medians of 30 steps)
    python benchmarks/run.py --quick    # a short run
    python benchmarks/run.py --device cuda   # CuPy vs PyTorch CUDA, where a GPU is visible

Workloads: the seeds' CNN training step (batch 64 and 256), inference (batch 256), conv2d
forward+backward at the net's three shapes, a 512×512 matmul, per-op overhead on tiny tensors,
optimizer steps over 10M parameters (1 tensor and 200 tensors), and the peak memory of one
training step. Both frameworks are timed in the same process, in alternating blocks so that a
noisy machine slows both alike; the table shows medians and min–max after warm-up, and the
ratio tinygrad_mom / PyTorch (below 1: tinygrad_mom is faster). Achieved GFLOP/s is reported
against the float32 GEMM peak that this script measures (NumPy sgemm, 2048³, best of runs at the
start and at the end).

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
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


# ----------------------------------------------------------------------------------------------
# timing


def _sync_tm(device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    return tm.cuda.synchronize


def _sync_torch(device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    return _torch().cuda.synchronize


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
                start = time.perf_counter()
                fn()
                syncs[name]()
                samples[name].append(time.perf_counter() - start)
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
# workloads: each returns a list of rows


def _row(name, samples, flops=None, peak=None, unit="ms", note="", scale=1e3):
    row = {"workload": name, "unit": unit, "note": note}
    for who, secs in samples.items():
        row[who] = _stats(secs, scale)
    if "tinygrad_mom" in samples and "torch" in samples:
        row["ratio"] = row["tinygrad_mom"]["median"] / row["torch"]["median"]
    if flops:
        med = statistics.median(samples["tinygrad_mom"])
        row["gflops"] = flops / med / 1e9
        if peak:
            row["pct_of_peak"] = 100 * row["gflops"] / peak
    return row


def bench_train(device, n, repeats, warmup, peak, torch_on):
    weights = initial_weights(0)
    xn, yn = batch(n, 2)
    ours = make_tm_trainer(weights, device)
    x, y = tm.Tensor(xn, device=device), tm.Tensor(yn, device=device)
    work = {"tinygrad_mom": lambda: ours.step(x, y)}
    syncs = {"tinygrad_mom": _sync_tm(device)}
    if torch_on:
        torch = _torch()
        theirs = make_torch_trainer(weights, device)
        tx, ty = torch.from_numpy(xn).to(device), torch.from_numpy(yn).to(device)
        work["torch"] = lambda: theirs.step(tx, ty)
        syncs["torch"] = _sync_torch(device)
    samples = time_pair(work, syncs, repeats, warmup)
    return _row(
        f"train step, seeds' CNN, batch {n}", samples, train_step_flops(n), peak, note=ours.kind
    )


def bench_inference(device, n, repeats, warmup, peak, torch_on):
    weights = initial_weights(0)
    xn, _ = batch(n, 3)
    ours = make_tm_trainer(weights, device)
    x = tm.Tensor(xn, device=device)

    def tm_infer():
        with tm.no_grad():
            ours.forward(x)

    work = {"tinygrad_mom": tm_infer}
    syncs = {"tinygrad_mom": _sync_tm(device)}
    if torch_on:
        torch = _torch()
        theirs = make_torch_trainer(weights, device)
        tx = torch.from_numpy(xn).to(device)

        def torch_infer():
            with torch.no_grad():
                theirs.forward(tx)

        work["torch"] = torch_infer
        syncs["torch"] = _sync_torch(device)
    samples = time_pair(work, syncs, repeats, warmup)
    return _row(f"inference, seeds' CNN, batch {n}", samples, inference_flops(n), peak)


CONV_SHAPES = [  # (N, C, H, O, input needs grad): the seeds' CNN's three convolutions
    (64, 3, 32, 32, False),
    (64, 32, 15, 64, True),
    (64, 64, 6, 64, True),
]


def bench_conv(device, repeats, warmup, peak, torch_on):
    rows = []
    torch = _torch()
    rng = np.random.default_rng(4)
    for n, c, h, o, input_grad in CONV_SHAPES:
        xn = rng.standard_normal((n, c, h, h), dtype=np.float32)
        wn = rng.standard_normal((o, c, 3, 3), dtype=np.float32) * 0.1
        bn = np.zeros(o, np.float32)
        ho = h - 2
        gn = rng.standard_normal((n, o, ho, ho), dtype=np.float32)
        x = tm.Tensor(xn, device=device, requires_grad=input_grad)
        w = tm.Tensor(wn, device=device, requires_grad=True)
        b = tm.Tensor(bn, device=device, requires_grad=True)
        # The upstream gradient in the memory layout of each framework's own output, as a real
        # network hands it over: channels-last here (what conv2d returns), NCHW for PyTorch.
        g = tm.Tensor(gn.transpose(0, 2, 3, 1).copy(), device=device).permute(0, 3, 1, 2)

        def ours(x=x, w=w, b=b, g=g):
            conv.conv2d(x, w, b).backward(g)
            x.grad = w.grad = b.grad = None

        work = {"tinygrad_mom": ours}
        syncs = {"tinygrad_mom": _sync_tm(device)}
        if torch_on:
            tx = torch.tensor(xn, device=device, requires_grad=input_grad)
            tw = torch.tensor(wn, device=device, requires_grad=True)
            tb = torch.tensor(bn, device=device, requires_grad=True)
            tg = torch.from_numpy(gn).to(device)

            def theirs(tx=tx, tw=tw, tb=tb, tg=tg):
                torch.nn.functional.conv2d(tx, tw, tb).backward(tg)
                tx.grad = tw.grad = tb.grad = None

            work["torch"] = theirs
            syncs["torch"] = _sync_torch(device)
        flops = 2 * n * ho * ho * o * c * 9 * (3 if input_grad else 2)
        samples = time_pair(work, syncs, repeats, warmup)
        name = f"conv2d fwd+bwd {n}x{c}x{h}x{h} -> {o} (3x3)"
        rows.append(_row(name, samples, flops, peak, note="" if input_grad else "no input grad"))
    return rows


def bench_matmul(device, repeats, warmup, peak, torch_on, size=512):
    rng = np.random.default_rng(5)
    an = rng.standard_normal((size, size), dtype=np.float32)
    bn = rng.standard_normal((size, size), dtype=np.float32)
    a, b = tm.Tensor(an, device=device), tm.Tensor(bn, device=device)
    work = {"tinygrad_mom": lambda: a @ b}
    syncs = {"tinygrad_mom": _sync_tm(device)}
    if torch_on:
        torch = _torch()
        ta, tb = torch.from_numpy(an).to(device), torch.from_numpy(bn).to(device)
        work["torch"] = lambda: ta @ tb
        syncs["torch"] = _sync_torch(device)
    samples = time_pair(work, syncs, repeats, warmup)
    return _row(f"matmul {size}x{size} @ {size}x{size}", samples, 2 * size**3, peak)


def bench_overhead(device, repeats, warmup, torch_on, chain=200):
    """Microseconds per op (forward + its backward) in a chain of tiny (4, 4) ops."""
    xn = np.random.default_rng(6).standard_normal((4, 4), dtype=np.float32)
    x = tm.Tensor(xn, device=device, requires_grad=True)

    def ours():
        y = x
        for _ in range(chain // 2):
            y = (y * 0.999) + 0.001
        y.sum().backward()
        x.grad = None

    work = {"tinygrad_mom": ours}
    syncs = {"tinygrad_mom": _sync_tm(device)}
    if torch_on:
        torch = _torch()
        tx = torch.tensor(xn, device=device, requires_grad=True)

        def theirs():
            y = tx
            for _ in range(chain // 2):
                y = (y * 0.999) + 0.001
            y.sum().backward()
            tx.grad = None

        work["torch"] = theirs
        syncs["torch"] = _sync_torch(device)
    samples = time_pair(work, syncs, repeats, warmup)
    return _row(
        f"per-op overhead, (4,4) tensors, {chain}-op chain fwd+bwd",
        samples,
        unit="us/op",
        scale=1e6 / chain,
    )


OPTIM_TOTAL = 10_000_000


def bench_optim(device, repeats, warmup, torch_on, total=OPTIM_TOTAL):
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
            params = [tm.Tensor(a, device=device, requires_grad=True) for a in arrays]
            for p, g in zip(params, grads, strict=True):
                p.grad = tm.Tensor(g, device=device)
            ours = opt_cls(params, **kwargs)
            work = {"tinygrad_mom": ours.step}
            syncs = {"tinygrad_mom": _sync_tm(device)}
            if torch_on:
                torch = _torch()
                tparams = [torch.tensor(a, device=device, requires_grad=True) for a in arrays]
                for p, g in zip(tparams, grads, strict=True):
                    p.grad = torch.from_numpy(g).to(device)
                theirs = getattr(torch.optim, name)(tparams, **kwargs)
                work["torch"] = theirs.step
                syncs["torch"] = _sync_torch(device)
            samples = time_pair(work, syncs, repeats, warmup)
            rows.append(_row(label, samples, note="torch: default (foreach) implementation"))
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


def bench_memory(n: int, torch_on: bool, threads: int, tuned: bool) -> dict:
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
    for who in ["tinygrad_mom"] + (["torch"] if torch_on else []):
        out = subprocess.run(
            [sys.executable, "-c", code, who, str(n)], capture_output=True, text=True, check=True
        ).stdout.split()
        traced, rss = int(out[0]), int(out[1])
        row[who] = {"tracemalloc_peak": traced / 2**20, "rss_growth": rss / 2**20}
    return row


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
        "GFLOP/s (% peak)",
    ]
    lines = [header]
    for r in rows:
        if "skipped" in r:
            lines.append([r["workload"], "", "skipped: " + r["skipped"], "", "", ""])
            continue
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        gf = f"{r['gflops']:.1f} ({r['pct_of_peak']:.0f}%)" if "pct_of_peak" in r else "-"
        lines.append(
            [
                r["workload"],
                r.get("unit", ""),
                _fmt(r.get("tinygrad_mom")),
                _fmt(r.get("torch")),
                ratio,
                gf,
            ]
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for k, line in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


WORKLOADS = ("train", "infer", "conv", "matmul", "overhead", "optim", "memory")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=None, help="timed samples (default 30)")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc malloc as it is (default: tm.backend.keep_freed_memory(), which both "
        "frameworks in this process benefit from)",
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
    args = parser.parse_args(argv)

    device = "cuda:0" if args.device == "cuda" else "cpu"
    if device != "cpu" and not tm.cuda_is_available():
        print("--device cuda: no CUDA GPU visible to CuPy", file=sys.stderr)
        return 2
    repeats = args.repeats or (8 if args.quick else 30)
    warmup = 2 if args.quick else 5
    torch = None if args.no_torch else _torch()
    torch_on = torch is not None
    if torch_on:
        torch.set_num_threads(args.torch_threads)
        if device != "cpu" and not torch.cuda.is_available():
            print("PyTorch here has no CUDA: timing tinygrad_mom alone", file=sys.stderr)
            torch_on = False

    info = machine_info(device, args.torch_threads)
    if torch_on and device != "cpu":
        # CuPy computes float32 matmuls and convolutions in full float32 (TF32 only with
        # CUPY_TF32=1), while PyTorch's cuDNN convolutions default to TF32: turn TF32 off so
        # that both frameworks do the same arithmetic (and the float32 cross-check holds).
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        info["torch_tf32"] = False
        info["CUPY_TF32"] = os.environ.get("CUPY_TF32", "0")
    info["malloc_keeps_freed_memory"] = (
        False if args.default_malloc else tm.backend.keep_freed_memory()
    )
    peak = gemm_peak_gflops(device, 1024 if args.quick else 2048, 3 if args.quick else 5)
    print(f"glibc malloc keeps freed memory: {info['malloc_keeps_freed_memory']}")
    print(
        f"{info['cpu']} ({info['cpu_count']} cores), numpy {info['numpy']} "
        f"[{info['blas'].get('name')} {info['blas'].get('version')}], torch "
        f"{info.get('torch', 'not installed')}; float32 GEMM peak {peak:.0f} GFLOP/s"
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

    want = set(args.workloads.split(","))
    rows = []
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if "train" in want:
        for k, n in enumerate(batch_sizes):
            # larger batches take longer per sample: fewer samples keep the run's length
            n_repeats = repeats if k == 0 else max(repeats // 3, 5)
            rows.append(bench_train(device, n, n_repeats, warmup, peak, torch_on))
    if "infer" in want:
        rows.append(bench_inference(device, batch_sizes[-1], repeats, warmup, peak, torch_on))
    if "conv" in want:
        rows += bench_conv(device, repeats, warmup, peak, torch_on)
    if "matmul" in want:
        rows.append(bench_matmul(device, repeats * 3, warmup, peak, torch_on))
    if "overhead" in want:
        rows.append(bench_overhead(device, repeats, warmup, torch_on))
    if "optim" in want:
        rows += bench_optim(device, max(repeats // 3, 5), warmup, torch_on, args.optim_params)
    if "memory" in want and device == "cpu":
        tuned = info["malloc_keeps_freed_memory"]
        rows.append(bench_memory(64, torch_on, args.torch_threads, tuned))
    # Re-measured at the end: on a shared machine the best of both runs is the honest peak.
    peak = max(peak, gemm_peak_gflops(device, 1024 if args.quick else 2048, 3))
    for r in rows:
        if "gflops" in r:
            r["pct_of_peak"] = 100 * r["gflops"] / peak
    print()
    print_table(rows)

    report = {
        "machine": info,
        "gemm_peak_gflops": peak,
        "repeats": repeats,
        "warmup": warmup,
        "quick": args.quick,
        "cross_checks": checks,
        "rows": rows,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = args.out or RESULTS / f"run_{args.device}{'_quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    tracemalloc.stop()
    sys.exit(main())
