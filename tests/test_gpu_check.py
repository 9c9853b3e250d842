"""benchmarks/gpu_check.sh and its report: the dry run on the CPU, the summary's verdicts, and
the suite's own per-test timeout (``--test-timeout``) that the script uses without pytest-timeout.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_report  # noqa: E402

OUT_FILES = {
    "bench.log", "tests.log", "tests.xml", "run.json", "optim_step.json", "profile.json",
    "summary.json", "summary.md",
}  # fmt: skip


def _env(**extra):
    env = dict(os.environ, PYTHON=sys.executable, **extra)
    env.pop("PYTHONPATH", None)  # the script sets it to the checkout itself
    return env


@pytest.mark.slow
def test_dry_run_runs_every_stage_and_reports(tmp_path):
    out = tmp_path / "out"
    # a small test selection: the dry run checks the plumbing, and must not run this test again
    env = _env(GPU_CHECK_TESTS="tests/test_cuda.py -k fake")
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(out), "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {p.name for p in out.iterdir()} == OUT_FILES
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] and summary["device"] == "cpu" and summary["problems"] == []
    stages = [s["stage"] for s in summary["stages"]]
    assert stages[-5:] == ["env", "tests", "run.py", "optim_step.py", "gpu_profile.py"]
    assert summary["tests"]["all"]["passed"] >= 5 and summary["tests"]["all"]["failed"] == 0
    assert "tm.cuda.device_count() = " in summary["env"]
    run = json.loads((out / "run.json").read_text())
    names = [r["workload"] for r in run["rows"]]
    assert any(n.startswith("train step") for n in names) and any("conv2d" in n for n in names)
    assert any(n.startswith("optimizer Adam") for n in names)
    optim = json.loads((out / "optim_step.json").read_text())
    assert {r["optimizer"] for r in optim["rows"]} == {"SGD-momentum", "Adam"}
    profile = json.loads((out / "profile.json").read_text())
    parts = profile["frameworks"]["tinygrad_mom"]["parts"]
    assert "backward" in parts and "forward  0 Conv2d" in parts and profile["batch"] == 8
    md = (out / "summary.md").read_text()
    assert md.startswith("# gpu_check on cpu: PASS") and "| train step, seeds' CNN, batch 8 |" in md
    assert "| backward |" in md and "## Versions" in md


@pytest.mark.parametrize("args", [[], ["a", "--gpu"], ["a", "--dry-run", "x"]])
def test_usage_errors_exit_2(args, tmp_path):
    proc = subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 2 and "usage:" in proc.stderr


# ----------------------------------------------------------------------------------------------
# the summary's verdicts, on hand-made stage outputs

_JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_ops" name="test_add[cpu]" time="0.1"/>
<testcase classname="tests.test_ops" name="test_add[cuda]" time="0.1">
  <properties><property name="device" value="cuda"/></properties>{cuda_outcome}</testcase>
<testcase classname="tests.test_backend" name="test_parse[cuda-cuda:0]" time="0.1"/>
<testcase classname="tests.test_ops" name="test_mul[cpu]" time="0.1">
  <failure message="AssertionError: 1 != 2">trace</failure></testcase>
</testsuite></testsuites>"""


def _outdir(tmp_path, cuda_outcome=""):
    (tmp_path / "tests.xml").write_text(_JUNIT.format(cuda_outcome=cuda_outcome))
    (tmp_path / "bench.log").write_text("cupy 14.2.0\n== run.py (limit 110s): ...\nrows\n")
    run = {"machine": {"device": "cuda:0"}, "rows": [
        {"workload": "train step, seeds' CNN, batch 256", "unit": "ms",
         "tinygrad_mom": {"median": 12.0, "min": 11.0, "max": 13.0, "n": 10},
         "torch": {"median": 8.0, "min": 7.5, "max": 9.0, "n": 10}, "ratio": 1.5},
        {"workload": "optimizer Adam step", "skipped": "not available"},
    ]}  # fmt: skip
    (tmp_path / "run.json").write_text(json.dumps(run))
    optim = {"device": "cuda:0", "rows": [
        {"optimizer": "Adam", "tensors": 200, "tinygrad_mom_s": 0.004,
         "tinygrad_mom_fused_s": 0.001, "torch_foreach_off_s": None,
         "torch_foreach_on_s": 0.002, "floor_s": 0.0005},
    ]}  # fmt: skip
    (tmp_path / "optim_step.json").write_text(json.dumps(optim))
    prof = {"device": "cuda:0", "batch": 256, "frameworks": {
        "tinygrad_mom": {"step_ms": 9.0, "parts": {
            "backward": {"host_ms": 3.0, "device_ms": 5.0, "launch_bound": False}}},
        "torch": {"step_ms": 4.0, "parts": {
            "backward": {"host_ms": 1.0, "device_ms": 2.5, "launch_bound": False}}},
    }}  # fmt: skip
    (tmp_path / "profile.json").write_text(json.dumps(prof))
    return tmp_path


