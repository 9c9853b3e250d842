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
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import backend
from .backend import get_array_module

if TYPE_CHECKING:
    from .nn.utils import RemovableHandle

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

DEFAULT_FLOAT = float32


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def _as_dtype(dtype):
    if dtype is None:
        return None
    if dtype is bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(
            f"Invalid dtype {dtype!r}: expected a numpy dtype such as tm.float32"
        ) from exc


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


# ----------------------------------------------------------------------------------------------
# post-backward mechanisms (used by DistributedDataParallel to average gradients after backward)

# Hooks run after backward accumulated into a leaf's .grad, keyed by id(leaf): (weak reference,
# {handle id: hook}). The weak reference's callback drops the entry when the tensor dies, which
# happens before its id can be reused.
_post_accumulate_grad_hooks: dict[int, tuple[weakref.ref, dict]] = {}

# One list of queued callbacks per running backward (a hook may start a nested backward).
_callback_queues: list[list[Callable[[], None]]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` once the backward pass now running has finished (from a hook).

    The counterpart of PyTorch's ``Variable._execution_engine.queue_callback``: a post-accumulate
    grad hook queues work (such as a gradient all-reduce) that needs every gradient of the pass.
    """
    if not _callback_queues:
        raise RuntimeError("queue_callback can only be called while backward is running")
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    _callback_queues[-1].append(callback)


def _drop_post_accumulate_hooks(hooks: dict, key: int, _ref) -> None:
    # ``hooks`` is passed in: at interpreter exit the module's globals may already be gone
    hooks.pop(key, None)


def _run_backward(root: Tensor, gradient, retain_graph: bool) -> None:
    start = root._ctx if root._ctx is not None else root
    order = _topological_order(start)  # raises before any gradient is touched
    queue: list = []
    _callback_queues.append(queue)
    try:
        _backward_pass(order, start, gradient, retain_graph)
    finally:
        _callback_queues.pop()
    # callbacks run after the pass, outside it (a failed pass runs none); one may queue another
    while queue:
        queue.pop(0)()


def _backward_pass(order: list, start, gradient, retain_graph: bool) -> None:
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
    if _post_accumulate_grad_hooks:
        entry = _post_accumulate_grad_hooks.get(id(leaf))
        if entry is not None:
            for hook in tuple(entry[1].values()):
                hook(leaf)


# ----------------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array on a device, with reverse-mode autograd.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` may be a Python
    scalar, a (nested) list, a NumPy or CuPy array, or a Tensor; it is always copied. Python
    floats become float32 (as in PyTorch), arrays keep their dtype, integers stay integers.
    """

    __slots__ = ("array", "_requires_grad", "_grad", "_ctx", "__weakref__")
    __array_ufunc__ = None  # make ``ndarray op Tensor`` defer to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, so hashing stays by identity

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        if device is None:
            device = data.device if isinstance(data, Tensor) else backend.device_of(data)
        else:
            device = backend.parse_device(device)
        self.array = _array_from_data(data, _as_dtype(dtype), device)
        self._grad = None
        self._ctx = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

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
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return self.array.shape
        return self.array.shape[_normalize_dim(dim, self.ndim)]

    def numel(self) -> int:
        return int(self.array.size)

    @property
    def device(self) -> str:
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
    def numpy(self) -> np.ndarray:
        """A host (NumPy) copy of the data; never shares memory with the tensor."""
        return backend.to_numpy(self.array)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to a Python scalar"
            )
        return self.array.item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, *args, device=None, dtype=None) -> Tensor:
        """Move to a device and/or cast: ``to("cuda")``, ``to(tm.float64)``, ``to(other)``."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str):
                device = arg
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
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        if device is None:
            return self.to("cuda")
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def type(self, dtype) -> Tensor:
        """Cast to ``dtype`` (differentiable between floating dtypes)."""
        dtype = _as_dtype(dtype)
        if dtype == self.dtype:
            return self
        from . import ops

        return ops.Cast.apply(self, dtype=dtype)

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

    def register_post_accumulate_grad_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(self)`` each time backward has accumulated a gradient into ``self.grad``.

        Leaf tensors that require grad only, as in PyTorch; returns a handle whose ``remove()``
        unregisters the hook.
        """
        from .nn.utils import RemovableHandle  # nn sits above the engine: imported at call time

        if self._ctx is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        key = id(self)
        entry = _post_accumulate_grad_hooks.get(key)
        if entry is None or entry[0]() is not self:
            ref = weakref.ref(
                self,
                functools.partial(_drop_post_accumulate_hooks, _post_accumulate_grad_hooks, key),
            )
            entry = (ref, {})
            _post_accumulate_grad_hooks[key] = entry
        handle = RemovableHandle(entry[1])
        entry[1][handle.id] = hook
        return handle

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
        body = np.array2string(self.numpy(), separator=", ", precision=4, prefix="tensor(")
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

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) and tm.tensor([t0, t1]) work for host tensors, as in PyTorch
        if self.device != "cpu":
            raise TypeError(
                f"can't convert a {self.device} tensor to a NumPy array implicitly; use .numpy() "
                "or .cpu() first"
            )
        return self.array if dtype is None else self.array.astype(dtype)

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
