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


class inference_mode(_GradMode):
    """``torch.inference_mode(mode=True)``: here the same as ``no_grad`` (and ``mode=False``
    leaves grad mode as it is). Tensors made inside are ordinary tensors: PyTorch's
    restrictions on "inference tensors" are not enforced."""

    enabled = False

    def __new__(cls, mode=True):
        if callable(mode):  # ``@tm.inference_mode`` without parentheses
            return super().__new__(cls, mode)
        self = super().__new__(cls)
        self._mode = bool(mode)
        return self

    def __enter__(self):
        self._prev = is_grad_enabled()
        if getattr(self, "_mode", True):
            set_grad_enabled(False)
        return self


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
        if _modified:  # some array was modified in place: stamp when these were saved
            self.saved_epoch = _epoch

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
        # inputs on a non-current CUDA device: switch to it (only CuPy arrays can be; the
        # module check keeps a CPU op free of the call)
        guard = None if backend._cupy is None else backend.device_guard(arrays)
        if guard is None:
            out = fn.forward(*arrays, **kwargs)
        else:
            with guard:
                out = fn.forward(*arrays, **kwargs)
        # numpy turns 0-d results into scalars: keep arrays, except when every input is a
        # scalar constant (a cast constant, as in int_tensor / 2): it stays a device-free
        # constant, which a CuPy operand accepts where a host 0-d array would not.
        if isinstance(out, np.generic) and not all(isinstance(a, np.generic) for a in arrays):
            scalar, out = out, np.asarray(out)
            saved = fn.__dict__.get("saved")
            if saved is not None:  # a saved output must stay the output (create_graph)
                fn.saved = tuple(out if s is scalar else s for s in saved)
        if _grad_enabled:
            for t in inputs:
                if t._requires_grad:
                    break
            else:
                return Tensor._wrap(out)
            # per input: its producer (a Function), the leaf itself, or None (a constant);
            # one plain loop, as this runs once per recorded op (generator expressions cost
            # about twice as much here)
            fn.parents = parents = []
            fn.in_shapes = shapes = []
            needs = []
            for t, a in zip(inputs, arrays):
                shapes.append(a.shape)
                if t._ctx is not None:
                    parents.append(t._ctx)
                    needs.append(True)
                elif t._requires_grad:
                    parents.append(t)
                    needs.append(True)
                else:
                    parents.append(None)
                    needs.append(False)
            fn.needs_input_grad = tuple(needs)  # PyTorch's type: a user's backward may read it
            # The output's identity, so that create_graph can tell which saved arrays are graph
            # tensors (this node's output, or an input: its producer's output) and which are
            # constants. Sound: every saved array was alive during forward, beside the output.
            fn.out_id = id(out)  # a saved 0-d output was re-pointed at ``out`` above
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


# ----------------------------------------------------------------------------------------------
# version counters (PyTorch's): an array saved for backward and then modified in place makes
# that backward raise instead of returning a wrong gradient. Only in-place writes pay: they
# stamp the written memory (its root array) with a global epoch; save_for_backward stamps the
# node only once any write happened; backward compares the two.
_modified: dict = {}  # id(root array) -> epoch of its last in-place write
_epoch = 0


def _root_array(a):
    """The array that owns ``a``'s memory (numpy and cupy keep it in ``.base``)."""
    base = getattr(a, "base", None)
    while base is not None and hasattr(base, "shape"):
        a, base = base, getattr(base, "base", None)
    return a


def _bump_version(array) -> None:
    """Record an in-place write to ``array``'s memory."""
    global _epoch
    root = _root_array(array)
    key = id(root)
    _epoch += 1
    if key not in _modified:
        try:  # forget the entry with the memory, so the id cannot be mistaken for a new array
            weakref.finalize(root, _modified.pop, key, None)
        except TypeError:
            pass
    _modified[key] = _epoch


