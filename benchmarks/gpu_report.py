"""The two Python steps of ``gpu_check.sh``: print the machine, and summarise a run.

    python benchmarks/gpu_report.py env
    python benchmarks/gpu_report.py summary OUTDIR --device cuda --stage tests:0:73 ...

``summary`` reads what the earlier stages left in OUTDIR (tests.xml or tests.log, run.json,
optim_step.json, profile.json, bench.log) and writes summary.json and summary.md: each stage's
exit status and duration, the versions, the test counts with the CUDA variants counted apart
(so a run in which CuPy's tests were all skipped cannot pass for a GPU run), the failures, and
the benchmark tables. It exits with status 1 unless every stage passed, no test failed and,
on ``--device cuda``, the CUDA variants actually ran.
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import platform
import re
import sys
import xml.etree.ElementTree as ET

# ``tests/x.py::test_y[cuda-3]`` or ``test_y[float32-cuda]``: how a log shows a CUDA variant
_CUDA_PARAM = re.compile(r"\[(?:[^\]]*-)?cuda(?:-[^\]]*)?\]")
_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def env() -> int:
    """Print Python, NumPy, CuPy (runtime, driver, devices, cuDNN), PyTorch and pytest plugins."""
    import numpy

    print(f"python {platform.python_version()} ({sys.executable}), numpy {numpy.__version__}")
    try:
        import cupy

        rt = cupy.cuda.runtime
        count = rt.getDeviceCount()
        print(
            f"cupy {cupy.__version__}; CUDA runtime {rt.runtimeGetVersion()}, driver "
            f"{rt.driverGetVersion()}; {count} device(s)"
        )
        for i in range(count):
            name = rt.getDeviceProperties(i)["name"]
            print(f"  cuda:{i}: {name.decode() if isinstance(name, bytes) else name}")
        try:
            from cupy.cuda import cudnn

            print(f"cuDNN (through CuPy) {cudnn.getVersion()}")
        except Exception as exc:  # CuPy without its cuDNN bindings: say so, it matters for conv
            print(f"cuDNN through CuPy: unavailable ({type(exc).__name__}: {exc})")
    except Exception as exc:  # no CuPy, no driver: the report says which
        print(f"cupy: unavailable ({type(exc).__name__}: {exc})")
    try:
        import torch

        print(
            f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"torch.cuda.is_available() = {torch.cuda.is_available()}"
        )
    except Exception as exc:
        print(f"torch: unavailable ({type(exc).__name__}: {exc})")
    import tinygrad_mom as tm

    print(
        f"tinygrad_mom {tm.__version__}: tm.cuda.is_available() = {tm.cuda.is_available()}, "
        f"tm.cuda.device_count() = {tm.cuda.device_count()}"
    )
    for module in ("pytest_timeout", "xdist"):
        try:
            __import__(module)
            print(f"{module}: installed")
        except ImportError:
            print(f"{module}: not installed")
    return 0


# ----------------------------------------------------------------------------------------------
# test results


def _from_junit(path: pathlib.Path) -> list[dict]:
    """One dict (id, outcome, message) per test case of a JUnit XML report."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                message = child.get("message", "") or ""
                if child.tag == "skipped" and child.get("type") == "pytest.xfail":
                    outcome = "xfailed"
                break
        cuda = any(
            prop.get("name") == "device" and prop.get("value") == "cuda"
            for prop in case.iter("property")
        )
        cases.append({"id": name, "outcome": outcome, "message": message, "cuda": cuda})
    return cases


# pytest -v lines: "tests/a.py::t[x] PASSED  [ 3%]";
# with xdist: "[gw1] [ 3%] PASSED tests/a.py::t"
# (test ids may hold spaces: a parametrised string)
_PLAIN = re.compile(r"^(tests/\S+::.+?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")
_XDIST = re.compile(r"^\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+?)\s*$")
_LOG_OUTCOME = {"XFAIL": "xfailed", "XPASS": "xpassed"}


