"""Training helpers: the plain loop users copy, ``evaluate``, and ``fit``.

The loop is the one a PyTorch user writes::

    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

``fit`` runs that loop for several epochs and adds what a real run needs: validation, a
per-epoch history (JSON and CSV), a checkpoint each epoch, exact resumption, a progress bar and
a guard against non-finite losses.

Under a process group (``tinygrad_mom.distributed.init_process_group``, processes started by
``mpiexec``) ``fit``, ``train_epoch`` and ``evaluate`` are data-parallel: every rank reads the
same batches and takes its 1/world share of each (the model wrapped in
``DistributedDataParallel``), so a run equals one process at the same global batch; losses and
accuracies are summed over all ranks; only rank 0 logs, shows progress and writes files, and a
resumed run loads rank 0's checkpoint on every rank.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import _validation as V
from . import backend
from .nn import functional as F
from .serialization import CheckpointError, atomic_write, load, save
from .tensor import Tensor, float64, no_grad

if TYPE_CHECKING:  # the writer's module needs the optional tensorboardX
    from .utils.tensorboard import SummaryWriter

CHECKPOINT_NAME = "last.safetensors"
BEST_CHECKPOINT_NAME = "best.safetensors"
_CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "epoch", "history", "rng")
HISTORY_FIELDS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "skipped_steps",
    "seconds",
)


class NonFiniteLossError(RuntimeError):
    """A training loss or gradient is NaN or infinite (or a step made the parameters so).

    Raised before the bad step changes anything; checkpoints of earlier epochs are kept, and
    no checkpoint with non-finite parameters or optimizer state is ever written.
    """


def _grads_finite(params) -> bool:
    """Whether every gradient of ``params`` is finite: one pass over each gradient, summed in
    float64 on its device (a NaN or Inf anywhere makes the sum non-finite; float32 gradients
    cannot overflow it), and one host sync per device."""
    sums: dict = {}
    for p in params:
        g = p.grad
        if g is None:
            continue
        a = g.array
        if a.dtype.kind != "f":
            continue
        total = backend.get_array_module(a).sum(a, dtype=np.float64)
        key = backend.device_of(a)
        sums[key] = total if key not in sums else sums[key] + total
    return all(math.isfinite(float(v)) for v in sums.values())


def _nonfinite_state(model, optimizer) -> str | None:
    """The name of the first parameter or optimizer state array that is not finite, or None."""
    for name, p in model.named_parameters():
        if p.array.dtype.kind == "f" and not bool(backend.get_array_module(p.array).isfinite(
                p.array).all()):
            return f"parameter {name!r}"
    for index, entry in dict.items(optimizer.state):
        for key, value in entry.items():
            if hasattr(value, "dtype") and value.dtype.kind == "f" \
                    and not bool(backend.get_array_module(value).isfinite(value).all()):
                return f"optimizer state {key!r} of parameter {index}"
            if isinstance(value, float) and not math.isfinite(value):
                return f"optimizer state {key!r} of parameter {index}"
    return None


MONITORED = ("train_loss", "train_acc", "val_loss", "val_acc")


def _resolve_mode(monitor: str, mode: str) -> str:
    V.one_of("monitor", monitor, MONITORED)
    V.one_of("mode", mode, ("min", "max", "auto"))
    if mode == "auto":  # Keras's rule: accuracies go up, losses go down
        return "max" if monitor.endswith("acc") else "min"
    return mode


def _improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping:
    """Stop ``fit`` once ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs in a row (the Keras / PyTorch Lightning callback of that name).

    ``mode="auto"`` minimises losses and maximises accuracies. A NaN value never counts as an
    improvement.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 3,
        mode: str = "auto",
    ) -> None:
        self.mode = _resolve_mode(monitor, mode)
        self.min_delta = V.number_in("min_delta", min_delta, 0.0, where="EarlyStopping")
        self.patience = V.int_at_least("patience", patience, 0, where="EarlyStopping")
        self.monitor = monitor
        self.best: float | None = None
        self.wait = 0  # epochs since the last improvement

    def step(self, value: float) -> bool:
        """Record one epoch's value of the monitored metric; True means: stop now."""
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.wait = value, 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, "
            f"patience={self.patience}, mode={self.mode!r})"
        )


def correct_count(logits: Tensor, targets: Tensor) -> int:
    """How many rows of ``logits`` have their arg-max at the target class."""
    return int((logits.argmax(dim=1) == targets).sum().item())


# ----------------------------------------------------------------------------------------------
# data parallelism: each rank's share of every batch


