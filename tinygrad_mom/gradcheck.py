"""Numerical gradient checking: compare backward() with float64 central differences.

:func:`gradcheck` checks first derivatives; :func:`gradgradcheck` checks second derivatives
(the backward pass differentiated with ``create_graph=True``) the same way.

The output is contracted with a random upstream gradient ``r`` (never all ones: a summed softmax
has zero gradient and would pass any backward), so the checked scalar is ``L = Σ r · fn(x)``.
For every element ``x_i`` of every input that requires grad,

    numeric_i = (L(x + eps·e_i) − L(x − eps·e_i)) / (2·eps)

must match the analytic ``∂L/∂x_i`` from backward within ``atol + rtol·|numeric_i|``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .backend import get_array_module, to_numpy
from .tensor import Tensor, enable_grad, float64, is_floating, no_grad


class GradcheckError(RuntimeError):
    """Raised when an analytic gradient disagrees with the numerical one."""


def _as_outputs(result) -> list[Tensor]:
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return Tensors, got {type(out).__name__}")
    return outputs


def _contract(outputs: list[Tensor], weights: list) -> float:
    return sum(float((o.array.astype(np.float64) * w).sum()) for o, w in zip(outputs, weights))


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-7,
    rtol: float = 1e-5,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s backward against central differences in float64.

    Args:
        fn: maps the input tensors to a Tensor (or a tuple of Tensors).
        inputs: the input tensors; floating ones that require grad are checked. They are
            copied to float64 first, so the caller's tensors are never modified.
        eps, atol, rtol: step size and tolerances, as in ``torch.autograd.gradcheck``.
        seed: seeds the random upstream gradient.

    Returns True, or raises GradcheckError naming the input, the element and the worst error.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = list(inputs)
    leaves = []
    for t in inputs:
        if isinstance(t, Tensor) and is_floating(t.dtype):
            leaf = Tensor._wrap(t.array.astype(float64, order="C", copy=True))
            leaf.requires_grad_(t.requires_grad)
            leaves.append(leaf)
        else:
            leaves.append(t)
    checked = [i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    outputs = _as_outputs(fn(*leaves))
    gen = np.random.default_rng(seed)
    weights = []
    for out in outputs:
        xp = get_array_module(out.array)
        weights.append(xp.asarray(gen.standard_normal(out.shape)))

    # analytic: one backward of Σ r·out
    differentiable = [(o, w) for o, w in zip(outputs, weights) if o.requires_grad]
    if differentiable:
        total = None
        for o, w in differentiable:
            term = (o * Tensor._wrap(w.astype(o.dtype))).sum()
            total = term if total is None else total + term
        total.backward()

    with no_grad():
        for i in checked:
            x = leaves[i]
            analytic = to_numpy(x.grad.array) if x.grad is not None else np.zeros(x.shape)
            numeric = np.zeros(x.shape)
            flat = x.array.reshape(-1)  # a view: perturbing it perturbs x
            for j in range(flat.size):
                original = flat[j].item()
                flat[j] = original + eps
                plus = _contract(_as_outputs(fn(*leaves)), weights)
                flat[j] = original - eps
                minus = _contract(_as_outputs(fn(*leaves)), weights)
                flat[j] = original
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
            error = np.abs(analytic - numeric)
            bad = error > atol + rtol * np.abs(numeric)
            if bad.any():
                worst = np.unravel_index(np.argmax(np.where(bad, error, -1)), x.shape)
                raise GradcheckError(
                    f"gradcheck failed for input {i} (shape {x.shape}) "
                    f"at index {tuple(map(int, worst))}: "
                    f"analytic {analytic[worst]:.10g} vs numerical {numeric[worst]:.10g}, "
                    f"worst abs error {error.max():.3g} (atol={atol}, rtol={rtol}, eps={eps})"
                )
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives of ``fn`` against central differences in float64.

    The checked function is the first derivative itself: ``(x, v) ↦ vᵀ·∂fn/∂x`` computed by
    ``autograd.grad(..., create_graph=True)``, with a random upstream gradient ``v`` (or the
    given ``grad_outputs``) that is itself an input. :func:`gradcheck` then compares its
    backward — the backward of a backward — with finite differences of the first derivative,
    along a random direction, so both ``∂²fn/∂x²`` and the linearity in ``v`` are covered.
    Defaults match ``torch.autograd.gradgradcheck``. Returns True or raises GradcheckError.
    """
    from .autograd import grad

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check")
    with no_grad():
        probe = _as_outputs(fn(*[_float64_copy(t) for t in inputs]))
    if grad_outputs is None:
        gen = np.random.default_rng(seed + 1)
        vs = [
            Tensor._wrap(get_array_module(o.array).asarray(gen.standard_normal(o.shape)),
                         True)
            for o in probe
        ]
    else:
        vs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        if len(vs) != len(probe):
            raise ValueError(
                f"gradgradcheck: grad_outputs has {len(vs)} entries, fn returns {len(probe)}"
            )
        vs = [Tensor._wrap(v.array.astype(float64, copy=True), True) for v in vs]
    n = len(inputs)

    def first_derivative(*args):
        xs, us = list(args[:n]), list(args[n:])
        with enable_grad():
            outputs = _as_outputs(fn(*xs))
            pairs = [(o, u) for o, u in zip(outputs, us) if o.requires_grad]
            wrt = [xs[i] for i in checked]
            if not pairs:
                return tuple(Tensor._wrap(get_array_module(x.array).zeros_like(x.array))
                             for x in wrt)
            grads = grad([o for o, _ in pairs], wrt, [u for _, u in pairs],
                         create_graph=True, allow_unused=True)
        return tuple(
            g if g is not None else Tensor._wrap(get_array_module(x.array).zeros_like(x.array))
            for g, x in zip(grads, wrt)
        )

    return gradcheck(first_derivative, inputs + vs, eps=eps, atol=atol, rtol=rtol, seed=seed)


def _float64_copy(t):
    if isinstance(t, Tensor) and is_floating(t.dtype):
        return Tensor._wrap(t.array.astype(float64, copy=True))
    return t
