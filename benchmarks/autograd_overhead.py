"""First-order cost of the autograd engine: two source trees, each in its own processes.

Measures what the higher-order-gradient design must not slow down (issue: at most 3 %): the
per-op overhead (a 200-op chain of (4, 4) tensors, forward + backward, µs per op) and the
Keras experiment's CNN training step at batch 64 (ms). Each tree runs in fresh processes,
alternating tree by tree, and the table shows medians over processes (each process reports
the median of its own repeats), so machine noise spreads over both trees.

    python benchmarks/autograd_overhead.py --trees BASELINE_DIR . [--processes 5]

Writes benchmarks/results/autograd_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

RESULTS = pathlib.Path(__file__).parent / "results" / "autograd_overhead.json"

# Runs inside one process with PYTHONPATH=<tree>: prints {"overhead_us": .., "cnn_ms": ..}.
WORKER = r"""
import json, statistics, sys, time
import numpy as np
sys.path.insert(0, "benchmarks")
import tinygrad_mom as tm

def median_time(work, repeats, warmup):
    for _ in range(warmup):
        work()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); work(); times.append(time.perf_counter() - t0)
    return statistics.median(times)

x = tm.Tensor(np.random.default_rng(6).standard_normal((4, 4), dtype=np.float32),
              requires_grad=True)
def chain():
    y = x
    for _ in range(100):
        y = (y * 0.999) + 0.001
    y.sum().backward()
    x.grad = None

from seed_step import batch, initial_weights, make_tm_trainer
images, labels = batch(64)
trainer = make_tm_trainer(initial_weights())
xb, yb = tm.Tensor(images), tm.Tensor(labels)
print(json.dumps({
    "overhead_us": median_time(chain, 40, 5) * 1e6 / 200,
    "cnn_ms": median_time(lambda: trainer.step(xb, yb), 10, 3) * 1e3,
}))
"""


def run_once(tree: pathlib.Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", WORKER], cwd=tree, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", nargs=2, required=True, metavar=("BASELINE", "CANDIDATE"),
                        help="two source trees (repository roots) to compare")
    parser.add_argument("--processes", type=int, default=5,
                        help="fresh processes per tree (default 5)")
    args = parser.parse_args(argv)
    trees = [pathlib.Path(t).resolve() for t in args.trees]
    samples = {str(t): [] for t in trees}
    for _ in range(args.processes):
        for t in trees:
            samples[str(t)].append(run_once(t))
    rows = {}
    for t in trees:
        runs = samples[str(t)]
        rows[str(t)] = {
            key: {"median": statistics.median(r[key] for r in runs),
                  "min": min(r[key] for r in runs), "max": max(r[key] for r in runs)}
            for key in ("overhead_us", "cnn_ms")
        }
    base, cand = (rows[str(t)] for t in trees)
    print(f"{'metric':<28}{'baseline':>22}{'candidate':>22}{'ratio':>8}")
    for key, label in (("overhead_us", "per-op overhead (µs/op)"),
                       ("cnn_ms", "CNN train step b64 (ms)")):
        b, c = base[key], cand[key]
        print(f"{label:<28}{b['median']:>10.2f} ({b['min']:.2f}–{b['max']:.2f})"
              f"{c['median']:>10.2f} ({c['min']:.2f}–{c['max']:.2f})"
              f"{c['median'] / b['median']:>7.3f}×")
    result = {"trees": [str(t) for t in trees], "processes": args.processes, "rows": rows,
              "samples": samples}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
