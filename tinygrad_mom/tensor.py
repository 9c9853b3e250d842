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
import traceback
import weakref
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
    summed = g.sum(dim=axes) if isinstance(g, Tensor) else g.sum(axis=axes)
    return summed.reshape(shape)


# ----------------------------------------------------------------------------------------------
# anomaly mode: off by default; when on, each recorded Function keeps the stack that created it
_anomaly_enabled = False


def is_anomaly_enabled() -> bool:
    """Whether backward checks every gradient for NaN/Inf (see ``tm.autograd.detect_anomaly``)."""
    return _anomaly_enabled


def _set_anomaly_enabled(mode: bool) -> None:
    global _anomaly_enabled
    _anomaly_enabled = bool(mode)


class Function:
    """A differentiable primitive. Subclasses define ``forward`` and ``backward`` on raw arrays.

    ``backward(gy)`` returns one gradient per tensor input (a tuple when there are several, or
    ``None`` for an input that needs none). Gradients may have the broadcast shape; ``apply``'s
    backward pass sums them down to each input's shape. ``self.needs_input_grad`` tells which
    inputs want a gradient, so expensive ones can be skipped.

    A backward formula is written once, in NumPy's vocabulary (see
    :mod:`tinygrad_mom.primitives`): under ``create_graph=True`` the engine calls the same
    ``backward`` with Tensors, so the formula is recorded and can be differentiated again.
    """

    parents: tuple | None  # per input: the producing Function, a leaf Tensor, or None

    def save_for_backward(self, *arrays):
        """Keep inputs and/or the output for backward (only those: see the module docstring)."""
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
        guard = backend.device_guard(arrays)  # inputs on a non-current CUDA device: switch to it
        if guard is None:
            out = fn.forward(*arrays, **kwargs)
        else:
            with guard:
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
            # Identities of the inputs and the output, so that create_graph can tell which saved
            # arrays are graph tensors (an input or the output) and which are constants. Sound:
            # every saved array and every input was alive at once, during forward.
            fn.in_ids = tuple(map(id, arrays))
            fn.out_id = id(out)
            if _anomaly_enabled:
                fn.trace = traceback.extract_stack()[:-1]
            result = Tensor._wrap(out, True)
            result._ctx = fn
            return result
        return Tensor._wrap(out)

    @classmethod
    def call(cls, *args, **kwargs):
        """Run this primitive inside another's backward: on raw arrays (first order, nothing
        recorded) or, when any argument is a Tensor (create_graph), through ``apply``."""
        for a in args:
            if isinstance(a, Tensor):
                return cls.apply(*(a if isinstance(a, Tensor) else Tensor._wrap(a) for a in args),
                                 **kwargs)
        return cls().forward(*args, **kwargs)

    # --- what a learner sees of a graph node (PyTorch's grad_fn API) -------------------------
    def name(self) -> str:
        """PyTorch-style node name, e.g. ``MulBackward0``."""
        return f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_functions(self) -> tuple:
        """``(node, 0)`` per input: a Function, an :class:`AccumulateGrad` for a leaf, or None."""
        if getattr(self, "parents", None) is None:
            return ()
        return tuple(
            (AccumulateGrad(p) if isinstance(p, Tensor) else p, 0) for p in self.parents
        )

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` after this node's backward ran (PyTorch's
        ``Node.register_hook``); it may return replacement grad_inputs."""
        self.hooked = True
        return _add_hook(self.__dict__.setdefault("node_hooks", {}), hook)


class AccumulateGrad:
    """The node that stands for a leaf in ``next_functions``; ``.variable`` is the leaf."""

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


class RemovableHandle:
    """Returned by ``register_hook``-style calls; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def _add_hook(hooks: dict, hook) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


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


# ----------------------------------------------------------------------------------------------
# the backward engine


def _topological_order(starts) -> list:
    """Graph nodes reachable from ``starts``, each before the nodes it was computed from."""
    order, visited = [], set()
    stack = [(node, False) for node in reversed(starts)]
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


def _prune(order: list, targets) -> list:
    """Keep only the nodes through which a gradient reaches one of ``targets``."""
    reaches = set()
    for node in reversed(order):  # inputs before the nodes computed from them
        if node in targets or (
            not isinstance(node, Tensor) and any(p in reaches for p in node.parents)
        ):
            reaches.add(node)
    return [node for node in order if node in reaches]


def _node_of(t: Tensor):
    """The graph node that receives ``t``'s gradient: its Function, or itself for a leaf."""
    return t._ctx if t._ctx is not None else t


def _saved_as_tensors(node: Function) -> tuple:
    """``node.saved`` for create_graph: an input becomes a tensor connected to that input's
    node, the output one connected to ``node`` itself, anything else a constant."""
    producers = dict(zip(node.in_ids, node.parents))
    lifted = []
    for s in node.saved:
        if not hasattr(s, "shape"):
            lifted.append(s)
            continue
        key = id(s)
        producer = node if key == node.out_id else producers.get(key)
        if isinstance(producer, Tensor):  # a leaf input: the leaf itself
            lifted.append(producer)
        else:
            t = Tensor._wrap(s, producer is not None)
            t._ctx = producer
            lifted.append(t)
    return tuple(lifted)


def _as_graph_tensor(g):
    return g if g is None or isinstance(g, Tensor) else Tensor._wrap(g)


def _call_backward(node: Function, g, create_graph: bool):
    if not create_graph:
        return node.backward(g)
    saved = node.__dict__.get("saved")
    if saved is not None:
        node.saved = _saved_as_tensors(node)
    try:
        return node.backward(g)
    finally:
        if saved is not None:
            node.saved = saved


def _wrap_grad(g, create_graph: bool) -> Tensor:
    return g if create_graph else Tensor._wrap(g)


def _run_tensor_hooks(hooks: dict, g, create_graph: bool):
    for hook in list(hooks.values()):
        result = hook(_wrap_grad(g, create_graph))
        if result is not None:
            if not isinstance(result, Tensor):
                raise TypeError(f"a tensor hook must return a Tensor or None, got "
                                f"{type(result).__name__}")
            if result.shape != tuple(g.shape):
                raise RuntimeError(f"a tensor hook returned a gradient of shape {result.shape}, "
                                   f"expected {tuple(g.shape)}")
            g = result if create_graph else result.array
    return g


def _check_finite(node: Function, in_grads) -> None:
    for i, pg in enumerate(in_grads):
        if pg is None:
            continue
        arr = pg.array if isinstance(pg, Tensor) else pg
        if not bool(get_array_module(arr).isfinite(arr).all()):
            raise RuntimeError(
                f"Function '{node.name()}' returned nan or inf values in its {i}th output. "
                + _forward_trace(node)
            )


_PACKAGE_DIR = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def _forward_trace(node: Function) -> str:
    """Where the forward op of ``node`` was called from: the user's line first, then the stack."""
    trace = node.__dict__.get("trace")
    if not trace:
        return "(the forward op ran before anomaly detection was enabled, so no trace exists)"
    user = [f for f in trace if not f.filename.startswith(_PACKAGE_DIR)]
    line = user[-1] if user else trace[-1]
    stack = "".join(traceback.format_list(trace))
    return (
        f"Its forward op was created at {line.filename}:{line.lineno} ({line.line!r}).\n"
        f"Traceback of the forward call:\n{stack}"
    )


def _run_backward(roots, root_grads, retain_graph: bool, create_graph: bool,
                  targets=None, capture: bool = False):
    """Propagate ``root_grads`` from ``roots`` (Tensors) through the graph.

    Without ``targets`` every leaf accumulates its gradient into ``.grad``. With ``targets``
    (``{node: tensor}``) only those tensors receive one: into ``.grad`` (``backward(inputs=)``)
    or, with ``capture``, returned as ``{node: gradient}`` without touching ``.grad``
    (``autograd.grad``). Under ``create_graph`` gradients are Tensors recorded in a new graph.
    """
    global _grad_enabled
    starts = []
    grads = {}
    for root, g in zip(roots, root_grads):
        node = _node_of(root)
        if node not in grads:
            starts.append(node)
            grads[node] = g
        else:
            grads[node] = grads[node] + g
    order = _topological_order(starts)  # raises before any gradient is touched
    if targets is not None:
        order = _prune(order, targets)
    captured = {}
    previous_mode = _grad_enabled
    _grad_enabled = create_graph  # the formulas record exactly when a new graph is wanted
    try:
        for node in order:
            g = grads.pop(node, None)
            if isinstance(node, Tensor):  # a leaf
                if g is not None:
                    hooks = node._hooks
                    if hooks:
                        g = _run_tensor_hooks(hooks, g, create_graph)
                    if capture:
                        captured[node] = g
                    elif targets is None or node in targets:
                        # kernels run on the gradient's GPU, also a non-current one (see apply)
                        backend.call_on_device_of(g, _accumulate_leaf_grad, node, g, create_graph)
                continue
            if g is not None:
                hooked = "hooked" in node.__dict__  # one lookup when no hook was ever added
                if hooked:
                    g = _before_node_backward(node, g, create_graph, capture)
                if targets is not None and node in targets:
                    if capture:
                        captured[node] = g
                    else:
                        _accumulate_nonleaf_grad(targets[node], g, create_graph)
                in_grads = backend.call_on_device_of(g, _call_backward, node, g, create_graph)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if _anomaly_enabled:
                    _check_finite(node, in_grads)
                if hooked:
                    in_grads = _after_node_backward(node, in_grads, g, create_graph)
                for parent, shape, pg in zip(node.parents, node.in_shapes, in_grads):
                    if parent is None or pg is None:
                        continue
                    if create_graph:
                        pg = _as_graph_tensor(pg)
                    if pg.shape != shape:
                        pg = unbroadcast(pg, shape)
                    prev = grads.get(parent)
                    grads[parent] = pg if prev is None else prev + pg
            if not retain_graph:
                node.__dict__.clear()  # free saved arrays now, not when the loss tensor dies
                node.parents = None
    finally:
        _grad_enabled = previous_mode
    for callback in _end_of_backward_callbacks:
        callback()
    return captured


def _before_node_backward(node: Function, g, create_graph: bool, capture: bool):
    """Tensor hooks and retain_grad of the tensor that ``node`` produced."""
    hooks = node.__dict__.get("tensor_hooks")
    if hooks:
        g = _run_tensor_hooks(hooks, g, create_graph)
    retained = node.__dict__.get("retained")
    if retained is not None and retained() is not None and not capture:
        _accumulate_nonleaf_grad(retained(), g, create_graph)
    return g


def _after_node_backward(node: Function, in_grads: tuple, g, create_graph: bool) -> tuple:
    """Node hooks (``grad_fn.register_hook``): they see and may replace the input gradients."""
    for hook in list(node.__dict__.get("node_hooks", {}).values()):
        wrapped = tuple(None if x is None else _wrap_grad(x, create_graph) for x in in_grads)
        result = hook(wrapped, (_wrap_grad(g, create_graph),))
        if result is not None:
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(in_grads):
                raise RuntimeError(
                    f"a node hook returned {len(result)} gradients, expected {len(in_grads)}"
                )
            in_grads = tuple(r if create_graph or r is None else r.array for r in result)
    return in_grads


# Called, in order, after every backward pass (for example to finish gradient communication
# in DistributedDataParallel); append a zero-argument callable.
_end_of_backward_callbacks: list = []


def _accumulate_leaf_grad(leaf: Tensor, g, create_graph: bool = False) -> None:
    if create_graph:
        g = g if g.dtype == leaf.dtype else g.type(leaf.dtype)
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif leaf._grad is None:
        if isinstance(g, np.generic):  # numpy reduces 0-d results to scalars: keep an array
            g = np.asarray(g)
        # Copy: ``g`` may be shared with another leaf (a + b) or be a view, and optimizers and
        # clipping modify .grad in place.
        leaf._grad = Tensor._wrap(g.astype(leaf.array.dtype, copy=True))
    else:
        leaf._grad.array += g
    hooks = leaf._post_hooks
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)


def _accumulate_nonleaf_grad(t: Tensor, g, create_graph: bool) -> None:
    if not create_graph:
        g = Tensor._wrap(get_array_module(g).array(g, dtype=t.dtype, copy=True))
    t._grad = g if t._grad is None else t._grad + g


# ----------------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array on a device, with reverse-mode autograd.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` may be a Python
    scalar, a (nested) list, a NumPy or CuPy array, or a Tensor; it is always copied. Python
    floats become float32 (as in PyTorch), arrays keep their dtype, integers stay integers.
    """

    __slots__ = ("array", "_requires_grad", "_grad", "_ctx", "_hooks", "_post_hooks", "__weakref__")
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
        self._hooks = self._post_hooks = None
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
        t._hooks = t._post_hooks = None  # a leaf's gradient hooks (a non-leaf's live on _ctx)
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
        if backend._pending_checks:  # a device value waits for the device: answer them too
            backend.run_pending_checks()
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
                from .primitives import ToDevice

                out = ToDevice.apply(out, device=device)
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
        from .primitives import Cast

        return Cast.apply(self, dtype=dtype)

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
        from .primitives import Clone

        return Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self

    # --- autograd -----------------------------------------------------------------------------
    def backward(
        self,
        gradient=None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs=None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (PyTorch's semantics).

        ``gradient`` is required when self is not a scalar. The graph is freed afterwards unless
        ``retain_graph`` (default: ``create_graph``). With ``create_graph=True`` the gradients
        are themselves recorded, so ``.grad`` can be differentiated again. ``inputs`` limits
        the accumulation to those tensors (leaves, or non-leaves that then get a ``.grad``).
        """
        g = _root_gradient(self, gradient, "backward")
        targets = None
        if inputs is not None:
            targets = {_node_of(t): t for t in _tensor_list(inputs, "inputs", "backward")}
            if not targets:
                raise RuntimeError("backward: 'inputs' was given but is empty")
        if retain_graph is None:
            retain_graph = create_graph
        g = _engine_gradient(g, bool(create_graph))
        _run_backward([self], [g], bool(retain_graph), bool(create_graph), targets)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = {}
            return _add_hook(self._hooks, hook)
        self._ctx.hooked = True
        return _add_hook(self._ctx.__dict__.setdefault("tensor_hooks", {}), hook)

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(tensor)`` on a leaf after its ``.grad`` was accumulated."""
        if self._ctx is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_hooks is None:
            self._post_hooks = {}
        return _add_hook(self._post_hooks, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (no-op on leaves)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._ctx is not None:
            self._ctx.hooked = True
            self._ctx.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor on which :meth:`retain_grad` was called."""
        if self._ctx is None:
            return False
        retained = self._ctx.__dict__.get("retained")
        return retained is not None and retained() is self

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
            extras.append(f"grad_fn=<{self._ctx.name()}>")
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

    def swapaxes(self, axis0: int, axis1: int):
        """Alias of :meth:`transpose` (PyTorch's and NumPy's name)."""
        return _ops.transpose(self, axis0, axis1)

    swapdims = swapaxes

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


