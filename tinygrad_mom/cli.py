"""The ``tinygrad-mom`` command: ``compare`` reproduces the seeds' SGD-vs-momentum experiment,
``train`` trains one model with one optimizer.

Mistakes on the command line end with a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import tinygrad_mom as tm

from . import _validation as V
from . import backend, data
from .training import CheckpointError, NonFiniteLossError, evaluate, fit, write_history

# The seeds' hyper-parameters: SGD and momentum SGD as in the Keras experiment (lr 0.01,
# momentum 0.9); the adaptive methods at their usual defaults (RMSprop at Keras's 1e-3 because
# PyTorch's 1e-2 diverges on this CNN).
OPTIMIZER_PRESETS = {
    "sgd": ("SGD", {"lr": 0.01}),
    "momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "nesterov": ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {"lr": 0.01}),
    "rmsprop": ("RMSprop", {"lr": 0.001}),
    "adam": ("Adam", {"lr": 0.001}),
    "adamw": ("AdamW", {"lr": 0.001}),
}
# the presets that --momentum sets
MOMENTUM_PRESETS = ("momentum", "nesterov", "rmsprop")
DATASETS = ("shapes", "mnist", "fashion-mnist", "cifar10")
MODELS = ("seedcnn", "lenet", "mlp", "resnet", "linear")
SCHEDULES = ("none", "step", "exponential", "cosine", "onecycle")


class UsageError(Exception):
    """A problem with the user's arguments or environment, reported without a traceback."""


# ----------------------------------------------------------------------------------------------
# building blocks shared by both commands
def make_optimizer(name: str, params, args) -> tm.optim.Optimizer:
    """The named preset, with --lr/--momentum/--weight-decay overriding the preset's values."""
    cls_name, hyper = OPTIMIZER_PRESETS[name]
    hyper = dict(hyper)
    if args.lr is not None:
        hyper["lr"] = args.lr
    if args.momentum is not None:
        # "sgd" is plain SGD by definition (the baseline of the comparison): --momentum never
        # turns it into momentum SGD, nor does it reach optimizers that have no momentum
        if name in MOMENTUM_PRESETS:
            hyper["momentum"] = args.momentum
        else:
            print(f"note: --momentum does not apply to {name!r}; ignored for it")
    if args.weight_decay is not None:
        hyper["weight_decay"] = args.weight_decay
    try:
        return getattr(tm.optim, cls_name)(params, **hyper)
    except ValueError as exc:
        raise UsageError(f"optimizer {name!r}: {exc}") from None


