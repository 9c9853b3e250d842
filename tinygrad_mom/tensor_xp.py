"""NumPy's function vocabulary over Tensors: the ``xp`` a backward formula sees under
``create_graph=True``.

:func:`tinygrad_mom.backend.get_array_module` returns this module for a Tensor, so a formula
such as ``xp.where(mask, gy, 0)`` or ``xp.sum(gy * out, axis=d, keepdims=True)`` runs on raw
arrays for a first-order backward and is recorded, op by op, when the engine differentiates a
backward pass. Only the names that backward formulas use live here, each with NumPy's
signature, each a thin call of the public functional API.
"""

from __future__ import annotations

from . import ops
from .backend import get_array_module
from .tensor import Tensor


def where(condition, x, y):
    return ops.where(condition, x, y)


def exp(x):
    return ops.exp(x)


def log(x):
    return ops.log(x)


def sqrt(x):
    return ops.sqrt(x)


def tanh(x):
    return ops.tanh(x)


def abs(x):  # noqa: A001  (NumPy's name)
    return ops.abs(x)


def maximum(x, y):
    return ops.maximum(x, y)


def minimum(x, y):
    return ops.minimum(x, y)


def sum(x, axis=None, keepdims: bool = False):  # noqa: A001
    return ops.sum(x, axis, keepdims)


def broadcast_to(x, shape):
    return ops.expand(x, *shape)


def matmul(a, b):
    return ops.matmul(a, b)


def swapaxes(x, axis1: int, axis2: int):
    return ops.transpose(x, axis1, axis2)


def concatenate(tensors, axis: int = 0):
    return ops.cat(tensors, axis)


def sin(x):
    return ops.sin(x)


def cos(x):
    return ops.cos(x)


def sinh(x):
    return ops.sinh(x)


def cosh(x):
    return ops.cosh(x)


def zeros_like(x):
    """A constant of zeros (a gradient that does not depend on anything)."""
    return Tensor._wrap(get_array_module(x.array).zeros_like(x.array))
