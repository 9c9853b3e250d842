"""First-order cost of the autograd engine: two source trees, each in its own processes.

Measures what the higher-order-gradient design must not slow down (issue: at most 3 %): the
per-op overhead (a 200-op chain of (4, 4) tensors, forward + backward, µs per op) and the
Keras experiment's CNN training step at batch 64 (ms). Each tree runs in fresh processes,
alternating tree by tree, and the table shows medians over processes (each process reports
the median of its own repeats), so machine noise spreads over both trees.

    python benchmarks/autograd_overhead.py --trees BASELINE_DIR . [--processes 5]
    python benchmarks/autograd_overhead.py --trees BASELINE_DIR . --instructions

``--instructions`` counts machine instructions per op instead (valgrind's callgrind, on the
same chain): the count does not depend on what else the machine is doing, so one process per
tree is enough on a shared machine where wall-clock medians swing by 2x. The count per op is
the difference between a run of 50 and a run of 10 chains, divided by 40 x 200 ops, so that
start-up and imports cancel. Needs ``valgrind`` on the PATH.

Writes benchmarks/results/autograd_overhead.json (or autograd_overhead_instructions.json).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys

RESULTS = pathlib.Path(__file__).parent / "results" / "autograd_overhead.json"
RESULTS_INSTRUCTIONS = RESULTS.with_name("autograd_overhead_instructions.json")

# The measured chain: 100 x (multiply, add) on a (4, 4) tensor that requires grad, 200 ops.
CHAIN = r"""
x = tm.Tensor(np.random.default_rng(6).standard_normal((4, 4), dtype=np.float32),
              requires_grad=True)
def chain(backward=True):
    y = x
    for _ in range(100):
        y = (y * 0.999) + 0.001
    if backward:
        y.sum().backward()
    x.grad = None
"""

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

""" + CHAIN + r"""
from seed_step import batch, initial_weights, make_tm_trainer
images, labels = batch(64)
trainer = make_tm_trainer(initial_weights())
xb, yb = tm.Tensor(images), tm.Tensor(labels)
print(json.dumps({
    "overhead_us": median_time(chain, 40, 5) * 1e6 / 200,
    "cnn_ms": median_time(lambda: trainer.step(xb, yb), 10, 3) * 1e3,
}))
"""


# The same chain, run a given number of times (argv: chains, "both" or "forward") after the
# same warm-up: the instruction count of the difference between two such runs is the chains'.
COUNT_WORKER = r"""
import sys
import numpy as np
import tinygrad_mom as tm
chains, mode = int(sys.argv[1]), sys.argv[2]
""" + CHAIN + r"""
for _ in range(3 + chains):
    chain(mode == "both")
"""
CHAINS = (10, 50)
OPS_PER_CHAIN = 200


def count_instructions(tree: pathlib.Path, chains: int, mode: str) -> int:
    """Instructions executed by one process that runs ``chains`` chains (callgrind)."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", COUNT_WORKER, str(chains), mode],
        cwd=tree, env=env, check=True, capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", out.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no instruction count:\n{out.stderr[-2000:]}")
    return int(match.group(1))


def instructions_per_op(tree: pathlib.Path) -> dict:
    """Instructions per op of the chain, forward + backward and forward alone."""
    row = {}
    for mode, key in (("both", "forward_backward"), ("forward", "forward")):
        few, many = (count_instructions(tree, n, mode) for n in CHAINS)
        row[key] = (many - few) / ((CHAINS[1] - CHAINS[0]) * OPS_PER_CHAIN)
    row["backward"] = row["forward_backward"] - row["forward"]
    return row


def main_instructions(trees: list[pathlib.Path]) -> dict:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt install valgrind)")
    rows = {str(t): instructions_per_op(t) for t in trees}
    base, cand = (rows[str(t)] for t in trees)
    print(f"{'instructions per op':<28}{'baseline':>12}{'candidate':>12}{'ratio':>8}")
    for key in ("forward_backward", "forward", "backward"):
        print(f"{key:<28}{base[key]:>12,.0f}{cand[key]:>12,.0f}"
              f"{cand[key] / base[key]:>7.3f}×")
    result = {"trees": [str(t) for t in trees], "chains": CHAINS,
              "ops_per_chain": OPS_PER_CHAIN, "instructions_per_op": rows}
    RESULTS_INSTRUCTIONS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_INSTRUCTIONS.write_text(json.dumps(result, indent=2) + "\n")
    return result


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
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per op with callgrind (load-independent)")
    args = parser.parse_args(argv)
    trees = [pathlib.Path(t).resolve() for t in args.trees]
    if args.instructions:
        return main_instructions(trees)
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
