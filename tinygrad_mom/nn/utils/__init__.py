"""Gradient utilities (``tm.nn.utils``), as ``torch.nn.utils``: gradient clipping."""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Callable, Iterable

import numpy as np

from ... import _validation as V
from ...backend import get_array_module
from ...tensor import Tensor
from . import rnn  # noqa: E402  (torch.nn.utils.rnn)

__all__ = [
    "RemovableHandle",
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "register_clip_grad_norm_hook",
    "rnn",
    "vector_to_parameters",
]

_handle_ids = itertools.count()


class RemovableHandle:
    """A handle returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = next(_handle_ids)

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


# Observers of clip_grad_norm_ (the optimizer's StepStatsRecorder uses this to report the clip
# coefficient): hook(params, total_norm, clip_coef), called after the gradients were scaled.
_clip_hooks: dict[int, Callable] = {}


def register_clip_grad_norm_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(params, total_norm: float, clip_coef: float)`` after every clip_grad_norm_.

    A bound method is held weakly (dropped once its object is garbage), so an observer that
    is never removed does not keep its object alive.
    """
    handle = RemovableHandle(_clip_hooks)
    _clip_hooks[handle.id] = weakref.WeakMethod(hook) if hasattr(hook, "__self__") else hook
    return handle


def _as_param_list(parameters, name: str) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(
            f"{name}: parameters must be a Tensor or an iterable of Tensors, "
            f"got {type(parameters).__name__}"
        ) from None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameters must be Tensors, got {type(p).__name__}")
    return params


def _vector_norm(a, norm_type: float):
    """The ``norm_type``-norm of all elements of array ``a`` as a 0-d array of a's dtype."""
    xp = get_array_module(a)
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    flat = a.reshape(-1)
    if norm_type == 2.0:
        # vdot on the flat view: no temporary the size of ``a``
        return xp.sqrt(xp.asarray(xp.vdot(flat, flat), dtype=a.dtype))
    if norm_type == math.inf:
        return xp.abs(flat).max()
    if norm_type == -math.inf:
        return xp.abs(flat).min()
    if norm_type == 0.0:
        return xp.asarray(xp.count_nonzero(flat), dtype=a.dtype)
    if norm_type == 1.0:
        return xp.abs(flat).sum()
    return (xp.abs(flat) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together so their total norm is at most ``max_norm``; return that norm.

    As ``torch.nn.utils.clip_grad_norm_``: N = ‖(‖g_i‖_p)_i‖_p over the parameters that have a
    gradient, c = min(1, max_norm / (N + 1e-6)), every g_i ← c·g_i in place. ``norm_type`` may
    be ``inf``. ``foreach`` is accepted for compatibility and ignored.
    """
    params = _as_param_list(parameters, "clip_grad_norm_")
    max_norm = V.number_in("max_norm", max_norm, 0.0, allow_inf=True, where="clip_grad_norm_")
    if isinstance(norm_type, str) and norm_type in ("inf", "-inf"):  # PyTorch accepts 'inf'
        norm_type = float(norm_type)
    norm_type = V.number_in("norm_type", norm_type, allow_inf=True, where="clip_grad_norm_")
    V.flag("error_if_nonfinite", error_if_nonfinite, where="clip_grad_norm_")
    grads = [p.grad.array for p in params if p.grad is not None]
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    devices = {p.grad.device for p in params if p.grad is not None}
    if len(devices) > 1:
        raise RuntimeError(
            f"clip_grad_norm_: gradients are on several devices {sorted(devices)}; "
            "clip each device's parameters separately"
        )
    xp = get_array_module(grads[0])
    norms = xp.stack([_vector_norm(g, norm_type) for g in grads])
    total = _vector_norm(norms, norm_type)
    # The norm stays an array, as PyTorch returns a tensor: reading it on the host would wait
    # for the GPU (a sync per step). Only the finiteness check and the hooks need its value.
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # Same arithmetic as PyTorch: the coefficient is computed in the norm's dtype, clamped to 1,
    # and applied to every gradient even when it is exactly 1 (a multiply by one is exact).
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0).astype(total.dtype)
    for g in grads:
        g *= coef.astype(g.dtype)
    if _clip_hooks:
        _call_clip_hooks(params, float(total), float(coef))
    return Tensor._wrap(total)


def _call_clip_hooks(params: list, total: float, coef: float) -> None:
    """Call every live clip hook (dropping those whose owner was garbage-collected)."""
    for key, hook in list(_clip_hooks.items()):
        if isinstance(hook, weakref.WeakMethod):
            hook = hook()
            if hook is None:
                _clip_hooks.pop(key, None)
                continue
        hook(params, total, coef)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place (PyTorch's rule)."""
    params = _as_param_list(parameters, "clip_grad_value_")
    clip_value = V.number_in("clip_value", clip_value, allow_inf=True, where="clip_grad_value_")
    for p in params:
        if p.grad is not None:
            g = p.grad.array
            get_array_module(g).clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from ... import ops

    params = _as_param_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return ops.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    from ...tensor import no_grad

    V.tensor_arg("vec", vec, where="vector_to_parameters")
    if vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D vec, got shape {tuple(vec.shape)}")
    params = _as_param_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if total != vec.shape[0]:
        raise ValueError(
            f"vector_to_parameters: vec has {vec.shape[0]} elements, the parameters {total}"
        )
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n