def _check_versions(node: Function) -> None:
    """Raise when an array that ``node`` saved was written in place after it was saved."""
    stamp = node.__dict__.get("saved_epoch", 0)
    for a in node.saved:
        if isinstance(a, np.generic) or not hasattr(a, "shape"):
            continue
        written = _modified.get(id(_root_array(a)))
        if written is not None and written > stamp:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: an array of shape {tuple(a.shape)} and dtype {a.dtype} "
                f"saved by {node.name()} was written after it was saved. Hint: clone() the "
                "tensor before modifying it in place, or modify it after backward"
            )


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
    # an input's array is its producer's output (out_id) or, for a leaf, the leaf's array
    producers = {}
    for p in node.parents:
        if isinstance(p, Tensor):
            producers[id(p.array)] = p
        elif p is not None and "out_id" in p.__dict__:
            producers[p.out_id] = p
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
    # CuPy arrays may live on a non-current GPU only once CuPy is imported: until then the
    # device guard and its wrapper calls are skipped altogether (the per-node hot path)
    guarded = backend._cupy is not None
    # no hooks to look for, no targets, no version or anomaly checks, no graph to record:
    # each node's backward is then one call (a node with hooks still takes the full path)
    plain = not (create_graph or guarded or _modified or _anomaly_enabled) and targets is None
    previous_mode = _grad_enabled
    _grad_enabled = create_graph  # the formulas record exactly when a new graph is wanted
    try:
        for node in order:
            g = grads.pop(node, None)
            if isinstance(node, Tensor):  # a leaf
                if g is not None:
                    hooks = getattr(node, "_hooks", None)  # a slot set only by register_hook
                    if hooks:
                        g = _run_tensor_hooks(hooks, g, create_graph)
                    if capture:
                        captured[node] = g
                    elif targets is None or node in targets:
                        # kernels run on the gradient's GPU, also a non-current one (see apply)
                        if guarded:
                            backend.call_on_device_of(g, _accumulate_leaf_grad, node, g,
                                                      create_graph)
                        else:
                            _accumulate_leaf_grad(node, g, create_graph)
                continue
            if g is not None:
                if plain and "hooked" not in node.__dict__:
                    in_grads = node.backward(g)  # the first-order fast path: nothing else to do
                    if type(in_grads) is not tuple:
                        in_grads = (in_grads,)
                else:
                    in_grads = _node_backward(node, g, create_graph, guarded, targets, capture,
                                              captured)
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
    finally:
        _grad_enabled = previous_mode
    for callback in _end_of_backward_callbacks:
        callback()
    return captured


