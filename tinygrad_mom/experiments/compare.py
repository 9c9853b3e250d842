"""The SGD-vs-momentum experiment of the Keras article as a function: :func:`compare`.

One model, several optimizers, the same initial weights and the same batch order for every
optimizer, over one or more seeds; then a table (mean ± standard deviation over seeds), a
verdict from a stated statistical test, JSON/Markdown/CSV results and a plot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tinygrad_mom as tm

from ..nn import functional as F
from ..training import fit, write_history
from . import stats
from .components import (
    INITS,
    MODELS,
    OPTIMIZER_PRESETS,
    ConfigError,
    augmented,
    check_device,
    check_output_dir,
    check_tensorboard,
    describe_optimizer,
    image_geometry,
    initialise_,
    load_splits,
    make_loaders,
    make_model,
    make_optimizer,
)

BASELINE = "linear baseline"
#: the columns of the table, in order: final-epoch metrics, then test metrics and time
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds")
#: a difference counts as shown at this level (95 % intervals, p < 0.05)
CONFIDENCE = 0.95


@dataclass
class RunResult:
    """One optimizer trained from one seed: its history and test-set results."""

    name: str
    seed: int
    optimizer: str
    history: list[dict]
    test_loss: float
    test_acc: float
    seconds: float
    #: per test sample, whether the prediction was right (for McNemar's test; not in JSON)
    test_correct: np.ndarray = field(repr=False)

    def final(self, metric: str) -> float:
        """The metric at the end of training (last epoch, or the test set, or wall time)."""
        if metric in ("test_loss", "test_acc", "seconds"):
            return getattr(self, metric)
        return self.history[-1][metric]

    def epochs_to(self, target_acc: float) -> int | None:
        """The first epoch whose validation accuracy reached ``target_acc`` (None: never)."""
        return next((r["epoch"] for r in self.history if r["val_acc"] >= target_acc), None)

    def to_json(self) -> dict:
        """The run as plain JSON types."""
        return {
            "seed": self.seed,
            "optimizer": self.optimizer,
            "test_loss": self.test_loss,
            "test_acc": self.test_acc,
            "seconds": self.seconds,
            "history": self.history,
        }


@dataclass(frozen=True)
class Comparison:
    """The outcome of one stated test between two optimizers' test accuracies."""

    first: str
    second: str
    test: str  # "paired t-interval" or "McNemar"
    difference: float  # mean test accuracy of first minus second
    low: float | None  # the confidence interval (paired t-interval only)
    high: float | None
    p_value: float | None  # McNemar only
    n: int  # seeds (interval) or discordant test samples (McNemar)
    winner: str | None  # None: not distinguishable
    text: str


@dataclass
class CompareResult:
    """What :func:`compare` ran and found."""

    settings: dict
    runs: dict[str, list[RunResult]]
    rows: list[dict]
    table: str
    comparisons: list[Comparison]
    verdict: str
    paths: dict[str, Path]

    def to_json(self) -> dict:
        """Settings, per-seed runs, the table rows and the verdict as plain JSON types."""
        return {
            "settings": self.settings,
            "runs": {name: [r.to_json() for r in runs] for name, runs in self.runs.items()},
            "summary": self.rows,
            "comparisons": [vars(c) for c in self.comparisons],
            "verdict": self.verdict,
        }