def _world() -> tuple[int, int]:
    """(rank, world size) of the default process group; (0, 1) without one."""
    from . import distributed as dist

    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _share(n: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s contiguous part of a batch of ``n`` (sizes differ by at most one)."""
    return slice(n * rank // world, n * (rank + 1) // world)


def _presharded(loader) -> bool:
    """Whether ``loader`` already gives each rank its own samples (a DistributedSampler)."""
    from .data.distributed import DistributedSampler

    return isinstance(getattr(loader, "sampler", None), DistributedSampler)


def _my_part(x, y, rank: int, world: int):
    """This rank's share of a global batch and its number of real samples.

    A rank whose share is empty (a batch smaller than the world) gets the batch's first sample
    to run the step on with weight 0, so that it still joins the gradient all-reduce.
    """
    part = _share(len(y), rank, world)
    mine = part.stop - part.start
    return (x[part], y[part], mine) if mine else (x[:1], y[:1], 0)


def _sum_over_ranks(*values: float) -> list[float]:
    """Element-wise sums of ``values`` over all ranks (float64, one all-reduce)."""
    from . import distributed as dist

    t = Tensor(list(values), dtype=float64)
    dist.all_reduce(t)
    return t.numpy().tolist()


def _unwrap(model):
    """The user's module inside a DistributedDataParallel wrapper (or the model itself)."""
    from .nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _data_parallel(model):
    """``model`` wrapped in DistributedDataParallel, unless it already is."""
    from .nn.parallel import DistributedDataParallel

    return model if isinstance(model, DistributedDataParallel) else DistributedDataParallel(model)


def evaluate(model, loader: Iterable, loss_fn: Callable = F.cross_entropy) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode and without a graph.

    Under a process group each rank evaluates its share of every batch (or, for a loader with a
    DistributedSampler, its own batches), starting from rank 0's buffers, and the sums are
    combined, so every rank returns the whole loader's figures.
    """
    rank, world = _world()
    split = world > 1 and not _presharded(loader)
    if world > 1:
        from . import distributed as dist

        model = _unwrap(model)  # no collectives per forward: ranks may skip empty shares
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with no_grad():
        for x, y in loader:
            if split:
                x, y, mine = _my_part(x, y, rank, world)
                if not mine:
                    continue
            logits = model(x)
            total_loss += loss_fn(logits, y).item() * len(y)
            correct += correct_count(logits, y)
            count += len(y)
    model.train(was_training)
    if world > 1:
        total_loss, correct, count = _sum_over_ranks(total_loss, correct, count)
        correct, count = int(correct), int(count)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return total_loss / count, correct / count


def _progress(iterable, enabled: bool, desc: str, total: int | None):
    """Wrap in a tqdm bar when asked for and stderr is a terminal; tqdm is optional."""
    if not enabled or not sys.stderr.isatty():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False, dynamic_ncols=True)


def train_epoch(
    model,
    loader: Iterable,
    optimizer,
    loss_fn: Callable = F.cross_entropy,
    *,
    epoch: int = 0,
    batch_scheduler=None,
    skip_nonfinite: bool = False,
    progress: bool = False,
) -> dict:
    """One pass over ``loader``; returns mean loss, accuracy and the number of skipped steps.

    A non-finite loss (checked before backward) or a non-finite gradient under a finite loss
    (checked after backward, before the optimizer step: one pass over the gradients and one
    host sync) raises :class:`NonFiniteLossError` naming the epoch and step, with parameters
    and optimizer state untouched. With ``skip_nonfinite`` such a step is skipped instead (no
    optimizer or scheduler step, gradients cleared). Either way the module buffers the forward
    pass updated (BatchNorm running statistics) are restored. A loader that yields no batch
    raises ValueError; an epoch whose every step was skipped reports NaN loss and accuracy.

    Under a process group (see the module docstring) each rank trains on its share of every
    batch; ``loss_fn`` must return the batch mean (as the default does), which is re-weighted
    by the share's size so that the averaged gradient is the whole batch's. A loader with a
    DistributedSampler already gives each rank its own batches: they are used whole, and the
    rank's mean gradients averaged, as PyTorch's DistributedDataParallel does.
    """
    rank, world = _world()
    split = world > 1 and not _presharded(loader)
    if world > 1:
        model = _data_parallel(model)
        progress = progress and rank == 0
    model.train()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    total_loss, correct, count, skipped = 0.0, 0, 0, 0
    total = len(loader) if hasattr(loader, "__len__") else None
    for step, (x, y) in enumerate(_progress(loader, progress, f"epoch {epoch + 1}", total)):
        # buffers are small (running statistics): a copy per step is cheap insurance
        buffers_before = [(b, b.array.copy()) for b in model.buffers()]
        n = len(y)
        weight = 1.0
        if split:
            global_n = n
            x, y, n = _my_part(x, y, rank, world)
            weight = n * world / global_n
        logits = model(x)
        loss = loss_fn(logits, y)
        value = loss.item()
        if world > 1:
            local_correct = correct_count(logits, y) if n else 0
            loss_sum, step_correct, n = _sum_over_ranks(value * n, local_correct, n)
            step_correct, n = int(step_correct), int(n)
            value = loss_sum / n  # the whole batch's mean loss, the same on every rank
        if not math.isfinite(value):
            for buffer, saved in buffers_before:
                buffer.array[...] = saved
            if skip_nonfinite:
                skipped += 1
                continue
            raise NonFiniteLossError(
                f"non-finite loss ({value}) at epoch {epoch + 1}, step {step + 1}; training "
                "stopped, parameters and checkpoints from earlier epochs are kept "
                "(use --skip-nonfinite to skip such steps, or lower the learning rate)"
            )
        optimizer.zero_grad()
        (loss if weight == 1.0 else loss * weight).backward()  # averaged over ranks by DDP
        if not _grads_finite(params):
            optimizer.zero_grad()
            for buffer, saved in buffers_before:
                buffer.array[...] = saved
            if skip_nonfinite:
                skipped += 1
                continue
            raise NonFiniteLossError(
                f"non-finite gradient under a finite loss ({value}) at epoch {epoch + 1}, step "
                f"{step + 1}; training stopped before the optimizer step, parameters and "
                "checkpoints from earlier epochs are kept (use --skip-nonfinite to skip such "
                "steps, or lower the learning rate / clip the gradients)"
            )
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total_loss += value * n
        correct += step_correct if world > 1 else correct_count(logits, y)
        count += n
    if count == 0 and skipped == 0:
        raise ValueError(
            f"train_epoch: the training loader yielded no batches in epoch {epoch + 1} (an "
            "empty dataset, or drop_last=True with fewer samples than batch_size?)"
        )
    if count == 0:  # every step skipped: said by skipped_steps, and the loss is not a number
        return {"train_loss": math.nan, "train_acc": math.nan, "skipped_steps": skipped}
    return {
        "train_loss": total_loss / count,
        "train_acc": correct / count,
        "skipped_steps": skipped,
    }


# ----------------------------------------------------------------------------------------------
def write_history(history: list[dict], directory: str | os.PathLike, stem: str = "history") -> None:
    """Write the per-epoch history as ``<stem>.json`` and ``<stem>.csv`` (atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / f"{stem}.json", json.dumps(history, indent=2).encode())
    fields = list(HISTORY_FIELDS) + sorted(
        {k for row in history for k in row} - set(HISTORY_FIELDS)
    )
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write(directory / f"{stem}.csv", text.getvalue().encode())


def check_writable_dir(directory, what: str) -> Path:
    """Create ``directory`` if needed and prove a checkpoint can be written there, now.

    Raises PermissionError/NotADirectoryError naming ``what``, and ImportError naming the extra
    to install when the ``safetensors`` package (needed by checkpoints) is missing.
    """
    from .serialization import _safetensors_numpy

    _safetensors_numpy()
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"{what} {directory} exists and is not a directory") from None
    except PermissionError as exc:
        raise PermissionError(f"{what} {directory} cannot be created: {exc.strerror}") from None
    try:  # a real write: os.access says yes to root even on a read-only file system
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise PermissionError(f"{what} {directory} is not writable: {exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)
    return directory


def _loader_set_epoch(loader, epoch: int) -> None:
    # A seeded loader draws epoch e's order from (seed, e): resuming at epoch e repeats it.
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)


