"""Image transforms with torchvision's names and semantics: ``Compose``, ``ToTensor``,
``Normalize``, ``RandomCrop``, ``RandomHorizontalFlip``, plus :class:`TransformedDataset` to
apply them to a dataset.

Images are Tensors of shape (C, H, W) (or (H, W)); a 4-D Tensor (N, C, H, W) is a batch, and the
random transforms draw their parameters **per sample** there, so transforming a batch is
distributed exactly like transforming each of its images (torchvision's tensor transforms draw
once for a whole batch tensor; this is a deliberate difference). Random draws come from the
generator ``tm.manual_seed`` seeds, whatever the device, so a seed fixes every crop and flip.
Arrays stay on their device (NumPy or CuPy); no transform records an autograd graph.

As torchvision's, the transforms also take a PIL image (what a dataset of image files gives):
``ToTensor`` converts it, and ``Pad``, ``RandomCrop`` and ``RandomHorizontalFlip`` return a PIL
image of the same mode. PIL itself is never imported unless such an image is passed in.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from .dataset import Dataset

__all__ = [
    "CenterCrop",
    "Compose",
    "Lambda",
    "Normalize",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Resize",
    "ToTensor",
    "TransformedDataset",
]


def _is_pil(x) -> bool:
    """A PIL image, recognised without importing PIL."""
    return type(x).__module__.startswith("PIL.") and hasattr(x, "getbands")


def _array_of(name: str, x) -> object:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor or PIL image, got {type(x).__name__}")
    if x.ndim < 2 or x.ndim > 4:
        raise ValueError(
            f"{name}: expected a Tensor image of shape (C, H, W) or (H, W), or a batch "
            f"(N, C, H, W); got shape {tuple(x.shape)}"
        )
    return x.array


def _to_pil(out: np.ndarray):
    from PIL import Image  # only reached for an image that came from PIL

    hwc = out.transpose(1, 2, 0) if out.ndim == 3 else out
    return Image.fromarray(np.ascontiguousarray(hwc))


def _image(name: str, img) -> tuple[object, Callable]:
    """``img``'s pixels as a (C, H, W) or (H, W) array (a batch stays (N, C, H, W)), and the
    function that turns a result array back into the kind of image ``img`` is (Tensor or PIL)."""
    if _is_pil(img):
        arr = np.asarray(img)
        return (arr.transpose(2, 0, 1) if arr.ndim == 3 else arr), _to_pil
    return _array_of(name, img), Tensor._wrap


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
    """An (H, W, C) or (H, W) array, or a PIL image → a (C, H, W) Tensor; uint8 is scaled to
    float32 in [0, 1].

    As torchvision's: other dtypes are transposed but keep their values and dtype (a PIL image of
    mode "1" counts as uint8 0/255). A 4-D array (N, H, W, C) is taken as a batch and becomes
    (N, C, H, W). NumPy or CuPy arrays.
    """

    def __call__(self, pic) -> Tensor:
        if _is_pil(pic):
            pic = np.array(pic)  # a writable copy; np.asarray would be read-only
            if pic.dtype == np.bool_:
                pic = pic.astype(np.uint8) * np.uint8(255)
        if isinstance(pic, Tensor) or not hasattr(pic, "ndim") or not hasattr(pic, "dtype"):
            raise TypeError(
                f"ToTensor: pic should be an ndarray or a PIL image, got {type(pic).__name__}"
            )
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
        channels = arr.shape[-3]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels):
                raise ValueError(
                    f"Normalize: {name} has {len(values)} values, but the image has "
                    f"{channels} channels (expected 1 or {channels})"
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


def _padding4(name: str, padding) -> tuple[int, int, int, int]:
    """torchvision's padding argument as (left, top, right, bottom): an int (all sides),
    (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        sides = (int(padding),) * 4
    elif (isinstance(padding, Sequence) and len(padding) in (1, 2, 4)
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in padding)):
        p = [int(v) for v in padding]
        sides = tuple(p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p)
    else:
        raise ValueError(
            f"{name}: padding should be an int or a sequence of 1, 2 or 4 ints, got {padding!r}"
        )
    if min(sides) < 0:
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    return sides


def _padding_mode(name: str, padding_mode) -> str:
    if padding_mode not in _PADDING_MODES:
        raise ValueError(
            f"{name}: padding_mode should be one of {', '.join(_PADDING_MODES)}, "
            f"got {padding_mode!r}"
        )
    return padding_mode


def _fill(name: str, fill):
    if isinstance(fill, numbers.Real) and not isinstance(fill, bool):
        return fill
    if isinstance(fill, Sequence) and len(fill) > 0 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in fill
    ):
        return tuple(fill)
    raise TypeError(f"{name}: fill should be a number or a sequence of numbers, got {fill!r}")


def _pad(arr, left: int, top: int, right: int, bottom: int, fill=0, mode: str = "constant"):
    """Pad the last two (H, W) axes of ``arr``; a sequence ``fill`` gives one value per channel."""
    if not (left or top or right or bottom):
        return arr
    xp = backend.get_array_module(arr)
    widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
    if mode != "constant":
        return xp.pad(arr, widths, mode=mode)
    if not isinstance(fill, tuple):
        return xp.pad(arr, widths, mode="constant", constant_values=fill)
    channels = arr.shape[-3] if arr.ndim >= 3 else 1
    if len(fill) not in (1, channels):
        raise ValueError(
            f"fill has {len(fill)} values, but the image has {channels} channels "
            f"(expected 1 or {channels})"
        )
    if len(fill) == 1 or arr.ndim < 3:
        return xp.pad(arr, widths, mode="constant", constant_values=fill[0])
    planes = [xp.pad(arr[..., c : c + 1, :, :], widths, mode="constant", constant_values=v)
              for c, v in enumerate(fill)]
    return xp.concatenate(planes, axis=-3)