def _tensor_list(values, arg: str, fn: str) -> list:
    """A Tensor or a sequence of Tensors as a list, else TypeError naming the argument."""
    values = [values] if isinstance(values, Tensor) else values
    try:
        values = list(values)
    except TypeError:
        raise TypeError(
            f"{fn}: {arg} must be a Tensor or a sequence of Tensors, got {type(values).__name__}"
        ) from None
    for v in values:
        if not isinstance(v, Tensor):
            raise TypeError(
                f"{fn}: {arg} must contain only Tensors, got {type(v).__name__}"
            )
    return values


def _root_gradient(out: Tensor, gradient, fn: str):
    """The gradient that starts backward at ``out``: ones for a scalar, else ``gradient``."""
    if not out._requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn: "
            f"{fn}() needs a tensor computed from tensors with requires_grad=True"
        )
    xp = get_array_module(out.array)
    if gradient is None:
        if out.array.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, but the output has "
                f"shape {out.shape}; pass the gradient of that shape"
            )
        # made on out's device (CuPy allocates on the current one), as in Function.apply
        return backend.call_on_device_of(out.array, xp.ones_like, out.array)
    if isinstance(gradient, Tensor):
        if gradient.device != out.device:
            raise RuntimeError(
                f"gradient is on device {gradient.device}, but the output is on {out.device}"
            )
        g = gradient
    else:
        g = backend.call_on_device_of(out.array, xp.asarray, gradient, out.dtype)
    if g.shape != out.shape:
        raise RuntimeError(
            f"Mismatch in shape: gradient has shape {tuple(g.shape)} but output has shape "
            f"{out.shape}"
        )
    return g


def _engine_gradient(g, create_graph: bool):
    """What the engine propagates: a Tensor under create_graph, else the raw array."""
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._wrap(g)
    return g.array if isinstance(g, Tensor) else g


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
from . import tensor_xp as _tensor_xp  # noqa: E402

# backward formulas ask get_array_module(gy); for a Tensor (create_graph) this is the answer
Tensor._array_namespace = _tensor_xp