def fit(
    model,
    optimizer,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    *,
    epochs: int,
    loss_fn: Callable = F.cross_entropy,
    scheduler=None,
    scheduler_interval: str = "epoch",
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    skip_nonfinite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    early_stopping: EarlyStopping | None = None,
    monitor: str | None = None,
    keep_last: int = 0,
    tensorboard: str | os.PathLike | SummaryWriter | None = None,
) -> list[dict]:
    """Train for ``epochs`` epochs and return the history (one dict per epoch).

    Args:
        scheduler: an LR scheduler, stepped once per epoch (``scheduler_interval="epoch"``) or
            once per optimizer step (``"batch"``, e.g. Keras-style ExponentialDecay). A
            ReduceLROnPlateau is stepped with the validation loss.
        checkpoint_dir: where ``history.json``/``history.csv`` and a checkpoint
            (``last.safetensors``: model, optimizer, scheduler, epoch, history, RNG state) are
            written after every epoch, atomically.
        resume: continue from ``checkpoint_dir``'s checkpoint. On CPU the resumed run equals an
            uninterrupted one bit for bit.
        early_stopping: an :class:`EarlyStopping`; training ends early once its metric stops
            improving (the history then has fewer rows than ``epochs``).
        monitor: the metric that picks the best epoch, whose checkpoint is kept as
            ``best.safetensors`` beside ``last.safetensors`` (default: the early-stopping
            metric, else ``val_loss`` with a validation loader, else ``train_loss``).
        keep_last: also keep ``epoch_<k>.safetensors`` for the ``keep_last`` most recent
            epochs (older ones are deleted); 0 keeps none.
        tensorboard: a ``tinygrad_mom.utils.tensorboard.SummaryWriter``, or a directory to
            open one in (closed at the end; on resume it purges steps after the checkpoint's
            epoch, so a crashed run's extra points disappear); each epoch logs ``loss/train``,
            ``loss/val``, ``accuracy/train``, ``accuracy/val`` and ``lr`` at step = epoch, then
            flushes.
    """
    V.int_at_least("epochs", epochs, 0, where="fit")
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}"
        )
    V.flag("resume", resume, where="fit")
    V.flag("skip_nonfinite", skip_nonfinite, where="fit")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir to resume from")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if loader is not None and hasattr(loader, "__len__") and len(loader) == 0:
            raise ValueError(
                f"fit: {name} yields no batches (an empty dataset, or drop_last=True with "
                "fewer samples than batch_size?)"
            )
    if checkpoint_dir is not None:
        # found now, not after the first epoch has trained
        check_writable_dir(checkpoint_dir, "checkpoint_dir")
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"early_stopping must be an EarlyStopping, got {type(early_stopping).__name__}"
        )
    if monitor is None:
        if early_stopping is not None:
            monitor = early_stopping.monitor
        else:
            monitor = "val_loss" if val_loader is not None else "train_loss"
    monitor_mode = _resolve_mode(monitor, "auto")
    for name in {monitor, early_stopping.monitor if early_stopping else monitor}:
        if name.startswith("val_") and val_loader is None:
            raise ValueError(f"monitoring {name!r} needs a val_loader")
    V.int_at_least("keep_last", keep_last, 0, where="fit")
    _check_writer(tensorboard)

    rank, world = _world()
    if world > 1:
        from . import distributed as dist

        model = _data_parallel(model)  # wrapped once: train_epoch and evaluate see the wrapper
        log = log if rank == 0 else None
        progress = progress and rank == 0
    history: list[dict] = []
    start_epoch = 0
    if resume:
        monitored = (monitor,) + ((early_stopping.monitor,) if early_stopping else ())
        state = load_checkpoint(checkpoint_dir, _unwrap(model), optimizer, scheduler,
                                history_keys=monitored)
        history, start_epoch = state["history"], state["epoch"]
        if log:
            log(f"resumed from {Path(checkpoint_dir) / CHECKPOINT_NAME} after epoch {start_epoch}")
    # replaying the history restores the best value and the early-stopping counter on resume
    best, stopped = None, False
    for past in history:
        if _improved(past[monitor], best, monitor_mode):
            best = past[monitor]
        if early_stopping is not None:
            stopped = early_stopping.step(past[early_stopping.monitor])
    if stopped:  # the resumed run had already stopped early: there is nothing left to do
        return history
    # TensorBoard event files, like every other file, come from rank 0 alone
    writer, own_writer = _open_writer(tensorboard, start_epoch) if rank == 0 else (None, False)

    batch_scheduler = scheduler if scheduler_interval == "batch" else None
    for epoch in range(start_epoch, epochs):
        started = time.perf_counter()
        _loader_set_epoch(train_loader, epoch)
        lr = optimizer.param_groups[0]["lr"]
        row = {"epoch": epoch + 1}
        row.update(
            train_epoch(
                model,
                train_loader,
                optimizer,
                loss_fn,
                epoch=epoch,
                batch_scheduler=batch_scheduler,
                skip_nonfinite=skip_nonfinite,
                progress=progress,
            )
        )
        if val_loader is not None:
            row["val_loss"], row["val_acc"] = evaluate(model, val_loader, loss_fn)
        if scheduler is not None and batch_scheduler is None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(row.get("val_loss", row["train_loss"]))
            else:
                scheduler.step()
        row["lr"] = lr
        row["seconds"] = round(time.perf_counter() - started, 3)
        history.append(row)
        if log:
            log(_format_row(row, epochs))
        if writer is not None:
            _log_scalars(writer, row)
        if checkpoint_dir is not None:
            # the replicas are identical: every rank decides alike, rank 0 alone writes
            poisoned = _nonfinite_state(_unwrap(model), optimizer)
            if poisoned is not None:
                raise NonFiniteLossError(
                    f"after epoch {epoch + 1} the {poisoned} is not finite; its checkpoint was "
                    "not written, the one of the previous epoch is kept (lower the learning "
                    "rate)"
                )
            improved = _improved(row[monitor], best, monitor_mode)
            if improved:
                best = row[monitor]
            if rank == 0:
                # the user's module: a checkpoint from several processes loads into one and back
                path = save_checkpoint(
                    checkpoint_dir, _unwrap(model), optimizer, scheduler, epoch + 1, history
                )
                if improved:
                    atomic_write(path.with_name(BEST_CHECKPOINT_NAME), path.read_bytes())
                if keep_last:
                    _keep_last_epochs(path, epoch + 1, keep_last)
                write_history(history, checkpoint_dir)
            if world > 1:
                dist.barrier()  # the epoch's checkpoint exists before any rank moves on
        # the metrics are the same on every rank, so every rank stops at the same epoch
        if early_stopping is not None and early_stopping.step(row[early_stopping.monitor]):
            if log:
                log(
                    f"early stopping after epoch {epoch + 1}: {early_stopping.monitor} has not "
                    f"improved by more than {early_stopping.min_delta:g} for "
                    f"{early_stopping.patience} epochs (best {early_stopping.best:.4f})"
                )
            break
    if own_writer:
        writer.close()
    return history