def make_model(name: str, in_channels: int, image_size: int, num_classes: int):
    import models

    if name == "seedcnn":
        return models.SeedCNN(
            in_channels=in_channels, num_classes=num_classes, image_size=image_size
        )
    if name == "lenet":
        return models.LeNet5(
            in_channels=in_channels, num_classes=num_classes, image_size=image_size
        )
    if name == "mlp":
        return models.MLP(in_channels * image_size * image_size, num_classes=num_classes)
    if name == "resnet":
        return models.ResNet(in_channels=in_channels, num_classes=num_classes)
    if name == "linear":
        return tm.nn.Sequential(
            tm.nn.Flatten(), tm.nn.Linear(in_channels * image_size * image_size, num_classes)
        )
    raise UsageError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def load_data(args):
    """(train, validation, test) datasets as the arguments ask for."""
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such directory")
    try:
        train, test = data.load_dataset(args.dataset, root=args.data_dir)
    except (FileNotFoundError, OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.train_size:
        train = data.Subset(train, range(min(args.train_size, len(train))))
    if args.test_size:
        test = data.Subset(test, range(min(args.test_size, len(test))))
    n_val = int(round(len(train) * args.val_split))
    if n_val < 1 or n_val >= len(train):
        raise UsageError(
            f"--val-split {args.val_split} leaves no training or no validation data "
            f"({len(train)} training samples)"
        )
    train, val = data.random_split(train, [len(train) - n_val, n_val], seed=args.seed)
    return train, val, test


def loaders(args, train, val, test):
    make = data.DataLoader
    return (
        make(train, batch_size=args.batch_size, shuffle=True, seed=args.seed, device=args.device),
        make(val, batch_size=256, device=args.device),
        make(test, batch_size=256, device=args.device),
    )


def image_geometry(dataset) -> tuple[int, int]:
    x, _ = dataset[0]
    shape = tuple(x.shape)
    return shape[0], shape[-1]


def check_output_dir(option: str, path: str) -> None:
    """Create an output directory and write a probe file there up front, so a missing,
    read-only or non-directory path fails before any training."""
    if Path(path).exists() and not Path(path).is_dir():
        raise UsageError(f"{option} {path}: exists and is not a directory")
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot create it ({exc.strerror or exc})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=path)
    except OSError as exc:
        raise UsageError(f"{option} {path}: not writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def check_device(device: str) -> str:
    try:
        device = backend.parse_device(device)
        backend.array_module_for(device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device {device}: {exc}") from None
    return device


# ----------------------------------------------------------------------------------------------
def cmd_compare(args) -> int:
    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZER_PRESETS]
    if unknown or not names:
        raise UsageError(
            f"--optimizers: unknown optimizer(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(OPTIMIZER_PRESETS)}"
        )
    args.device = check_device(args.device)
    check_output_dir("--out-dir", args.out_dir)
    train, val, test = load_data(args)
    channels, size = image_geometry(train)
    out_dir = Path(args.out_dir)
    print(
        f"dataset {args.dataset}: {len(train)} train / {len(val)} validation / {len(test)} test, "
        f"{channels}x{size}x{size}; model {args.model}; {args.epochs} epochs, batch "
        f"{args.batch_size}, device {args.device}"
    )

    # The same initial weights and the same data order for every optimizer.
    tm.manual_seed(args.seed)
    initial = {
        k: v.clone() for k, v in make_model(args.model, channels, size, 10).state_dict().items()
    }
    runs = {}
    for name in names + (["linear baseline"] if args.baseline else []):
        is_baseline = name == "linear baseline"
        tm.manual_seed(args.seed)
        model = make_model("linear" if is_baseline else args.model, channels, size, 10)
        if not is_baseline:
            model.load_state_dict(initial)
        model.to(args.device)
        optimizer = make_optimizer("momentum" if is_baseline else name, model.parameters(), args)
        train_loader, val_loader, test_loader = loaders(args, train, val, test)
        print(f"\n== {name} ({describe_hyper(optimizer)})")
        started = time.perf_counter()
        history = fit(
            model,
            optimizer,
            train_loader,
            val_loader,
            epochs=args.epochs,
            progress=args.progress,
            skip_nonfinite=True,
        )
        seconds = time.perf_counter() - started
        test_loss, test_acc = evaluate(model, test_loader)
        runs[name] = {
            "history": history,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "seconds": seconds,
        }
        write_history(history, out_dir, stem=f"history_{name.replace(' ', '_')}")

    table = comparison_table(runs, args.target_acc)
    print("\n" + table)
    print(verdict(runs))
    settings = {k: v for k, v in vars(args).items() if k != "func"}
    (out_dir / "results.json").write_text(json.dumps({"args": settings, "runs": runs}, indent=2))
    (out_dir / "results.md").write_text(table + "\n\n" + verdict(runs) + "\n")
    plot_path = plot_histories(runs, out_dir / "compare.png")
    print(
        f"\nwrote {out_dir}/results.json, results.md, history_*.json/csv"
        + (f", {plot_path}" if plot_path else "")
    )
    return 0


def describe_hyper(optimizer) -> str:
    group = optimizer.param_groups[0]
    keys = [k for k in ("lr", "momentum", "nesterov", "weight_decay") if group.get(k)]
    return f"{type(optimizer).__name__} " + ", ".join(f"{k}={group[k]}" for k in keys)


def comparison_table(runs: dict, target_acc: float) -> str:
    header = (
        "| optimizer | train loss | train acc | val loss | val acc | test loss | test acc "
        f"| epochs to val acc ≥ {target_acc:g} | wall time |"
    )
    lines = [header, "|" + "---|" * 9]
    for name, run in runs.items():
        last = run["history"][-1]
        reached = next(
            (r["epoch"] for r in run["history"] if r.get("val_acc", 0) >= target_acc), None
        )
        lines.append(
            f"| {name} | {last['train_loss']:.4f} | {last['train_acc']:.3f} "
            f"| {last['val_loss']:.4f} | {last['val_acc']:.3f} "
            f"| {run['test_loss']:.4f} | {run['test_acc']:.3f} "
            f"| {reached if reached is not None else 'not reached'} | {run['seconds']:.1f} s |"
        )
    return "\n".join(lines)


def verdict(runs: dict) -> str:
    """An honest sentence on whether momentum beat plain SGD (and the CNN beat the linear model)."""
    lines = []
    if "sgd" in runs and "momentum" in runs:
        sgd, mom = runs["sgd"]["test_acc"], runs["momentum"]["test_acc"]
        if mom > sgd:
            lines.append(
                f"Momentum beat plain SGD: test accuracy {mom:.3f} vs {sgd:.3f}, "
                "as the source material reports."
            )
        else:
            lines.append(
                "Momentum did NOT beat plain SGD on this run: "
                f"test accuracy {mom:.3f} vs {sgd:.3f} "
                "(the source material reports the opposite)."
            )
    if "linear baseline" in runs:
        best = max((r["test_acc"], n) for n, r in runs.items() if n != "linear baseline")
        lin = runs["linear baseline"]["test_acc"]
        relation = "beat" if best[0] > lin else "did NOT beat"
        lines.append(
            f"The CNN ({best[1]}) {relation} a linear model: "
            f"test accuracy {best[0]:.3f} vs {lin:.3f}."
        )
    return "\n".join(lines)


def plot_histories(runs: dict, path: Path) -> Path | None:
    """Loss and accuracy curves per optimizer as a PNG; returns None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # headless: no display is needed or opened
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: plot skipped (pip install 'tinygrad_mom[plot]')")
        return None
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    for name, run in runs.items():
        epochs = [r["epoch"] for r in run["history"]]
        line = ax_loss.plot(
            epochs, [r["train_loss"] for r in run["history"]], label=f"{name} train"
        )[0]
        ax_loss.plot(
            epochs,
            [r["val_loss"] for r in run["history"]],
            "--",
            color=line.get_color(),
            label=f"{name} val",
        )
        ax_acc.plot(epochs, [r["train_acc"] for r in run["history"]], color=line.get_color())
        ax_acc.plot(epochs, [r["val_acc"] for r in run["history"]], "--", color=line.get_color())
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss (solid train, dashed val)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_loss.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------------------------
def make_scheduler(args, optimizer, steps_per_epoch: int):
    """The --lr-schedule as (scheduler, interval); Keras's ExponentialDecay steps per batch."""
    sched = tm.optim.lr_scheduler
    if args.lr_schedule == "none":
        return None, "epoch"
    if args.lr_schedule == "step":
        return sched.StepLR(optimizer, step_size=args.step_size, gamma=args.gamma), "epoch"
    if args.lr_schedule == "exponential":
        decay_steps = args.decay_steps or steps_per_epoch
        return (
            sched.ExponentialDecay(
                optimizer, decay_steps, args.decay_rate, staircase=args.staircase
            ),
            "batch",
        )
    if args.lr_schedule == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=args.epochs), "epoch"
    group = optimizer.param_groups[0]
    # Cycle momentum only where the optimizer has some: on plain SGD PyTorch's default would
    # silently turn it into momentum SGD, and Adagrad has none (a ValueError in PyTorch)
    has_momentum = "betas" in group or group.get("momentum", 0.0) > 0
    return (
        sched.OneCycleLR(
            optimizer,
            max_lr=group["lr"],
            epochs=args.epochs,
            steps_per_epoch=steps_per_epoch,
            cycle_momentum=has_momentum,
        ),
        "batch",
    )


