"""compare() as a Python API: seeds, the Keras initialisation, results written and returned."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import experiments, nn
from tinygrad_mom.experiments import ConfigError, compare

pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[2]
TINY = {"train_size": 100, "test_size": 40, "epochs": 1, "progress": False, "log": None}


def test_keras_init_is_glorot_uniform_kernels_and_zero_biases():
    tm.manual_seed(0)
    model = experiments.make_model("seedcnn", 3, 32, 10)
    experiments.keras_init_(model)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            w = module.weight.numpy(force=True).copy()
            receptive = int(np.prod(w.shape[2:]))
            fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
            # a uniform on [−bound, bound] has standard deviation bound / √3
            assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
            assert not module.bias.numpy(force=True).any()


def test_identical_seeds_per_optimizer_and_per_seed_rows(tmp_path):
    # lr 0: no optimizer moves the weights, so the same initial weights give the same results
    result = compare(["sgd", "momentum"], lr=0.0, seeds=2, out_dir=tmp_path, **TINY)
    assert (
        [r.seed for r in result.runs["sgd"]] == [0, 1] == [r.seed for r in result.runs["momentum"]]
    )
    for s, m in zip(result.runs["sgd"], result.runs["momentum"]):
        assert s.test_acc == m.test_acc and np.array_equal(s.test_correct, m.test_correct)
    # another seed is another initialisation
    assert result.runs["sgd"][0].test_loss != result.runs["sgd"][1].test_loss
    momentum_vs_sgd = result.comparisons[0]
    assert momentum_vs_sgd.test == "paired t-interval" and momentum_vs_sgd.winner is None
    assert "not distinguishable" in result.verdict
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["settings"]["seeds"] == [0, 1] and saved["settings"]["init"] == "torch"
    assert [r["seed"] for r in saved["runs"]["momentum"]] == [0, 1]
    assert set(saved["runs"]) == {"sgd", "momentum", "linear baseline"}
    assert " ± " in result.table and "| momentum |" in result.table
    assert result.paths["json"] == tmp_path / "results.json"
    assert (tmp_path / "history_sgd_seed1.csv").read_text().startswith("epoch,")


def test_table_mean_and_std_are_over_the_seeds(tmp_path):
    result = compare(["momentum"], seeds=2, baseline=False, out_dir=None, **TINY)
    accs = [r.test_acc for r in result.runs["momentum"]]
    row = result.rows[0]
    assert row["test_acc"]["mean"] == pytest.approx(np.mean(accs))
    assert row["test_acc"]["std"] == pytest.approx(np.std(accs, ddof=1))
    assert f"{np.mean(accs):.3f} ± {np.std(accs, ddof=1):.3f}" in result.table
    assert result.paths == {} and result.comparisons == []


def test_keras_init_is_recorded_and_changes_the_weights(tmp_path):
    torch_run = compare(["momentum"], init="torch", baseline=False, out_dir=None, **TINY)
    keras_run = compare(["momentum"], init="keras", baseline=False, out_dir=tmp_path, **TINY)
    assert keras_run.settings["init"] == "keras"
    assert json.loads((tmp_path / "results.json").read_text())["settings"]["init"] == "keras"
    assert torch_run.runs["momentum"][0].test_loss != keras_run.runs["momentum"][0].test_loss


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizers": ["sgd", "lion"]}, "unknown optimizer"),
        ({"optimizers": ["sgd", "sgd"]}, "twice"),
        ({"init": "he"}, "unknown init"),
        ({"seeds": 0}, "seeds must be an int >= 1"),
        ({"model": "vgg"}, "unknown model"),
    ],
)
def test_bad_settings_raise_before_training(kwargs, message, tmp_path):
    logged = []
    with pytest.raises(ConfigError, match=message):
        compare(**{**TINY, "log": logged.append, "out_dir": tmp_path / "out", **kwargs})
    assert not any("epoch" in line for line in logged)


def _run(args, cwd, **env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_a_users_own_models_module_does_not_break_the_command(tmp_path):
    (tmp_path / "models.py").write_text("raise ImportError('the user models.py was imported')\n")
    helped = _run(["-m", "tinygrad_mom.cli", "compare", "--help"], tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "--seeds" in helped.stdout
    built = _run(
        [
            "-c",
            "from tinygrad_mom.cli import make_model; "
            "print(type(make_model('seedcnn', 3, 32, 10)))",
        ],
        tmp_path,
    )
    assert built.returncode == 0 and "SeedCNN" in built.stdout, built.stderr


def test_the_repository_models_folder_re_exports_the_installed_package():
    import models
    from tinygrad_mom import models as installed

    assert models.SeedCNN is installed.SeedCNN and set(models.__all__) == set(installed.__all__)


@pytest.mark.slow
def test_a_built_wheel_installs_no_top_level_models_package(tmp_path):
    import shutil
    import zipfile

    # build from a clean copy: setuptools' build/ folder would keep files of older builds
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("tinygrad_mom", "models"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-300:]}")
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tinygrad_mom/models/seed_cnn.py" in names
    assert "tinygrad_mom/experiments/compare.py" in names
    assert not [n for n in names if n.startswith("models/")]


def test_augment_trains_on_cropped_and_flipped_images():
    plain = compare(["momentum"], baseline=False, out_dir=None, **TINY)
    augmented = compare(["momentum"], augment=True, baseline=False, out_dir=None, **TINY)
    assert augmented.settings["augment"] is True and plain.settings["augment"] is False
    assert augmented.runs["momentum"][0].history != plain.runs["momentum"][0].history
    train, _, _ = experiments.load_splits("shapes", train_size=40, val_split=0.5)
    wrapped = experiments.components.augmented(train, True)
    tm.manual_seed(0)
    (x, y), *_ = list(tm.data.DataLoader(wrapped, batch_size=20))
    (x0, y0), *_ = list(tm.data.DataLoader(train, batch_size=20))
    assert x.shape == x0.shape and np.array_equal(y.numpy(force=True), y0.numpy(force=True))
    assert not np.array_equal(x.numpy(force=True), x0.numpy(force=True))