_TENSORBOARD_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "train_acc": "accuracy/train",
    "val_acc": "accuracy/val",
    "lr": "lr",
}


def _check_writer(tensorboard) -> None:
    if tensorboard is None or isinstance(tensorboard, (str, os.PathLike)):
        return
    if not callable(getattr(tensorboard, "add_scalar", None)):
        raise TypeError(
            "tensorboard must be a SummaryWriter or a directory, got "
            f"{type(tensorboard).__name__}"
        )


def _open_writer(tensorboard, start_epoch: int):
    """(writer, whether fit opened it) for fit's ``tensorboard`` argument."""
    if isinstance(tensorboard, (str, os.PathLike)):
        from .utils.tensorboard import SummaryWriter

        # a resumed run hides what an interrupted one logged after its last checkpoint
        purge = start_epoch + 1 if start_epoch else None
        return SummaryWriter(tensorboard, purge_step=purge), True
    return tensorboard, False


def _log_scalars(writer, row: dict) -> None:
    for key, tag in _TENSORBOARD_TAGS.items():
        if key in row and math.isfinite(row[key]):
            writer.add_scalar(tag, row[key], row["epoch"])
    writer.flush()  # an interrupted run keeps every finished epoch


def _keep_last_epochs(last: Path, epoch: int, keep: int) -> None:
    """Copy ``last`` to ``epoch_<k>.safetensors`` and delete the snapshots older than ``keep``."""
    atomic_write(last.with_name(f"epoch_{epoch:04d}.safetensors"), last.read_bytes())
    for old in last.parent.glob("epoch_*.safetensors"):
        number = old.stem.removeprefix("epoch_")
        if number.isdigit() and int(number) <= epoch - keep:
            old.unlink()


