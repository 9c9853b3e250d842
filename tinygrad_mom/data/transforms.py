"""Image transforms with torchvision's names and semantics: ``Compose``, ``ToTensor``,
``Normalize``, ``RandomCrop``, ``RandomHorizontalFlip``, plus :class:`TransformedDataset` to
apply them to a dataset.

Images are Tensors of shape (C, H, W) (or (H, W)); a 4-D Tensor (N, C, H, W) is a batch, and the
random transforms draw their parameters **per sample** there, so transforming a batch is
distributed exactly like transforming each of its images (torchvision's tensor transforms draw
once for a whole batch tensor; this is a deliberate difference). Random draws come from the
generator ``tm.manual_seed`` seeds, whatever the device, so a seed fixes every crop and flip.
Arrays stay on their device (NumPy or CuPy); no transform records an autograd graph.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from .dataset import Dataset

__all__ = [
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToTensor",
    "TransformedDataset",
]


def _array_of(name: str, x) -> object:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor image, got {type(x).__name__}")
    if x.ndim < 2 or x.ndim > 4:
        raise ValueError(
            f"{name}: expected a Tensor image of shape (C, H, W) or (H, W), or a batch "
            f"(N, C, H, W); got shape {tuple(x.shape)}"
        )
    return x.array


def _per_sample(x) -> int | None:
    """The batch size of a 4-D batch, or None for one image."""
    return x.shape[0] if x.ndim == 4 else None


class Compose:
    """Apply ``transforms`` one after the other, as ``torchvision.transforms.Compose``."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """An (H, W, C) or (H, W) array → a (C, H, W) Tensor; uint8 is scaled to float32 in [0, 1].

    As torchvision's: other dtypes are transposed but keep their values and dtype. A 4-D
    array (N, H, W, C) is taken as a batch and becomes (N, C, H, W). NumPy or CuPy arrays.
    """

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor) or not hasattr(pic, "ndim") or not hasattr(pic, "dtype"):
            raise TypeError(f"ToTensor: pic should be an ndarray, got {type(pic).__name__}")
        if pic.ndim not in (2, 3, 4):
            raise ValueError(f"ToTensor: pic should be 2/3 dimensional, got {pic.ndim} dimensions")
        xp = backend.get_array_module(pic)
        arr = pic[:, :, None] if pic.ndim == 2 else pic
        axes = (0, 3, 1, 2) if arr.ndim == 4 else (2, 0, 1)
        arr = xp.ascontiguousarray(arr.transpose(axes))
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255)
        return Tensor._wrap(arr)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x − mean[c]) / std[c] per channel, as ``torchvision.transforms.Normalize``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = [float(m) for m in np.atleast_1d(np.asarray(mean, dtype=np.float64))]
        self.std = [float(s) for s in np.atleast_1d(np.asarray(std, dtype=np.float64))]
        self.inplace = bool(inplace)

    def __call__(self, tensor: Tensor) -> Tensor:
        arr = _array_of("Normalize", tensor)
        if arr.dtype.kind != "f":
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {arr.dtype}")
        if arr.ndim < 3:
            raise ValueError(
                "Normalize: expected a tensor image of shape (..., C, H, W), got shape "
                f"{tuple(arr.shape)}"
            )
        xp = backend.get_array_module(arr)
        mean = xp.asarray(self.mean, dtype=arr.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=arr.dtype).reshape(-1, 1, 1)
        if bool((std == 0).any()):
            raise ValueError(
                f"Normalize: std {self.std} evaluated to zero after conversion to {arr.dtype}, "
                "leading to division by zero"
            )
        if self.inplace:
            arr -= mean
            arr /= std
            return tensor
        return Tensor._wrap((arr - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def _pair(name: str, value, what: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, Sequence) and len(value) == 1:
        return _pair(name, value[0], what)
    if isinstance(value, Sequence) and len(value) == 2:
        return _pair(name, value[0], what)[0], _pair(name, value[1], what)[0]
    raise ValueError(f"{name}: {what} should be an int or a sequence of 1 or 2 ints, got {value!r}")


_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


class RandomCrop:
    """A random ``size`` window after optional padding, as torchvision's ``RandomCrop``.

    Args:
        size: (h, w), or an int for a square crop.
        padding: added on the borders first: an int (all sides), (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad images smaller than ``size`` up to it.
        fill: the value of ``"constant"`` padding.
        padding_mode: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"``.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ) -> None:
        self.size = _pair("RandomCrop", size, "size")
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {size!r}")
        if padding is None:
            self.padding = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            self.padding = (int(padding),) * 4
        elif isinstance(padding, Sequence) and len(padding) in (1, 2, 4):
            p = [int(v) for v in padding]
            self.padding = tuple(p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p)
        else:
            raise ValueError(
                f"RandomCrop: padding should be an int or a sequence of 1, 2 or 4 ints, "
                f"got {padding!r}"
            )
        if min(self.padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"RandomCrop: padding_mode should be one of {', '.join(_PADDING_MODES)}, "
                f"got {padding_mode!r}"
            )
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = fill
        self.padding_mode = padding_mode

    def _pad(self, arr, left: int, top: int, right: int, bottom: int):
        if not (left or top or right or bottom):
            return arr
        xp = backend.get_array_module(arr)
        widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
        if self.padding_mode == "constant":
            return xp.pad(arr, widths, mode="constant", constant_values=self.fill)
        return xp.pad(arr, widths, mode=self.padding_mode)

    def __call__(self, img: Tensor) -> Tensor:
        arr = self._pad(_array_of("RandomCrop", img), *self.padding)
        th, tw = self.size
        if self.pad_if_needed:
            # torchvision pads both sides by the shortfall, width first then height
            dw, dh = max(tw - arr.shape[-1], 0), max(th - arr.shape[-2], 0)
            arr = self._pad(arr, dw, dh, dw, dh)
        h, w = arr.shape[-2:]
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than the input image "
                f"size {(h, w)} (after padding)"
            )
        n = _per_sample(arr)
        gen = backend.rng("cpu")
        tops = gen.integers(0, h - th + 1, size=n or 1)
        lefts = gen.integers(0, w - tw + 1, size=n or 1)
        if n is None:
            i, j = int(tops[0]), int(lefts[0])
            return Tensor._wrap(arr[..., i : i + th, j : j + tw].copy())
        # one gather for the whole batch: sample k's rows tops[k] + 0..th−1, columns likewise
        xp = backend.get_array_module(arr)
        rows = xp.asarray(tops[:, None] + np.arange(th))[:, None, :, None]
        cols = xp.asarray(lefts[:, None] + np.arange(tw))[:, None, None, :]
        samples = xp.arange(n)[:, None, None, None]
        channels = xp.arange(arr.shape[1])[None, :, None, None]
        return Tensor._wrap(arr[samples, channels, rows, cols])

    def __repr__(self) -> str:
        return (
            f"RandomCrop(size={self.size}, padding={self.padding}, "
            f"padding_mode={self.padding_mode!r})"
        )


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``, as torchvision's ``RandomHorizontalFlip``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p should be in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, img: Tensor) -> Tensor:
        arr = _array_of("RandomHorizontalFlip", img)
        n = _per_sample(arr)
        flip = backend.rng("cpu").random(n or 1) < self.p
        if n is None:
            return Tensor._wrap(arr[..., ::-1].copy()) if flip[0] else img
        xp = backend.get_array_module(arr)
        return Tensor._wrap(xp.where(xp.asarray(flip)[:, None, None, None], arr[..., ::-1], arr))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class TransformedDataset(Dataset):
    """``dataset`` with ``transform`` applied to each input (and ``target_transform`` to each
    label), as torchvision datasets' ``transform=`` arguments do.

    A DataLoader over it keeps the fast array path: a batch is fetched with one index and
    transformed as a batch (per-sample random draws, see the module docstring).
    """

    def __init__(
        self,
        dataset: Dataset,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"TransformedDataset: {name} must be callable, got {fn!r}")
        self.dataset = dataset
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def _get_batch(self, indices: np.ndarray):
        fetch = getattr(self.dataset, "_get_batch", None)
        columns = fetch(indices) if fetch is not None else None
        if columns is None or len(columns) != 2:
            return None
        x, y = columns
        if self.transform is not None:
            x = self.transform(Tensor._wrap(x)).array
        if self.target_transform is not None:
            y = self.target_transform(Tensor._wrap(y)).array
        return [x, y]