def _from_log(path: pathlib.Path) -> list[dict]:
    """Test outcomes from a ``pytest -v`` log: used when the run was cut off before its XML."""
    seen = {}
    for line in path.read_text(errors="replace").splitlines():
        plain, xdist = _PLAIN.match(line), _XDIST.match(line)
        if plain:
            test, word = plain.group(1), plain.group(2)
        elif xdist:
            word, test = xdist.group(1), xdist.group(2)
        else:
            continue
        outcome = _LOG_OUTCOME.get(word, word.lower())
        if test not in seen or outcome in ("failed", "error"):  # teardown errors come later
            # a log names no markers: the device fixture's variant id is the best guess
            cuda = bool(_CUDA_PARAM.search(test))
            seen[test] = {"id": test, "outcome": outcome, "message": "", "cuda": cuda}
    return list(seen.values())


def summarise_tests(cases: list[dict]) -> dict:
    """Counts overall and for the CUDA variants, the failures, and why CUDA variants skipped."""

    def counts(selected):
        c = collections.Counter(case["outcome"] for case in selected)
        return {k: c.get(k, 0) for k in _OUTCOMES} | {"total": len(selected)}

    cuda = [c for c in cases if c["cuda"]]
    skip_reasons = collections.Counter(c["message"] for c in cuda if c["outcome"] == "skipped")
    return {
        "all": counts(cases),
        "cuda_variants": counts(cuda),
        "cuda_skip_reasons": dict(skip_reasons.most_common(5)),
        "failures": [
            {"id": c["id"], "message": c["message"][:300]}
            for c in cases
            if c["outcome"] in ("failed", "error")
        ],
    }


# ----------------------------------------------------------------------------------------------
# benchmark tables


def _cell(cell) -> str:
    if not cell:
        return "-"
    if "median" in cell:
        return f"{cell['median']:.3g} ({cell['min']:.3g}–{cell['max']:.3g})"
    return ", ".join(f"{k} {v:.1f}" for k, v in cell.items())


def run_table(report: dict) -> list[str]:
    """benchmarks/run.py's rows as a Markdown table."""
    lines = [
        "| workload | unit | tinygrad_mom median (min–max) | PyTorch median (min–max) | ratio |",
        "|---|---|---|---|---|",
    ]
    for row in report.get("rows", []):
        if "skipped" in row:
            lines.append(f"| {row['workload']} | | skipped: {row['skipped']} | | |")
            continue
        ratio = f"{row['ratio']:.2f}×" if "ratio" in row else "-"
        lines.append(
            f"| {row['workload']} | {row.get('unit', '')} | {_cell(row.get('tinygrad_mom'))} | "
            f"{_cell(row.get('torch'))} | {ratio} |"
        )
    return lines


