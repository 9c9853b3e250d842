"""Tensor, the Function base class, and reverse-mode autograd.

A ``Tensor`` wraps one array (``numpy`` or ``cupy``) in ``.array``. Every differentiable
operation is a :class:`Function` subclass whose ``forward``/``backward`` work on raw arrays.
``Function.apply`` runs ``forward`` and, when a gradient is needed, records the function as the
output's ``_ctx``. The recorded graph is made of Functions (inner nodes) and leaf Tensors, as in
PyTorch, so intermediate tensors are freed as soon as the user drops them: only what a backward
needs (``save_for_backward``) is kept.

``Tensor.backward`` walks the graph in reverse topological order without recursion, undoes
broadcasting in one place (:func:`unbroadcast`) and accumulates into the leaves' ``.grad``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from . import backend
from .backend import get_array_module

# ----------------------------------------------------------------------------------------------
# grad mode
_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph for backward."""
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off globally."""
    global _grad_enabled
    _grad_enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode for its block, then restores it."""

    enabled: bool

    def __new__(cls, func=None):
        self = super().__new__(cls)
        # ``@no_grad`` without parentheses: decorate directly.
        return self(func) if callable(func) else self

    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc_info):
        set_grad_enabled(self._prev)
        return False

    def __call__(self, func):
        cls = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with cls():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ``with tm.no_grad():`` or ``@tm.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    enabled = True


# ----------------------------------------------------------------------------------------------
# dtypes
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
# PyTorch's other spellings (``float``, ``int`` and ``bool`` are added in __init__.py, where they
# do not shadow the builtins this module uses). NumPy has no bfloat16 or complex32, so they are
# absent rather than faked.
double = float64
half = float16
long = int64
short = int16

DEFAULT_FLOAT = float32  # the dtype of Python floats and float factories; set_default_dtype


def get_default_dtype():
    """The floating dtype of Python floats and of float factories (float32 unless changed)."""
    return DEFAULT_FLOAT


def set_default_dtype(d) -> None:
    """Change the default floating dtype (``torch.set_default_dtype``): float16/32/64 only."""
    global DEFAULT_FLOAT
    dtype = _as_dtype(d)
    if dtype is None or dtype.kind != "f":
        raise TypeError(
            f"only floating-point types are supported as the default type, got {d!r}"
        )
    DEFAULT_FLOAT = dtype


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints with ``numel()``.

    It prints as a plain tuple, ``(2, 3)`` (PyTorch prints ``torch.Size([2, 3])``), so messages
    that show shapes read the same whether they got a Size or a tuple.
    """

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))



def _as_dtype(dtype):
    if dtype is None:
        return None
    if dtype is bool:
        return bool_
    try:
        out = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(
            f"Invalid dtype {dtype!r}: expected a numpy dtype such as tm.float32"
        ) from exc
    if out.kind not in "biuf":
        raise TypeError(f"Invalid dtype {dtype!r}: tensors hold numbers or booleans")
    return out


def _array_from_data(data, dtype, device):
    """A fresh array holding ``data`` on ``device``, with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        data = data.array
    is_array = isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data)
    if is_array:
        arr = backend.asarray_on(data, device, dtype)
    else:
        try:
            host = np.array(data, dtype=dtype)
        except TypeError as exc:
            raise TypeError(f"Cannot make a tensor from {type(data).__name__}: {exc}") from None
        except ValueError as exc:  # ragged nesting or unparsable strings: PyTorch's ValueError
            raise ValueError(f"Cannot make a tensor from {type(data).__name__}: {exc}") from None
        if dtype is None and host.dtype == np.float64:
            host = host.astype(DEFAULT_FLOAT)  # Python floats default to float32, as in PyTorch
        arr = backend.asarray_on(host, device)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"Cannot make a tensor of dtype {arr.dtype}: expected numbers or booleans")
    return arr


