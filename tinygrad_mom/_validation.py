"""Argument checks shared by every constructor, functional op, loader and the CLI.

Each helper checks one argument and returns it in canonical form (``float``, ``int``, ``bool``),
or raises before anything has changed:

* ``TypeError`` when the value has the wrong type (a string, None, a list, a bool given as a
  number, the string ``'False'`` given as a flag), naming the argument, what was given and
  what was expected;
* ``ValueError`` when it has the right type but is out of range (NaN is always out of range).

``where`` (optional) names the function or class, so the message reads
``"SGD: momentum must be a real number, but got 'a' (str)"``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "describe", "is_int", "is_real", "int_at_least", "int_in", "number_in", "flag", "one_of",
    "tensor_arg", "finite_real",
]


def describe(value: Any) -> str:
    """``repr(value)`` shortened, with its type: ``'a' (str)``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _prefix(where: str | None) -> str:
    return f"{where}: " if where else ""


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """True for a Python or NumPy real number (int or float) that is not a bool."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
    ) or isinstance(value, (np.integer, np.floating))


def int_at_least(name: str, value: Any, minimum: int | None = 0, *, where: str | None = None,
                 none_ok: bool = False) -> int | None:
    """``value`` as an ``int`` >= ``minimum`` (None for no bound); bools are rejected."""
    if value is None and none_ok:
        return None
    if not is_int(value):
        raise TypeError(f"{_prefix(where)}{name} must be an int, but got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(
            f"{_prefix(where)}Invalid {name} value: {value!r} (expected an int >= {minimum})"
        )
    return int(value)


def int_in(name: str, value: Any, low: int, high: int, *, where: str | None = None) -> int:
    """``value`` as an ``int`` with low <= value <= high; bools are rejected."""
    value = int_at_least(name, value, None, where=where)
    if not low <= value <= high:
        raise ValueError(
            f"{_prefix(where)}Invalid {name} value: {value!r} (expected {low} <= {name} <= {high})"
        )
    return value


def _bound_text(name: str, low: float, high: float, low_open: bool, high_open: bool) -> str:
    parts = []
    if low > -math.inf:
        parts.append(f"{low:g} {'<' if low_open else '<='} ")
    parts.append(name)
    if high < math.inf:
        parts.append(f" {'<' if high_open else '<='} {high:g}")
    if len(parts) == 1:
        return "a finite number"
    return "".join(parts)


def number_in(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
    where: str | None = None,
    label: str | None = None,
) -> float:
    """``value`` as a ``float`` in [low, high] (open ends with ``low_open``/``high_open``).

    Rejects bools, strings, None, containers (TypeError) and NaN (ValueError); infinity only
    passes with ``allow_inf=True``. ``label`` replaces ``name`` in the ValueError's "Invalid
    ... value" text (PyTorch writes "Invalid learning rate: -1").
    """
    if not is_real(value):
        raise TypeError(
            f"{_prefix(where)}{name} must be a real number, but got {describe(value)}"
        )
    x = float(value)
    ok = not math.isnan(x) and (allow_inf or math.isfinite(x))
    if ok:
        ok = (low < x if low_open else low <= x) and (x < high if high_open else x <= high)
    if not ok:
        what = f"Invalid {label}:" if label else f"Invalid {name} value:"
        raise ValueError(
            f"{_prefix(where)}{what} {value!r} "
            f"(expected {_bound_text(name, low, high, low_open, high_open)})"
        )
    return x


def finite_real(name: str, value: Any, *, where: str | None = None) -> float:
    """``value`` as a finite ``float`` (any sign)."""
    return number_in(name, value, where=where)


def flag(name: str, value: Any, *, where: str | None = None) -> bool:
    """``value`` as a ``bool``; only True/False (or NumPy bools) pass, never ``'False'`` or 0."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{_prefix(where)}{name} must be a bool (True or False), but got {describe(value)}"
        )
    return bool(value)


def one_of(name: str, value: Any, choices: Iterable[Any], *, where: str | None = None) -> Any:
    """``value`` if it is one of ``choices`` (compared with ==, types checked first)."""
    choices = tuple(choices)
    kinds = {type(c) for c in choices}
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not any(isinstance(value, k) for k in kinds):
        raise TypeError(
            f"{_prefix(where)}{name} must be one of {choices!r}, but got {describe(value)}"
        )
    if value not in choices:
        raise ValueError(
            f"{_prefix(where)}Invalid {name} value: {value!r} (expected one of {choices!r})"
        )
    return value


def tensor_arg(name: str, value: Any, where: str | None = None) -> Any:
    """``value`` if it is a Tensor, else TypeError naming the argument (lists are not)."""
    from .tensor import Tensor  # late: tensor.py itself uses this module

    if not isinstance(value, Tensor):
        hint = ""
        if isinstance(value, (list, tuple, np.ndarray, numbers.Number)):
            hint = "; wrap it with tinygrad_mom.tensor(...)"
        raise TypeError(
            f"{_prefix(where)}{name} must be a Tensor, but got {describe(value)}{hint}"
        )
    return value