def test_summary_counts_cuda_variants_and_collects_failures(tmp_path, capsys):
    out = _outdir(tmp_path)
    rc = gpu_report.summary(out, "cuda", ["env:0:3", "tests:1:80", "run.py:0:50"])
    result = json.loads((out / "summary.json").read_text())
    assert rc == 1 and not result["ok"]
    # the property, not the id, decides: test_parse[cuda-cuda:0] is a CPU test
    assert result["tests"]["cuda_variants"] == {
        "passed": 1, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0, "xpassed": 0, "total": 1
    }  # fmt: skip
    assert result["tests"]["all"]["failed"] == 1
    assert result["tests"]["failures"][0]["id"] == "tests.test_ops::test_mul[cpu]"
    assert "stage tests exited 1" in result["problems"]
    md = (out / "summary.md").read_text()
    assert "| train step, seeds' CNN, batch 256 | ms | 12 (11–13) | 8 (7.5–9) | 1.50× |" in md
    assert "| Adam | 200 | 4 | 1 | - | 2 | 0.5 |" in md
    assert "| backward | 3 | 5 | 1 | 2.5 |" in md and "| whole step (wall) | 9 |  | 4 |  |" in md
    assert result["env"] == "cupy 14.2.0"  # bench.log up to the first benchmark stage
    assert md in capsys.readouterr().out


def test_summary_fails_a_gpu_run_whose_cuda_variants_all_skipped(tmp_path):
    out = _outdir(tmp_path, '<skipped message="CuPy is not installed"/>')
    (out / "tests.xml").write_text(
        (out / "tests.xml").read_text().replace(
            '<failure message="AssertionError: 1 != 2">trace</failure>', ""
        )
    )
    assert gpu_report.summary(out, "cuda", ["tests:0:10"]) == 1
    result = json.loads((out / "summary.json").read_text())
    assert result["problems"] == ["no CUDA test variant ran: the CuPy backend was not enabled"]
    assert result["tests"]["cuda_skip_reasons"] == {"CuPy is not installed": 1}
    # the same outputs pass as a CPU (dry) run
    assert gpu_report.summary(out, "cpu", ["tests:0:10"]) == 0


def test_summary_reads_the_log_when_the_run_was_cut_off(tmp_path):
    out = _outdir(tmp_path)
    (out / "tests.xml").unlink()
    (out / "tests.log").write_text(
        "tests/test_ops.py::test_add[cpu] PASSED  [ 10%]\n"
        "[gw1] [ 20%] PASSED tests/test_ops.py::test_add[cuda]\n"
        "[gw0] [ 30%] FAILED tests/test_ops.py::test_mul[float32-cuda]\n"
        "[gw1] [ 40%] SKIPPED tests/test_ops.py::test_bad[lr value: -1.0] \n"
        "tests/test_ops.py::test_div[x y] PASSED  [ 50%]\n"
        "some other line\n"
    )
    assert gpu_report.summary(out, "cuda", ["tests:124:240"]) == 1
    tests = json.loads((out / "summary.json").read_text())["tests"]
    assert tests["source"].startswith("tests.log")
    assert tests["all"]["total"] == 5 and tests["all"]["skipped"] == 1
    assert tests["cuda_variants"]["passed"] == 1
    assert tests["cuda_variants"]["failed"] == 1


def test_summary_notes_missing_benchmark_files(tmp_path):
    out = _outdir(tmp_path)
    (out / "run.json").unlink()
    assert gpu_report.summary(out, "cpu", ["tests:0:1"]) == 1
    assert "run.json missing" in json.loads((out / "summary.json").read_text())["problems"]


# ----------------------------------------------------------------------------------------------
# --test-timeout (tests/conftest.py), the fallback for machines without pytest-timeout


def test_test_timeout_option_fails_a_test_that_runs_too_long(tmp_path):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_slow.py").write_text(
        textwrap.dedent(
            """
            import time

            def test_sleeps():
                time.sleep(30)

            def test_quick():
                pass
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--test-timeout",
         "0.5", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout
    assert "TimeoutError: test ran longer than --test-timeout=0.5 s" in proc.stdout
    assert "1 failed, 1 passed" in proc.stdout