def unbroadcast(g, shape):
    """Sum gradient ``g`` down to ``shape``, undoing NumPy broadcasting (the one place for it)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes).reshape(shape)


# ----------------------------------------------------------------------------------------------
class Function:
    """A differentiable primitive. Subclasses define ``forward`` and ``backward`` on raw arrays.

    ``backward(gy)`` returns one gradient per tensor input (a tuple when there are several, or
    ``None`` for an input that needs none). Gradients may have the broadcast shape; ``apply``'s
    backward pass sums them down to each input's shape. ``self.needs_input_grad`` tells which
    inputs want a gradient, so expensive ones can be skipped.
    """

    parents: tuple | None  # per input: the producing Function, a leaf Tensor, or None

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the graph when a gradient is needed."""
        arrays = [t.array for t in inputs]
        if len(arrays) > 1:
            _check_same_device(inputs, arrays)
        fn = cls()
        out = fn.forward(*arrays, **kwargs)
        # numpy turns 0-d results into scalars: keep arrays, except when every input is a
        # scalar constant (a cast constant, as in int_tensor / 2): it stays a device-free
        # constant, which a CuPy operand accepts where a host 0-d array would not.
        if isinstance(out, np.generic) and not all(isinstance(a, np.generic) for a in arrays):
            out = np.asarray(out)
        if _grad_enabled:
            for t in inputs:
                if t._requires_grad:
                    break
            else:
                return Tensor._wrap(out)
            fn.parents = tuple(
                t._ctx if t._ctx is not None else (t if t._requires_grad else None) for t in inputs
            )
            fn.needs_input_grad = tuple(p is not None for p in fn.parents)
            fn.in_shapes = tuple(a.shape for a in arrays)
            result = Tensor._wrap(out, True)
            result._ctx = fn
            return result
        return Tensor._wrap(out)


def _check_same_device(inputs, arrays):
    # fast path: all host arrays, or host arrays and numpy-scalar constants
    for a in arrays:
        if type(a) is not np.ndarray and not isinstance(a, np.generic):
            break
    else:
        return
    # numpy scalars are constants made from Python numbers: they go with any device
    devices = [(t.device, t) for t, a in zip(inputs, arrays) if not isinstance(a, np.generic)]
    for device, _ in devices[1:]:
        if device != devices[0][0]:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{devices[0][0]} and {device}; move one with .to(device)"
            )


