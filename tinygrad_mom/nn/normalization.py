"""Layer and group normalisation (``nn.LayerNorm``, ``nn.GroupNorm`` and their functional
forms), composed from differentiable ops, so they are twice differentiable for free."""

from __future__ import annotations

from .. import _validation as V
from .. import ops
from ..tensor import Tensor, is_floating
from . import init
from .functional import _check_same_dtype, _check_tensor
from .layers import _empty
from .module import Module, Parameter

__all__ = ["GroupNorm", "LayerNorm", "group_norm", "layer_norm"]


def _normalize(x: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x − mean) / sqrt(var + eps) over ``dims``, with the biased variance (as PyTorch)."""
    mean = ops.mean(x, dims, keepdim=True)
    centered = x - mean
    var = ops.mean(centered * centered, dims, keepdim=True)
    return centered / ops.sqrt(var + eps)


def _shape_tuple(normalized_shape, where: str) -> tuple:
    if V.is_int(normalized_shape):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(normalized_shape)
    except TypeError:
        raise TypeError(
            f"{where}: normalized_shape must be an int or a sequence of ints, got "
            f"{V.describe(normalized_shape)}"
        ) from None
    return tuple(V.int_at_least("normalized_shape", s, 1, where=where) for s in shape)


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then ``· weight + bias``."""
    _check_tensor(input, "layer_norm")
    shape = _shape_tuple(normalized_shape, "layer_norm")
    eps = V.number_in("eps", eps, 0.0, float("inf"), where="layer_norm")
    if not is_floating(input.dtype):
        raise TypeError(f"layer_norm needs a floating point input, got dtype {input.dtype}")
    if tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise ValueError(
            f"layer_norm: input of shape {tuple(input.shape)} does not end with "
            f"normalized_shape {shape}"
        )
    _check_same_dtype("layer_norm", input, weight if weight is not None else input, bias)
    for arg, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {arg} has shape {tuple(t.shape)}, expected {shape}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = _normalize(input, dims, eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise (N, C, *) over groups of C/num_groups channels and all spatial positions."""
    _check_tensor(input, "group_norm")
    num_groups = V.int_at_least("num_groups", num_groups, 1, where="group_norm")
    eps = V.number_in("eps", eps, 0.0, float("inf"), where="group_norm")
    if input.ndim < 2:
        raise ValueError(
            f"group_norm: expected an input of shape (N, C, *), got {tuple(input.shape)}"
        )
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise ValueError(
            f"group_norm: {c} channels cannot be divided into num_groups={num_groups} groups"
        )
    if not is_floating(input.dtype):
        raise TypeError(f"group_norm needs a floating point input, got dtype {input.dtype}")
    _check_same_dtype("group_norm", input, weight if weight is not None else input, bias)
    grouped = input.reshape(n, num_groups, -1)
    out = _normalize(grouped, (2,), eps).reshape(*input.shape)
    affine_shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(*affine_shape)
    if bias is not None:
        out = out + bias.reshape(*affine_shape)
    return out


class LayerNorm(Module):
    """``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape, "LayerNorm")
        self.eps = V.number_in("eps", eps, 0.0, float("inf"), where="LayerNorm")
        self.elementwise_affine = V.flag("elementwise_affine", elementwise_affine,
                                         where="LayerNorm")
        V.flag("bias", bias, where="LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(_empty(self.normalized_shape, device, dtype))
            if bias:
                self.bias = Parameter(_empty(self.normalized_shape, device, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0 (PyTorch's init)."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """``nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.num_groups = V.int_at_least("num_groups", num_groups, 1, where="GroupNorm")
        self.num_channels = V.int_at_least("num_channels", num_channels, 1, where="GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"GroupNorm: num_channels={num_channels} must be divisible by "
                f"num_groups={num_groups}"
            )
        self.eps = V.number_in("eps", eps, 0.0, float("inf"), where="GroupNorm")
        self.affine = V.flag("affine", affine, where="GroupNorm")
        if self.affine:
            self.weight = Parameter(_empty((num_channels,), device, dtype))
            self.bias = Parameter(_empty((num_channels,), device, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0 (PyTorch's init)."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
