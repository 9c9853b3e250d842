"""The ``tinygrad-mom`` command: ``compare`` runs the Keras article's SGD-vs-momentum experiment,
``train`` trains one model with one optimizer.

Mistakes on the command line end with a one-line message and exit status 2, never a traceback.
The experiment itself lives in :mod:`tinygrad_mom.experiments`; this module only parses
arguments and calls it.
"""

from __future__ import annotations

import argparse
import math
import sys

import tinygrad_mom as tm

from . import _validation as V
from . import backend
from .experiments import compare, plot_histories
from .experiments.components import (
    DATASETS,
    INITS,
    MODELS,
    OPTIMIZER_PRESETS,
    ConfigError,
    augmented,
    check_device,
    check_output_dir,
    check_tensorboard,
    image_geometry,
    initialise_,
    load_splits,
    make_loaders,
    make_model,
    make_optimizer,
)
from .training import (
    MONITORED,
    CheckpointError,
    EarlyStopping,
    NonFiniteLossError,
    evaluate,
    fit,
)

SCHEDULES = ("none", "step", "exponential", "cosine", "onecycle")


class UsageError(Exception):
    """A problem with the user's arguments or environment, reported without a traceback."""


# ----------------------------------------------------------------------------------------------
def cmd_compare(args) -> int:
    compare(
        args.optimizers,
        dataset=args.dataset,
        data_dir=args.data_dir,
        model=args.model,
        init=args.init,
        epochs=args.epochs,
        batch_size=args.batch_size,
        val_split=args.val_split,
        seeds=args.seeds,
        seed=args.seed,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        device=args.device,
        train_size=args.train_size,
        test_size=args.test_size,
        augment=args.augment,
        target_acc=args.target_acc,
        baseline=args.baseline,
        out_dir=args.out_dir,
        tensorboard=args.tensorboard,
        progress=args.progress,
    )
    return 0


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
    device = check_device(args.device)
    checkpoint_dir = check_output_dir("--checkpoint-dir", args.checkpoint_dir)
    tensorboard_dir = check_tensorboard(args.tensorboard)
    try:  # checkpoints need it: say so now, not after the first epoch has trained
        import safetensors  # noqa: F401
    except ImportError:
        raise UsageError(
            "train writes checkpoints, which need the 'safetensors' package: "
            'pip install "tinygrad_mom[checkpoint]"'
        ) from None
    train, val, test = load_splits(
        args.dataset,
        data_dir=args.data_dir,
        train_size=args.train_size,
        test_size=args.test_size,
        val_split=args.val_split,
        seed=args.seed,
    )
    channels, size = image_geometry(train)
    train = augmented(train, args.augment)
    tm.manual_seed(args.seed)
    model = initialise_(make_model(args.model, channels, size, 10), args.init).to(device)
    optimizer = make_optimizer(
        args.optimizer,
        model.parameters(),
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
    )
    train_loader, val_loader, test_loader = make_loaders(
        train, val, test, batch_size=args.batch_size, seed=args.seed, device=device
    )
    try:
        scheduler, interval = make_scheduler(args, optimizer, len(train_loader))
    except ValueError as exc:
        raise UsageError(f"--lr-schedule {args.lr_schedule}: {exc}") from None
    early_stopping = None
    if args.patience is not None:
        early_stopping = EarlyStopping(
            args.monitor, min_delta=args.min_delta, patience=args.patience
        )
    try:
        history = fit(
            model,
            optimizer,
            train_loader,
            val_loader,
            epochs=args.epochs,
            scheduler=scheduler,
            scheduler_interval=interval,
            checkpoint_dir=checkpoint_dir,
            resume=args.resume,
            skip_nonfinite=args.skip_nonfinite,
            progress=args.progress,
            early_stopping=early_stopping,
            monitor=args.monitor,
            keep_last=args.keep_last,
            tensorboard=tensorboard_dir,
        )
    except NonFiniteLossError as exc:
        print(f"tinygrad-mom: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, CheckpointError) as exc:  # the one CheckpointError class
        raise UsageError(str(exc)) from None
    test_loss, test_acc = evaluate(model, test_loader)
    plot = plot_histories({args.optimizer: [history]}, checkpoint_dir / "train.png")
    if plot is not None:
        print(f"wrote {plot}")
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


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (None, a switch)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        no_default = action.default is None or isinstance(action.default, bool)
        if no_default or action.default == argparse.SUPPRESS or "default" in text:
            return text
        return text + " (default: %(default)s)"


def _common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="shapes",
        help="'shapes' is the embedded procedurally generated dataset (no download); the "
        "others are read from --data-dir or the cache, downloaded when missing",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="directory holding the dataset's files (default: the cache directory, "
        "$TINYGRAD_MOM_DATA or ~/.cache/tinygrad_mom)",
    )
    p.add_argument("--model", choices=MODELS, default="seedcnn", help="the architecture")
    p.add_argument(
        "--init",
        choices=INITS,
        default="torch",
        help="initial weights: PyTorch's layer initialisation, or Keras's (glorot_uniform kernels, "
        "zero biases; the article's setting)",
    )
    p.add_argument("--epochs", type=_positive_int, default=10, help="training epochs")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="training batch size")
    p.add_argument(
        "--val-split",
        type=_fraction,
        default=0.2,
        help="fraction of the training set held out for validation",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument(
        "--lr", type=_non_negative_float, default=None, help="learning rate (default: the preset's)"
    )
    p.add_argument(
        "--momentum",
        type=_non_negative_float,
        default=None,
        help="momentum of the momentum, nesterov and rmsprop presets (default: the preset's: "
        "0.9, 0.9, 0)",
    )
    p.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=None,
        help="weight decay (default: the preset's: 0, adamw 0.01)",
    )
    p.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        help="seed of the initial weights, the batch order and the validation split",
    )
    p.add_argument(
        "--train-size",
        type=_positive_int,
        default=None,
        help="use only the first N training samples (default: all)",
    )
    p.add_argument(
        "--test-size",
        type=_positive_int,
        default=None,
        help="use only the first N test samples (default: all)",
    )
    p.add_argument(
        "--augment",
        action="store_true",
        help="train on random crops (4-pixel zero padding) and horizontal flips, the usual "
        "CIFAR-10 augmentation (default: the images as they are)",
    )
    p.add_argument(
        "--tensorboard",
        metavar="DIR",
        default=None,
        help="also log the curves as TensorBoard event files under DIR, which needs "
        "tensorboardX (default: no TensorBoard logging)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (default: a bar when stderr is a terminal and tqdm is installed)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``tinygrad-mom`` argument parser with its ``compare`` and ``train`` subcommands."""
    # the docstring's first paragraph, without its reStructuredText quoting
    summary = " ".join(__doc__.split("\n\n")[0].split()).replace("``", "")
    parser = argparse.ArgumentParser(
        prog="tinygrad-mom", description=summary, formatter_class=_HelpFormatter
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {tm.__version__}",
        help="print the version",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{compare,train}")

    compare_cmd = sub.add_parser(
        "compare",
        help="the Keras article's experiment: one CNN, several optimizers, over seeds",
        description="Train one model with each optimizer (the same initial weights and batch "
        "order per seed), print a table (mean ± std over seeds) and a verdict from a stated "
        "test, and write results.json, results.md, histories and compare.png to --out-dir.",
        formatter_class=_HelpFormatter,
    )
    _common_arguments(compare_cmd)
    compare_cmd.add_argument(
        "--optimizers",
        default="sgd,momentum",
        help=f"comma-separated presets, from: {', '.join(OPTIMIZER_PRESETS)}",
    )
    compare_cmd.add_argument(
        "--seeds",
        type=_positive_int,
        default=1,
        help="run every optimizer with seeds --seed ... --seed+N-1; with N > 1 the verdict is "
        "a paired t-interval over seeds, with N = 1 McNemar's test on the test predictions",
    )
    compare_cmd.add_argument(
        "--target-acc",
        type=_fraction,
        default=0.6,
        help="report the first epoch whose validation accuracy reaches this",
    )
    compare_cmd.add_argument("--out-dir", default="runs/compare", help="where results go")
    compare_cmd.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the linear-model baseline (default: train one, with the momentum preset)",
    )
    compare_cmd.set_defaults(func=cmd_compare)

    train = sub.add_parser(
        "train",
        help="train one model with one optimizer, with checkpoints and resume",
        description="Train one model, checkpoint every epoch to --checkpoint-dir (last."
        "safetensors, history.json/.csv, train.png) and report the test accuracy.",
        formatter_class=_HelpFormatter,
    )
    _common_arguments(train)
    train.add_argument(
        "--optimizer",
        default="momentum",
        help=f"the preset, one of: {', '.join(OPTIMIZER_PRESETS)}",
    )
    train.add_argument(
        "--lr-schedule", choices=SCHEDULES, default="none", help="learning-rate schedule"
    )
    train.add_argument("--step-size", type=_positive_int, default=5, help="StepLR period in epochs")
    train.add_argument("--gamma", type=_positive_float, default=0.1, help="StepLR factor")
    train.add_argument(
        "--decay-steps",
        type=_positive_int,
        default=None,
        help="ExponentialDecay period in batches (default: one epoch)",
    )
    train.add_argument(
        "--decay-rate", type=_positive_float, default=0.9, help="ExponentialDecay factor"
    )
    train.add_argument(
        "--staircase",
        action="store_true",
        help="Keras-style staircase exponential decay (default: smooth)",
    )
    train.add_argument(
        "--checkpoint-dir", default="runs/train", help="checkpoints, history and plot go here"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from --checkpoint-dir's last checkpoint (default: start afresh)",
    )
    train.add_argument(
        "--skip-nonfinite",
        action="store_true",
        help="skip steps whose loss is NaN/inf (default: stop with exit status 1)",
    )
    train.add_argument(
        "--patience",
        type=_non_negative_int,
        default=None,
        help="stop early after N epochs without improvement of --monitor (default: never)",
    )
    train.add_argument(
        "--min-delta",
        type=_non_negative_float,
        default=0.0,
        help="the smallest change of --monitor that counts as an improvement",
    )
    train.add_argument(
        "--monitor",
        choices=MONITORED,
        default="val_loss",
        help="the metric that early stopping and best.safetensors follow",
    )
    train.add_argument(
        "--keep-last",
        type=_non_negative_int,
        default=0,
        help="also keep epoch_<k>.safetensors of the N most recent epochs",
    )
    train.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # This process is ours, so let malloc keep freed activations for reuse (~20% of a CPU
    # training step goes to page faults otherwise); the library never does this on import.
    backend.keep_freed_memory()
    try:
        return args.func(args)
    except (UsageError, ConfigError) as exc:
        parser.exit(2, f"tinygrad-mom {args.command}: error: {exc}\n")
    except OSError as exc:  # an unwritable output directory, a full disk: no traceback
        parser.exit(1, f"tinygrad-mom {args.command}: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")


if __name__ == "__main__":
    sys.exit(main())
