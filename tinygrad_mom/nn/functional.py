"""Stateless layer functions, as ``torch.nn.functional``.

``import tinygrad_mom.nn.functional as F`` works as ``import torch.nn.functional as F``.

Most are thin, validating wrappers over the core primitives (``tinygrad_mom.ops``,
``tinygrad_mom.conv``); batch normalisation is one primitive here (:class:`BatchNormFunction`)
because composing it from a dozen small ops would make every BatchNorm layer a dozen graph
nodes and arrays. The losses live in :mod:`tinygrad_mom.nn.losses` and are re-exported here.
"""

from __future__ import annotations

import warnings

from .. import _validation as V
from .. import backend, conv, ops
from ..backend import get_array_module
from ..ops import pad
from ..tensor import Function, Tensor, is_floating, no_grad
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cosine_similarity,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    pairwise_distance,
    smooth_l1_loss,
    triplet_margin_loss,
)

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "embedding",
    "flatten",
    "group_norm",
    "huber_loss",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "pad",
    "pairwise_distance",
    "relu",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
    "tanh",
    "triplet_margin_loss",
]


def _check_tensor(x, name: str, arg: str = "input") -> None:
    V.tensor_arg(arg, x, name)


def _check_same_dtype(name: str, input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch refuses an input whose dtype differs from the layer's; promoting silently would
    run a float32 model in float64 (or on integer data) without the user knowing."""
    _check_tensor(weight, name, "weight")
    for arg, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        _check_tensor(t, name, arg)
        if t.dtype != input.dtype:
            raise TypeError(
                f"{name}: input dtype {input.dtype} does not match {arg} dtype {t.dtype}; "
                f"cast the input (e.g. x.to({'tm.' + str(t.dtype)})) or the layer (.to(dtype))"
            )


# ----------------------------------------------------------------------------------------------
# linear and convolution


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dim; weight is (out_features, in_features)."""
    _check_tensor(input, "linear")
    _check_same_dtype("linear", input, weight, bias)
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}"
        )
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        got = input.shape[-1] if input.ndim else "no"
        raise ValueError(
            f"linear: input has {got} features in its last dimension (shape {tuple(input.shape)}) "
            f"but the layer expects in_features={weight.shape[1]}"
        )
    out = ops.matmul(input, ops.transpose(weight, 0, 1))
    if bias is not None:
        out = out + bias
    return out


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) over (N, C, H, W); ``groups`` must be 1."""
    if groups != 1:
        raise ValueError(f"conv2d: groups={groups} is not supported; only groups=1 is")
    _check_tensor(input, "conv2d")
    _check_same_dtype("conv2d", input, weight, bias)
    return conv.conv2d(input, weight, bias, stride, padding, dilation)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation) over (N, C, L); ``groups`` must be 1."""
    if groups != 1:
        raise ValueError(f"conv1d: groups={groups} is not supported; only groups=1 is")
    _check_tensor(input, "conv1d")
    _check_same_dtype("conv1d", input, weight, bias)
    return conv.conv1d(input, weight, bias, stride, padding, dilation)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution over (N, C_in, H, W) with weights (C_in, C_out, kh, kw);
    ``groups`` must be 1. The adjoint (input gradient) of conv2d with the same arguments."""
    if groups != 1:
        raise ValueError(f"conv_transpose2d: groups={groups} is not supported; only groups=1 is")
    _check_tensor(input, "conv_transpose2d")
    _check_same_dtype("conv_transpose2d", input, weight, bias)
    return conv.conv_transpose2d(input, weight, bias, stride, padding, output_padding, dilation)


def _check_pool_options(
    name: str, dilation=1, ceil_mode: bool = False, return_indices: bool = False
):
    if dilation not in (1, (1, 1)):
        raise ValueError(f"{name}: dilation={dilation!r} is not supported; only 1 is")
    V.flag("ceil_mode", ceil_mode, where=name)
    V.flag("return_indices", return_indices, where=name)
    if ceil_mode:
        raise ValueError(f"{name}: ceil_mode=True is not supported; output sizes are floored")
    if return_indices:
        raise ValueError(f"{name}: return_indices=True is not supported")


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max pooling over (N, C, H, W); ``stride`` defaults to ``kernel_size``; pads with -inf."""
    _check_pool_options("max_pool2d", dilation, ceil_mode, return_indices)
    return conv.max_pool2d(input, kernel_size, stride, padding)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Average pooling over (N, C, H, W) with ``count_include_pad`` and ``divisor_override``."""
    _check_pool_options("avg_pool2d", ceil_mode=ceil_mode)
    out = conv.avg_pool2d(input, kernel_size, stride, padding)
    kh, kw = conv._pair(kernel_size, "kernel_size")
    if divisor_override is not None:
        V.int_at_least("divisor_override", divisor_override, 1, where="avg_pool2d")
        return out * (kh * kw / divisor_override)
    if not count_include_pad and conv._pair(padding, "padding") != (0, 0):
        # divide each window's sum by how many of its cells are real input, not padding
        xp = get_array_module(input.array)
        ones = Tensor._wrap(xp.ones((1, 1, *input.shape[2:]), dtype=input.dtype))
        counts = conv.avg_pool2d(ones, kernel_size, stride, padding)  # fraction of real cells
        out = out / counts
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size, with PyTorch's window bounds.

    ``output_size`` is an int or an (H, W) pair whose entries may be None (keep that size).
    Output 1 (global pooling) is a mean; sizes that divide the input are one pooling op;
    other sizes use PyTorch's windows ``[floor(i·H/h), ceil((i+1)·H/h))``.
    """
    conv._check_input(input, "adaptive_avg_pool2d")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(
                f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}"
            )
        sizes = tuple(output_size)
    else:
        sizes = (output_size, output_size)
    h, w = input.shape[2:]
    sizes = tuple(s if s is not None else full for s, full in zip(sizes, (h, w), strict=True))
    for s in sizes:
        V.int_at_least("output_size", s, 1, where="adaptive_avg_pool2d")
    oh, ow = int(sizes[0]), int(sizes[1])
    if h == 0 or w == 0:
        raise ValueError(f"adaptive_avg_pool2d: input spatial size {(h, w)} must be non-empty")
    if (oh, ow) == (1, 1):
        return ops.mean(input, (2, 3), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return conv.avg_pool2d(input, (h // oh, w // ow))
    rows = []
    for i in range(oh):
        h0, h1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        cols = []
        for j in range(ow):
            w0, w1 = (j * w) // ow, -((-(j + 1) * w) // ow)
            cols.append(ops.mean(input[:, :, h0:h1, w0:w1], (2, 3)))
        rows.append(ops.stack(cols, dim=-1))
    return ops.stack(rows, dim=-2)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    return ops.flatten(input, start_dim, end_dim)


# ----------------------------------------------------------------------------------------------
# activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace=True`` overwrites ``input`` (``input.relu_()``) and returns it."""
    if inplace:
        _check_tensor(input, "relu")
        return input.relu_()
    return ops.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x; ``inplace=True`` overwrites ``input`` and returns it."""
    if inplace:
        _check_tensor(input, "leaky_relu")
        return input._apply_inplace("leaky_relu_", lambda t: ops.leaky_relu(t, negative_slope))
    return ops.leaky_relu(input, negative_slope)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return ops.tanh(input)


def _softmax_dim(name: str, ndim: int) -> int:
    # PyTorch's legacy rule for an omitted dim, with the same warning
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return ops.softmax(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (finite for logits of ±1e4)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    if dtype is not None:
        input = input.type(dtype)
    return ops.log_softmax(input, dim)


# ----------------------------------------------------------------------------------------------
# dropout


def _check_p(p, name: str = "dropout") -> float:
    if not V.is_real(p):
        raise TypeError(f"{name} probability must be a number, but got {V.describe(p)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} probability has to be between 0 and 1, but got {p!r}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The mask is drawn from the generator that ``tm.manual_seed`` seeds (on the input's
    device). Identity when ``training`` is False or ``p`` is 0. ``inplace=True`` multiplies
    ``input`` by the mask in place (``mul_``) and returns it.
    """
    _check_tensor(input, "dropout")
    p = _check_p(p)
    if not training or p == 0.0:
        return input
    if not is_floating(input.dtype):
        raise TypeError(f"dropout needs a floating point input, got dtype {input.dtype}")
    xp = get_array_module(input.array)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    with backend.device_context(input.device):  # CuPy draws on its current device
        keep = backend.rng(input.device).random(input.shape) >= p
        mask = xp.asarray(keep, dtype=input.dtype) * input.dtype.type(scale)
    return input.mul_(Tensor._wrap(mask)) if inplace else input * Tensor._wrap(mask)


# ----------------------------------------------------------------------------------------------
# batch normalisation


def _normalize(x, axes, eps, mean=None, var=None):
    """``(x̂, 1/sqrt(var + eps), mean, var)``: the batch's biased statistics over ``axes`` unless
    ``mean``/``var`` are given. Written in NumPy's vocabulary, so it runs on arrays (forward)
    and on Tensors (backward under create_graph, where x̂ must stay connected to x)."""
    xp = get_array_module(x)
    if mean is None:
        mean = xp.mean(x, axis=axes, keepdims=True)
        centered = x - mean
        var = xp.mean(centered * centered, axis=axes, keepdims=True)
    else:
        centered = x - mean
    # the module of var: running stats are arrays (constants) even when x is a Tensor
    inv_std = 1.0 / get_array_module(var).sqrt(var + eps)
    return centered * inv_std, inv_std, mean, var


class BatchNormFunction(Function):
    """y = (x − mean) / sqrt(var + eps) · weight + bias over ``axes`` (all but the channel axis).

    In training mode mean and var are the batch's (biased) statistics and the backward pass
    includes their dependence on x; in evaluation mode they are constants (running stats).
    x̂ and 1/σ are kept from forward for a first-order backward; under create_graph they are
    recomputed from the saved input by the same :func:`_normalize`, so they carry x's graph.
    """

    def forward(self, x, *affine, axes, shape, has_weight, has_bias, mean, var, eps):
        self.training = mean is None
        self.running = () if self.training else (mean.reshape(shape), var.reshape(shape))
        x_hat, inv_std, mean, var = _normalize(x, axes, eps, *self.running)
        out = x_hat * affine[0].reshape(shape) if has_weight else x_hat
        if has_bias:
            out = out + affine[-1].reshape(shape)
        self.save_for_backward(x, affine[0] if has_weight else None)
        self.x_hat, self.inv_std = x_hat, inv_std  # caches of functions of the saved x
        self.axes, self.shape, self.eps = axes, shape, eps
        self.has_weight, self.has_bias = has_weight, has_bias
        self.batch_mean, self.batch_var = mean, var  # F.batch_norm reads them for running stats
        return out

    def backward(self, gy):
        x, weight = self.saved
        axes = self.axes
        xp = get_array_module(gy)
        if isinstance(x, Tensor):  # create_graph: x̂ and 1/σ as functions of the graph's x
            x_hat, inv_std, _, _ = _normalize(x, axes, self.eps, *self.running)
        else:
            x_hat, inv_std = self.x_hat, self.inv_std
        grads = []
        if self.needs_input_grad[0]:
            g_hat = gy * weight.reshape(self.shape) if weight is not None else gy
            if self.training:
                # d/dx through mean and var: inv_std · (g − mean(g) − x̂ · mean(g · x̂))
                gx = inv_std * (
                    g_hat
                    - xp.mean(g_hat, axis=axes, keepdims=True)
                    - x_hat * xp.mean(g_hat * x_hat, axis=axes, keepdims=True)
                )
            else:
                gx = g_hat * inv_std
            grads.append(gx)
        else:
            grads.append(None)
        i = 1
        if self.has_weight:
            grads.append(xp.sum(gy * x_hat, axis=axes) if self.needs_input_grad[i] else None)
            i += 1
        if self.has_bias:
            grads.append(xp.sum(gy, axis=axes) if self.needs_input_grad[i] else None)
        return tuple(grads)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over dimension 1 (channels) of an (N, C, ...) input, as PyTorch.

    Training: normalise with the batch's biased variance, and update the running stats in
    place as ``running = (1 − momentum)·running + momentum·batch`` with the *unbiased* batch
    variance. Evaluation: normalise with ``running_mean``/``running_var``.
    """
    _check_tensor(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(
            f"batch_norm: input must have shape (N, C, ...), got shape {tuple(input.shape)}"
        )
    if not is_floating(input.dtype):
        raise TypeError(f"batch_norm needs a floating point input, got dtype {input.dtype}")
    if weight is not None:
        _check_same_dtype("batch_norm", input, weight, bias)
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"batch_norm: {name} has shape {tuple(t.shape)} but the input has {c} channels "
                f"(dimension 1 of shape {tuple(input.shape)}); expected ({c},)"
            )
    axes = (0,) + tuple(range(2, input.ndim))
    count = input.numel() // c if c else 0
    if training and count <= 1:
        raise ValueError(
            "Expected more than 1 value per channel when training, got input size "
            f"{tuple(input.shape)}"
        )
    if not training and (running_mean is None or running_var is None):
        raise ValueError(
            "batch_norm: running_mean and running_var are required when training=False"
        )
    shape = (1, c) + (1,) * (input.ndim - 2)
    affine = tuple(t for t in (weight, bias) if t is not None)
    out = BatchNormFunction.apply(
        input,
        *affine,
        axes=axes,
        shape=shape,
        has_weight=weight is not None,
        has_bias=bias is not None,
        mean=None if training else running_mean.array.astype(input.dtype, copy=False),
        var=None if training else running_var.array.astype(input.dtype, copy=False),
        eps=eps,
    )
    if training and (running_mean is not None or running_var is not None):
        # recompute the statistics only when no graph kept them (no_grad / no input grad)
        fn = out._ctx
        if fn is not None:
            batch_mean, batch_var = fn.batch_mean, fn.batch_var
            del fn.batch_mean, fn.batch_var  # the graph need not keep them alive
        else:
            batch_mean = input.array.mean(axis=axes, keepdims=True)
            centered = input.array - batch_mean
            batch_var = (centered * centered).mean(axis=axes, keepdims=True)
        with no_grad():
            if running_mean is not None:
                new = (1 - momentum) * running_mean.array + momentum * batch_mean.reshape(c)
                running_mean.array[...] = new.astype(running_mean.dtype, copy=False)
            if running_var is not None:
                unbiased = batch_var.reshape(c) * (count / (count - 1))
                new = (1 - momentum) * running_var.array + momentum * unbiased
                running_var.array[...] = new.astype(running_var.dtype, copy=False)
    return out


# Functional forms of layers that live in their own modules (they import this module's checks,
# so they are imported last).
from .normalization import group_norm, layer_norm  # noqa: E402
from .pooling1d import avg_pool1d, dropout2d, max_pool1d  # noqa: E402
from .sparse import embedding  # noqa: E402
from .upsampling import interpolate  # noqa: E402