def cmd_train(args) -> int:
    if args.optimizer not in OPTIMIZER_PRESETS:
        raise UsageError(
            f"--optimizer: unknown optimizer {args.optimizer!r}; "
            f"choose from {', '.join(OPTIMIZER_PRESETS)}"
        )
    args.device = check_device(args.device)
    check_output_dir("--checkpoint-dir", args.checkpoint_dir)
    try:  # checkpoints need it: say so now, not after the first epoch has trained
        import safetensors  # noqa: F401
    except ImportError:
        raise UsageError(
            "train writes checkpoints, which need the 'safetensors' package: "
            'pip install "tinygrad_mom[checkpoint]"'
        ) from None
    train, val, test = load_data(args)
    channels, size = image_geometry(train)
    tm.manual_seed(args.seed)
    model = make_model(args.model, channels, size, 10).to(args.device)
    optimizer = make_optimizer(args.optimizer, model.parameters(), args)
    train_loader, val_loader, test_loader = loaders(args, train, val, test)
    try:
        scheduler, interval = make_scheduler(args, optimizer, len(train_loader))
    except ValueError as exc:
        raise UsageError(f"--lr-schedule {args.lr_schedule}: {exc}") from None
    try:
        fit(
            model,
            optimizer,
            train_loader,
            val_loader,
            epochs=args.epochs,
            scheduler=scheduler,
            scheduler_interval=interval,
            checkpoint_dir=args.checkpoint_dir,
            resume=args.resume,
            skip_nonfinite=args.skip_nonfinite,
            progress=args.progress,
        )
    except NonFiniteLossError as exc:
        print(f"tinygrad-mom: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, CheckpointError) as exc:  # the one CheckpointError class
        raise UsageError(str(exc)) from None
    test_loss, test_acc = evaluate(model, test_loader)
    print(f"test loss {test_loss:.4f}  test acc {test_acc:.3f}")
    return 0


# ----------------------------------------------------------------------------------------------
# The argument types parse the text, then check the value with the library's own validators
# (the ones every constructor uses), so the CLI and the API accept exactly the same numbers.
def _float_in(text: str, low: float, high: float = math.inf, *, low_open: bool = False,
              high_open: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    try:
        return V.number_in("value", value, low, high, low_open=low_open, high_open=high_open)
    except ValueError:  # NaN and inf too
        raise argparse.ArgumentTypeError(
            f"expected a finite number {'>' if low_open else '>='} {low:g}"
            + (f" and {'<' if high_open else '<='} {high:g}" if high < math.inf else "")
            + f", got {text}"
        ) from None


def _non_negative_float(text: str) -> float:
    return _float_in(text, 0.0)


def _positive_float(text: str) -> float:
    return _float_in(text, 0.0, low_open=True)


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    try:
        return V.int_at_least("value", value, minimum)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= {minimum}, got {value}"
        ) from None


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _fraction(text: str) -> float:
    try:
        return _float_in(text, 0.0, 1.0, low_open=True, high_open=True)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction strictly between 0 and 1, got {text}"
        ) from None