class Lambda:
    """Apply ``lambd`` to the image, as torchvision's ``Lambda(lambd)``."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(
                f"Lambda: argument lambd should be callable, got {type(lambd).__name__}"
            )
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"


class Pad:
    """Pad the image borders, as torchvision's ``Pad(padding, fill=0, padding_mode="constant")``.

    Args:
        padding: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom).
        fill: the value of ``"constant"`` padding, or one value per channel.
        padding_mode: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"``.
    """

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        self.padding = _padding4("Pad", padding)
        self.fill = _fill("Pad", fill)
        self.padding_mode = _padding_mode("Pad", padding_mode)

    def __call__(self, img):
        arr, back = _image("Pad", img)
        return back(_pad(arr, *self.padding, self.fill, self.padding_mode))

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class RandomCrop:
    """A random ``size`` window after optional padding, as torchvision's ``RandomCrop``.

    Args:
        size: (h, w), or an int for a square crop.
        padding: added on the borders first: an int (all sides), (left/right, top/bottom) or
            (left, top, right, bottom).
        pad_if_needed: pad images smaller than ``size`` up to it.
        fill: the value of ``"constant"`` padding (or one value per channel).
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
        self.padding = (0, 0, 0, 0) if padding is None else _padding4("RandomCrop", padding)
        self.padding_mode = _padding_mode("RandomCrop", padding_mode)
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = _fill("RandomCrop", fill)

    def _pad(self, arr, left: int, top: int, right: int, bottom: int):
        return _pad(arr, left, top, right, bottom, self.fill, self.padding_mode)

    def __call__(self, img):
        arr, back = _image("RandomCrop", img)
        arr = self._pad(arr, *self.padding)
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
            return back(arr[..., i : i + th, j : j + tw].copy())
        # one gather for the whole batch: sample k's rows tops[k] + 0..th−1, columns likewise
        xp = backend.get_array_module(arr)
        rows = xp.asarray(tops[:, None] + np.arange(th))[:, None, :, None]
        cols = xp.asarray(lefts[:, None] + np.arange(tw))[:, None, None, :]
        samples = xp.arange(n)[:, None, None, None]
        channels = xp.arange(arr.shape[1])[None, :, None, None]
        return back(arr[samples, channels, rows, cols])

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

    def __call__(self, img):
        arr, back = _image("RandomHorizontalFlip", img)
        n = _per_sample(arr)
        flip = backend.rng("cpu").random(n or 1) < self.p
        if n is None:
            return back(arr[..., ::-1].copy()) if flip[0] else img
        xp = backend.get_array_module(arr)
        return back(xp.where(xp.asarray(flip)[:, None, None, None], arr[..., ::-1], arr))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class CenterCrop:
    """The central ``size`` window (zero-padded first when the image is smaller), as
    torchvision's ``CenterCrop``; Tensor or PIL image."""

    def __init__(self, size) -> None:
        self.size = _pair("CenterCrop", size, "size")
        if min(self.size) < 1:
            raise ValueError(f"CenterCrop: size must be positive, got {size!r}")

    def __call__(self, img):
        arr, back = _image("CenterCrop", img)
        th, tw = self.size
        h, w = arr.shape[-2:]
        if th > h or tw > w:  # torchvision pads (left, top, right, bottom) with zeros first
            dw, dh = max(tw - w, 0), max(th - h, 0)
            arr = _pad(arr, dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2)
            h, w = arr.shape[-2:]
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        return back(arr[..., top : top + th, left : left + tw].copy())

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class Resize:
    """Resize to ``size`` (h, w), or the shorter edge to an int ``size`` keeping the aspect
    ratio, as torchvision's ``Resize``: a PIL image through PIL's own resampling (bilinear by
    default, exactly torchvision's path); a Tensor through ``F.interpolate`` (bilinear or
    nearest, without torchvision's antialiasing when shrinking)."""

    _MODES = ("bilinear", "nearest")

    def __init__(self, size, interpolation: str = "bilinear", max_size=None,
                 antialias: bool = True) -> None:
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            self.size = int(size)
        else:
            self.size = _pair("Resize", size, "size")
        if min(np.atleast_1d(self.size)) < 1:
            raise ValueError(f"Resize: size must be positive, got {size!r}")
        mode = getattr(interpolation, "value", interpolation)  # an InterpolationMode-like enum
        if mode not in self._MODES:
            raise ValueError(f"Resize: interpolation should be one of {self._MODES}, got {mode!r}")
        self.interpolation = mode
        self.max_size = max_size
        self.antialias = antialias

    def _target(self, h: int, w: int) -> tuple[int, int]:
        if not isinstance(self.size, int):
            return self.size
        short, long = (h, w) if h <= w else (w, h)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)

    def __call__(self, img):
        if _is_pil(img):
            from PIL import Image

            th, tw = self._target(img.size[1], img.size[0])
            resample = Image.BILINEAR if self.interpolation == "bilinear" else Image.NEAREST
            return img.resize((tw, th), resample)
        arr = _array_of("Resize", img)
        th, tw = self._target(*arr.shape[-2:])
        from ..nn.functional import interpolate

        x = img if arr.ndim == 4 else img.reshape((1,) * (4 - arr.ndim) + tuple(arr.shape))
        floating = x.dtype.kind == "f"
        out = interpolate(x if floating else x.float(), size=(th, tw), mode=self.interpolation,
                          align_corners=False if self.interpolation == "bilinear" else None)
        out = out.reshape(tuple(arr.shape[:-2]) + (th, tw))
        return out if floating else out.round().type(img.dtype)

    def __repr__(self) -> str:
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


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
