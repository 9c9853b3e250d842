"""``tm.autograd.Function``: custom differentiable operations in PyTorch's ctx style.

::

    class Exp(tm.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return gy * y

    y = Exp.apply(x)

``forward`` runs with gradient recording off and gets the caller's objects; ``backward``
gets one gradient Tensor per output and returns one gradient (or None) per ``forward``
argument. Under ``create_graph=True`` backward runs with recording on, so a backward written
with Tensor operations can be differentiated again. This sits beside the library's own
:class:`tinygrad_mom.Function` (primitives on raw arrays, see :mod:`tinygrad_mom.primitives`).
"""

from __future__ import annotations

import numpy as np

from .. import tensor as _engine
from ..backend import get_array_module
from ..primitives import IndexScatter
from ..tensor import Function as _Node
from ..tensor import Tensor, is_floating, is_grad_enabled, no_grad

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors, flags, and any attribute set."""

    def __init__(self):
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._saved: tuple = ()
        self._saved_epoch = 0
        self._non_differentiable: set = set()

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for backward; read them back with :attr:`saved_tensors`."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors or None, but argument {i} is "
                    f"{type(t).__name__}; store other values as attributes of ctx"
                )
        self._saved = tensors
        self._saved_epoch = _engine._epoch

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to :meth:`save_for_backward`; raises if one was modified in place
        since (PyTorch's version check)."""
        if self._saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed); pass retain_graph=True"
            )
        for t in self._saved:
            if t is None:
                continue
            written = _engine._modified.get(id(_engine._root_array(t.array)))
            if written is not None and written > self._saved_epoch:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a saved tensor of shape {t.shape} was written after "
                    "save_for_backward"
                )
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (their requires_grad is False)."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"mark_non_differentiable expects output tensors, got {type(t).__name__}"
                )
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets None (not zeros) for outputs that received no gradient."""
        if not isinstance(value, bool):
            raise TypeError(f"set_materialize_grads expects a bool, got {type(value).__name__}")
        self.materialize_grads = value


class Function:
    """Base class of a custom op: static ``forward(ctx, ...)`` and ``backward(ctx, *grads)``,
    called through ``MyFunction.apply(...)`` (or ``forward(*args)`` plus ``setup_context``)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """Compute the outputs from the inputs (gradient recording is off here)."""
        raise NotImplementedError("a tm.autograd.Function subclass must define forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """One gradient (or None) per forward argument, from one gradient per output."""
        raise NotImplementedError("a tm.autograd.Function subclass must define backward")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional: fill ctx from the inputs and the output (forward then takes no ctx)."""
        raise NotImplementedError

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward and, when an input requires grad, record the op for backward."""
        if cls.backward is Function.backward and cls.vjp is Function.backward:
            raise NotImplementedError(f"{cls.__name__} must define a static backward method")
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return output
        is_tuple = isinstance(output, tuple)
        outputs = list(output) if is_tuple else [output]
        for k, o in enumerate(outputs):
            if isinstance(o, Tensor) and (o._ctx is not None or any(o is a for a in args)):
                # an input returned as is (or a recorded tensor): a new tensor on its memory,
                # so that giving it this op's node does not rewrite the caller's tensor
                fresh = Tensor._wrap(o.array)
                if id(o) in ctx._non_differentiable:
                    ctx._non_differentiable.add(id(fresh))
                outputs[k] = fresh
        differentiable = [
            k for k, o in enumerate(outputs)
            if isinstance(o, Tensor) and is_floating(o.dtype)
            and id(o) not in ctx._non_differentiable
        ]
        node = _CustomNode()
        node.fn_class, node.ctx = cls, ctx
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        node.positions, node.n_args = positions, len(args)
        node.parents = tuple(
            _engine._node_of(args[i]) if args[i].requires_grad else None for i in positions
        )
        node.needs_input_grad = tuple(p is not None for p in node.parents)
        node.in_shapes = tuple(args[i].shape for i in positions)
        node.outputs_meta = [
            (o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outputs
        ]
        if _engine._anomaly_enabled:
            import traceback

            node.trace = traceback.extract_stack()[:-1]
        if len(outputs) == 1 and differentiable:
            outputs[0]._ctx = node
            outputs[0]._requires_grad = True
        elif differentiable:
            # several outputs: each gets its own node that places its gradient in one flat
            # vector for the shared node, so gradients of different outputs never mix
            bounds, total = {}, 0
            for k in differentiable:
                size = int(np.prod(outputs[k].shape))
                bounds[k] = (total, total + size)
                total += size
            node.bounds, node.received = bounds, set()
            for k in differentiable:
                slot = _OutputSlot()
                slot.k, slot.bounds, slot.total = k, bounds[k], total
                slot.parents, slot.needs_input_grad, slot.in_shapes = (node,), (True,), ((total,),)
                outputs[k]._ctx = slot
                outputs[k]._requires_grad = True
        return tuple(outputs) if is_tuple else outputs[0]


class _CustomNode(_Node):
    """The graph node of one ``tm.autograd.Function.apply`` call."""

    def name(self) -> str:
        return f"{self.fn_class.__name__}Backward"

    def backward(self, g):
        ctx = self.ctx
        graph = isinstance(g, Tensor)
        bounds = self.__dict__.get("bounds")
        grads = []
        for k, meta in enumerate(self.outputs_meta):
            if bounds is None:
                piece = g if k == 0 else None
            elif k in bounds and k in self.received:
                lo, hi = bounds[k]
                piece = g[lo:hi].reshape(meta[0])
            else:
                piece = None
            if piece is None and meta is not None and ctx.materialize_grads:
                xp = get_array_module(g.array if graph else g)
                piece = xp.zeros(meta[0], dtype=meta[1])
            if piece is not None and not isinstance(piece, Tensor):
                piece = Tensor._wrap(piece)
            grads.append(piece)
        result = self.fn_class.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        name = self.name()
        if len(result) < self.n_args or any(r is not None for r in result[self.n_args:]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected "
                f"{self.n_args}, got {len(result)})"
            )
        out = []
        for i, shape, needed in zip(self.positions, self.in_shapes, self.needs_input_grad):
            r = result[i]
            if r is None or not needed:
                out.append(None)
                continue
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"function {name} returned a gradient of type {type(r).__name__} at index "
                    f"{i}; expected a Tensor or None"
                )
            try:  # the input's shape or one it broadcasts to (summed back, as PyTorch)
                fits = np.broadcast_shapes(r.shape, shape) == tuple(r.shape)
            except ValueError:
                fits = False
            if not fits:
                raise RuntimeError(
                    f"function {name} returned an invalid gradient at index {i} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(shape)}"
                )
            out.append(r if graph else r.array)
        return tuple(out)


class _OutputSlot(_Node):
    """The node of one output of a several-output custom Function."""

    def name(self) -> str:
        return self.parents[0].name() if self.parents else "OutputSlotBackward"

    def backward(self, g):
        self.parents[0].received.add(self.k)
        lo, hi = self.bounds
        return IndexScatter.call(g.reshape(-1), shape=(self.total,), index=(slice(lo, hi),),
                                 advanced=False)


def once_differentiable(backward):
    """Decorate a ``backward`` that cannot itself be differentiated: it runs without
    recording, so a create_graph backward through it gives gradients without a graph."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *(g.detach() if isinstance(g, Tensor) else g for g in grads))

    return wrapper
