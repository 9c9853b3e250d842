"""Core engine timings: a 512x512 matmul forward+backward and per-op overhead of a 1,000-op chain.

The same work runs in PyTorch when it is installed, and the table shows tinygrad_mom / PyTorch.
Medians over repeats after warm-up. Writes JSON to benchmarks/results/core_bench.json.

    PYTHONPATH=. python benchmarks/core_bench.py [--device cuda] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

import tinygrad_mom as tm

RESULTS = pathlib.Path(__file__).parent / "results" / "core_bench.json"
CHAIN_OPS = 1000
MATMUL_N = 512


def median_seconds(work: Callable[[], None], sync: Callable[[], None], repeats: int, warmup: int):
    """Median wall time of ``work`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        work()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# waiting for the device, per framework


def _tm_sync(device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    import cupy

    return lambda: cupy.cuda.Device().synchronize()


def _torch_sync(torch, device: str) -> Callable[[], None]:
    if device == "cpu":
        return lambda: None
    return torch.cuda.synchronize


# ---------------------------------------------------------------------------------------------
# workloads, written once: tinygrad_mom's API is PyTorch's, so ``lib`` is either module


def matmul_case(lib, device: str):
    lib.manual_seed(0)
    a = lib.randn(MATMUL_N, MATMUL_N, device=device, requires_grad=True)
    b = lib.randn(MATMUL_N, MATMUL_N, device=device, requires_grad=True)

    def work():
        a.grad = b.grad = None
        (a @ b).sum().backward()

    return work


def chain_case(lib, device: str, size: int, backward: bool):
    x = lib.ones(size, device=device, requires_grad=True)

    def work():
        x.grad = None
        y = x
        for _ in range(CHAIN_OPS // 2):  # two ops per step: mul and add
            y = y * 1.0001 + 0.001
        if backward:
            y.sum().backward()

    return work


# ---------------------------------------------------------------------------------------------
# report


def machine_info(device: str) -> dict:
    """Host, library versions and BLAS; the GPU name when one is used."""
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "tinygrad_mom": tm.__version__,
        "device": device,
    }
    try:  # numpy >= 1.25 reports its build configuration as a dict
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        info["blas"] = "unknown"
    if device != "cpu":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["cupy"] = cupy.__version__
    return info


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmarks, print the table and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before timing")
    parser.add_argument("--chain-size", type=int, default=16, help="elements per chain tensor")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="JSON output path")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = parser.parse_args(argv)
    device = tm.backend.parse_device(args.device)
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")

    try:
        if args.no_torch:
            raise ImportError
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        torch_device = "cpu" if device == "cpu" else device
        if device != "cpu" and not torch.cuda.is_available():
            torch = None
    except ImportError:
        torch = None

    def both(case, *args):
        ours = case(tm, device, *args)
        return ours, None if torch is None else case(torch, torch_device, *args)

    cases = {
        f"matmul {MATMUL_N}x{MATMUL_N} fwd+bwd": (*both(matmul_case), 1),
        f"{CHAIN_OPS}-op chain fwd+bwd (per op)": (
            *both(chain_case, args.chain_size, True),
            CHAIN_OPS,
        ),
        f"{CHAIN_OPS}-op chain fwd only (per op)": (
            *both(chain_case, args.chain_size, False),
            CHAIN_OPS,
        ),
    }
    rows = []
    for name, (tm_work, torch_work, per) in cases.items():
        ours = median_seconds(tm_work, _tm_sync(device), args.repeats, args.warmup) / per
        theirs = None
        if torch_work is not None:
            theirs = median_seconds(
                torch_work, _torch_sync(torch, torch_device), args.repeats, args.warmup
            )
            theirs /= per
        rows.append(
            {
                "case": name,
                "tinygrad_mom_us": ours * 1e6,
                "torch_us": None if theirs is None else theirs * 1e6,
                "ratio": None if theirs is None else ours / theirs,
            }
        )

    print(f"{'case':<36} {'tinygrad_mom':>14} {'torch':>12} {'ratio':>8}")
    for r in rows:
        torch_cell = "-" if r["torch_us"] is None else f"{r['torch_us']:.1f} us"
        ratio_cell = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"{r['case']:<36} {r['tinygrad_mom_us']:>11.1f} us {torch_cell:>12} {ratio_cell:>8}")

    report = {
        "benchmark": "core_bench",
        "repeats": args.repeats,
        "warmup": args.warmup,
        "chain_size": args.chain_size,
        "machine": machine_info(device),
        "torch": None if torch is None else torch.__version__,
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