def _format_row(row: dict, epochs: int) -> str:
    parts = [
        f"epoch {row['epoch']}/{epochs}",
        f"loss {row['train_loss']:.4f}",
        f"acc {row['train_acc']:.3f}",
    ]
    if "val_loss" in row:
        parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_acc']:.3f}"]
    if row.get("skipped_steps"):
        parts.append(f"skipped {row['skipped_steps']} non-finite steps")
    parts.append(f"{row['seconds']:.1f}s")
    return "  ".join(parts)


# ----------------------------------------------------------------------------------------------
def save_checkpoint(
    directory, model, optimizer, scheduler, epoch: int, history: list[dict]
) -> Path:
    """Atomically write everything needed to resume after ``epoch`` epochs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "optimizer_class": type(optimizer).__name__,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scheduler_class": type(scheduler).__name__ if scheduler is not None else None,
        "epoch": epoch,
        "history": history,
        "rng": backend.get_rng_state(),
    }
    path = directory / CHECKPOINT_NAME
    save(state, path)
    return path


def load_checkpoint(directory, model, optimizer, scheduler=None, *,
                    history_keys: tuple[str, ...] = ()) -> dict:
    """Restore model, optimizer, scheduler and RNG from ``directory``; returns the checkpoint.

    Transactional: the file, and every part of it (model weights, optimizer and scheduler
    state, epoch, history, random state) is checked against what it is loaded into first,
    and only then applied, so on any error nothing has changed. ``history_keys``: metrics
    that every history row must hold as a number (``fit`` passes the ones it monitors, so a
    run resumed with another ``monitor`` is refused before anything is loaded). Raises
    :class:`CheckpointError` (a ValueError) naming the part, or FileNotFoundError.
    """
    path = Path(directory) / CHECKPOINT_NAME
    state = _read_checkpoint(path)  # under a process group: rank 0's file, on every rank

    def bad(reason: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} does not fit: {reason}")

    if not isinstance(state, dict):
        raise bad(f"it holds {V.describe(state)}, not a training checkpoint")
    missing = [k for k in _CHECKPOINT_KEYS if k not in state]
    if missing:
        raise bad(f"it lacks the entries {missing} (not written by fit?)")
    for key, kind, obj in (("optimizer_class", "optimizer", optimizer),
                           ("scheduler_class", "scheduler", scheduler)):
        saved = state.get(key)  # absent in checkpoints of older versions
        have = type(obj).__name__ if obj is not None else None
        if key in state and saved != have:
            raise bad(f"it was written with {kind} {saved}, but this run uses {have}")
    if scheduler is None and state["scheduler"] is not None:
        raise bad("it holds a scheduler state, but this run has no scheduler")
    if scheduler is not None and state["scheduler"] is None:
        raise bad(f"it holds no scheduler state, but this run has a {type(scheduler).__name__}")
    epoch, history = state["epoch"], state["history"]
    if not V.is_int(epoch) or epoch < 0:
        raise bad(f"'epoch' must be an int >= 0, got {V.describe(epoch)}")
    if not isinstance(history, list) or not all(
        isinstance(row, dict) and all(isinstance(k, str) for k in row) for row in history
    ):
        raise bad(f"'history' must be a list of dicts with string keys, got {V.describe(history)}")
    if len(history) != epoch:
        raise bad(f"'history' has {len(history)} rows, but 'epoch' says {epoch} epochs ran")
    for key in history_keys:
        for row in history:
            if not V.is_real(row.get(key)):
                raise bad(f"this run monitors {key!r}, but history row {row.get('epoch', '?')} "
                          f"holds {V.describe(row.get(key))} for it (the run that wrote it "
                          f"did not record {key!r}); resume with the same monitor")
    if not isinstance(state["model"], dict):
        raise bad(f"'model' must be a dict of arrays, got {V.describe(state['model'])}")
    commits = []
    for part, prepare in (
        ("model", lambda: model._prepare_load(state["model"])[0]),
        ("optimizer", lambda: optimizer._prepare_load(state["optimizer"])),
        ("scheduler", lambda: scheduler._prepare_load(state["scheduler"])
         if scheduler is not None else (lambda: None)),
        ("rng", lambda: backend._prepare_rng_state(state["rng"])),
    ):
        try:
            commits.append(prepare())
        except (KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError) as exc:
            reason = f"it lacks the entry {exc}" if isinstance(exc, KeyError) else str(exc)
            raise CheckpointError(
                f"checkpoint {path}: its {part} part does not fit this {part}: {reason}"
            ) from exc
    # Everything checked: apply (none of these can fail)
    for commit in commits:
        commit()
    return state


def _read_checkpoint(path: Path) -> dict:
    """The checkpoint's contents; under a process group rank 0 reads it and sends it to all."""
    rank, world = _world()
    if world == 1:
        return _read_checkpoint_locally(path)
    from . import distributed as dist

    outcome = [None]
    if rank == 0:
        try:
            outcome[0] = ("state", _read_checkpoint_locally(path))
        except Exception as exc:  # every rank must raise it, or the others would wait forever
            outcome[0] = ("error", exc)
    dist.broadcast_object_list(outcome, src=0)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


def _read_checkpoint_locally(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint to resume from: {path} does not exist")
    return load(path)
