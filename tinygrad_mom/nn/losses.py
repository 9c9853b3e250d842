"""Loss functions and their module forms, with PyTorch's names, arguments and reductions.

Class-index losses validate their targets on the host before computing anything: a label
outside ``[0, C)`` is a ValueError naming it (NumPy would silently wrap ``-1`` to the last class),
float labels are a TypeError, mismatched or empty batches are ValueErrors.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _validation as V
from .. import backend, ops
from ..backend import get_array_module
from ..tensor import Function, Tensor, is_floating
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "PairwiseDistance",
    "SmoothL1Loss",
    "TripletMarginLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "pairwise_distance",
    "smooth_l1_loss",
    "triplet_margin_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_input(input, name: str) -> None:
    V.tensor_arg("input", input, name)
    if not is_floating(input.dtype):
        raise TypeError(f"{name}: input must be a floating point tensor, got dtype {input.dtype}")


def _check_target_tensor(target, input: Tensor, name: str) -> None:
    if not isinstance(target, Tensor):
        raise TypeError(f"{name}: target must be a Tensor, got {type(target).__name__}")
    if target.device != input.device:
        raise RuntimeError(
            f"{name}: target is on device {target.device} but input is on {input.device}; "
            "move one with .to(device)"
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


# ----------------------------------------------------------------------------------------------
# class-index losses: cross_entropy, nll_loss


def _check_class_weight(weight, n_classes: int, input: Tensor, name: str) -> None:
    if weight is None:
        return
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}: weight must be a Tensor or None, got {type(weight).__name__}")
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(
            f"{name}: weight must have shape ({n_classes},), one value per class, got "
            f"{tuple(weight.shape)}"
        )
    if weight.device != input.device:
        raise RuntimeError(
            f"{name}: weight is on device {weight.device} but input is on {input.device}"
        )


def _check_class_target(input: Tensor, target: Tensor, ignore_index: int, name: str) -> int:
    """Validate an index target against (N, C, d...) or (C,) input; return C."""
    if target.dtype.kind == "f":
        hint = "convert labels with target.long()"
        if name == "cross_entropy":  # float targets are class probabilities there
            hint += f", or give class probabilities of the input's shape {tuple(input.shape)}"
        raise TypeError(
            f"{name}: target must hold integer class indices (an int64 tensor), got dtype "
            f"{target.dtype} and shape {tuple(target.shape)}; {hint}"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {target.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have shape (N, C) or (C,), got a 0-d tensor")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(
                f"{name}: for an unbatched input of shape {tuple(input.shape)} the target must be "
                f"a 0-d tensor, got shape {tuple(target.shape)}"
            )
        n_classes = input.shape[0]
    else:
        if target.ndim != input.ndim - 1 or target.ndim == 0:
            raise ValueError(
                f"{name}: target of shape {tuple(target.shape)} does not fit input of shape "
                f"{tuple(input.shape)}; expected target shape {(input.shape[0], *input.shape[2:])}"
            )
        if target.shape[0] != input.shape[0]:
            raise ValueError(
                f"{name}: Expected input batch_size ({input.shape[0]}) to match target "
                f"batch_size ({target.shape[0]})"
            )
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):
            raise ValueError(
                f"{name}: target shape {tuple(target.shape)} does not match input shape "
                f"{tuple(input.shape)}; expected {(input.shape[0], *input.shape[2:])}"
            )
        if input.shape[0] == 0:
            raise ValueError(
                f"{name}: empty batch (input shape {tuple(input.shape)}); the loss is undefined"
            )
        n_classes = input.shape[1]
    if n_classes == 0:
        raise ValueError(f"{name}: input has 0 classes (shape {tuple(input.shape)})")
    labels = target.array
    valid = labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= n_classes))

    def message():
        first = labels[bad].reshape(-1)[0].item()
        return (
            f"{name}: Target {first} is out of bounds: class labels must be in [0, {n_classes}) "
            f"for C={n_classes} classes (or equal ignore_index={ignore_index})"
        )

    # on a GPU answered at the next sync (loss.item()), not by a sync of its own
    backend.check(bad.any(), ValueError, message)
    return n_classes


def _as_rows(logp: Tensor, target: Tensor) -> tuple[Tensor, object]:
    """(M, C) rows of log-probabilities and the matching (M,) label array."""
    if logp.ndim == 1:
        return ops.reshape(logp, 1, -1), target.array.reshape(1)
    if logp.ndim == 2:
        return logp, target.array
    # (N, C, d1, ...) -> (N·d1·..., C): classes last, one row per target element
    dims = (0, *range(2, logp.ndim), 1)
    return ops.reshape(ops.permute(logp, *dims), -1, logp.shape[1]), target.array.reshape(-1)


def _picked_nll(logp: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int):
    """Per-element ``-weight[y]·logp[y]`` (shaped like target) and ``Σ weight[y]`` over valid y."""
    rows, labels = _as_rows(logp, target)
    xp = get_array_module(rows.array)
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0).astype(np.int64)  # ignored rows read class 0, weighted 0
    picked = rows[xp.arange(rows.shape[0]), safe]
    w = (
        weight.array[safe].astype(logp.dtype)
        if weight is not None
        else xp.ones(safe.shape, logp.dtype)
    )
    w = w * valid
    loss = ops.reshape(-(picked * Tensor._wrap(w)), *target.shape)
    return loss, w.sum()


def _reduce_weighted(loss: Tensor, denominator, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    total = ops.sum(loss)
    if reduction == "sum":
        return total
    # PyTorch's weighted mean: divide by the summed weights of the (non-ignored) targets
    return total / Tensor._wrap(denominator)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    size_average=None, reduce=None, reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``.

    ``input`` is (N, C), (N, C, d1, ...) or (C,); ``target`` holds int labels in [0, C) (or
    ``ignore_index``). With ``weight``, 'mean' divides by the summed weights of the targets.
    """
    _check_input(input, "nll_loss")
    _check_target_tensor(target, input, "nll_loss")
    reduction = legacy_reduction(size_average, reduce, reduction, "nll_loss")
    _check_reduction(reduction, "nll_loss")
    n_classes = _check_class_target(input, target, ignore_index, "nll_loss")
    _check_class_weight(weight, n_classes, input, "nll_loss")
    loss, denominator = _picked_nll(input, target, weight, ignore_index)
    return _reduce_weighted(loss, denominator, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    size_average=None, reduce=None, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` and class indices (or class probabilities) ``target``.

    ``log_softmax`` then NLL, so logits of ±1e4 stay finite. Index targets: int labels in
    [0, C) of shape (N,) / (N, d1, ...); probability targets: floats shaped like ``input``.
    ``weight`` and ``label_smoothing`` combine exactly as in PyTorch: the smoothing term is
    ``-Σ_c weight_c·logp_c``, and under 'mean' both terms divide by ``Σ weight[y]``.
    """
    _check_input(input, "cross_entropy")
    _check_target_tensor(target, input, "cross_entropy")
    reduction = legacy_reduction(size_average, reduce, reduction, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    V.number_in("label_smoothing", label_smoothing, 0.0, 1.0, where="cross_entropy")
    V.int_at_least("ignore_index", ignore_index, None, where="cross_entropy")
    class_dim = 0 if input.ndim == 1 else 1
    if target.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape) and input.ndim >= 1:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim)
    n_classes = _check_class_target(input, target, ignore_index, "cross_entropy")
    _check_class_weight(weight, n_classes, input, "cross_entropy")
    logp = ops.log_softmax(input, class_dim)
    loss, denominator = _picked_nll(logp, target, weight, ignore_index)
    nll = _reduce_weighted(loss, denominator, reduction)
    if label_smoothing == 0.0:
        return nll
    # PyTorch's smoothing term: -Σ_c w_c·logp_c per element, zero where the target is ignored
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        logp = logp * ops.reshape(weight, *shape)
    smooth = -ops.sum(logp, class_dim)
    xp = get_array_module(input.array)
    valid = target.array != ignore_index
    # on the host, skip the mask when nothing is ignored; on a device, asking would be a sync
    if xp is not np or not bool(valid.all()):
        smooth = smooth * Tensor._wrap(valid.astype(input.dtype))
    if reduction == "mean":
        divisor = denominator if weight is not None else xp.asarray(valid.sum(), dtype=input.dtype)
        smooth = ops.sum(smooth) / Tensor._wrap(divisor)
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim) -> Tensor:
    """Cross-entropy against class probabilities (PyTorch's soft-target branch)."""
    if input.ndim >= 2 and input.shape[0] == 0:
        raise ValueError(
            f"cross_entropy: empty batch (input shape {tuple(input.shape)}); the loss is undefined"
        )
    n_classes = input.shape[class_dim]
    _check_class_weight(weight, n_classes, input, "cross_entropy")
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = ops.log_softmax(input, class_dim) * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        terms = terms * ops.reshape(weight, *shape)
    if reduction == "none":
        return -ops.sum(terms, class_dim)
    total = -ops.sum(terms)
    if reduction == "sum":
        return total
    return total * (n_classes / input.numel())  # mean over the batch elements, not the weights


# ----------------------------------------------------------------------------------------------
# regression losses


def _check_pair(input, target, name: str) -> tuple[Tensor, Tensor]:
    _check_input(input, name)
    _check_target_tensor(target, input, name)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"{name}: Using a target size ({tuple(target.shape)}) that is different to the input "
            f"size ({tuple(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
    return input, target


def mse_loss(input: Tensor, target: Tensor, *, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input − target)²``, reduced by ``reduction``."""
    reduction = legacy_reduction(size_average, reduce, reduction, "mse_loss")
    _check_reduction(reduction, "mse_loss")
    input, target = _check_pair(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target: Tensor, *, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input − target|``, reduced by ``reduction``."""
    reduction = legacy_reduction(size_average, reduce, reduction, "l1_loss")
    _check_reduction(reduction, "l1_loss")
    input, target = _check_pair(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction)


# ----------------------------------------------------------------------------------------------
# binary losses


def _clamped_log(x):
    """log(x) clamped to >= -100 as PyTorch's BCE does, without evaluating log(0).

    NumPy's vocabulary only, so it also runs on Tensors (a backward under create_graph)."""
    xp = get_array_module(x)
    positive = x > 0
    return xp.maximum(xp.where(positive, xp.log(xp.where(positive, x, 1)), -100), -100)


class BinaryCrossEntropyFunction(Function):
    """Elementwise ``-(t·log x + (1−t)·log(1−x))`` with logs clamped at -100 (PyTorch's rule)."""

    def forward(self, x, t):
        self.save_for_backward(x, t)
        out = -(t * _clamped_log(x) + (1 - t) * _clamped_log(1 - x))
        return out.astype(x.dtype, copy=False)

    def backward(self, gy):
        x, t = self.saved
        xp = get_array_module(gy)
        # PyTorch's backward: (x − t) / max(x(1−x), 1e-12), finite at x = 0 and x = 1
        gx = gy * (x - t) / xp.maximum((1 - x) * x, 1e-12) if self.needs_input_grad[0] else None
        gt = None
        if self.needs_input_grad[1]:  # rare (a learned target): the logs are recomputed
            gt = gy * (_clamped_log(1 - x) - _clamped_log(x))
        return gx, gt


def _check_binary(input, target, name: str) -> Tensor:
    _check_input(input, name)
    _check_target_tensor(target, input, name)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{name}: Target size ({tuple(target.shape)}) must be the same as input size "
            f"({tuple(input.shape)})"
        )
    if not is_floating(target.dtype):
        raise TypeError(
            f"{name}: target must be a floating point tensor of 0/1 values, got dtype "
            f"{target.dtype}"
        )
    return target.type(input.dtype)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, *, size_average=None,
    reduce=None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1]; logs are clamped at -100."""
    reduction = legacy_reduction(size_average, reduce, reduction, "binary_cross_entropy")
    _check_reduction(reduction, "binary_cross_entropy")
    target = _check_binary(input, target, "binary_cross_entropy")
    a = input.array
    backend.check(
        ((a < 0) | (a > 1)).any(),
        ValueError,
        lambda: "binary_cross_entropy: all elements of input should be between 0 and 1 (apply "
        "sigmoid, or use binary_cross_entropy_with_logits on raw scores)",
    )
    loss = BinaryCrossEntropyFunction.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class BCEWithLogitsFunction(Function):
    """Elementwise ``(1−t)·x + l·softplus(−x)``, ``l = 1 + (pos_weight−1)·t``: stable for any x.

    Backward saves only the inputs: softplus(−x) and ``l`` are recomputed where needed, so
    the formula is differentiable again under create_graph."""

    def forward(self, x, t, *pos_weight):
        xp = get_array_module(x)
        softplus_neg = xp.logaddexp(0, -x)  # log(1 + e^{-x}) without overflow
        if pos_weight:
            out = (1 - t) * x + ((pos_weight[0] - 1) * t + 1) * softplus_neg
        else:
            out = (1 - t) * x + softplus_neg
        self.save_for_backward(x, t, *pos_weight)
        return out

    def backward(self, gy):
        x, t, *pos_weight = self.saved
        pos_weight = pos_weight[0] if pos_weight else None
        xp = get_array_module(gy)
        gx = gt = gpw = None
        if self.needs_input_grad[0]:
            sigmoid_neg = xp.exp(-xp.logaddexp(0, x))  # sigmoid(-x), stable
            lw = 1 if pos_weight is None else (pos_weight - 1) * t + 1
            gx = gy * ((1 - t) - lw * sigmoid_neg)
        needs_pw = pos_weight is not None and self.needs_input_grad[2]
        if self.needs_input_grad[1] or needs_pw:
            softplus_neg = xp.logaddexp(0, -x)
            if self.needs_input_grad[1]:
                gt = -gy * x if pos_weight is None else gy * (-x + (pos_weight - 1) * softplus_neg)
            if needs_pw:
                gpw = gy * t * softplus_neg
        return (gx, gt) if pos_weight is None else (gx, gt, gpw)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    size_average=None, reduce=None, reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula (finite for any logit).

    ``pos_weight`` (broadcast against the last dimension, e.g. one value per class) scales the
    positive term; ``weight`` scales each element's loss.
    """
    reduction = legacy_reduction(size_average, reduce, reduction,
                                 "binary_cross_entropy_with_logits")
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _check_binary(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is not None:
        if not isinstance(pos_weight, Tensor):
            raise TypeError(
                "binary_cross_entropy_with_logits: pos_weight must be a Tensor, got "
                f"{type(pos_weight).__name__}"
            )
        try:
            shape = ops._broadcast_shape(tuple(pos_weight.shape), tuple(input.shape))
        except ValueError:
            shape = None
        if shape != tuple(input.shape):
            raise ValueError(
                f"binary_cross_entropy_with_logits: pos_weight of shape {tuple(pos_weight.shape)} "
                f"does not broadcast to the input shape {tuple(input.shape)}"
            )
        loss = BCEWithLogitsFunction.apply(input, target, pos_weight.type(input.dtype))
    else:
        loss = BCEWithLogitsFunction.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------------------------
# module forms


def legacy_reduction(size_average, reduce, reduction: str, where: str) -> str:
    """PyTorch's mapping of the deprecated ``size_average``/``reduce`` onto ``reduction``
    (either given: a DeprecationWarning; ``reduce=False`` → 'none', ``size_average=False`` →
    'sum', else 'mean')."""
    if size_average is None and reduce is None:
        return reduction
    for arg, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None:
            V.flag(arg, value, where=where)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    mapped = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(
        f"{where}: size_average and reduce are deprecated; use reduction={mapped!r} instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return mapped


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction, type(self).__name__)
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(
                f"{type(self).__name__}: weight must be a Tensor or None, got "
                f"{type(weight).__name__}"
            )
        self.register_buffer("weight", weight)  # a buffer, so it follows .to() and state_dict


class CrossEntropyLoss(_WeightedLoss):
    """Module form of :func:`cross_entropy`."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        size_average=None,
        reduce=None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        V.number_in("label_smoothing", label_smoothing, 0.0, 1.0, where="CrossEntropyLoss")
        V.int_at_least("ignore_index", ignore_index, None, where="CrossEntropyLoss")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Module form of :func:`nll_loss` (pair it with LogSoftmax)."""

    def __init__(
        self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean",
        size_average=None, reduce=None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class MSELoss(_Loss):
    """Module form of :func:`mse_loss`."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Module form of :func:`l1_loss`."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Module form of :func:`binary_cross_entropy` (inputs are probabilities)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Module form of :func:`binary_cross_entropy_with_logits` (inputs are logits)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
        size_average=None,
        reduce=None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            raise TypeError(
                "BCEWithLogitsLoss: pos_weight must be a Tensor or None, got "
                f"{type(pos_weight).__name__}"
            )
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


# ----------------------------------------------------------------------------------------------
# robust regression, divergence and metric-learning losses (composed: twice differentiable)


def _pair_loss(name, input, target, size_average, reduce, reduction):
    reduction = legacy_reduction(size_average, reduce, reduction, name)
    _check_reduction(reduction, name)
    input, target = _check_pair(input, target, name)
    return input, target, reduction


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5·d²/β where |d| < β, else |d| − 0.5β (d = input − target); β = 0 is L1."""
    input, target, reduction = _pair_loss("smooth_l1_loss", input, target, size_average, reduce,
                                          reduction)
    beta = V.number_in("beta", beta, 0.0, where="smooth_l1_loss")
    d = ops.abs(input - target)
    if beta == 0.0:
        return _reduce(d, reduction)
    quadratic = (d.array < beta)
    return _reduce(ops.where(Tensor._wrap(quadratic), 0.5 * d * d / beta, d - 0.5 * beta),
                   reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5·d² where |d| ≤ δ, else δ(|d| − 0.5δ)."""
    input, target, reduction = _pair_loss("huber_loss", input, target, None, None, reduction)
    delta = V.number_in("delta", delta, 0.0, low_open=True, where="huber_loss")
    d = ops.abs(input - target)
    quadratic = (d.array <= delta)
    return _reduce(ops.where(Tensor._wrap(quadratic), 0.5 * d * d, delta * (d - 0.5 * delta)),
                   reduction)


def _check_kl_reduction(reduction: str, where: str) -> None:
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(
            f"{where}: reduction must be 'none', 'mean', 'sum' or 'batchmean', got {reduction!r}"
        )


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback–Leibler divergence with ``input`` as log-probabilities: pointwise
    ``target·(log target − input)`` (0 where target = 0), or ``exp(t)·(t − input)`` with
    ``log_target``. Use ``reduction='batchmean'`` for the mathematical KL (sum / batch size);
    'mean' averages over every element, as PyTorch does (and warns about)."""
    name = "kl_div"
    reduction = legacy_reduction(size_average, reduce, reduction, name)
    _check_kl_reduction(reduction, name)
    V.flag("log_target", log_target, where=name)
    input, target = _check_pair(input, target, name)
    if log_target:
        pointwise = ops.exp(target) * (target - input)
    else:
        positive = Tensor._wrap(target.array > 0)
        safe = ops.where(positive, target, 1.0)  # log(1) = 0: the 0·log 0 = 0 convention
        pointwise = ops.where(positive, target * (ops.log(safe) - input), 0.0 * input)
    if reduction == "batchmean":
        total = ops.sum(pointwise)
        return total / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total by the number of elements, not the "
            "batch size; 'batchmean' gives the mathematical KL divergence",
            UserWarning,
            stacklevel=2,
        )
    return _reduce(pointwise, reduction)


def _p_norm(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    if p == 2.0:
        return ops.sqrt(ops.sum(x * x, dim, keepdim))
    if p == 1.0:
        return ops.sum(ops.abs(x), dim, keepdim)
    return ops.sum(ops.abs(x) ** p, dim, keepdim) ** (1.0 / p)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/max(‖x1‖, ε))·(x2/max(‖x2‖, ε)) along ``dim`` (broadcasting x1 against x2)."""
    V.tensor_arg("x1", x1, "cosine_similarity")
    V.tensor_arg("x2", x2, "cosine_similarity")
    eps = V.number_in("eps", eps, 0.0, where="cosine_similarity")
    n1 = ops.clamp(_p_norm(x1, 2.0, dim, True), min=eps)
    n2 = ops.clamp(_p_norm(x2, 2.0, dim, True), min=eps)
    return ops.sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + ε‖_p over the last dimension."""
    V.tensor_arg("x1", x1, "pairwise_distance")
    V.tensor_arg("x2", x2, "pairwise_distance")
    p = V.number_in("p", p, 0.0, low_open=True, where="pairwise_distance")
    eps = V.number_in("eps", eps, 0.0, where="pairwise_distance")
    return _p_norm(x1 - x2 + eps, p, -1, V.flag("keepdim", keepdim, where="pairwise_distance"))


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 − cos(x1, x2) where target = 1; max(0, cos(x1, x2) − margin) where target = −1."""
    name = "cosine_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, name)
    _check_reduction(reduction, name)
    V.tensor_arg("target", target, name)
    margin = V.number_in("margin", margin, -1.0, 1.0, where=name)
    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    positive = Tensor._wrap(target.array == 1)
    loss = ops.where(positive, 1 - cos, ops.clamp(cos - margin, min=0.0))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(d(a, p) − d(a, n) + margin, 0) with d the p-norm distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance (Balntas et al.)."""
    name = "triplet_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, name)
    _check_reduction(reduction, name)
    margin = V.number_in("margin", margin, 0.0, low_open=True, where=name)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if V.flag("swap", swap, where=name):
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(ops.clamp(d_pos - d_neg + margin, min=0.0), reduction)


class SmoothL1Loss(_Loss):
    """Module form of :func:`smooth_l1_loss`."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = V.number_in("beta", beta, 0.0, where="SmoothL1Loss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Module form of :func:`huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = V.number_in("delta", delta, 0.0, low_open=True, where="HuberLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """Module form of :func:`kl_div` (input: log-probabilities)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        reduction = legacy_reduction(size_average, reduce, reduction, "KLDivLoss")
        Module.__init__(self)
        _check_kl_reduction(reduction, "KLDivLoss")
        self.reduction = reduction
        self.log_target = V.flag("log_target", log_target, where="KLDivLoss")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    """Module form of :func:`cosine_embedding_loss`."""

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = V.number_in("margin", margin, -1.0, 1.0, where="CosineEmbeddingLoss")

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return cosine_embedding_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """Module form of :func:`triplet_margin_loss`."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        where = "TripletMarginLoss"
        self.margin = V.number_in("margin", margin, 0.0, low_open=True, where=where)
        self.p = V.number_in("p", p, 0.0, low_open=True, where=where)
        self.eps = V.number_in("eps", eps, 0.0, where=where)
        self.swap = V.flag("swap", swap, where=where)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                   self.swap, reduction=self.reduction)


class CosineSimilarity(Module):
    """``nn.CosineSimilarity(dim=1, eps=1e-8)``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``nn.PairwiseDistance(p=2.0, eps=1e-6, keepdim=False)``."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