def _topological_order(root) -> list:
    """Graph nodes reachable from ``root``, each before the nodes it was computed from."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        if not isinstance(node, Tensor):
            if node.parents is None:
                raise RuntimeError(
                    "Trying to backward through the graph a second time: its saved arrays were "
                    "freed by the first backward. Pass retain_graph=True to the first backward "
                    "if you need to backward twice."
                )
            for p in node.parents:
                if p is not None and p not in visited:
                    stack.append((p, False))
    order.reverse()
    return order


def _run_backward(root: Tensor, gradient, retain_graph: bool) -> None:
    start = root._ctx if root._ctx is not None else root
    order = _topological_order(start)  # raises before any gradient is touched
    grads = {start: gradient}
    for node in order:
        g = grads.pop(node, None)
        if isinstance(node, Tensor):  # a leaf: accumulate into .grad
            if g is not None:
                _accumulate_leaf_grad(node, g)
            continue
        if g is not None:
            in_grads = node.backward(g)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            for parent, shape, pg in zip(node.parents, node.in_shapes, in_grads):
                if parent is None or pg is None:
                    continue
                if pg.shape != shape:
                    pg = unbroadcast(pg, shape)
                prev = grads.get(parent)
                grads[parent] = pg if prev is None else prev + pg
        if not retain_graph:
            node.__dict__.clear()  # free saved arrays now, not when the loss tensor dies
            node.parents = None


def _accumulate_leaf_grad(leaf: Tensor, g) -> None:
    if leaf._grad is None:
        if isinstance(g, np.generic):  # numpy reduces 0-d results to scalars: keep an array
            g = np.asarray(g)
        # Copy: ``g`` may be shared with another leaf (a + b) or be a view, and optimizers and
        # clipping modify .grad in place.
        leaf._grad = Tensor._wrap(g.astype(leaf.array.dtype, copy=True))
    else:
        leaf._grad.array += g


# ----------------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array on a device, with reverse-mode autograd.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` may be a Python
    scalar, a (nested) list, a NumPy or CuPy array, or a Tensor; it is always copied. Python
    floats become the default dtype (float32), arrays keep their dtype, integers stay integers.

    ``Tensor(2, 3)``, ``Tensor(7)`` and ``Tensor(tm.Size([2, 3]))`` are PyTorch's legacy size
    constructor: an uninitialised tensor of that shape in the default dtype (``Tensor(7)`` has
    seven elements, as in PyTorch); ``Tensor()`` is an empty one.
    """

    __slots__ = ("array", "_requires_grad", "_grad", "_ctx", "__weakref__")
    __array_ufunc__ = None  # make ``ndarray op Tensor`` defer to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, so hashing stays by identity

    def __init__(self, *args, requires_grad: bool = False, dtype=None, device=None):
        size = _legacy_size(args)
        if size is not None:
            device = backend.resolve_device(device)
            dtype = _as_dtype(dtype) or DEFAULT_FLOAT
            with backend.device_context(device):
                self.array = backend.array_module_for(device).empty(size, dtype=dtype)
            self._grad = None
            self._ctx = None
            self._requires_grad = False
            if requires_grad:
                self.requires_grad_(True)
        else:
            (data,) = args
            self._init_from_data(data, requires_grad, dtype, device)

    def _init_from_data(self, data, requires_grad: bool, dtype, device) -> None:
        if device is None:
            device = data.device if isinstance(data, Tensor) else backend.device_of(data)
            if device == "cpu" and not isinstance(data, (Tensor, np.ndarray, np.generic)):
                device = backend.get_default_device()  # lists and numbers, as in PyTorch
        else:
            device = backend.parse_device(device)
        self.array = _array_from_data(data, _as_dtype(dtype), device)
        self._grad = None
        self._ctx = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _from_data(cls, data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
        """``torch.tensor``'s rule: ``data`` is always data (a Python int is a 0-d tensor)."""
        t = object.__new__(cls)
        t._init_from_data(data, requires_grad, dtype, device)
        return t

    @classmethod
    def _wrap(cls, array, requires_grad: bool = False) -> Tensor:
        """A Tensor around an existing array, without copying or checks (internal fast path)."""
        t = object.__new__(cls)
        t.array = array
        t._requires_grad = requires_grad
        t._grad = None
        t._ctx = None
        return t

    # --- attributes ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        """The shape (a :class:`Size`), or the length of dimension ``dim``."""
        if dim is None:
            return Size(self.array.shape)
        return self.array.shape[_normalize_dim(dim, self.ndim)]

    def numel(self) -> int:
        return int(self.array.size)

    @property
    def device(self) -> backend.device:
        """Where the data lives: a :class:`tm.device` that also equals its string (``"cpu"``)."""
        return backend.device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.device != "cpu"

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place (leaf tensors of floating dtype only) and return self."""
        if self._ctx is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf tensors; use .detach() first"
            )
        if requires_grad and not is_floating(self.dtype):
            raise TypeError(
                "Only tensors of floating point dtype can require gradients, got dtype "
                f"{self.dtype}"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (a Tensor) or None; may be assigned by hand."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has shape {value.shape}, but the tensor has shape {self.shape}"
                )
            if value.device != self.device:
                raise RuntimeError(
                    f"assigned grad is on device {value.device}, but the tensor is on {self.device}"
                )
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def data(self) -> Tensor:
        """A detached Tensor sharing this tensor's array (PyTorch's ``.data``)."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        self.array = value.array if isinstance(value, Tensor) else value

    # --- conversion and moves -----------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a NumPy array sharing memory with this CPU tensor, as in PyTorch.

        Raises for a tensor that requires grad (use ``.detach().numpy()``) or lives on a GPU
        (use ``.cpu()``). ``force=True`` is ``detach().cpu().numpy()``: it still shares memory
        on the CPU and copies from a GPU.
        """
        if not force:
            if self._requires_grad:
                raise RuntimeError(
                    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                    "instead."
                )
            if type(self.array) is not np.ndarray and backend.is_cupy_array(self.array):
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
        return self._host_array()

    def _host_array(self) -> np.ndarray:
        """The data on the host: the array itself on the CPU, a copy from a GPU."""
        if type(self.array) is np.ndarray:
            return self.array
        if backend.is_cupy_array(self.array):
            return backend.to_numpy(self.array)
        return np.asarray(self.array)  # a scalar constant

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to a Python scalar"
            )
        return self.array.item()

    def tolist(self):
        """The data as (nested) Python lists, or a number for a 0-d tensor."""
        return self._host_array().tolist()

    def to(
        self, *args, device=None, dtype=None, non_blocking: bool = False, copy: bool = False
    ) -> Tensor:
        """Move to a device and/or cast: ``to("cuda")``, ``to(tm.float64)``, ``to(other)``."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, int)) and not isinstance(arg, bool):
                device = arg  # a str or a tm.device (a str); an int is a CUDA ordinal
            else:
                dtype = arg
        out = self
        if device is not None:
            device = backend.parse_device(device)
            if device != self.device:
                from . import ops

                out = ops.ToDevice.apply(out, device=device)
        if dtype is not None:
            out = out.type(dtype)
        if copy and out is self:  # copy=True always returns a new tensor, as in PyTorch
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None, non_blocking: bool = False) -> Tensor:
        if device is None:
            return self.to("cuda")
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def type(self, dtype=None, non_blocking: bool = False):
        """Without an argument, PyTorch's type name (``"torch.FloatTensor"``); else cast.

        ``dtype`` may be a dtype (``tm.float``), a legacy type (``tm.LongTensor``) or its name
        (``"torch.LongTensor"``, ``"torch.cuda.FloatTensor"``, which also moves to the GPU).
        The cast is differentiable between floating dtypes.
        """
        if dtype is None:
            return _type_name(self.dtype, self.device)
        device = None
        if isinstance(dtype, str):
            dtype, device = _parse_type_name(dtype)
        elif isinstance(dtype, _TensorType):
            dtype, device = dtype.dtype, dtype.device_type
        out = self
        if device is not None and out.device.type != device:
            out = out.to(device)
        dtype = _as_dtype(dtype)
        if dtype == out.dtype:
            return out
        from . import ops

        return ops.Cast.apply(out, dtype=dtype)

    def float(self) -> Tensor:
        return self.type(float32)

    def double(self) -> Tensor:
        return self.type(float64)

    def half(self) -> Tensor:
        return self.type(float16)

    def long(self) -> Tensor:
        return self.type(int64)

    def int(self) -> Tensor:
        return self.type(int32)

    def bool(self) -> Tensor:
        return self.type(bool_)

    def detach(self) -> Tensor:
        """A new tensor sharing the array, cut from the graph."""
        return Tensor._wrap(self.array)

    def clone(self) -> Tensor:
        """A differentiable copy."""
        from . import ops

        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self

    # --- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is required when self is not a scalar. The graph is freed afterwards unless
        ``retain_graph=True``.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: "
                "backward() needs a tensor computed from tensors with requires_grad=True"
            )
        xp = get_array_module(self.array)
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but the output has "
                    f"shape {self.shape}; pass backward(gradient) with that shape"
                )
            g = xp.ones_like(self.array)
        else:
            if isinstance(gradient, Tensor):
                if gradient.device != self.device:
                    raise RuntimeError(
                        f"gradient is on device {gradient.device}, but the output is on "
                        f"{self.device}"
                    )
                g = gradient.array
            else:
                g = xp.asarray(gradient, dtype=self.dtype)
            if g.shape != self.shape:
                raise RuntimeError(
                    f"Mismatch in shape: gradient has shape {g.shape} but output has shape "
                    f"{self.shape}"
                )
        _run_backward(self, g, bool(retain_graph))

    def zero_(self) -> Tensor:
        self._check_inplace("zero_")
        self.array[...] = 0
        return self

    # --- in-place updates (not recorded by autograd; for optimizers and init) -----------------
    def _check_inplace(self, name: str) -> None:
        if self._requires_grad and _grad_enabled:
            raise RuntimeError(
                "a leaf tensor that requires grad is being used in an in-place operation "
                f"({name}); wrap it in tm.no_grad()"
                if self._ctx is None
                else f"in-place {name} on a tensor that is part of a graph is not supported"
            )

    def _other_array(self, other):
        if isinstance(other, Tensor):
            _check_same_device((self, other), (self.array, other.array))
            return other.array
        return other

    def add_(self, other, alpha=1) -> Tensor:
        self._check_inplace("add_")
        o = self._other_array(other)
        self.array += o if alpha == 1 else alpha * o
        return self

    def sub_(self, other, alpha=1) -> Tensor:
        self._check_inplace("sub_")
        o = self._other_array(other)
        self.array -= o if alpha == 1 else alpha * o
        return self

    def mul_(self, other) -> Tensor:
        self._check_inplace("mul_")
        self.array *= self._other_array(other)
        return self

    def div_(self, other) -> Tensor:
        self._check_inplace("div_")
        self.array /= self._other_array(other)
        return self

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self.array.fill(value)
        return self

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values (broadcast, same device) into this tensor in place."""
        self._check_inplace("copy_")
        s = self._other_array(src)
        xp = get_array_module(self.array)
        s = xp.asarray(s)
        try:
            np.broadcast_shapes(s.shape, self.shape)  # shapes only: NumPy serves both backends
        except ValueError:
            raise ValueError(
                f"copy_: cannot copy shape {s.shape} into shape {self.shape}"
            ) from None
        self.array[...] = s
        return self

    def clamp_(self, min=None, max=None) -> Tensor:
        self._check_inplace("clamp_")
        xp = get_array_module(self.array)
        xp.clip(self.array, min, max, out=self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        self._check_inplace("uniform_")
        # random()/standard_normal() exist on both numpy's and cupy's Generator; CuPy draws on
        # its current device, hence the device context
        device = self.device
        with backend.device_context(device):
            self.array[...] = a + (b - a) * backend.rng(device).random(self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        self._check_inplace("normal_")
        device = self.device
        with backend.device_context(device):
            self.array[...] = mean + std * backend.rng(device).standard_normal(self.shape)
        return self

    def _inplace_or_rebind(self, other, inplace, outofplace):
        # ``p -= lr * g`` must update a parameter in place (no_grad); inside a recorded graph
        # the same line rebinds the name to a new tensor, which is what the user means there.
        if self._requires_grad and _grad_enabled:
            if self._ctx is None:
                self._check_inplace("an augmented assignment")
            return outofplace(self, other)
        inplace(self.array, self._other_array(other))
        return self

    def __iadd__(self, other):
        return self._inplace_or_rebind(other, _np_iadd, Tensor.__add__)

    def __isub__(self, other):
        return self._inplace_or_rebind(other, _np_isub, Tensor.__sub__)

    def __imul__(self, other):
        return self._inplace_or_rebind(other, _np_imul, Tensor.__mul__)

    def __itruediv__(self, other):
        return self._inplace_or_rebind(other, _np_idiv, Tensor.__truediv__)

    # --- Python protocol ----------------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self._host_array(), separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"Boolean value of a Tensor with {self.array.size} elements is ambiguous"
            )
        return bool(self.array.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, format_spec: str) -> str:
        # PyTorch formats a 0-d tensor as its Python number (f"{loss:.4f}"); any other tensor
        # takes only the empty spec (its str) and raises TypeError for anything else
        if self.array.ndim == 0:
            return self.array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) shares memory with a CPU tensor and np.array(t) copies, as in PyTorch;
        # the same checks as numpy() (no tensor that requires grad, none on a GPU)
        if self.device != "cpu":
            raise TypeError(
                f"can't convert a {self.device} tensor to a NumPy array implicitly; use .numpy() "
                "or .cpu() first"
            )
        array = self.numpy()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            if copy is False:
                raise ValueError(
                    f"cannot convert a {array.dtype} tensor to {np.dtype(dtype)} without a copy "
                    "(copy=False)"
                )
            return array.astype(dtype)
        return array.copy() if copy else array

    def __dlpack__(self, *args, **kwargs):
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    # --- differentiable operations: thin wrappers over tinygrad_mom.ops -----------------------
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __lt__(self, other):
        return _ops.compare(self, other, "lt")

    def __le__(self, other):
        return _ops.compare(self, other, "le")

    def __gt__(self, other):
        return _ops.compare(self, other, "gt")

    def __ge__(self, other):
        return _ops.compare(self, other, "ge")

    def __eq__(self, other):
        return _ops.compare(self, other, "eq")

    def __ne__(self, other):
        return _ops.compare(self, other, "ne")

    def add(self, other, alpha=1):
        return _ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return _ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return _ops.mul(self, other)

    def div(self, other):
        return _ops.div(self, other)

    def pow(self, exponent):
        return _ops.pow(self, exponent)

    def neg(self):
        return _ops.neg(self)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def abs(self):
        return _ops.abs(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return _ops.leaky_relu(self, negative_slope)

    def clamp(self, min=None, max=None):
        return _ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ops.maximum(self, other)

    def minimum(self, other):
        return _ops.minimum(self, other)

    def softmax(self, dim: int):
        return _ops.softmax(self, dim)

    def log_softmax(self, dim: int):
        return _ops.log_softmax(self, dim)

    def sum(self, dim=None, keepdim: bool = False):
        return _ops.sum(self, dim, keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return _ops.mean(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        return _ops.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
        return _ops.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim=None, keepdim: bool = False):
        return _ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim: bool = False):
        return _ops.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim: bool = False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        return _ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim: bool = False):
        return _ops.logsumexp(self, dim, keepdim)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    def view(self, *shape):
        return _ops.reshape(self, *shape)

    def view_as(self, other):
        return _ops.reshape(self, other.shape)

    def transpose(self, dim0: int, dim1: int):
        return _ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    @property
    def T(self):
        return _ops.permute(self, *reversed(range(self.ndim)))

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return _ops.unsqueeze(self, dim)

    def expand(self, *sizes):
        return _ops.expand(self, *sizes)

    def expand_as(self, other):
        return _ops.expand(self, *other.shape)


def _np_iadd(a, b):
    a += b


def _np_isub(a, b):
    a -= b


def _np_imul(a, b):
    a *= b


def _np_idiv(a, b):
    a /= b


# ----------------------------------------------------------------------------------------------
# PyTorch's legacy tensor types: tm.FloatTensor, tm.LongTensor, ... and Tensor.type() names
_LEGACY_NAMES = {
    float32: "FloatTensor",
    float64: "DoubleTensor",
    float16: "HalfTensor",
    int64: "LongTensor",
    int32: "IntTensor",
    int16: "ShortTensor",
    int8: "CharTensor",
    uint8: "ByteTensor",
    bool_: "BoolTensor",
}
_LEGACY_DTYPES = {name: dtype for dtype, name in _LEGACY_NAMES.items()}


def _type_name(dtype, device) -> str:
    """PyTorch's type string of a tensor: ``torch.FloatTensor``, ``torch.cuda.LongTensor``, ..."""
    name = _LEGACY_NAMES.get(dtype)
    if name is None:  # dtypes without a legacy class, named as PyTorch names them (UInt16Tensor)
        name = f"UInt{dtype.itemsize * 8}Tensor" if dtype.kind == "u" else f"{dtype.name}Tensor"
    return ("torch.cuda." if device != "cpu" else "torch.") + name


