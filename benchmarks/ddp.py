"""Data-parallel training on MPI: step time 1 vs 2 ranks, Allreduce bandwidth, DDP overhead.

Run it plainly; it starts its own MPI jobs (``mpiexec -n 1`` and ``-n 2``, one BLAS thread per
rank) and prints a table, then writes ``benchmarks/results/ddp.json``::

    PYTHONPATH=. python benchmarks/ddp.py            # ~1 minute on 2 cores
    PYTHONPATH=. python benchmarks/ddp.py --quick    # a smoke run

Measured, at a fixed global batch (each rank takes 1/world of it, as ``--distributed``):

* the seeds' CNN (``tinygrad_mom.models.SeedCNN``, 32×32×3, SGD momentum): median step time
  and samples/s with world size 1 and 2, and, at world size 1, the same step without the
  wrapper (DDP's overhead: hooks, the end-of-backward callback; no communication there);
* ``all_reduce`` of float32 buffers of 1 KiB ... 64 MiB on 2 ranks: median time, algorithm
  bandwidth (bytes / time) and bus bandwidth (× 2(n−1)/n, what a ring moves per rank);
* the time the 2-rank step spends in the gradient all-reduce (timed inside the callback).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _median_ms(fn, warmup: int, repeats: int) -> tuple[float, float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), 1e3 * min(times), 1e3 * max(times)


def worker(args) -> None:
    """Runs on every rank; rank 0 prints one JSON line with the results."""
    import tinygrad_mom as tm
    import tinygrad_mom.distributed as dist
    from tinygrad_mom import models
    from tinygrad_mom.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {"world_size": world}
    tm.manual_seed(0)
    batch = args.batch_size
    lo, hi = batch * rank // world, batch * (rank + 1) // world
    rng = np.random.default_rng(0)
    x = tm.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)[lo:hi])
    y = tm.tensor(rng.integers(0, 10, batch)[lo:hi])
    loss_fn = tm.nn.CrossEntropyLoss()

    def make_step(model):
        opt = tm.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        return step

    # alternate plain and wrapped blocks so that machine noise spreads over both
    plain_model = models.SeedCNN()
    ddp = DDP(models.SeedCNN())
    reduce_times = []
    original = ddp._reduce_gradients

    def timed_reduce():
        t0 = time.perf_counter()
        original()
        reduce_times.append(time.perf_counter() - t0)

    ddp._reduce_gradients = timed_reduce
    steps = {"ddp": make_step(ddp)}
    if world == 1:
        steps["plain"] = make_step(plain_model)
    samples = {name: [] for name in steps}
    for _ in range(3):
        for name, fn in steps.items():
            dist.barrier()
            median, _, _ = _median_ms(fn, args.warmup, args.repeats)
            samples[name].append(median)
    for name, medians in samples.items():
        ms = statistics.median(medians)
        out[f"{name}_step_ms"] = ms
        out[f"{name}_samples_per_s"] = batch / ms * 1e3
    out["reduce_ms_per_step"] = 1e3 * statistics.median(reduce_times)
    out["gradient_bytes"] = int(sum(p.array.nbytes for p in ddp.parameters()))
    if world > 1:
        rows = []
        for nbytes in args.sizes:
            buf = tm.zeros(nbytes // 4)
            repeats = max(5, min(args.repeats * 5, int(2e8 // max(nbytes, 1))))
            dist.barrier()
            median, low, high = _median_ms(lambda b=buf: dist.all_reduce(b), 3, repeats)
            algbw = nbytes / (median / 1e3)
            rows.append(
                {
                    "bytes": nbytes,
                    "median_ms": median,
                    "min_ms": low,
                    "max_ms": high,
                    "algbw_GBps": algbw / 1e9,
                    "busbw_GBps": algbw * 2 * (world - 1) / world / 1e9,
                }
            )
        out["allreduce"] = rows
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)
    dist.destroy_process_group()


def launch(n: int, args) -> dict:
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    mpiexec = str(local) if local.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit('benchmarks/ddp.py: no mpiexec found (pip install "tinygrad_mom[dist]")')
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # one thread per rank: 2 ranks use the 2 cores
    cmd = [mpiexec, "-n", str(n), sys.executable, __file__, "--worker"]
    cmd += ["--batch-size", str(args.batch_size), "--warmup", str(args.warmup)]
    cmd += ["--repeats", str(args.repeats), "--sizes", ",".join(map(str, args.sizes))]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"mpiexec -n {n} failed:\n{done.stdout}\n{done.stderr}")
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:g} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:g} KiB"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    p.add_argument("--batch-size", type=int, default=64, help="global batch")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--sizes", default=None, help="all_reduce sizes in bytes, comma-separated")
    p.add_argument("--out", default=str(HERE / "results" / "ddp.json"))
    args = p.parse_args()
    if args.sizes is None:
        exponents = [10, 16, 20, 26] if args.quick else [10, 12, 14, 16, 18, 20, 22, 24, 26]
        args.sizes = [2**e for e in exponents]
    elif isinstance(args.sizes, str):
        args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.warmup, args.repeats = 1, 3
    if args.worker:
        worker(args)
        return
    one, two = launch(1, args), launch(2, args)
    overhead = one["ddp_step_ms"] / one["plain_step_ms"] - 1
    speedup = one["ddp_step_ms"] / two["ddp_step_ms"]
    print(f"seeds' CNN, global batch {args.batch_size}, SGD momentum, one BLAS thread per rank")
    print("| configuration | step ms | samples/s | all-reduce ms/step |")
    print("|---|---|---|---|")
    print(
        f"| 1 process, no wrapper | {one['plain_step_ms']:.1f} | "
        f"{one['plain_samples_per_s']:.0f} | – |"
    )
    for r in (one, two):
        print(
            f"| DDP, {r['world_size']} rank(s) | {r['ddp_step_ms']:.1f} | "
            f"{r['ddp_samples_per_s']:.0f} | {r['reduce_ms_per_step']:.2f} |"
        )
    print(
        f"\nDDP overhead at world size 1: {100 * overhead:+.1f} %; speed-up 1 → 2 ranks: "
        f"{speedup:.2f}×; gradients {one['gradient_bytes'] / 2**20:.2f} MiB per step"
    )
    print("\n| all_reduce size | median ms | algbw GB/s | busbw GB/s |")
    print("|---|---|---|---|")
    for row in two["allreduce"]:
        print(
            f"| {_size(row['bytes'])} | {row['median_ms']:.3f} | {row['algbw_GBps']:.2f} | "
            f"{row['busbw_GBps']:.2f} |"
        )
    import mpi4py

    result = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "mpi4py": mpi4py.__version__,
        },
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "args": {k: v for k, v in vars(args).items() if k not in ("worker", "out")},
        "world_1": one,
        "world_2": two,
        "ddp_overhead_world_1": overhead,
        "speedup_1_to_2": speedup,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