def _node_backward(node: Function, g, create_graph: bool, guarded: bool, targets, capture: bool,
                   captured: dict) -> tuple:
    """One node's backward with everything the fast path skips: hooks, ``inputs=`` targets,
    version checks, the CUDA device guard, create_graph and anomaly checks."""
    hooked = "hooked" in node.__dict__
    if hooked:
        g = _before_node_backward(node, g, create_graph, capture)
    if targets is not None and node in targets:
        if capture:
            captured[node] = g
        else:
            _accumulate_nonleaf_grad(targets[node], g, create_graph)
    if _modified and "saved" in node.__dict__:
        _check_versions(node)
    if guarded:
        in_grads = backend.call_on_device_of(g, _call_backward, node, g, create_graph)
    else:
        in_grads = _call_backward(node, g, create_graph)
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    if _anomaly_enabled:
        _check_finite(node, in_grads)
    if hooked:
        in_grads = _after_node_backward(node, in_grads, g, create_graph)
    if create_graph:
        in_grads = tuple(_as_graph_tensor(pg) for pg in in_grads)
    return in_grads


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
    hooks = getattr(leaf, "_post_hooks", None)  # a slot set only by a registration
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
    floats become the default dtype (float32), arrays keep their dtype, integers stay integers.

    ``Tensor(2, 3)``, ``Tensor(7)`` and ``Tensor(tm.Size([2, 3]))`` are PyTorch's legacy size
    constructor: an uninitialised tensor of that shape in the default dtype (``Tensor(7)`` has
    seven elements, as in PyTorch); ``Tensor()`` is an empty one.
    """

    __slots__ = ("array", "_requires_grad", "_grad", "_ctx", "_hooks", "_post_hooks", "__weakref__")
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
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    @property
    def is_xpu(self) -> bool:
        """False: there is no XPU backend (PyTorch scripts test ``is_cuda or is_xpu``)."""
        return False

    @property
    def is_mps(self) -> bool:
        """False: there is no Metal backend."""
        return False

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
            if value.dtype != self.dtype:  # PyTorch refuses: an optimizer would mix dtypes
                raise RuntimeError(
                    f"assigned grad has data type {value.dtype}, but the tensor has data type "
                    f"{self.dtype}"
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
        if backend._pending_checks:  # a device value waits for the device: answer them too
            backend.run_pending_checks()
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
                from .primitives import ToDevice

                out = ToDevice.apply(out, device=device)
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
        from .primitives import Cast

        return Cast.apply(out, dtype=dtype)

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
            if getattr(self, "_hooks", None) is None:
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
        if getattr(self, "_post_hooks", None) is None:
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
        if self._check_inplace("zero_"):
            return self._record_inplace(0)
        self.array[...] = 0
        _bump_version(self.array)
        return self

    # --- in-place updates (recorded as an assignment when they are part of a graph) ----------
    def _check_inplace(self, name: str, other=None) -> bool:
        """Raise for a leaf that requires grad; True when autograd must record the write (a
        non-leaf, or a value that requires grad), False for a plain write."""
        if not _grad_enabled:
            return False
        if self._requires_grad:
            if self._ctx is None:
                raise RuntimeError(
                    "a leaf tensor that requires grad is being used in an in-place operation "
                    f"({name}); wrap it in tm.no_grad()"
                )
            return True
        return isinstance(other, Tensor) and other._requires_grad

    def _record_inplace(self, value) -> Tensor:
        """Write ``value`` (a number, or a function of a copy of self) into self, recorded as
        ``self[...] = value`` (the copy keeps what the op saves apart from the memory written)."""
        if callable(value):
            value = value(self.clone() if self._requires_grad else Tensor._wrap(self.array.copy()))
        _ops.setitem(self, Ellipsis, value)
        return self

    def _other_array(self, other, name: str, divides: bool = False):
        """The raw operand of an in-place op, checked as PyTorch does before anything changes:
        a Tensor or a number, broadcastable to this tensor's shape, whose result type can be
        stored in this tensor's dtype (no float into an int tensor, no true division of ints)."""
        if isinstance(other, Tensor):
            _check_same_device((self, other), (self.array, other.array))
            shape, dtype, array = other.shape, other.dtype, other.array
        elif isinstance(other, (bool, int, float, np.number, np.bool_)):
            shape, dtype, array = (), other, other
        else:
            raise TypeError(
                f"{name}: the operand must be a Tensor or a number, got {type(other).__name__}"
            )
        try:
            ok = np.broadcast_shapes(shape, self.shape) == self.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name}: operand of shape {tuple(shape)} cannot be broadcast to this tensor's "
                f"shape {tuple(self.shape)} (an in-place result keeps the tensor's shape)"
            )
        result = np.result_type(self.dtype, dtype)
        if divides and result.kind in "biu":
            result = np.dtype(np.float64)
        if not np.can_cast(result, self.dtype, casting="same_kind"):
            raise TypeError(
                f"{name}: result type {result} can't be cast to the desired output type "
                f"{self.dtype}"
            )
        return array

    def add_(self, other, alpha=1) -> Tensor:
        if self._check_inplace("add_", other):
            return self._record_inplace(lambda t: t.add(other, alpha=alpha))
        o = self._other_array(other, "add_")
        self.array += o if alpha == 1 else alpha * o
        _bump_version(self.array)
        return self

    def sub_(self, other, alpha=1) -> Tensor:
        if self._check_inplace("sub_", other):
            return self._record_inplace(lambda t: t.sub(other, alpha=alpha))
        o = self._other_array(other, "sub_")
        self.array -= o if alpha == 1 else alpha * o
        _bump_version(self.array)
        return self

    def mul_(self, other) -> Tensor:
        if self._check_inplace("mul_", other):
            return self._record_inplace(lambda t: t * other)
        self.array *= self._other_array(other, "mul_")
        _bump_version(self.array)
        return self

    def div_(self, other) -> Tensor:
        if self._check_inplace("div_", other):
            return self._record_inplace(lambda t: t / other)
        self.array /= self._other_array(other, "div_", divides=True)
        _bump_version(self.array)
        return self

    def fill_(self, value) -> Tensor:
        if self._check_inplace("fill_", value):
            return self._record_inplace(value)
        self.array.fill(value)
        _bump_version(self.array)
        return self

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values (broadcast, same device) into this tensor in place."""
        if self._check_inplace("copy_", src):
            _ops.setitem(self, Ellipsis, src)
            return self
        if isinstance(src, Tensor):
            _check_same_device((self, src), (self.array, src.array))
        s = src.array if isinstance(src, Tensor) else src
        xp = get_array_module(self.array)
        s = xp.asarray(s)
        try:
            np.broadcast_shapes(s.shape, self.shape)  # shapes only: NumPy serves both backends
        except ValueError:
            raise ValueError(
                f"copy_: cannot copy shape {s.shape} into shape {self.shape}"
            ) from None
        self.array[...] = s
        _bump_version(self.array)
        return self

    def clamp_(self, min=None, max=None) -> Tensor:
        if self._check_inplace("clamp_"):
            return self._record_inplace(lambda t: t.clamp(min, max))
        xp = get_array_module(self.array)
        xp.clip(self.array, min, max, out=self.array)
        _bump_version(self.array)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        record = self._check_inplace("uniform_")
        # random()/standard_normal() exist on both numpy's and cupy's Generator; CuPy draws on
        # its current device, hence the device context
        device = self.device
        with backend.device_context(device):
            values = a + (b - a) * backend.rng(device).random(self.shape)
        return self._write_values(values, record)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        record = self._check_inplace("normal_")
        device = self.device
        with backend.device_context(device):
            values = mean + std * backend.rng(device).standard_normal(self.shape)
        return self._write_values(values, record)

    def _write_values(self, values, record: bool) -> Tensor:
        if record:
            return self._record_inplace(Tensor._wrap(values))
        self.array[...] = values
        _bump_version(self.array)
        return self

    def _inplace_or_rebind(self, other, inplace, outofplace):
        # ``p -= lr * g`` must update a parameter in place (no_grad); inside a recorded graph
        # the same line rebinds the name to a new tensor, which is what the user means there.
        if _grad_enabled and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
        ):
            if self._requires_grad and self._ctx is None:
                self._check_inplace("an augmented assignment")
            # a view (x[i] in ``x[i] *= 2``) is copied first: the op may save it, and the
            # write-back into x that follows would otherwise change what it saved
            return outofplace(self if self.array.base is None else self.clone(), other)
        name = {_np_iadd: "+=", _np_isub: "-=", _np_imul: "*=", _np_idiv: "/="}[inplace]
        inplace(self.array, self._other_array(other, name, divides=inplace is _np_idiv))
        _bump_version(self.array)
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
        return _ops._add(self, other)

    def __radd__(self, other):
        return _ops._add(other, self)

    def __sub__(self, other):
        return _ops._sub(self, other)

    def __rsub__(self, other):
        return _ops._sub(other, self)

    def __mul__(self, other):
        return _ops._mul(self, other)

    def __rmul__(self, other):
        return _ops._mul(other, self)

    def __truediv__(self, other):
        return _ops._div(self, other)

    def __rtruediv__(self, other):
        return _ops._div(other, self)

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
        return _ops._add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return _ops._sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return _ops._mul(self, other)

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return _ops._div(self, other)
        return _ops.div(self, other, rounding_mode=rounding_mode)

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

    def softmax(self, dim: int, dtype=None):
        return _ops.softmax(self, dim, dtype)

    def log_softmax(self, dim: int, dtype=None):
        return _ops.log_softmax(self, dim, dtype)

    def sum(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _ops.mean(self, dim, keepdim, dtype=dtype)

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

    # ==========================================================================================
    # PyTorch parity methods (issue 9): thin wrappers over tinygrad_mom.ops, one per function
    def __setitem__(self, index, value) -> None:
        """``x[index] = value`` (recorded by autograd on a non-leaf, as in PyTorch)."""
        _ops.setitem(self, index, value)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)

    def tan(self) -> Tensor:
        return _ops.tan(self)

    def asin(self) -> Tensor:
        return _ops.asin(self)

    def acos(self) -> Tensor:
        return _ops.acos(self)

    def atan(self) -> Tensor:
        return _ops.atan(self)

    def arcsin(self) -> Tensor:
        return _ops.arcsin(self)

    def arccos(self) -> Tensor:
        return _ops.arccos(self)

    def arctan(self) -> Tensor:
        return _ops.arctan(self)

    def sinh(self) -> Tensor:
        return _ops.sinh(self)

    def cosh(self) -> Tensor:
        return _ops.cosh(self)

    def log1p(self) -> Tensor:
        return _ops.log1p(self)

    def expm1(self) -> Tensor:
        return _ops.expm1(self)

    def log2(self) -> Tensor:
        return _ops.log2(self)

    def log10(self) -> Tensor:
        return _ops.log10(self)

    def erf(self) -> Tensor:
        return _ops.erf(self)

    def floor(self) -> Tensor:
        return _ops.floor(self)

    def ceil(self) -> Tensor:
        return _ops.ceil(self)

    def trunc(self) -> Tensor:
        return _ops.trunc(self)

    def fix(self) -> Tensor:
        return _ops.fix(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def reciprocal(self) -> Tensor:
        return _ops.reciprocal(self)

    def rsqrt(self) -> Tensor:
        return _ops.rsqrt(self)

    def square(self) -> Tensor:
        return _ops.square(self)

    def isnan(self) -> Tensor:
        return _ops.isnan(self)

    def isinf(self) -> Tensor:
        return _ops.isinf(self)

    def isfinite(self) -> Tensor:
        return _ops.isfinite(self)

    def logical_not(self) -> Tensor:
        return _ops.logical_not(self)

    def atan2(self, other) -> Tensor:
        return _ops.atan2(self, other)

    def arctan2(self, other) -> Tensor:
        return _ops.arctan2(self, other)

    def eq(self, other) -> Tensor:
        return _ops.eq(self, other)

    def ne(self, other) -> Tensor:
        return _ops.ne(self, other)

    def lt(self, other) -> Tensor:
        return _ops.lt(self, other)

    def le(self, other) -> Tensor:
        return _ops.le(self, other)

    def gt(self, other) -> Tensor:
        return _ops.gt(self, other)

    def ge(self, other) -> Tensor:
        return _ops.ge(self, other)

    def greater(self, other) -> Tensor:
        return _ops.greater(self, other)

    def greater_equal(self, other) -> Tensor:
        return _ops.greater_equal(self, other)

    def less(self, other) -> Tensor:
        return _ops.less(self, other)

    def less_equal(self, other) -> Tensor:
        return _ops.less_equal(self, other)

    def not_equal(self, other) -> Tensor:
        return _ops.not_equal(self, other)

    def logical_and(self, other) -> Tensor:
        return _ops.logical_and(self, other)

    def logical_or(self, other) -> Tensor:
        return _ops.logical_or(self, other)

    def logical_xor(self, other) -> Tensor:
        return _ops.logical_xor(self, other)

    def round(self, *, decimals: int = 0) -> Tensor:
        return _ops.round(self, decimals=decimals)

    def __and__(self, other):
        return _ops.bitwise_and(self, other)

    def __rand__(self, other):
        return _ops.bitwise_and(other, self)

    def __or__(self, other):
        return _ops.bitwise_or(self, other)

    def __ror__(self, other):
        return _ops.bitwise_or(other, self)

    def __xor__(self, other):
        return _ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return _ops.bitwise_xor(other, self)

    def __invert__(self):
        return _ops.bitwise_not(self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def bitwise_and(self, other) -> Tensor:
        return _ops.bitwise_and(self, other)

    def bitwise_or(self, other) -> Tensor:
        return _ops.bitwise_or(self, other)

    def bitwise_xor(self, other) -> Tensor:
        return _ops.bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        return _ops.bitwise_not(self)

    def remainder(self, other) -> Tensor:
        return _ops.remainder(self, other)

    def floor_divide(self, other) -> Tensor:
        return _ops.floor_divide(self, other)

    def equal(self, other) -> bool:
        return _ops.equal(self, other)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        return _ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        return _ops.allclose(self, other, rtol, atol, equal_nan)

    def any(self, dim=None, keepdim: bool = False) -> Tensor:
        return _ops.any(self, dim, keepdim)

    def all(self, dim=None, keepdim: bool = False) -> Tensor:
        return _ops.all(self, dim, keepdim)

    def nonzero(self, *, as_tuple: bool = False):
        return _ops.nonzero(self, as_tuple=as_tuple)

    def amax(self, dim=(), keepdim: bool = False) -> Tensor:
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim: bool = False) -> Tensor:
        return _ops.amin(self, dim, keepdim)

    def mm(self, mat2) -> Tensor:
        return _ops.mm(self, mat2)

    def mv(self, vec) -> Tensor:
        return _ops.mv(self, vec)

    def bmm(self, mat2) -> Tensor:
        return _ops.bmm(self, mat2)

    def dot(self, other) -> Tensor:
        return _ops.dot(self, other)

    def outer(self, vec2) -> Tensor:
        return _ops.outer(self, vec2)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        return _ops.norm(self, p, dim, keepdim, dtype=dtype)

    def cumsum(self, dim: int, *, dtype=None) -> Tensor:
        return _ops.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype=None) -> Tensor:
        return _ops.cumprod(self, dim, dtype=dtype)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
        return _ops.prod(self, dim, keepdim, dtype=dtype)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _ops.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return _ops.argsort(self, dim, descending, stable)

    def msort(self) -> Tensor:
        return _ops.msort(self)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        return _ops.topk(self, k, dim, largest, sorted)

    def unique(self, sorted: bool = True, return_inverse: bool = False,
               return_counts: bool = False, dim=None):
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def gather(self, dim: int, index) -> Tensor:
        return _ops.gather(self, dim, index)

    def take_along_dim(self, indices, dim=None) -> Tensor:
        return _ops.take_along_dim(self, indices, dim)

    # --- masks, scatter, index_* (out of place, and in place through _apply_inplace) ----------
    def masked_fill(self, mask, value) -> Tensor:
        return _ops.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value) -> Tensor:
        return self._apply_inplace("masked_fill_", lambda t: _ops.masked_fill(t, mask, value),
                                   value)

    def masked_select(self, mask) -> Tensor:
        return _ops.masked_select(self, mask)

    def masked_scatter(self, mask, source) -> Tensor:
        return _ops.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source) -> Tensor:
        return self._apply_inplace("masked_scatter_",
                                   lambda t: _ops.masked_scatter(t, mask, source), source)

    def scatter(self, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
        return _ops.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
        return self._apply_inplace(
            "scatter_", lambda t: _ops.scatter(t, dim, index, src, value=value, reduce=reduce),
            src, value)

    def scatter_add(self, dim: int, index, src) -> Tensor:
        return _ops.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index, src) -> Tensor:
        return self._apply_inplace("scatter_add_",
                                   lambda t: _ops.scatter_add(t, dim, index, src), src)

    def scatter_reduce(self, dim: int, index, src, reduce: str, *,
                       include_self: bool = True) -> Tensor:
        return _ops.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: int, index, src, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        return self._apply_inplace("scatter_reduce_", lambda t: _ops.scatter_reduce(
            t, dim, index, src, reduce, include_self=include_self), src)

    def index_select(self, dim: int, index) -> Tensor:
        return _ops.index_select(self, dim, index)

    def index_add(self, dim: int, index, source, *, alpha=1) -> Tensor:
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index, source, *, alpha=1) -> Tensor:
        return self._apply_inplace(
            "index_add_", lambda t: _ops.index_add(t, dim, index, source, alpha=alpha), source)

    def index_copy(self, dim: int, index, source) -> Tensor:
        return _ops.index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index, source) -> Tensor:
        return self._apply_inplace("index_copy_",
                                   lambda t: _ops.index_copy(t, dim, index, source), source)

    def index_fill(self, dim: int, index, value) -> Tensor:
        return _ops.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index, value) -> Tensor:
        return self._apply_inplace("index_fill_",
                                   lambda t: _ops.index_fill(t, dim, index, value), value)

    def take(self, index) -> Tensor:
        return _ops.take(self, index)

    def clamp_min(self, min) -> Tensor:  # noqa: A002  (PyTorch's argument name)
        return _ops.clamp_min(self, min)

    def clamp_max(self, max) -> Tensor:  # noqa: A002
        return _ops.clamp_max(self, max)

    def addcmul(self, tensor1, tensor2, *, value=1) -> Tensor:
        return _ops.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1) -> Tensor:
        return _ops.addcdiv(self, tensor1, tensor2, value=value)

    def lerp(self, end, weight) -> Tensor:
        return _ops.lerp(self, end, weight)

    # --- the trailing-underscore spellings of elementwise methods: one line each over
    # _apply_inplace, which computes the out-of-place method and writes it into self
    def _apply_inplace(self, name: str, fn, *operands) -> Tensor:
        """``self`` overwritten by ``fn(self)`` with PyTorch's in-place rules: a leaf that
        requires grad raises; on a non-leaf (or with an operand that requires grad) the write
        is recorded as ``self[...] = fn(self)``, and every write bumps the version counter, so
        a backward that saved the old values raises. The result must keep self's shape and be
        castable to self's dtype; nothing changes when it is not."""
        other = next((o for o in operands if isinstance(o, Tensor) and o._requires_grad), None)
        record = self._check_inplace(name, other)
        if record:
            result = fn(self.clone() if self._requires_grad else Tensor._wrap(self.array.copy()))
        else:
            with no_grad():
                result = fn(Tensor._wrap(self.array))
        if tuple(result.shape) != tuple(self.shape):
            raise ValueError(
                f"{name}: the result has shape {tuple(result.shape)}, but an in-place operation "
                f"keeps the tensor's shape {tuple(self.shape)}"
            )
        if not np.can_cast(result.dtype, self.dtype, casting="same_kind"):
            raise TypeError(
                f"{name}: result type {result.dtype} can't be cast to the desired output type "
                f"{self.dtype}"
            )
        if record:
            _ops.setitem(self, Ellipsis, result)
            return self
        self.array[...] = result.array
        _bump_version(self.array)
        return self

    def pow_(self, exponent) -> Tensor:
        return self._apply_inplace("pow_", lambda t: t.pow(exponent), exponent)

    def neg_(self) -> Tensor:
        return self._apply_inplace("neg_", Tensor.neg)

    def abs_(self) -> Tensor:
        return self._apply_inplace("abs_", Tensor.abs)

    def sqrt_(self) -> Tensor:
        return self._apply_inplace("sqrt_", Tensor.sqrt)

    def rsqrt_(self) -> Tensor:
        return self._apply_inplace("rsqrt_", Tensor.rsqrt)

    def square_(self) -> Tensor:
        return self._apply_inplace("square_", Tensor.square)

    def exp_(self) -> Tensor:
        return self._apply_inplace("exp_", Tensor.exp)

    def expm1_(self) -> Tensor:
        return self._apply_inplace("expm1_", Tensor.expm1)

    def log_(self) -> Tensor:
        return self._apply_inplace("log_", Tensor.log)

    def log1p_(self) -> Tensor:
        return self._apply_inplace("log1p_", Tensor.log1p)

    def log2_(self) -> Tensor:
        return self._apply_inplace("log2_", Tensor.log2)

    def log10_(self) -> Tensor:
        return self._apply_inplace("log10_", Tensor.log10)

    def sin_(self) -> Tensor:
        return self._apply_inplace("sin_", Tensor.sin)

    def cos_(self) -> Tensor:
        return self._apply_inplace("cos_", Tensor.cos)

    def tan_(self) -> Tensor:
        return self._apply_inplace("tan_", Tensor.tan)

    def sinh_(self) -> Tensor:
        return self._apply_inplace("sinh_", Tensor.sinh)

    def cosh_(self) -> Tensor:
        return self._apply_inplace("cosh_", Tensor.cosh)

    def asin_(self) -> Tensor:
        return self._apply_inplace("asin_", Tensor.asin)

    def acos_(self) -> Tensor:
        return self._apply_inplace("acos_", Tensor.acos)

    def atan_(self) -> Tensor:
        return self._apply_inplace("atan_", Tensor.atan)

    def tanh_(self) -> Tensor:
        return self._apply_inplace("tanh_", Tensor.tanh)

    def sigmoid_(self) -> Tensor:
        return self._apply_inplace("sigmoid_", Tensor.sigmoid)

    def relu_(self) -> Tensor:
        return self._apply_inplace("relu_", Tensor.relu)

    def erf_(self) -> Tensor:
        return self._apply_inplace("erf_", Tensor.erf)

    def floor_(self) -> Tensor:
        return self._apply_inplace("floor_", Tensor.floor)

    def ceil_(self) -> Tensor:
        return self._apply_inplace("ceil_", Tensor.ceil)

    def trunc_(self) -> Tensor:
        return self._apply_inplace("trunc_", Tensor.trunc)

    def round_(self, *, decimals: int = 0) -> Tensor:
        return self._apply_inplace("round_", lambda t: t.round(decimals=decimals))

    def sign_(self) -> Tensor:
        return self._apply_inplace("sign_", Tensor.sign)

    def reciprocal_(self) -> Tensor:
        return self._apply_inplace("reciprocal_", Tensor.reciprocal)

    def clamp_min_(self, min) -> Tensor:  # noqa: A002
        return self._apply_inplace("clamp_min_", lambda t: t.clamp_min(min))

    def clamp_max_(self, max) -> Tensor:  # noqa: A002
        return self._apply_inplace("clamp_max_", lambda t: t.clamp_max(max))

    def clip_(self, min=None, max=None) -> Tensor:  # noqa: A002
        return self.clamp_(min, max)

    def addcmul_(self, tensor1, tensor2, *, value=1) -> Tensor:
        return self._apply_inplace("addcmul_", lambda t: t.addcmul(tensor1, tensor2, value=value),
                                   tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, *, value=1) -> Tensor:
        return self._apply_inplace("addcdiv_", lambda t: t.addcdiv(tensor1, tensor2, value=value),
                                   tensor1, tensor2)

    def lerp_(self, end, weight) -> Tensor:
        return self._apply_inplace("lerp_", lambda t: t.lerp(end, weight), end, weight)

    def split(self, split_size, dim: int = 0) -> tuple:
        return _ops.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        return _ops.chunk(self, chunks, dim)

    def flip(self, *dims) -> Tensor:
        return _ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None) -> Tensor:
        return _ops.roll(self, shifts, dims)

    def repeat(self, *sizes) -> Tensor:
        """This tensor tiled ``sizes[i]`` times along each dimension (``sizes`` may add leading
        dimensions), as ``torch.Tensor.repeat``; differentiable."""
        one = len(sizes) == 1 and isinstance(sizes[0], (Sequence, np.ndarray))
        reps = sizes[0] if one else sizes
        return _ops._repeat(self, _ops._int_list(reps, "repeat", "sizes"), "repeat")

    def tile(self, *dims) -> Tensor:
        return _ops.tile(self, dims[0] if len(dims) == 1 else dims)

    def repeat_interleave(self, repeats, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        return _ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def type_as(self, other: Tensor) -> Tensor:
        """Cast to ``other``'s dtype and device (``self.type(other.type())``)."""
        if not isinstance(other, Tensor):
            raise TypeError(
                f"type_as(): argument 'other' must be a Tensor, not {type(other).__name__}"
            )
        return self.type(other.type())

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator=None) -> Tensor:
        return _ops.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None) -> Tensor:
        return _ops.bernoulli(self, p, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
        """Fill with 0/1 draws of probability ``p`` (a number or a tensor broadcast to this
        shape), in place."""
        if isinstance(p, Tensor):
            return self._apply_inplace(
                "bernoulli_", lambda t: _ops.bernoulli(p.expand(*t.shape).type(t.dtype),
                                                       generator=generator))
        return self._apply_inplace("bernoulli_",
                                   lambda t: _ops.bernoulli(t, p, generator=generator))

    def narrow(self, dim: int, start, length: int) -> Tensor:
        return _ops.narrow(self, dim, start, length)

    # --- factories that inherit this tensor's dtype and device (PyTorch's Tensor.new_*) ---

    def _new_kwargs(self, dtype, device) -> dict:
        return {"dtype": self.dtype if dtype is None else dtype,
                "device": self.device if device is None else device}

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        from . import creation

        return creation.zeros(*size, **self._new_kwargs(dtype, device), requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        from . import creation

        return creation.ones(*size, **self._new_kwargs(dtype, device), requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        from . import creation

        return creation.empty(*size, **self._new_kwargs(dtype, device), requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        from . import creation

        return creation.full(size, fill_value, **self._new_kwargs(dtype, device),
                             requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` (detached, as PyTorch's) with this tensor's dtype and device."""
        from . import creation

        if isinstance(data, Tensor):
            data = data.detach()
        return creation.tensor(data, **self._new_kwargs(dtype, device), requires_grad=requires_grad)

    def unbind(self, dim: int = 0) -> tuple:
        return _ops.unbind(self, dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        return _ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return _ops.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        return _ops.diag(self, diagonal)

    def trace(self) -> Tensor:
        return _ops.trace(self)

    # linear algebra: PyTorch's legacy method spellings (tm.linalg holds the rest)
    def inverse(self) -> Tensor:
        return _linalg.inverse(self)

    def det(self) -> Tensor:
        return _linalg.legacy_det(self)

    def logdet(self) -> Tensor:
        return _linalg.logdet(self)

    def slogdet(self):
        return _linalg.legacy_slogdet(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        return _linalg.legacy_cholesky(self, upper)

    def qr(self, some: bool = True):
        return _linalg.legacy_qr(self, some)

    def svd(self, some: bool = True, compute_uv: bool = True):
        return _linalg.legacy_svd(self, some, compute_uv)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        return _linalg.pinverse(self, rcond)

    # ==========================================================================================


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


from . import linalg as _linalg  # noqa: E402
from . import ops as _ops  # noqa: E402  (ops needs Tensor and Function defined above)
from . import tensor_xp as _tensor_xp  # noqa: E402

# backward formulas ask get_array_module(gy); for a Tensor (create_graph) this is the answer
Tensor._array_namespace = _tensor_xp