def optim_table(report: dict) -> list[str]:
    """benchmarks/optim_step.py's rows as a Markdown table (milliseconds)."""
    columns = [
        ("tinygrad_mom_s", "tinygrad_mom"),
        ("tinygrad_mom_fused_s", "tinygrad_mom fused=True"),
        ("torch_foreach_off_s", "torch foreach off"),
        ("torch_foreach_on_s", "torch foreach on"),
        ("floor_s", "bandwidth floor"),
    ]
    lines = [
        "| optimizer | tensors | " + " | ".join(label + " ms" for _, label in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for row in report.get("rows", []):
        cells = [
            "-" if row.get(key) is None else f"{row[key] * 1e3:.3g}" for key, _ in columns
        ]
        lines.append(f"| {row['optimizer']} | {row['tensors']} | " + " | ".join(cells) + " |")
    return lines


def profile_table(report: dict) -> list[str]:
    """benchmarks/gpu_profile.py's parts as a Markdown table (median ms, host and device)."""
    names = list(report.get("frameworks", {}))
    if not names:
        return []
    head = "| part | " + " | ".join(f"{n} host | {n} device" for n in names) + " |"
    lines = [head, "|---|" + "---|---|" * len(names)]

    def ms(value):
        return "-" if value is None else f"{value:.3g}"

    for part in report["frameworks"][names[0]]["parts"]:
        cells = []
        for n in names:
            row = report["frameworks"][n]["parts"].get(part, {})
            cells += [ms(row.get("host_ms")), ms(row.get("device_ms"))]
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    steps = [cell for n in names for cell in (ms(report["frameworks"][n]["step_ms"]), "")]
    lines.append("| whole step (wall) | " + " | ".join(steps) + " |")
    return lines


def _env_text(bench_log: pathlib.Path) -> str | None:
    """The versions part of bench.log: everything before the first benchmark stage."""
    if not bench_log.exists():
        return None
    lines = bench_log.read_text(errors="replace").splitlines()
    head = []
    for line in lines:
        if line.startswith("== run.py"):
            break
        head.append(line)
    return "\n".join(head)


def _load_json(path: pathlib.Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def summary(outdir: pathlib.Path, device: str, stages: list[str]) -> int:
    """Write summary.json and summary.md into ``outdir``; 0 when the run is a clean pass."""
    parsed_stages = []
    for text in stages:
        name, rc, seconds = text.rsplit(":", 2)
        parsed_stages.append({"stage": name, "exit_status": int(rc), "seconds": int(seconds)})
    xml, log = outdir / "tests.xml", outdir / "tests.log"
    cases, source = [], "none"
    if xml.exists():
        try:
            cases, source = _from_junit(xml), "tests.xml"
        except ET.ParseError:
            pass
    if not cases and log.exists():
        cases, source = _from_log(log), "tests.log (run cut off before its XML report)"
    tests = summarise_tests(cases)
    tests["source"] = source
    run = _load_json(outdir / "run.json")
    optim = _load_json(outdir / "optim_step.json")
    prof = _load_json(outdir / "profile.json")

    problems = [f"stage {s['stage']} exited {s['exit_status']}" for s in parsed_stages if
                s["exit_status"] != 0]
    if tests["all"]["total"] == 0:
        problems.append("no test results found")
    if tests["all"]["failed"] or tests["all"]["error"]:
        problems.append(f"{tests['all']['failed']} failed, {tests['all']['error']} errors")
    ran_on_cuda = tests["cuda_variants"]["passed"] + tests["cuda_variants"]["failed"]
    if device == "cuda" and ran_on_cuda == 0:
        problems.append("no CUDA test variant ran: the CuPy backend was not enabled")
    for name, data in (("run.json", run), ("optim_step.json", optim), ("profile.json", prof)):
        if data is None:
            problems.append(f"{name} missing")

    env = _env_text(outdir / "bench.log")
    result = {
        "device": device,
        "ok": not problems,
        "problems": problems,
        "stages": parsed_stages,
        "tests": tests,
        "machine": (run or {}).get("machine"),
        "env": env,
    }
    (outdir / "summary.json").write_text(json.dumps(result, indent=1))

    a, c = tests["all"], tests["cuda_variants"]
    md = [
        f"# gpu_check on {device}: {'PASS' if not problems else 'FAIL'}",
        "",
        *(f"- problem: {p}" for p in problems),
        "",
        "| stage | exit status | seconds |",
        "|---|---|---|",
        *(f"| {s['stage']} | {s['exit_status']} | {s['seconds']} |" for s in parsed_stages),
        "",
        f"Tests ({source}): {a['passed']} passed, {a['failed']} failed, {a['error']} errors, "
        f"{a['skipped']} skipped, {a['xfailed']} xfailed of {a['total']}; CUDA variants: "
        f"{c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} "
        f"skipped of {c['total']}.",
    ]
    for reason, n in tests["cuda_skip_reasons"].items():
        md.append(f"- {n} CUDA variants skipped: {reason}")
    if tests["failures"]:
        md += ["", "Failures:", *(f"- `{f['id']}`: {f['message']}" for f in tests["failures"])]
    if run is not None:
        md += ["", f"## benchmarks/run.py ({run.get('machine', {}).get('device')})", ""]
        md += run_table(run)
    if optim is not None:
        md += ["", f"## benchmarks/optim_step.py ({optim.get('device')})", ""]
        md += optim_table(optim)
    if prof is not None:
        md += ["", f"## benchmarks/gpu_profile.py ({prof.get('device')}, batch "
               f"{prof.get('batch')}; median ms)", ""]
        md += profile_table(prof)
    if env:
        md += ["", "## Versions", "", "```", env, "```"]
    text = "\n".join(md) + "\n"
    (outdir / "summary.md").write_text(text)
    print(text)
    return 0 if not problems else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the machine and library versions")
    p = sub.add_parser("summary", help="write summary.json and summary.md")
    p.add_argument("outdir", type=pathlib.Path)
    p.add_argument("--device", choices=["cpu", "cuda"], required=True)
    p.add_argument("--stage", action="append", default=[], help="NAME:EXIT_STATUS:SECONDS")
    args = parser.parse_args(argv)
    if args.command == "env":
        return env()
    return summary(args.outdir, args.device, args.stage)


if __name__ == "__main__":
    sys.exit(main())