def _common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="shapes",
        help="'shapes' is the embedded procedurally generated dataset (no download)",
    )
    p.add_argument("--data-dir", default=None, help="directory holding the dataset's files")
    p.add_argument("--model", choices=MODELS, default="seedcnn")
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--batch-size", type=_positive_int, default=64)
    p.add_argument("--val-split", type=_fraction, default=0.2)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--lr", type=_non_negative_float, default=None, help="override the preset lr")
    p.add_argument("--momentum", type=_non_negative_float, default=None)
    p.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=None,
        help="override the preset weight decay (0 unless adamw: 0.01)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument(
        "--train-size", type=_positive_int, default=None, help="use only N training samples"
    )
    p.add_argument("--test-size", type=_positive_int, default=None, help="use only N test samples")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    # the docstring's first paragraph, without its reStructuredText quoting
    summary = " ".join(__doc__.split("\n\n")[0].split()).replace("``", "")
    parser = argparse.ArgumentParser(prog="tinygrad-mom", description=summary)
    sub = parser.add_subparsers(dest="command", required=True)

    compare = sub.add_parser("compare", help="the seeds' experiment: one CNN, several optimizers")
    _common_arguments(compare)
    compare.add_argument(
        "--optimizers",
        default="sgd,momentum",
        help=f"comma-separated, from: {', '.join(OPTIMIZER_PRESETS)}",
    )
    compare.add_argument(
        "--target-acc",
        type=_fraction,
        default=0.6,
        help="report the first epoch whose validation accuracy reaches this",
    )
    compare.add_argument("--out-dir", default="runs/compare")
    compare.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the linear-model baseline",
    )
    compare.set_defaults(func=cmd_compare)

    train = sub.add_parser("train", help="train one model with one optimizer")
    _common_arguments(train)
    train.add_argument("--optimizer", default="momentum", help=", ".join(OPTIMIZER_PRESETS))
    train.add_argument("--lr-schedule", choices=SCHEDULES, default="none")
    train.add_argument("--step-size", type=_positive_int, default=5, help="StepLR period (epochs)")
    train.add_argument("--gamma", type=_positive_float, default=0.1, help="StepLR factor")
    train.add_argument(
        "--decay-steps",
        type=_positive_int,
        default=None,
        help="ExponentialDecay period in batches (default: one epoch)",
    )
    train.add_argument("--decay-rate", type=_positive_float, default=0.9)
    train.add_argument("--staircase", action="store_true", help="Keras-style staircase decay")
    train.add_argument("--checkpoint-dir", default="runs/train")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    train.add_argument(
        "--skip-nonfinite",
        action="store_true",
        help="skip steps whose loss is NaN/inf instead of stopping",
    )
    train.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # This process is ours, so let malloc keep freed activations for reuse (~20% of a CPU
    # training step goes to page faults otherwise); the library never does this on import.
    backend.keep_freed_memory()
    try:
        return args.func(args)
    except UsageError as exc:
        parser.exit(2, f"tinygrad-mom {args.command}: error: {exc}\n")
    except OSError as exc:  # an unwritable output directory, a full disk: no traceback
        parser.exit(1, f"tinygrad-mom {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