def _parse_type_name(text: str):
    """(dtype, device type) of a legacy type name such as ``"torch.cuda.FloatTensor"``."""
    parts = text.split(".")
    if len(parts) in (2, 3) and parts[0] in ("torch", "tm", "tinygrad_mom"):
        device = "cuda" if len(parts) == 3 and parts[1] == "cuda" else "cpu"
        if (len(parts) == 2 or parts[1] == "cuda") and parts[-1] in _LEGACY_DTYPES:
            return _LEGACY_DTYPES[parts[-1]], device
    raise ValueError(
        f"invalid type: {text!r}; expected a name such as 'torch.FloatTensor' or "
        "'torch.cuda.LongTensor'"
    )


class _TensorType(type):
    """The metaclass of the legacy types: constructing makes a Tensor of that dtype, and
    ``isinstance(t, tm.FloatTensor)`` checks the dtype and the device, as in PyTorch."""

    dtype: np.dtype
    device_type: str

    def __call__(cls, *args, device=None) -> Tensor:
        if device is None and cls.device_type == "cuda":
            device = "cuda"
        return Tensor(*args, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj) -> bool:
        return (
            isinstance(obj, Tensor)
            and obj.dtype == cls.dtype
            and (obj.device == "cpu") == (cls.device_type == "cpu")
        )

    def __repr__(cls) -> str:
        return f"<class '{_type_name(cls.dtype, cls.device_type)}'>"


