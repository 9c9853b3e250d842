#!/usr/bin/env bash
# The prepared GPU run: GPU and library versions, the whole test suite with the CuPy backend
# enabled, the CuPy-vs-PyTorch-CUDA benchmarks and a profile of the training step, with logs,
# JSON and a table under OUTDIR.
#
#   benchmarks/gpu_check.sh OUTDIR            # on a machine with an NVIDIA GPU, CuPy, torch CUDA
#   benchmarks/gpu_check.sh OUTDIR --dry-run  # the same steps on the CPU, small and quick
#
# Needs no network and installs nothing: the project is imported from this checkout
# (PYTHONPATH). Every stage runs under `timeout`, so the whole run ends within 8 minutes even
# when a stage hangs; a stage that fails is recorded and the next stage still runs. OUTDIR
# receives exactly eight files: bench.log (versions and benchmark output), tests.log, tests.xml,
# run.json, optim_step.json, profile.json, summary.json, summary.md. The exit status is 0 when
# every stage passed.
#
# Environment: PYTHON (default python3, else python), GPU_CHECK_TESTS (pytest targets, default:
# the whole suite; the dry run: tests/test_cuda.py tests/test_backend.py), GPU_CHECK_WORKERS (xdist
# workers when pytest-xdist is installed, default 8; 0 runs in one process).
set -uo pipefail

usage() {
    echo "usage: $0 OUTDIR [--dry-run]" >&2
    exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
OUTDIR=$1
DRY_RUN=0
if [[ $# -eq 2 ]]; then
    [[ $2 == --dry-run ]] || usage
    DRY_RUN=1
fi

mkdir -p "$OUTDIR" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)  # relative to the caller's directory, before the cd below
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PYTHON:-}
if [[ -z $PY ]]; then
    PY=$(command -v python3 || command -v python) || {
        echo "no python3 or python on PATH (set PYTHON)" >&2
        exit 2
    }
fi

# Seconds per stage (dry run: generous, CI machines are slow; real run: adds up to 7 min 50 s).
if [[ $DRY_RUN -eq 1 ]]; then
    T_ENV=60 T_TESTS=240 T_RUN=300 T_OPTIM=120 T_PROFILE=120 T_SUMMARY=60 PER_TEST=120
    DEVICE=cpu
    TESTS=${GPU_CHECK_TESTS:-tests/test_cuda.py tests/test_backend.py}
    RUN_ARGS=(--device cpu --quick --repeats 1 --batch-sizes 8,16 --optim-params 20000
        --workloads train,infer,conv,optim)
    OPTIM_ARGS=(--device cpu --numel 20000 --tensors 1 4 --warmup 1 --repeats 2)
    PROFILE_ARGS=(--device cpu --batch 8 --warmup 1 --repeats 2)
else
    T_ENV=20 T_TESTS=230 T_RUN=110 T_OPTIM=45 T_PROFILE=30 T_SUMMARY=15 PER_TEST=60
    DEVICE=cuda
    # the dry run's own test runs this script on the CPU: not worth GPU minutes
    TESTS=${GPU_CHECK_TESTS:-tests --deselect tests/test_gpu_check.py::test_dry_run_runs_every_stage_and_reports}
    RUN_ARGS=(--device cuda)
    OPTIM_ARGS=(--device cuda --fused --warmup 3 --repeats 10)
    PROFILE_ARGS=(--device cuda --batch 256 --warmup 3 --repeats 10)
fi

STAGES=()
stage() {  # stage NAME SECONDS LOGFILE CMD... : run CMD under timeout, append its output to LOGFILE
    local name=$1 limit=$2 log=$3 start=$SECONDS rc
    shift 3
    echo "== $name (limit ${limit}s): $*" | tee -a "$log"
    # SIGINT first: pytest then stops cleanly and still writes its report; KILL 15 s later.
    timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee -a "$log"
    rc=${PIPESTATUS[0]}
    STAGES+=("$name:$rc:$((SECONDS - start))")
    echo "== $name: exit status $rc after $((SECONDS - start))s" | tee -a "$log"
}

: >"$OUTDIR/tests.log" ; : >"$OUTDIR/bench.log"
rm -f "$OUTDIR/tests.xml" "$OUTDIR/run.json" "$OUTDIR/optim_step.json" "$OUTDIR/profile.json"

# 1. the machine: GPU, driver, CUDA, CuPy, cuDNN, PyTorch, pytest plugins
if command -v nvidia-smi >/dev/null; then
    stage nvidia-smi "$T_ENV" "$OUTDIR/bench.log" nvidia-smi
else
    echo "nvidia-smi: not found" | tee -a "$OUTDIR/bench.log"
fi
stage env "$T_ENV" "$OUTDIR/bench.log" "$PY" benchmarks/gpu_report.py env

# 2. the test suite, CuPy variants included; -x off so that every failure is collected
PYTEST_ARGS=(-m pytest -v -p no:cacheprovider -rfEs --junitxml "$OUTDIR/tests.xml")
if "$PY" -c "import pytest_timeout" 2>/dev/null; then
    PYTEST_ARGS+=(--timeout "$PER_TEST")
else
    PYTEST_ARGS+=(--test-timeout "$PER_TEST")
fi
WORKERS=${GPU_CHECK_WORKERS:-8}
if [[ $DRY_RUN -eq 0 && $WORKERS -gt 0 ]] && "$PY" -c "import xdist" 2>/dev/null; then
    PYTEST_ARGS+=(-n "$WORKERS")
fi
# shellcheck disable=SC2206  # GPU_CHECK_TESTS may name several targets
stage tests "$T_TESTS" "$OUTDIR/tests.log" "$PY" "${PYTEST_ARGS[@]}" $TESTS

# 3. benchmarks: tinygrad_mom against PyTorch (CUDA eager on the GPU), the optimizer step, and
#    where the training step's time goes
stage run.py "$T_RUN" "$OUTDIR/bench.log" \
    "$PY" benchmarks/run.py "${RUN_ARGS[@]}" --out "$OUTDIR/run.json"
stage optim_step.py "$T_OPTIM" "$OUTDIR/bench.log" \
    "$PY" benchmarks/optim_step.py "${OPTIM_ARGS[@]}" --out "$OUTDIR/optim_step.json"
stage gpu_profile.py "$T_PROFILE" "$OUTDIR/bench.log" \
    "$PY" benchmarks/gpu_profile.py "${PROFILE_ARGS[@]}" --out "$OUTDIR/profile.json"

# 4. one summary: stage results, test counts (CUDA variants apart), the benchmark tables
SUMMARY_ARGS=(summary "$OUTDIR" --device "$DEVICE")
for s in "${STAGES[@]}"; do
    SUMMARY_ARGS+=(--stage "$s")
done
timeout --kill-after=5 "$T_SUMMARY" "$PY" benchmarks/gpu_report.py "${SUMMARY_ARGS[@]}"
exit $?
