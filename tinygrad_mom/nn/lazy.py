"""Lazy layers: ``LazyLinear``, ``LazyConv2d``, ``LazyBatchNorm2d`` infer their input size
from the first input, as PyTorch's do.

Until then their parameters are empty placeholders (shape ``(0,)``). The first forward builds
the real layer, moves its values into the *same* Parameter objects (so an optimizer built
earlier still holds them), and the module becomes that layer's class (PyTorch's
``cls_to_become``). As in PyTorch, create the optimizer after a first forward, or at least do
not step it before one: a step on an empty placeholder does nothing.
"""

from __future__ import annotations

from ..tensor import Tensor
from .functional import _check_tensor
from .layers import BatchNorm2d, Conv2d, Linear, _empty
from .module import Module, Parameter

__all__ = ["LazyBatchNorm2d", "LazyConv2d", "LazyLinear"]


class _LazyModule(Module):
    cls_to_become: type
    _parameter_names: tuple
    _feature_dim: int  # which input dim gives the missing size

    def __init__(self, *args, device=None, dtype=None, **kwargs) -> None:
        super().__init__()
        self._lazy_args, self._lazy_kwargs = args, dict(kwargs, device=device, dtype=dtype)
        for name in self._parameter_names:
            self.register_parameter(name, Parameter(_empty((0,), device, dtype)))

    def has_uninitialized_params(self) -> bool:
        """True until the first forward has fixed the input size."""
        return True

    def initialize_parameters(self, input: Tensor) -> None:
        """Build the real layer for ``input`` and take over its state in place."""
        _check_tensor(input, type(self).__name__)
        if input.ndim < abs(self._feature_dim):
            raise ValueError(
                f"{type(self).__name__}: input of shape {tuple(input.shape)} has no dimension "
                f"{self._feature_dim} to infer the input size from"
            )
        real = self.cls_to_become(input.shape[self._feature_dim], *self._lazy_args,
                                  **self._lazy_kwargs)
        placeholders = dict(self._parameters)
        for key, value in real.__dict__.items():
            if key not in ("training", "_parameters"):
                self.__dict__[key] = value
        self._parameters.clear()
        for name, p in real._parameters.items():
            mine = placeholders.get(name)
            if p is not None and mine is not None:
                mine.array = p.array  # the same Parameter object: optimizers keep working
                p = mine
            self._parameters[name] = p
        del self.__dict__["_lazy_args"], self.__dict__["_lazy_kwargs"]
        self.__class__ = self.cls_to_become

    def forward(self, input: Tensor) -> Tensor:
        self.initialize_parameters(input)
        return self.forward(input)


class LazyLinear(_LazyModule):
    """``nn.LazyLinear(out_features, bias=True)``: in_features from the input's last dim."""

    cls_to_become = Linear
    _feature_dim = -1

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        self._parameter_names = ("weight", "bias") if bias else ("weight",)
        super().__init__(out_features, bias, device=device, dtype=dtype)


class LazyConv2d(_LazyModule):
    """``nn.LazyConv2d(out_channels, kernel_size, ...)``: in_channels from the input (dim -3)."""

    cls_to_become = Conv2d
    _feature_dim = -3

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        self._parameter_names = ("weight", "bias") if bias else ("weight",)
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)


class LazyBatchNorm2d(_LazyModule):
    """``nn.LazyBatchNorm2d(eps=1e-5, momentum=0.1, ...)``: num_features from dim 1."""

    cls_to_become = BatchNorm2d
    _feature_dim = 1

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None) -> None:
        self._parameter_names = ("weight", "bias") if affine else ()
        super().__init__(eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
