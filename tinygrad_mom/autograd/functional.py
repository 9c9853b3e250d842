"""``tm.autograd.functional``: vjp, jvp, vhp, hvp, jacobian and hessian of a function.

PyTorch's signatures and return conventions: ``inputs`` is a Tensor or a tuple of Tensors and
each result comes back in the same form; results are detached unless ``create_graph=True``;
a gradient the function does not depend on is zeros, or a RuntimeError with ``strict=True``.
Everything is built from :func:`tinygrad_mom.autograd.grad`: jvp by the double-vjp trick
(``u ↦ vjp(u)`` is linear in ``u``, so its vjp with ``v`` is the Jacobian-vector product).
"""

from __future__ import annotations

from collections.abc import Callable

from ..backend import get_array_module
from ..tensor import Tensor, enable_grad
from . import grad as _grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, arg: str, fn: str) -> tuple[tuple, bool]:
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for item in items:
        if not isinstance(item, Tensor):
            raise TypeError(
                f"{fn}: {arg} must be a Tensor or a tuple of Tensors, got {type(item).__name__}"
            )
    return items, is_tuple


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # Fresh leaves: the caller's tensors are never modified. With create_graph the results
    # must stay connected to the caller's graph, so the inputs are used through a view of it.
    prepared = []
    for t in inputs:
        if create_graph and t.requires_grad:
            prepared.append(t.view_as(t))
        else:
            prepared.append(t.detach().requires_grad_(True))
    return tuple(prepared)


def _zeros(t: Tensor) -> Tensor:
    return Tensor._wrap(get_array_module(t.array).zeros_like(t.array))


def _fill_unused(grads: tuple, like: tuple, strict: bool, fn: str, what: str) -> tuple:
    out = []
    for i, (g, t) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn}: the output does not depend on {what} {i} (strict=True forbids it)"
                )
            g = _zeros(t)
        out.append(g)
    return tuple(out)


def _detach_unless(values: tuple, create_graph: bool) -> tuple:
    return values if create_graph else tuple(v.detach() for v in values)


def _check_v(v, outputs: tuple, fn: str, what: str) -> tuple:
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: v can be omitted only when the {what} is a single one-element Tensor"
            )
        return (None,)
    vs, _ = _as_tuple(v, "v", fn)
    if len(vs) != len(outputs):
        raise ValueError(f"{fn}: v has {len(vs)} entries, expected {len(outputs)}")
    for i, (a, b) in enumerate(zip(vs, outputs)):
        if a.shape != b.shape:
            raise ValueError(
                f"{fn}: v[{i}] has shape {a.shape}, expected {b.shape} (the {what}'s shape)"
            )
    return vs


def _call(func: Callable, inputs: tuple, is_tuple: bool, fn: str) -> tuple[tuple, bool]:
    result = func(*inputs)
    return _as_tuple(result, "func's output", fn)


