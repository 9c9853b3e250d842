"""Numerical gradient checking: compare backward() with float64 central differences.

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
from .tensor import Tensor, float64, is_floating, no_grad


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
