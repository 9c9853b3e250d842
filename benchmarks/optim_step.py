"""Time one optimizer step: SGD-momentum and Adam over N parameters, as 1 tensor and as 200.

Compares tinygrad_mom's in-place NumPy (or CuPy) step with torch.optim (foreach off and on) when
torch is installed, and states the bytes each step must move against the machine's measured
copy bandwidth (the floor no implementation can beat). Prints a table and writes JSON.

    PYTHONPATH=. python benchmarks/optim_step.py                 # 10M parameters, CPU
    PYTHONPATH=. python benchmarks/optim_step.py --device cuda   # the same with CuPy
    PYTHONPATH=. python benchmarks/optim_step.py --device cuda --fused   # + fused=True kernels
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import tinygrad_mom as tm

# Arrays each step must read + write at least once (float32 elements):
# SGD-momentum reads θ, g, b and writes θ, b; Adam reads θ, g, m, v and writes θ, m, v.
ARRAYS_TOUCHED = {"SGD-momentum": 5, "Adam": 7}


def _sync(device: str) -> None:
    if device != "cpu":
        import cupy

        cupy.cuda.Device().synchronize()


def _median_time(fn, device: str, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def copy_bandwidth(numel: int, device: str, warmup: int, repeats: int) -> float:
    """Measured bytes/s of a plain array copy (read + write) of ``numel`` float32."""
    if device == "cpu":
        xp = np
    else:
        import cupy as xp
    src = xp.ones(numel, dtype=np.float32)
    dst = xp.empty_like(src)
    t = _median_time(lambda: xp.copyto(dst, src), device, warmup, repeats)
    return 2 * src.nbytes / t


def _shapes(numel: int, n_tensors: int) -> list[int]:
    base = numel // n_tensors
    sizes = [base] * n_tensors
    sizes[-1] += numel - base * n_tensors
    return sizes


def bench_tm(
    name: str, sizes: list[int], device: str, warmup: int, repeats: int, fused: bool | None = None
) -> float:
    rng = np.random.default_rng(0)
    params = []
    for n in sizes:
        p = tm.tensor(rng.standard_normal(n, dtype=np.float32), requires_grad=True, device=device)
        p.grad = tm.tensor(rng.standard_normal(n, dtype=np.float32), device=device)
        params.append(p)
    if name == "SGD-momentum":
        opt = tm.optim.SGD(params, lr=1e-3, momentum=0.9, fused=fused)
    else:
        opt = tm.optim.Adam(params, lr=1e-3, fused=fused)
    return _median_time(opt.step, device, warmup, repeats)


def bench_torch(name: str, sizes: list[int], foreach: bool, device: str, warmup: int,
                repeats: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    dev = "cuda" if device != "cpu" else "cpu"
    if dev == "cuda" and not torch.cuda.is_available():
        return None
    torch.manual_seed(0)
    params = []
    for n in sizes:
        p = torch.randn(n, device=dev, requires_grad=True)
        p.grad = torch.randn(n, device=dev)
        params.append(p)
    if name == "SGD-momentum":
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach)
    else:
        opt = torch.optim.Adam(params, lr=1e-3, foreach=foreach)

    def step():
        with torch.no_grad():
            opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()

    return _median_time(step, "cpu", warmup, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numel", type=int, default=10_000_000, help="parameters in total")
    ap.add_argument("--tensors", type=int, nargs="+", default=[1, 200], help="layouts to time")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--no-torch", action="store_true", help="skip the torch.optim comparison")
    ap.add_argument(
        "--fused", action="store_true", help="also time fused=True (one CuPy kernel per rule)"
    )
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "optim_step.json"))
    args = ap.parse_args()
    device = "cuda:0" if args.device == "cuda" else "cpu"
    if device != "cpu" and not tm.cuda.is_available():
        raise SystemExit("--device cuda needs CuPy and a CUDA GPU; none is available here")
    if args.fused and device == "cpu":
        raise SystemExit("--fused needs --device cuda (fused=True runs CuPy kernels)")

    bw = copy_bandwidth(args.numel, device, args.warmup, args.repeats)
    print(f"device {device}; {args.numel:,} float32 parameters; copy bandwidth {bw / 1e9:.1f} GB/s")
    header = (f"{'optimizer':<13} {'tensors':>7} {'MB moved':>9} {'floor ms':>9} {'tm ms':>8} "
              f"{'tm/floor':>8} {'fused ms':>9} {'torch ms':>9} {'torch-foreach ms':>16}")
    print(header)
    print("-" * len(header))
    rows = []
    for name in ARRAYS_TOUCHED:
        for n_tensors in args.tensors:
            sizes = _shapes(args.numel, n_tensors)
            moved = ARRAYS_TOUCHED[name] * 4 * args.numel
            floor = moved / bw
            t_tm = bench_tm(name, sizes, device, args.warmup, args.repeats)
            t_fused = None
            if args.fused:
                t_fused = bench_tm(name, sizes, device, args.warmup, args.repeats, fused=True)
            t_torch = t_fe = None
            if not args.no_torch:
                t_torch = bench_torch(name, sizes, False, device, args.warmup, args.repeats)
                t_fe = bench_torch(name, sizes, True, device, args.warmup, args.repeats)

            def ms(t):
                return "-" if t is None else f"{t * 1e3:.2f}"

            print(f"{name:<13} {n_tensors:>7} {moved / 1e6:>9.0f} {floor * 1e3:>9.2f} "
                  f"{t_tm * 1e3:>8.2f} {t_tm / floor:>8.2f} {ms(t_fused):>9} {ms(t_torch):>9} "
                  f"{ms(t_fe):>16}")
            rows.append({
                "optimizer": name, "tensors": n_tensors, "numel": args.numel,
                "bytes_moved": moved, "floor_s": floor, "tinygrad_mom_s": t_tm,
                "tinygrad_mom_fused_s": t_fused,
                "torch_foreach_off_s": t_torch, "torch_foreach_on_s": t_fe,
            })
    result = {
        "device": device, "machine": platform.processor() or platform.machine(),
        "numpy": np.__version__, "copy_bandwidth_bytes_per_s": bw,
        "warmup": args.warmup, "repeats": args.repeats, "statistic": "median", "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
