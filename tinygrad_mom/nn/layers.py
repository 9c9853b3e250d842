"""Layers with PyTorch's constructors, defaults, default initialisation and reprs."""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .. import backend, conv, ops
from ..conv import _pair, _single
from ..tensor import Tensor, _as_dtype, get_default_dtype, is_floating
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


def _empty(shape, device, dtype) -> Tensor:
    device = backend.resolve_device(device)  # None: tm.set_default_device's device
    dtype = _as_dtype(dtype) or get_default_dtype()
    if not is_floating(dtype):
        raise TypeError(f"parameters need a floating point dtype, got {dtype}")
    xp = backend.array_module_for(device)
    with backend.device_context(device):  # allocate on "cuda:N" itself, no host round trip
        return Tensor._wrap(xp.empty(shape, dtype=dtype))


def _count(value, name: str, layer: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, else a TypeError/ValueError naming layer and argument."""
    return V.int_at_least(name, value, minimum, where=layer)


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` (default: all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Linear(Module):
    """``y = x Wᵀ + b`` with W of shape (out_features, in_features).

    Default init is PyTorch's: W ~ kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in), and
    b ~ U(−1/√in, 1/√in).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.in_features = _count(in_features, "in_features", "Linear", minimum=0)
        self.out_features = _count(out_features, "out_features", "Linear", minimum=0)
        V.flag("bias", bias, where="Linear")
        self.weight = Parameter(_empty((out_features, in_features), device, dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


#: Keras's name for a fully connected layer. ``Dense(in_features, out_features)`` *is* Linear
#: (PyTorch's argument order and init), not Keras's ``Dense(units, activation=...)``.
Dense = Linear


class Conv2d(Module):
    """2-D convolution over (N, C, H, W) with PyTorch's arguments and default init.

    ``padding`` is an int, a pair, ``'valid'`` (none) or ``'same'`` (output size = input size,
    stride 1 only; an odd total pads the extra row/column at the bottom/right, as PyTorch).
    Only ``groups=1`` and ``padding_mode='zeros'`` are supported.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_channels = _count(in_channels, "in_channels", "Conv2d")
        self.out_channels = _count(out_channels, "out_channels", "Conv2d")
        V.flag("bias", bias, where="Conv2d")
        self.kernel_size, self.stride, self.padding, self.dilation = _conv_options(
            "Conv2d", 2, kernel_size, stride, padding, dilation, groups, padding_mode
        )
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(
            _empty((out_channels, in_channels, *self.kernel_size), device, dtype)
        )
        if bias:
            self.bias = Parameter(_empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return _conv_repr(self, (0, 0))


def _conv_options(layer, n, kernel_size, stride, padding, dilation, groups, padding_mode,
                  string_padding=True):
    """PyTorch's conv-layer arguments as n-tuples, checked; raises naming ``layer``."""
    as_tuple = _pair if n == 2 else (lambda v, name: (_single(v, name),))
    if groups != 1:
        raise ValueError(f"{layer}: groups={groups} is not supported; only groups=1 is")
    if padding_mode != "zeros":
        raise ValueError(
            f"{layer}: padding_mode={padding_mode!r} is not supported; only 'zeros' is"
        )
    kernel_size, stride = as_tuple(kernel_size, "kernel_size"), as_tuple(stride, "stride")
    dilation = as_tuple(dilation, "dilation")
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
        if min(value) < 1:
            raise ValueError(f"{layer}: {name} must be >= 1, got {value}")
    if isinstance(padding, str) and string_padding:
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{layer}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
            )
        if padding == "same" and any(s != 1 for s in stride):  # PyTorch: any stride > 1
            raise ValueError(f"{layer}: padding='same' is not supported for strided convolutions")
    else:
        if isinstance(padding, str):
            raise ValueError(f"{layer}: padding must be an int or a tuple of ints, got {padding!r}")
        padding = as_tuple(padding, "padding")
        if min(padding) < 0:
            raise ValueError(f"{layer}: padding must be non-negative, got {padding!r}")
    return kernel_size, stride, padding, dilation


def _conv_repr(m, zeros) -> str:
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != zeros:
        s += f", padding={m.padding!r}" if isinstance(m.padding, str) else f", padding={m.padding}"
    if getattr(m, "output_padding", zeros) != zeros:
        s += f", output_padding={m.output_padding}"
    if m.dilation != (1,) * len(zeros):
        s += f", dilation={m.dilation}"
    if m.bias is None:
        s += ", bias=False"
    return s


class Conv1d(Module):
    """1-D convolution over (N, C, L) with PyTorch's arguments and default init.

    ``padding`` is an int, ``'valid'`` or ``'same'`` (stride 1 only). Only ``groups=1`` and
    ``padding_mode='zeros'`` are supported. Runs as a height-1 conv2d.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_channels = _count(in_channels, "in_channels", "Conv1d")
        self.out_channels = _count(out_channels, "out_channels", "Conv1d")
        V.flag("bias", bias, where="Conv1d")
        self.kernel_size, self.stride, self.padding, self.dilation = _conv_options(
            "Conv1d", 1, kernel_size, stride, padding, dilation, groups, padding_mode
        )
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(_empty((out_channels, in_channels, *self.kernel_size), device,
                                       dtype))
        if bias:
            self.bias = Parameter(_empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = Conv2d.reset_parameters

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation)

    def extra_repr(self) -> str:
        return _conv_repr(self, (0,))


class ConvTranspose2d(Module):
    """2-D transposed convolution over (N, C_in, H, W), PyTorch's arguments, weight layout
    (in_channels, out_channels, kh, kw) and default init.

    ``forward(input, output_size=None)``: ``output_size`` (H, W) (or the full shape) picks the
    ``output_padding`` that reaches it, as PyTorch. Only ``groups=1`` and
    ``padding_mode='zeros'`` are supported.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_channels = _count(in_channels, "in_channels", "ConvTranspose2d")
        self.out_channels = _count(out_channels, "out_channels", "ConvTranspose2d")
        V.flag("bias", bias, where="ConvTranspose2d")
        self.kernel_size, self.stride, self.padding, self.dilation = _conv_options(
            "ConvTranspose2d", 2, kernel_size, stride, padding, dilation, groups, padding_mode,
            string_padding=False,
        )
        self.output_padding = _pair(output_padding, "output_padding")
        for i in range(2):
            if not 0 <= self.output_padding[i] < max(self.stride[i], self.dilation[i]):
                raise ValueError(
                    f"ConvTranspose2d: output_padding {self.output_padding} must be non-negative "
                    f"and smaller than either stride {self.stride} or dilation {self.dilation}"
                )
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(_empty((in_channels, out_channels, *self.kernel_size), device,
                                       dtype))
        if bias:
            self.bias = Parameter(_empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = Conv2d.reset_parameters

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, int]:
        if output_size is None:
            return self.output_padding
        size = tuple(int(v) for v in output_size)[-2:]
        if len(size) != 2 or input.ndim != 4:
            raise ValueError(
                f"ConvTranspose2d: output_size must give (H, W), got {output_size!r} for an input "
                f"of shape {tuple(input.shape)}"
            )
        padding = []
        for i in range(2):
            smallest = ((input.shape[2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                largest = smallest + max(self.stride[i], self.dilation[i]) - 1
                raise ValueError(
                    f"ConvTranspose2d: requested an output size of {size}, but valid sizes along "
                    f"dimension {2 + i} range from {smallest} to {largest} (for an input of shape "
                    f"{tuple(input.shape)})"
                )
            padding.append(extra)
        return tuple(padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(
            input, self.weight, self.bias, self.stride, self.padding,
            self._output_padding(input, output_size), 1, self.dilation,
        )

    def extra_repr(self) -> str:
        return _conv_repr(self, (0, 0))


class MaxPool2d(Module):
    """Max pooling; ``stride`` defaults to ``kernel_size``."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        F._check_pool_options("MaxPool2d", dilation, ceil_mode, return_indices)
        conv._check_pool_geometry("MaxPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Average pooling; ``stride`` defaults to ``kernel_size``; PyTorch's count_include_pad."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        F._check_pool_options("AvgPool2d", ceil_mode=ceil_mode)
        conv._check_pool_geometry("AvgPool2d", kernel_size, stride, padding)
        V.flag("count_include_pad", count_include_pad, where="AvgPool2d")
        V.int_at_least("divisor_override", divisor_override, 1, where="AvgPool2d", none_ok=True)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            count_include_pad=self.count_include_pad,
            divisor_override=self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size; ``AdaptiveAvgPool2d(1)`` is global pooling."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# ----------------------------------------------------------------------------------------------
# activations


class ReLU(Module):
    """max(x, 0); ``inplace=True`` overwrites the input (PyTorch's ``nn.ReLU(inplace=True)``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = V.flag("inplace", inplace, where="ReLU")

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        V.number_in("negative_slope", negative_slope, where="LeakyReLU")
        self.negative_slope = negative_slope
        self.inplace = V.flag("inplace", inplace, where="LeakyReLU")

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(−x))."""

    def forward(self, input: Tensor) -> Tensor:
        return ops.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent."""

    def forward(self, input: Tensor) -> Tensor:
        return ops.tanh(input)


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax) along ``dim``, computed stably."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """Inverted dropout when training (zero with prob. p, scale by 1/(1−p)); identity in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = F._check_p(p)
        self.inplace = V.flag("inplace", inplace, where="Dropout")

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


# ----------------------------------------------------------------------------------------------
# batch normalisation


class _BatchNorm(Module):
    _expected = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _count(num_features, "num_features", name)
        V.number_in("eps", eps, 0.0, low_open=True, where=name)
        if momentum is not None:
            V.number_in("momentum", momentum, 0.0, 1.0, where=name)
        V.flag("affine", affine, where=name)
        V.flag("track_running_stats", track_running_stats, where=name)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_empty((num_features,), device, dtype))
            self.bias = Parameter(_empty((num_features,), device, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _empty((num_features,), device, dtype))
            self.register_buffer("running_var", _empty((num_features,), device, dtype))
            count = backend.to_device(np.zeros((), dtype=np.int64), backend.resolve_device(device))
            self.register_buffer("num_batches_tracked", Tensor._wrap(count))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running stats, and weight = 1, bias = 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}"
            )
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: input has {input.shape[1]} channels (dimension 1 of shape "
                f"{tuple(input.shape)}) but num_features={self.num_features}"
            )
        if self.training and input.numel() // input.shape[1] <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{tuple(input.shape)}"
            )
        # PyTorch's logic: momentum None means a cumulative average over num_batches_tracked
        factor = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats
        if counting and self.momentum is None:
            factor = 1.0 / (float(self.num_batches_tracked.item()) + 1.0)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )
        if counting:  # counted only once the batch has passed every check (as PyTorch)
            self.num_batches_tracked.array[...] += 1
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L), exactly PyTorch's train/eval behaviour."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(
                f"BatchNorm1d: expected 2D or 3D input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, exactly PyTorch's train/eval behaviour."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(
                f"BatchNorm2d: expected 4D input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation with statistics over the global batch: every rank's samples.

    As ``torch.nn.SyncBatchNorm``: in training under a process group of several ranks the
    batch mean and variance (per channel, over N and the spatial dimensions) are summed over
    all ranks (two all-reduces per layer, differentiable, so backward sums the ranks'
    statistics gradients too), and the running statistics follow the global batch. In
    evaluation, or without a process group, it is a BatchNorm for any input of shape (N, C, ...).
    ``convert_sync_batchnorm`` swaps a model's BatchNorm layers for it.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
    ) -> None:
        if process_group is not None:
            raise ValueError("only the default process group is supported (process_group=None)")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(
                f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input of shape "
                f"{tuple(input.shape)})"
            )

    def forward(self, input: Tensor) -> Tensor:
        from .. import distributed as dist

        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        if not isinstance(input, Tensor):
            raise TypeError(f"SyncBatchNorm: input must be a Tensor, got {type(input).__name__}")
        self._check_input_dim(input)
        c = self.num_features
        if input.shape[1] != c:
            raise ValueError(
                f"SyncBatchNorm: input has {input.shape[1]} channels (dimension 1 of shape "
                f"{tuple(input.shape)}) but num_features={c}"
            )
        counts = Tensor([float(input.numel() // c)], dtype=np.float64)
        dist.all_reduce(counts)
        n = counts.item()
        if n <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{tuple(input.shape)} on this rank and {n:g} values per channel in all"
            )
        dims = (0, *range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        # two passes (mean, then centred squares): as stable as the local BatchNorm
        mean = dist.differentiable_all_reduce(input.sum(dim=dims)) / n
        centred = input - mean.reshape(shape)
        var = dist.differentiable_all_reduce((centred * centred).sum(dim=dims)) / n
        out = centred / (var.reshape(shape) + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            if self.momentum is None:  # a cumulative average, as PyTorch
                factor = 1.0 / (float(self.num_batches_tracked.item()) + 1.0)
            else:
                factor = self.momentum
            rm, rv = self.running_mean, self.running_var
            new_mean = (1 - factor) * rm.array + factor * mean.array
            new_var = (1 - factor) * rv.array + factor * var.array * (n / (n - 1))
            rm.array[...] = new_mean.astype(rm.dtype, copy=False)
            rv.array[...] = new_var.astype(rv.dtype, copy=False)
            self.num_batches_tracked.array[...] += 1
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its state."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            # the same Parameter and buffer objects: optimizers built earlier keep working
            sync._parameters.update(module._parameters)
            sync._buffers.update(module._buffers)
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return module