def _pack(values: tuple, is_tuple: bool):
    return values if is_tuple else values[0]


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·J)``: the vector-Jacobian product of ``func`` at ``inputs``."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, out_tuple = _call(func, xs, in_tuple, "vjp")
        vs = _check_v(v, outputs, "vjp", "output")
        diff = [(o, g) for o, g in zip(outputs, vs) if o.requires_grad]
        if diff:
            grads = _grad([o for o, _ in diff], xs, [g for _, g in diff],
                          create_graph=create_graph, allow_unused=True)
        else:
            grads = (None,) * len(xs)
    grads = _fill_unused(grads, xs, strict, "vjp", "input")
    return (_pack(_detach_unless(outputs, create_graph), out_tuple),
            _pack(_detach_unless(grads, create_graph), in_tuple))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J·v)``: the Jacobian-vector product (by the double-vjp trick)."""
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, out_tuple = _call(func, xs, in_tuple, "jvp")
        vs = _check_v(v, xs, "jvp", "input")
        vs = tuple(Tensor._wrap(get_array_module(x.array).ones_like(x.array)) if g is None
                   else g for g, x in zip(vs, xs))
        # u is a dummy cotangent; vjp(u) = uᵀJ is linear in u, and d/du <uᵀJ, v> = J v
        us = tuple(_zeros(o).requires_grad_(True) for o in outputs)
        diff = [(o, u) for o, u in zip(outputs, us) if o.requires_grad]
        if diff:
            firsts = _grad([o for o, _ in diff], xs, [u for _, u in diff],
                           create_graph=True, allow_unused=True)
            pairs = [(g, w) for g, w in zip(firsts, vs) if g is not None and g.requires_grad]
        else:
            pairs = []
        if pairs:
            jv = _grad([g for g, _ in pairs], us, [w for _, w in pairs],
                       create_graph=create_graph, allow_unused=True)
        else:
            jv = (None,) * len(us)
    jv = _fill_unused(jv, outputs, strict, "jvp", "output")
    return (_pack(_detach_unless(outputs, create_graph), out_tuple),
            _pack(_detach_unless(jv, create_graph), out_tuple))


def _scalar_output(func: Callable, xs: tuple, in_tuple: bool, fn: str) -> Tensor:
    outputs, _ = _call(func, xs, in_tuple, fn)
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(f"{fn}: func must return a single one-element Tensor")
    return outputs[0]


def _second_order(fn: str, func, inputs, v, create_graph: bool, strict: bool, transpose: bool):
    inputs, in_tuple = _as_tuple(inputs, "inputs", fn)
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = _scalar_output(func, xs, in_tuple, fn)
        vs = _check_v(v, xs, fn, "input")
        if not out.requires_grad:
            result = (None,) * len(xs)
        else:
            firsts = _grad(out, xs, create_graph=True, allow_unused=True)
            pairs = [(g, w) for g, w in zip(firsts, vs) if g is not None and g.requires_grad]
            if pairs:
                # the Hessian is symmetric for twice continuously differentiable functions, so
                # vᵀH and Hv agree; both are computed as the gradient of <∇f, v>
                result = _grad([g for g, _ in pairs], xs, [w for _, w in pairs],
                               create_graph=create_graph, allow_unused=True)
            else:
                result = (None,) * len(xs)
    result = _fill_unused(result, xs, strict, fn, "input")
    return (_detach_unless((out,), create_graph)[0],
            _pack(_detach_unless(result, create_graph), in_tuple))


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), vᵀ·H)`` for a scalar ``func``: vector-Hessian product."""
    return _second_order("vhp", func, inputs, v, create_graph, strict, transpose=True)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H·v)`` for a scalar ``func``: Hessian-vector product."""
    return _second_order("hvp", func, inputs, v, create_graph, strict, transpose=False)


def _jacobian_rows(outputs: tuple, xs: tuple, create_graph: bool, strict: bool, fn: str):
    """rows[i][j]: d outputs[i] / d xs[j], shaped outputs[i].shape + xs[j].shape."""
    from .. import ops

    rows = []
    for i, out in enumerate(outputs):
        flat = out.reshape(-1)
        per_input = [[] for _ in xs]
        for k in range(flat.shape[0]):
            if out.requires_grad:
                gs = _grad(flat[k], xs, retain_graph=True, create_graph=create_graph,
                           allow_unused=True)
            else:
                gs = (None,) * len(xs)
            gs = _fill_unused(gs, xs, strict, fn, f"input (output {i}, element {k}):")
            for j, g in enumerate(gs):
                per_input[j].append(g)
        row = []
        for j, x in enumerate(xs):
            if per_input[j]:
                block = ops.stack(per_input[j]).reshape(*out.shape, *x.shape)
            else:  # an empty output
                block = Tensor._wrap(
                    get_array_module(x.array).zeros(tuple(out.shape) + tuple(x.shape),
                                                    dtype=x.dtype))
            row.append(block if create_graph else block.detach())
        rows.append(tuple(row))
    return rows


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: a Tensor for one input and one output, a tuple
    per input or per output, or a tuple of tuples (``[output][input]``), as PyTorch.

    ``vectorize`` is accepted for compatibility and ignored (one backward per output
    element); only ``strategy="reverse-mode"`` exists here.
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: strategy must be 'reverse-mode', got {strategy!r}")
    inputs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outputs, out_tuple = _call(func, xs, in_tuple, "jacobian")
        rows = _jacobian_rows(outputs, xs, create_graph, strict, "jacobian")
    rows = [_pack(r, in_tuple) for r in rows]
    return _pack(tuple(rows), out_tuple)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func``: a Tensor ``x.shape + x.shape`` for one input, else a
    tuple of tuples ``[i][j] = d²f / dx_i dx_j``."""
    if outer_jacobian_strategy != "reverse-mode":
        raise ValueError(
            "hessian: outer_jacobian_strategy must be 'reverse-mode', got "
            f"{outer_jacobian_strategy!r}"
        )
    inputs, in_tuple = _as_tuple(inputs, "inputs", "hessian")
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = _scalar_output(func, xs, in_tuple, "hessian")
        if out.requires_grad:
            firsts = _grad(out, xs, create_graph=True, allow_unused=True)
        else:
            firsts = (None,) * len(xs)
        firsts = tuple(
            g if g is not None else _zeros(x) for g, x in zip(firsts, xs)
        )
        rows = _jacobian_rows(firsts, xs, create_graph, strict, "hessian")
    rows = [_pack(r, in_tuple) for r in rows]
    return _pack(tuple(rows), in_tuple)
