"""``tm.autograd``: gradients of arbitrary outputs, higher-order gradients, anomaly mode.

PyTorch's names and semantics: :func:`grad`, :func:`backward`, :class:`detect_anomaly`,
:class:`set_detect_anomaly`, and :mod:`tinygrad_mom.autograd.functional` (vjp, jvp, hvp, vhp,
jacobian, hessian). Higher-order gradients come from ``create_graph=True``: each primitive's
backward formula is then run on Tensors and recorded (see :mod:`tinygrad_mom.primitives`).
"""

from __future__ import annotations

import warnings

from .. import tensor as _engine
from ..tensor import (
    Tensor,
    _engine_gradient,
    _node_of,
    _root_gradient,
    _run_backward,
    _tensor_list,
    is_anomaly_enabled,
)

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "detect_anomaly",
    "functional",
    "grad",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


def _grad_outputs(outputs: list, grad_outputs, fn: str) -> list:
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"{fn}: grad_outputs has {len(grad_outputs)} entries but there are "
            f"{len(outputs)} outputs; give one per output (None for a scalar output)"
        )
    for g in grad_outputs:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(
                f"{fn}: grad_outputs must hold Tensors or None, got {type(g).__name__}"
            )
    return grad_outputs


def _start_gradients(outputs: list, grad_outputs, create_graph: bool, fn: str) -> list:
    """The gradient each output starts backward with, in the engine's form."""
    return [
        _engine_gradient(_root_gradient(o, g, fn), bool(create_graph))
        for o, g in zip(outputs, _grad_outputs(outputs, grad_outputs, fn))
    ]


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    As ``torch.autograd.grad``: ``grad_outputs`` is the vector of the vector-Jacobian product
    (may be omitted for scalar outputs); ``retain_graph`` defaults to ``create_graph``; with
    ``create_graph=True`` the result can be differentiated again; an input the outputs do not
    depend on raises unless ``allow_unused`` (then its gradient is None, or zeros with
    ``materialize_grads``). ``.grad`` of no tensor is changed.
    """
    outputs = _tensor_list(outputs, "outputs", "grad")
    inputs = _tensor_list(inputs, "inputs", "grad")
    if not outputs:
        raise ValueError("grad: outputs is empty")
    if not inputs:
        raise ValueError("grad: inputs is empty")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused to be True or None")
    root_grads = _start_gradients(outputs, grad_outputs, create_graph, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    targets = {_node_of(t): t for t in inputs}
    captured = _run_backward(
        outputs, root_grads, bool(retain_graph), bool(create_graph), targets, capture=True
    )
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(_node_of(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} appears not to have been used in the graph; pass "
                    "allow_unused=True if this is expected"
                )
            result.append(_zeros_like(t) if materialize_grads else None)
        elif create_graph:
            result.append(g)
        else:  # a fresh array: the engine may hand one array to several inputs (a + b)
            result.append(Tensor._wrap(_array_copy(g, t.dtype)))
    return tuple(result)


def _array_copy(g, dtype):
    from ..backend import get_array_module

    return get_array_module(g).array(g, dtype=dtype, copy=True)


def _zeros_like(t: Tensor) -> Tensor:
    from ..backend import get_array_module

    return Tensor._wrap(get_array_module(t.array).zeros_like(t.array))


def backward(
    tensors,
    grad_tensors=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs=None,
) -> None:
    """``torch.autograd.backward``: backward from several outputs at once into ``.grad``."""
    tensors = _tensor_list(tensors, "tensors", "backward")
    root_grads = _start_gradients(tensors, grad_tensors, create_graph, "backward")
    targets = None
    if inputs is not None:
        targets = {_node_of(t): t for t in _tensor_list(inputs, "inputs", "backward")}
    if retain_graph is None:
        retain_graph = create_graph
    _run_backward(tensors, root_grads, bool(retain_graph), bool(create_graph), targets)


class set_detect_anomaly:  # noqa: N801  (PyTorch's name; usable as a call or a context)
    """Turn anomaly detection on or off: ``tm.autograd.set_detect_anomaly(True)`` or
    ``with tm.autograd.set_detect_anomaly(True): ...`` (restores the old mode on exit).

    When on, every recorded op keeps the stack that created it, and backward checks each
    gradient it computes: a NaN or Inf raises RuntimeError naming the op and the user's source
    line of its forward call. Off by default; when off it costs one flag test per op.
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        if not isinstance(mode, bool):
            raise TypeError(f"set_detect_anomaly: mode must be a bool, got {type(mode).__name__}")
        self.prev = is_anomaly_enabled()
        _engine._set_anomaly_enabled(mode and check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        _engine._set_anomaly_enabled(self.prev)
        return False


class detect_anomaly:  # noqa: N801
    """Context manager (and decorator) enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        warnings.warn(
            "Anomaly Detection has been enabled: backward runs slower; use it for debugging",
            stacklevel=2,
        )
        self.prev = is_anomaly_enabled()
        _engine._set_anomaly_enabled(self.check_nan)
        return self

    def __exit__(self, *exc_info):
        _engine._set_anomaly_enabled(self.prev)
        return False

    def __call__(self, func):
        import functools

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


from . import functional  # noqa: E402,F401  (functional builds on grad above)
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402,F401
