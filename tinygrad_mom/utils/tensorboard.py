"""``SummaryWriter`` with ``torch.utils.tensorboard``'s API, writing TensorBoard event files.

The writing itself (event-file format, histogram bins, PNG encoding) is done by the
maintained ``tensorboardX`` package (``pip install 'tinygrad_mom[tensorboard]'``); this class
accepts ``tinygrad_mom`` Tensors (on any device) wherever PyTorch's accepts torch tensors.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from ..tensor import Tensor

try:
    import tensorboardX
except ImportError as exc:  # as torch.utils.tensorboard does when tensorboard is missing
    raise ImportError(
        "tinygrad_mom.utils.tensorboard needs the tensorboardX package: "
        "pip install 'tinygrad_mom[tensorboard]'"
    ) from exc

__all__ = ["SummaryWriter"]


def _host(value):
    """A Tensor as a NumPy array (copied from the GPU when it lives there); others unchanged."""
    # force=True: detached (a parameter or a loss may require grad) and copied from a GPU
    return value.numpy(force=True) if isinstance(value, Tensor) else value


def _scalar(name: str, value) -> float:
    value = _host(value)
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"{name}: expected a single number, got shape {array.shape}")
    return float(array.reshape(()))


_writer_ids = itertools.count()


def _unique_suffix(suffix: str) -> str:
    # tensorboardX names a file by the second and the host only, so two writers opened in one
    # second (a quickly resumed run) would write the same file; PyTorch's names add the
    # process id and a counter, and so do these
    return f".{os.getpid()}.{next(_writer_ids)}{suffix}"


class SummaryWriter:
    """Write scalars, histograms and images for TensorBoard, as ``torch.utils.tensorboard``.

    ``log_dir`` defaults to ``runs/<date>_<time>_<host><comment>``, as in PyTorch. Usable as a
    context manager (closed on exit).
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        self._writer = tensorboardX.SummaryWriter(
            logdir=os.fspath(log_dir) if log_dir is not None else None,
            comment=comment,
            purge_step=purge_step,
            max_queue=max_queue,
            flush_secs=flush_secs,
            filename_suffix=_unique_suffix(filename_suffix),
        )
        self.log_dir = self._writer.logdir
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._children: dict[str, tensorboardX.SummaryWriter] = {}  # add_scalars' runs

    def get_logdir(self) -> str:
        """The directory the event files go to."""
        return self.log_dir

    def add_scalar(
        self,
        tag: str,
        scalar_value,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """One number (a float, or a one-element Tensor) under ``tag`` at ``global_step``."""
        self._writer.add_scalar(
            tag, _scalar(f"add_scalar({tag!r})", scalar_value), global_step, walltime
        )

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Several numbers on one chart; each goes to the run ``<log_dir>/<main_tag>_<tag>``."""
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(
                f"add_scalars: tag_scalar_dict must be a dict, got {type(tag_scalar_dict).__name__}"
            )
        values = {k: _scalar(f"add_scalars({k!r})", v) for k, v in tag_scalar_dict.items()}
        for tag, value in values.items():
            # PyTorch's layout (tensorboardX nests main_tag/tag instead): one sibling run
            # per entry, named <main_tag>_<tag>, holding the value under main_tag
            run = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            if run not in self._children:
                self._children[run] = tensorboardX.SummaryWriter(
                    logdir=run,
                    max_queue=self._max_queue,
                    flush_secs=self._flush_secs,
                    filename_suffix=_unique_suffix(""),
                )
            self._children[run].add_scalar(main_tag, value, global_step, walltime)

    def add_histogram(
        self,
        tag: str,
        values,
        global_step: int | None = None,
        bins: str = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """A histogram of ``values`` (a Tensor or array), binned as PyTorch's writer bins."""
        array = np.asarray(_host(values))
        if array.size == 0:
            raise ValueError(f"add_histogram({tag!r}): values is empty")
        self._writer.add_histogram(tag, array, global_step, bins, walltime, max_bins)

    def add_image(
        self,
        tag: str,
        img_tensor,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """An image: uint8, or float in [0, 1], laid out as ``dataformats`` (CHW, HWC, HW)."""
        self._writer.add_image(
            tag, np.asarray(_host(img_tensor)), global_step, walltime, dataformats
        )

    def flush(self) -> None:
        """Write everything pending to disk."""
        for writer in [self._writer, *self._children.values()]:
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files."""
        for writer in [self._writer, *self._children.values()]:
            writer.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"
