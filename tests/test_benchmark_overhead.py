"""benchmarks/autograd_overhead.py: its instruction-count worker runs, and a missing valgrind
is a clear exit, not a traceback (the counting itself needs valgrind and is not run here)."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def overhead():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import autograd_overhead as module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


@pytest.mark.parametrize("mode", ["both", "forward"])
def test_count_worker_runs_the_chain(overhead, mode):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", overhead.COUNT_WORKER, "1", mode], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_instructions_without_valgrind_exits_with_a_message(overhead, monkeypatch, tmp_path):
    monkeypatch.setattr(overhead.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="needs valgrind"):
        overhead.main(["--trees", str(tmp_path), str(tmp_path), "--instructions"])
