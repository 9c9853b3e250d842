"""The tinygrad-mom command line: compare, train, resume across processes, and clear errors."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_mom import cli

pytest.importorskip("safetensors")

SMALL = ["--train-size", "320", "--test-size", "96", "--epochs", "2", "--no-progress"]


def _run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_mom.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--optimizers", "sgd,lion"], "unknown optimizer"),
        (["train", "--optimizer", "lion"], "unknown optimizer"),
        (["train", "--lr", "-0.1"], "expected a finite number >= 0"),
        (["train", "--lr", "nan"], "expected a finite number >= 0"),
        (["train", "--data-dir", "/no/such/dir", "--dataset", "mnist"], "no such directory"),
        (["train", "--device", "tpu"], "Invalid device"),
        (["compare", "--val-split", "1.5"], "strictly between 0 and 1"),
    ],
)
def test_invalid_arguments_exit_2_with_a_message_and_no_traceback(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cuda_without_cupy_is_a_clear_error(capsys):
    if cli.backend.cuda_is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--device", "cuda", *SMALL])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "CuPy" in err and "pip install" in err


def test_compare_writes_table_history_and_plot(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", *SMALL, "--epochs", "1", "--seeds", "2", "--init", "keras"]
    assert cli.main([*args, "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| sgd |" in text and "| momentum |" in text and "| linear baseline |" in text
    assert " ± " in text  # mean ± std over the two seeds
    assert "Momentum vs plain SGD" in text and "paired t over 2 seeds" in text  # the verdict
    results = json.loads((out / "results.json").read_text())
    assert set(results["runs"]) == {"sgd", "momentum", "linear baseline"}
    assert results["settings"]["init"] == "keras" and results["settings"]["seeds"] == [0, 1]
    assert [r["seed"] for r in results["runs"]["sgd"]] == [0, 1]
    assert (out / "history_momentum_seed1.csv").read_text().startswith("epoch,")
    png = (out / "compare.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    pytest.importorskip("matplotlib")
    import matplotlib.image

    assert matplotlib.image.imread(out / "compare.png").shape[0] > 100


def test_help_describes_every_option_with_its_default(capsys):
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in [("tinygrad-mom", parser), *subparsers.choices.items()]:
        formatter = sub._get_formatter()
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if isinstance(action, argparse._VersionAction):
                continue
            text = formatter._get_help_string(action)
            assert "(default: " in text, f"{name} {action.option_strings}: {text!r}"
        with pytest.raises(SystemExit):
            sub.parse_args(["--help"])
        shown = capsys.readouterr().out
        assert "(default: 64)" in shown or name == "tinygrad-mom"


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tinygrad-mom {cli.tm.__version__}"


def test_compare_without_matplotlib_says_plot_skipped(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    args = [
        "compare",
        *SMALL,
        "--epochs",
        "1",
        "--no-baseline",
        "--optimizers",
        "sgd",
        "--out-dir",
        str(tmp_path),
    ]
    assert cli.main(args) == 0
    assert "plot skipped" in capsys.readouterr().out
    assert not (tmp_path / "compare.png").exists()


@pytest.mark.slow
def test_train_resume_across_processes_is_bit_exact(tmp_path):
    from tinygrad_mom import load

    common = [
        "train",
        *SMALL[:4],
        "--no-progress",
        "--optimizer",
        "momentum",
        "--lr-schedule",
        "step",
        "--step-size",
        "1",
        "--seed",
        "5",
    ]
    full = _run_cli(*common, "--epochs", "3", "--checkpoint-dir", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr
    first = _run_cli(*common, "--epochs", "1", "--checkpoint-dir", str(tmp_path / "part"))
    assert first.returncode == 0, first.stderr
    second = _run_cli(
        *common, "--epochs", "3", "--resume", "--checkpoint-dir", str(tmp_path / "part")
    )
    assert second.returncode == 0, second.stderr
    assert "resumed" in second.stdout
    a, b = (
        load(tmp_path / "full" / "last.safetensors"),
        load(tmp_path / "part" / "last.safetensors"),
    )
    for key in a["model"]:
        assert np.array_equal(
            a["model"][key].numpy(force=True), b["model"][key].numpy(force=True)
        ), key
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])
    assert full.stdout.splitlines()[-1] == second.stdout.splitlines()[-1]  # same test accuracy


@pytest.mark.parametrize(
    "args, message",
    [
        (["compare", "--seed", "-1"], "--seed: expected an integer >= 0"),
        (
            ["train", "--lr-schedule", "step", "--gamma", "0"],
            "--gamma: expected a finite number > 0",
        ),
        (["train", "--lr-schedule", "exponential", "--decay-rate", "0"], "--decay-rate"),
        (["train", "--weight-decay", "-1"], "--weight-decay: expected a finite number >= 0"),
    ],
)
def test_more_invalid_arguments_exit_2_without_traceback(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "command, option", [("compare", "--out-dir"), ("train", "--checkpoint-dir")]
)
def test_output_dir_that_is_a_file_fails_before_training(tmp_path, capsys, command, option):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(SystemExit) as exc:
        cli.main([command, *SMALL, option, str(a_file)])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "is not a directory" in captured.err and "epoch" not in captured.out


def _args(**kw):
    defaults = {"lr": None, "momentum": None, "weight_decay": None}
    return argparse.Namespace(**{**defaults, **kw})


def test_momentum_and_weight_decay_options_reach_the_right_optimizers(capsys):
    p = [cli.tm.zeros(2, requires_grad=True)]
    # plain SGD stays plain SGD: the baseline of the comparison
    assert cli.make_optimizer("sgd", p, momentum=0.5).param_groups[0]["momentum"] == 0
    assert "does not apply to 'sgd'" in capsys.readouterr().out
    assert cli.make_optimizer("momentum", p, momentum=0.5).param_groups[0]["momentum"] == 0.5
    # AdamW's preset decay is 0.01; an explicit --weight-decay 0 turns it off
    assert cli.make_optimizer("adamw", p).param_groups[0]["weight_decay"] == 0.01
    assert cli.make_optimizer("adamw", p, weight_decay=0.0).param_groups[0]["weight_decay"] == 0.0


@pytest.mark.parametrize(
    "optimizer, cycles", [("sgd", False), ("momentum", True), ("adagrad", False), ("adam", True)]
)
def test_onecycle_cycles_momentum_only_where_the_optimizer_has_it(optimizer, cycles):
    args = _args(lr_schedule="onecycle", epochs=2)
    model_params = [cli.tm.zeros(2, requires_grad=True)]
    opt = cli.make_optimizer(optimizer, model_params)
    sched, interval = cli.make_scheduler(args, opt, steps_per_epoch=3)
    assert interval == "batch" and sched.cycle_momentum is cycles
    assert opt.param_groups[0].get("momentum", 0.0) == (0.95 if optimizer == "momentum" else 0.0)


@pytest.mark.parametrize("model", ["lenet", "mlp", "resnet", "linear"])
def test_every_model_choice_builds(model):
    net = cli.make_model(model, 3, 32, 10)
    assert net(cli.tm.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_resume_from_another_models_checkpoint_is_a_clear_error(tmp_path, capsys):
    ck = str(tmp_path / "ck")
    small = ["--train-size", "40", "--test-size", "8", "--epochs", "1", "--no-progress"]
    assert cli.main(["train", *small, "--model", "linear", "--checkpoint-dir", ck]) == 0
    with pytest.raises(SystemExit) as exc:
        cli.main(
            ["train", *small, "--epochs", "2", "--model", "mlp", "--resume", "--checkpoint-dir", ck]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "does not fit this model" in err and "Traceback" not in err
    # the first run drew its curves like compare does
    pytest.importorskip("matplotlib")
    assert (tmp_path / "ck" / "train.png").read_bytes()[:4] == b"\x89PNG"


def _small(ck, *extra):
    return ["train", "--train-size", "40", "--test-size", "8", "--no-progress", "--model",
            "linear", "--checkpoint-dir", ck, *extra]


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (["--epochs", "1", "--lr-schedule", "step"],
         ["--epochs", "2", "--lr-schedule", "cosine"], "scheduler StepLR, but this run uses"),
        (["--epochs", "1", "--lr-schedule", "onecycle"],
         ["--epochs", "3", "--lr-schedule", "onecycle"], "total_steps"),
        (["--epochs", "1", "--optimizer", "sgd"], ["--epochs", "2", "--optimizer", "adam"],
         "optimizer SGD, but this run uses Adam"),
    ],
)
def test_resume_with_another_schedule_or_length_is_refused_and_keeps_the_checkpoint(
    tmp_path, capsys, first, second, message
):
    ck = str(tmp_path / "ck")
    assert cli.main(_small(ck, *first)) == 0
    before = (tmp_path / "ck" / "last.safetensors").read_bytes()
    with pytest.raises(SystemExit) as exc:
        cli.main(_small(ck, *second, "--resume"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert (tmp_path / "ck" / "last.safetensors").read_bytes() == before


def test_resume_from_a_damaged_checkpoint_is_a_message(tmp_path, capsys):
    ck = tmp_path / "ck"
    assert cli.main(_small(str(ck), "--epochs", "1")) == 0
    raw = bytearray((ck / "last.safetensors").read_bytes())
    raw[-3] ^= 0xFF
    (ck / "last.safetensors").write_bytes(bytes(raw))
    with pytest.raises(SystemExit) as exc:
        cli.main(_small(str(ck), "--epochs", "2", "--resume"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "SHA-256" in err and "Traceback" not in err


def test_train_without_safetensors_says_so_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import now raises ImportError
    with pytest.raises(SystemExit) as exc:
        cli.main(_small(str(tmp_path / "ck"), "--epochs", "1"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert 'pip install "tinygrad_mom[checkpoint]"' in err
    assert not (tmp_path / "ck" / "last.safetensors").exists()


def test_an_unwritable_checkpoint_dir_fails_before_training(tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):  # root may write anywhere: simulate a read-only mount
        raise PermissionError(13, "Permission denied")

    from tinygrad_mom.experiments import components

    monkeypatch.setattr(components.tempfile, "mkstemp", refuse)
    with pytest.raises(SystemExit) as exc:
        cli.main(_small(str(tmp_path / "ck"), "--epochs", "1"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--checkpoint-dir" in err and "not writable" in err and "epoch 1" not in err