def _legacy_type(dtype, device_type: str = "cpu") -> _TensorType:
    name = _LEGACY_NAMES[dtype]
    doc = f"PyTorch's legacy ``{name}``: ``{name}(data)`` or ``{name}(*size)``, of dtype {dtype}."
    return _TensorType(name, (), {"dtype": dtype, "device_type": device_type, "__doc__": doc})


FloatTensor = _legacy_type(float32)
DoubleTensor = _legacy_type(float64)
HalfTensor = _legacy_type(float16)
LongTensor = _legacy_type(int64)
IntTensor = _legacy_type(int32)
ShortTensor = _legacy_type(int16)
CharTensor = _legacy_type(int8)
ByteTensor = _legacy_type(uint8)
BoolTensor = _legacy_type(bool_)


def _legacy_size(args: tuple):
    """The shape of a legacy ``Tensor(*size)`` call, or None when ``args`` is one piece of data."""
    if len(args) == 1:
        (arg,) = args
        if isinstance(arg, Size):
            return _shape_arg(arg)
        if isinstance(arg, (int, np.integer)) and not isinstance(arg, (bool, np.bool_)):
            return _shape_arg(args)  # Tensor(7): seven elements, as in PyTorch
        return None
    if not args:
        return (0,)
    for i, arg in enumerate(args):
        if isinstance(arg, (bool, np.bool_)) or not isinstance(arg, (int, np.integer)):
            raise TypeError(
                f"Tensor(*size): argument {i} must be an int (a size), got "
                f"{type(arg).__name__}; pass data as one argument: Tensor([...])"
            )
    return _shape_arg(args)


def _normalize_dim(dim: int, ndim: int) -> int:
    """``dim`` in ``[-ndim, ndim)`` as a non-negative index, else IndexError (PyTorch's rule)."""
    size = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -size <= dim < size:
        raise IndexError(
            "Dimension out of range (expected to be in range of "
            f"[{-size}, {size - 1}], but got {dim})"
        )
    return int(dim) % size


def _shape_arg(size) -> tuple:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike; validate non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (Sequence, np.ndarray)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"size must be a sequence of ints, got {size!r}")
        if s < 0:
            raise ValueError(f"negative dimension {s} in size {tuple(size)}")
        out.append(int(s))
    return tuple(out)


from . import ops as _ops  # noqa: E402  (ops needs Tensor and Function defined above)
