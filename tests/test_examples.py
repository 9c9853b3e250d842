"""The examples run, print sensible numbers, and write their plots (or say they skipped them)."""

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(name, monkeypatch, tmp_path, capsys, argv=()):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [name, *argv])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_momentum_linear_regression_fits_y_4_plus_3x(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = _run("momentum_linear_regression.py", monkeypatch, tmp_path, capsys)
    fits = re.findall(r"intercept ([\d.]+), slope ([\d.]+), final loss ([\d.]+)", out)
    assert len(fits) == 2  # gradient descent, then momentum
    for intercept, slope, _ in fits:
        assert abs(float(intercept) - 4) < 0.5 and abs(float(slope) - 3) < 0.5
    assert float(fits[1][2]) <= float(fits[0][2])  # momentum gets at least as low
    assert _is_png(tmp_path / "runs" / "momentum_linear_regression.png")


def test_optimizer_trajectories_momentum_beats_sgd_on_rosenbrock(monkeypatch, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = _run("optimizer_trajectories.py", monkeypatch, tmp_path, capsys)
    rosenbrock = out.split("ill-conditioned")[0]
    losses = dict(re.findall(r"(\w+) \(lr [^)]*\): final loss (\S+)", rosenbrock))
    assert set(losses) == {"SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"}
    assert float(losses["momentum"]) < float(losses["SGD"]) / 10
    assert _is_png(tmp_path / "runs" / "optimizer_trajectories.png")


@pytest.mark.parametrize("name", ["momentum_linear_regression.py", "optimizer_trajectories.py"])
def test_examples_without_matplotlib_skip_the_plot(name, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = _run(name, monkeypatch, tmp_path, capsys)
    assert "plot skipped" in out
    assert not list(tmp_path.rglob("*.png"))


def test_quickstart_runs(monkeypatch, tmp_path, capsys):
    out = _run("quickstart.py", monkeypatch, tmp_path, capsys)
    intercept, slope = map(float, re.search(r"intercept ([\d.-]+), slope ([\d.-]+)", out).groups())
    assert abs(intercept - 4) < 0.1 and abs(slope - 3) < 0.1


@pytest.mark.slow
def test_train_cnn_runs_one_epoch(monkeypatch, tmp_path, capsys):
    out = _run("train_cnn.py", monkeypatch, tmp_path, capsys, ["--epochs", "1"])
    assert re.search(r"epoch 1: mean loss [\d.]+", out)
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert 0.0 <= accuracy <= 1.0
