"""Peak memory of ``tm.load`` on a large checkpoint, from a path and from a file object.

Saves a state of about ``--mb`` MB (a nested training checkpoint: a model of ``--tensors``
float32 tensors, an optimizer state of the same size is not needed for the measurement), then
loads it in fresh processes, one per mode, and reports each process's peak-RSS growth during
``tm.load`` (Linux ``VmHWM`` after ``clear_refs``, else ``ru_maxrss``) and the tracemalloc
peak (NumPy's and Python's own allocations). The ratio is the growth over the file size:
1.0 means the loaded arrays and nothing else.

    python benchmarks/load_memory.py                 # 400 MB, table + results/load_memory.json
    python benchmarks/load_memory.py --mb 40 --out /tmp/x.json   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, os, resource, sys, tracemalloc
sys.path.insert(0, sys.argv[3])
import tinygrad_mom as tm
import safetensors.numpy  # noqa: F401  (imported before the baseline is taken)

def peak_kb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass

path, mode = sys.argv[1], sys.argv[2]
reset_peak()
base = peak_kb()
tracemalloc.start()
if mode == "path":
    state = tm.load(path)
else:
    with open(path, "rb") as fh:
        state = tm.load(fh)
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"rss_growth_kb": peak_kb() - base, "tracemalloc_peak_b": traced}))
"""


def make_state(mb: float, tensors: int):
    import numpy as np

    import tinygrad_mom as tm

    per = max(1, int(mb * 1e6 / 4 / tensors))
    rng = np.random.default_rng(0)
    model = {f"layer{i}.weight": tm.Tensor(rng.standard_normal(per, dtype=np.float32))
             for i in range(tensors)}
    return {"model": model, "epoch": 3, "history": {"loss": [1.0, 0.5]}}


def measure(path: str, mode: str, tree: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, path, mode, tree], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=400.0, help="checkpoint size in MB")
    parser.add_argument("--tensors", type=int, default=40, help="number of tensors")
    parser.add_argument("--tree", default=ROOT, help="source tree of tinygrad_mom to measure")
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                      "load_memory.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, args.tree)
    import tinygrad_mom as tm

    rows = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state.safetensors")
        tm.save(make_state(args.mb, args.tensors), path)
        size = os.path.getsize(path)
        for mode in ("path", "file object"):
            r = measure(path, mode, args.tree)
            rows.append({"mode": mode, "file_mb": size / 1e6,
                         "rss_growth_mb": r["rss_growth_kb"] * 1024 / 1e6,
                         "tracemalloc_peak_mb": r["tracemalloc_peak_b"] / 1e6})
    print(f"tm.load peak memory, {args.tensors} float32 tensors ({args.label or args.tree})")
    print(f"{'mode':<12} {'file MB':>8} {'RSS growth MB':>14} {'× file':>7} "
          f"{'tracemalloc MB':>15} {'× file':>7}")
    for r in rows:
        print(f"{r['mode']:<12} {r['file_mb']:8.1f} {r['rss_growth_mb']:14.1f} "
              f"{r['rss_growth_mb'] / r['file_mb']:7.2f} {r['tracemalloc_peak_mb']:15.1f} "
              f"{r['tracemalloc_peak_mb'] / r['file_mb']:7.2f}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"label": args.label, "tensors": args.tensors, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
