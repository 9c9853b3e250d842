"""Parameter initialisation, as ``torch.nn.init``: in place, without recording a graph.

Every draw comes from the generator seeded by ``tm.manual_seed`` for the tensor's device, so a
seed fixes a model's initial weights. Formulas (gains, fans, bounds) are PyTorch's.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _validation as V
from .. import backend
from ..tensor import Tensor, is_floating, no_grad

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_LIKE = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table: relu √2, tanh 5/3, ...)."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _check_tensor(tensor, name: str, floating: bool = False) -> None:
    V.tensor_arg("tensor", tensor, name)
    if floating and not is_floating(tensor.dtype):
        # a random draw written into an int tensor would be silently truncated
        raise TypeError(f"{name}: needs a floating point tensor, got dtype {tensor.dtype}")


def _fill(tensor: Tensor, values) -> Tensor:
    """Write ``values`` into ``tensor`` in place, in its dtype, outside any graph."""
    with no_grad():
        tensor.array[...] = values
    return tensor


def _uniform(tensor: Tensor, a: float, b: float) -> Tensor:
    device = tensor.device
    with backend.device_context(device):  # CuPy draws on its current device
        draws = backend.rng(device).random(tensor.shape)  # [0, 1) on numpy and cupy alike
        return _fill(tensor, a + (b - a) * draws)


def _normal(tensor: Tensor, mean: float, std: float) -> Tensor:
    device = tensor.device
    with backend.device_context(device):
        draws = backend.rng(device).standard_normal(tensor.shape)
        return _fill(tensor, mean + std * draws)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with samples from U(a, b)."""
    _check_tensor(tensor, "uniform_", floating=True)
    V.finite_real("a", a, where="uniform_")
    V.finite_real("b", b, where="uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: expects a <= b, got a={a} and b={b}")
    return _uniform(tensor, a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with samples from N(mean, std²)."""
    _check_tensor(tensor, "normal_", floating=True)
    V.finite_real("mean", mean, where="normal_")
    V.finite_real("std", std, where="normal_")
    if not std >= 0:
        raise ValueError(f"normal_: expects std >= 0.0, got std={std}")
    return _normal(tensor, mean, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check_tensor(tensor, "constant_")
    if not V.is_real(val) and not isinstance(val, (bool, np.bool_)):
        raise TypeError(f"constant_: val must be a number, but got {V.describe(val)}")
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): dims 1 and 0 times the receptive field (product of dims 2+)."""
    if tensor.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty_warning(tensor: Tensor) -> bool:
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He initialisation: U(−b, b), b = gain·√(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    _check_tensor(tensor, "kaiming_uniform_", floating=True)
    if _empty_warning(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He initialisation: N(0, std²) with std = gain / √fan."""
    _check_tensor(tensor, "kaiming_normal_", floating=True)
    if _empty_warning(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return _normal(tensor, 0.0, std)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation: U(−b, b) with b = gain·√(6 / (fan_in + fan_out))."""
    _check_tensor(tensor, "xavier_uniform_", floating=True)
    V.finite_real("gain", gain, where="xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    _check_tensor(tensor, "xavier_normal_", floating=True)
    V.finite_real("gain", gain, where="xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return _normal(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