def compare(
    optimizers: Sequence[str] | str = ("sgd", "momentum"),
    *,
    dataset: str = "shapes",
    data_dir: str | None = None,
    model: str = "seedcnn",
    init: str = "torch",
    epochs: int = 10,
    batch_size: int = 64,
    val_split: float = 0.2,
    seeds: int = 1,
    seed: int = 0,
    lr: float | None = None,
    momentum: float | None = None,
    weight_decay: float | None = None,
    device: str = "cpu",
    train_size: int | None = None,
    test_size: int | None = None,
    augment: bool = False,
    target_acc: float = 0.6,
    baseline: bool = True,
    out_dir: str | Path | None = "runs/compare",
    tensorboard: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> CompareResult:
    """Train ``model`` with each optimizer preset over ``seeds`` seeds and compare them.

    Seeds are ``seed, seed + 1, ...``; within a seed every optimizer starts from the same
    initial weights and sees the same batch order (the validation split is drawn once, from
    ``seed``). ``init="keras"`` re-initialises like Keras (glorot_uniform kernels, zero biases),
    the article's setting; ``"torch"`` keeps PyTorch's layer defaults. ``baseline`` adds a
    linear model trained with the momentum preset. ``augment`` trains on randomly cropped
    (4-pixel padding) and flipped images, the usual CIFAR-10 augmentation. With ``out_dir``
    the results are written there: ``results.json`` (settings, per-seed runs, summary,
    verdict), ``results.md``, one ``history_<name>_seed<k>.json/.csv`` per run and
    ``compare.png`` (when matplotlib is there). With ``tensorboard`` each run also logs its
    curves to TensorBoard, in ``<tensorboard>/<name>_seed<k>`` (one TensorBoard run each).

    The verdict compares test accuracies: over several seeds with a paired Student-t interval
    of the per-seed differences; with one seed with McNemar's exact test on the test-set
    predictions. It says "not distinguishable" unless the test separates them at 95 %.

    Raises:
        ConfigError (a ValueError): an unknown optimizer, model, init or dataset, missing data,
            an unusable device or output directory; raised before any training.
    """
    names = _optimizer_names(optimizers)
    _check_settings(
        model=model, init=init, epochs=epochs, batch_size=batch_size, seeds=seeds, seed=seed
    )
    device = check_device(device)
    out_path = check_output_dir("--out-dir", out_dir) if out_dir is not None else None
    tensorboard_dir = check_tensorboard(tensorboard)
    train, val, test = load_splits(
        dataset,
        data_dir=data_dir,
        train_size=train_size,
        test_size=test_size,
        val_split=val_split,
        seed=seed,
    )
    channels, size = image_geometry(train)
    train = augmented(train, augment)
    seed_list = list(range(seed, seed + seeds))
    settings = {
        "optimizers": names,
        "dataset": dataset,
        "data_dir": data_dir,
        "model": model,
        "init": init,
        "epochs": epochs,
        "batch_size": batch_size,
        "val_split": val_split,
        "seeds": seed_list,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "device": device,
        "train_size": len(train) + len(val),
        "test_size": len(test),
        "augment": augment,
        "tensorboard": str(tensorboard_dir) if tensorboard_dir is not None else None,
        "target_acc": target_acc,
        "baseline": baseline,
        "test": "paired t-interval over seeds" if seeds > 1 else "McNemar (exact)",
        "confidence": CONFIDENCE,
    }
    _log(
        log,
        f"dataset {dataset}: {len(train)} train / {len(val)} validation / {len(test)} test, "
        f"{channels}x{size}x{size}{', augmented' if augment else ''}; model {model}, {init} "
        f"init; {epochs} epochs, batch {batch_size}, seeds {', '.join(map(str, seed_list))}, "
        f"device {device}",
    )

    runs: dict[str, list[RunResult]] = {name: [] for name in names + ([BASELINE] * baseline)}
    for run_seed in seed_list:
        # the same initial weights for every optimizer of this seed
        tm.manual_seed(run_seed)
        initial = {
            k: v.clone()
            for k, v in initialise_(make_model(model, channels, size, 10), init)
            .state_dict()
            .items()
        }
        for name in runs:
            is_baseline = name == BASELINE
            tm.manual_seed(run_seed)
            net = make_model("linear" if is_baseline else model, channels, size, 10)
            if is_baseline:
                initialise_(net, init)
            else:
                net.load_state_dict(initial)
            net.to(device)
            optimizer = make_optimizer(
                "momentum" if is_baseline else name,
                net.parameters(),
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
                log=log if run_seed == seed else None,
            )
            train_loader, val_loader, test_loader = make_loaders(
                train, val, test, batch_size=batch_size, seed=run_seed, device=device
            )
            description = describe_optimizer(optimizer)
            _log(log, f"\n== {name}, seed {run_seed} ({description})")
            started = time.perf_counter()
            history = fit(
                net,
                optimizer,
                train_loader,
                val_loader,
                epochs=epochs,
                progress=progress,
                skip_nonfinite=True,
                log=log,
                tensorboard=(
                    tensorboard_dir / f"{name.replace(' ', '_')}_seed{run_seed}"
                    if tensorboard_dir is not None
                    else None
                ),
            )
            seconds = time.perf_counter() - started
            test_loss, test_acc, correct = predict_test(net, test_loader)
            runs[name].append(
                RunResult(
                    name, run_seed, description, history, test_loss, test_acc, seconds, correct
                )
            )

    rows = summary_rows(runs, target_acc)
    table = format_table(rows, target_acc)
    comparisons = judge(runs)
    verdict = "\n".join(c.text for c in comparisons)
    result = CompareResult(settings, runs, rows, table, comparisons, verdict, {})
    _log(log, "\n" + table)
    _log(log, verdict)
    if out_path is not None:
        result.paths = write_results(result, out_path, log=log)
    return result


def _optimizer_names(optimizers: Sequence[str] | str) -> list[str]:
    if isinstance(optimizers, str):
        optimizers = optimizers.split(",")
    names = [n.strip() for n in optimizers if n.strip()]
    unknown = [n for n in names if n not in OPTIMIZER_PRESETS]
    if unknown or not names:
        raise ConfigError(
            f"--optimizers: unknown optimizer(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(OPTIMIZER_PRESETS)}"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"--optimizers: {', '.join(names)} names an optimizer twice")
    return names


def _check_settings(**values) -> None:
    if values["model"] not in MODELS:
        raise ConfigError(
            f"--model: unknown model {values['model']!r}; choose from {', '.join(MODELS)}"
        )
    if values["init"] not in INITS:
        raise ConfigError(
            f"--init: unknown init {values['init']!r}; choose from {', '.join(INITS)}"
        )
    for name, minimum in (("epochs", 1), ("batch_size", 1), ("seeds", 1), ("seed", 0)):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def _log(log: Callable[[str], None] | None, text: str) -> None:
    if log:
        log(text)


def predict_test(model, loader) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy, accuracy and the per-sample correctness of ``model`` on ``loader``."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, []
    with tm.no_grad():
        for x, y in loader:
            logits = model(x)
            total += F.cross_entropy(logits, y).item() * len(y)
            correct.append(tm.backend.to_numpy((logits.argmax(dim=1) == y).array))
    model.train(was_training)
    right = np.concatenate(correct).astype(bool)
    return total / len(right), float(right.mean()), right


# ----------------------------------------------------------------------------------------------
def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1; 0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def summary_rows(runs: dict[str, list[RunResult]], target_acc: float) -> list[dict]:
    """Per optimizer: mean and std over seeds of each metric, and epochs to ``target_acc``."""
    rows = []
    for name, seed_runs in runs.items():
        row: dict = {"optimizer": name, "seeds": len(seed_runs)}
        for metric in METRICS:
            mean, std = mean_std([r.final(metric) for r in seed_runs])
            row[metric] = {"mean": mean, "std": std}
        row["epochs_to_target"] = [r.epochs_to(target_acc) for r in seed_runs]
        rows.append(row)
    return rows


def _cell(stat: dict, digits: int, seeds: int) -> str:
    if seeds == 1:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _epochs_cell(reached: list[int | None]) -> str:
    hits = [e for e in reached if e is not None]
    if not hits:
        return "not reached"
    if len(reached) == 1:
        return str(hits[0])
    mean, std = mean_std(hits)
    counted = "" if len(hits) == len(reached) else f" ({len(hits)}/{len(reached)} seeds)"
    return f"{mean:.1f} ± {std:.1f}{counted}"


def format_table(rows: list[dict], target_acc: float) -> str:
    """The Markdown table: one row per optimizer, mean ± std over seeds where there are several."""
    header = (
        "| optimizer | train loss | train acc | val loss | val acc | test loss | test acc "
        f"| epochs to val acc ≥ {target_acc:g} | wall time |"
    )
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        n = row["seeds"]
        cells = [
            _cell(row[m], 4 if m.endswith("loss") else 3, n)
            for m in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
        ]
        cells.append(_epochs_cell(row["epochs_to_target"]))
        cells.append(_cell(row["seconds"], 1, n) + " s")
        lines.append(f"| {row['optimizer']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
def compare_runs(first: list[RunResult], second: list[RunResult]) -> Comparison:
    """Test whether ``first``'s test accuracy differs from ``second``'s (paired by seed).

    Several seeds: a paired Student-t interval (95 %) of the per-seed differences; the two
    are distinguishable when it excludes 0. One seed: McNemar's exact test on the two models'
    test-set predictions; distinguishable when p < 0.05.
    """
    a, b = first[0].name, second[0].name
    if [r.seed for r in first] != [r.seed for r in second]:
        raise ValueError(f"compare_runs: {a} and {b} were not run on the same seeds")
    diff = float(np.mean([r.test_acc for r in first]) - np.mean([r.test_acc for r in second]))
    if len(first) > 1:
        ci = stats.paired_interval(
            [r.test_acc for r in first], [r.test_acc for r in second], CONFIDENCE
        )
        winner = (a if ci.mean > 0 else b) if ci.separates else None
        evidence = (
            f"{a} − {b} = {ci.mean:+.3f}, {CONFIDENCE:.0%} interval [{ci.low:+.3f}, "
            f"{ci.high:+.3f}] (paired t over {ci.n} seeds)"
        )
        return Comparison(
            first=a,
            second=b,
            test="paired t-interval",
            difference=diff,
            low=ci.low,
            high=ci.high,
            p_value=None,
            n=ci.n,
            winner=winner,
            text=_sentence(a, b, winner, evidence, "the interval contains 0"),
        )
    test = stats.mcnemar(first[0].test_correct, second[0].test_correct)
    alpha = 1 - CONFIDENCE
    winner = (a if test.only_a > test.only_b else b) if test.p_value < alpha else None
    evidence = (
        f"test accuracy {first[0].test_acc:.3f} vs {second[0].test_acc:.3f}; "
        f"{test.only_a} test images only {a} got right, {test.only_b} only {b}, "
        f"McNemar's exact p = {test.p_value:.3g} (one seed)"
    )
    return Comparison(
        first=a,
        second=b,
        test="McNemar",
        difference=diff,
        low=None,
        high=None,
        p_value=test.p_value,
        n=test.only_a + test.only_b,
        winner=winner,
        text=_sentence(a, b, winner, evidence, f"p ≥ {alpha:g}"),
    )


def _sentence(a: str, b: str, winner: str | None, evidence: str, why_not: str) -> str:
    if winner is None:
        return f"{a} and {b} are not distinguishable ({why_not}): {evidence}."
    return f"{winner} is better: {evidence}."


def judge(runs: dict[str, list[RunResult]]) -> list[Comparison]:
    """The verdict's tests: momentum vs plain SGD, and the best network vs the linear baseline."""
    comparisons = []
    if "sgd" in runs and "momentum" in runs:
        found = compare_runs(runs["momentum"], runs["sgd"])
        article = {
            "momentum": " The Keras article reports the same.",
            "sgd": " The Keras article reports the opposite.",
            None: " The Keras article reports that momentum wins.",
        }[found.winner]
        comparisons.append(_with_text(found, "Momentum vs plain SGD: " + found.text + article))
    if BASELINE in runs and len(runs) > 1:
        best = max(
            (n for n in runs if n != BASELINE),
            key=lambda n: np.mean([r.test_acc for r in runs[n]]),
        )
        found = compare_runs(runs[best], runs[BASELINE])
        comparisons.append(_with_text(found, "Network vs a linear model: " + found.text))
    return comparisons


def _with_text(comparison: Comparison, text: str) -> Comparison:
    return Comparison(**{**vars(comparison), "text": text})


# ----------------------------------------------------------------------------------------------
def write_results(
    result: CompareResult, directory: Path, log: Callable[[str], None] | None = print
) -> dict[str, Path]:
    """results.json, results.md, the per-run histories and the plot; returns their paths."""
    paths = {"json": directory / "results.json", "markdown": directory / "results.md"}
    for name, seed_runs in result.runs.items():
        for run in seed_runs:
            stem = f"history_{name.replace(' ', '_')}_seed{run.seed}"
            write_history(run.history, directory, stem=stem)
            paths[f"history {name} seed {run.seed}"] = directory / f"{stem}.json"
    plot = plot_histories(
        {n: [r.history for r in rs] for n, rs in result.runs.items()},
        directory / "compare.png",
        log=log,
    )
    if plot is not None:
        paths["plot"] = plot
    result.paths = paths
    paths["json"].write_text(json.dumps(result.to_json(), indent=2))
    paths["markdown"].write_text(result.table + "\n\n" + result.verdict + "\n")
    _log(
        log,
        f"\nwrote {directory}/results.json, results.md, history_*.json/csv"
        + (f", {plot}" if plot else ""),
    )
    return paths


def plot_histories(
    histories: dict[str, list[list[dict]]],
    path: str | Path,
    log: Callable[[str], None] | None = print,
) -> Path | None:
    """Loss and accuracy per epoch (train solid, validation dashed) as a PNG.

    ``histories`` maps a name to one history per seed; several seeds are drawn as their mean
    with a ±1 standard-deviation band. Returns None (and says so) when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # headless: no display is needed or opened
        import matplotlib.pyplot as plt
    except ImportError:
        _log(log, "matplotlib is not installed: plot skipped (pip install 'tinygrad_mom[plot]')")
        return None
    path = Path(path)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    for name, seed_histories in histories.items():
        length = min(len(h) for h in seed_histories)
        epochs = [r["epoch"] for r in seed_histories[0][:length]]
        color = None
        if length == 0:
            continue
        for axis, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
            for split, style in (("train", "-"), ("val", "--")):
                key = f"{split}_{metric}"
                if key not in seed_histories[0][0]:
                    continue
                values = np.array([[r[key] for r in h[:length]] for h in seed_histories])
                mean = values.mean(axis=0)
                line = axis.plot(epochs, mean, style, color=color, label=f"{name} {split}")[0]
                color = line.get_color()
                if len(values) > 1:
                    std = values.std(axis=0, ddof=1)
                    axis.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.15)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss (solid train, dashed val)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_loss.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
