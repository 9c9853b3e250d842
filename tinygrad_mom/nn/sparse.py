"""``nn.Embedding`` and ``F.embedding``: a lookup table indexed by integer tensors."""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..backend import get_array_module
from ..primitives import ScaleGrad
from ..tensor import Tensor, _bump_version
from . import init
from .functional import _check_tensor
from .layers import _empty
from .module import Module, Parameter

__all__ = ["Embedding", "embedding"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: shape ``input.shape + (dim,)``.

    As PyTorch: the rows at ``padding_idx`` get no gradient; with ``max_norm`` the rows that
    ``input`` looks up and whose ``norm_type``-norm exceeds it are first scaled in place (not
    recorded by autograd) to norm ``max_norm`` (by max_norm / (norm + 1e-7)); with
    ``scale_grad_by_freq`` each row's gradient is divided by how often ``input`` holds it.
    ``sparse=True`` (sparse gradients) is not supported: ValueError.
    """
    _check_tensor(input, "embedding")
    _check_tensor(weight, "embedding", "weight")
    if input.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: input must hold integer indices (tm.long), got dtype {input.dtype}"
        )
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    max_norm, norm_type, scale_grad_by_freq = _check_options(
        max_norm, norm_type, scale_grad_by_freq, sparse, "embedding")
    n = weight.shape[0]
    if input.numel():
        arr = input.array
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings")
    if padding_idx is not None:
        padding_idx = _padding_index(padding_idx, n, "embedding")
    xp = get_array_module(weight.array)
    if max_norm is not None and input.numel():
        _renorm_rows(weight, xp.unique(input.array), max_norm, norm_type)
    if padding_idx is not None:
        keep = xp.ones((n, 1), dtype=weight.dtype)
        keep[padding_idx] = 0
        # values unchanged, gradient zero for the padding row; nothing saves the weight, so a
        # later max_norm renorm of it does not invalidate this graph (as in PyTorch)
        weight = ScaleGrad.apply(weight, scale=keep)
    out = weight[input]
    if scale_grad_by_freq and out.requires_grad and input.numel():
        idx = input.array.astype(np.int64).reshape(-1)
        counts = xp.bincount(idx, minlength=n)[idx].reshape(tuple(input.shape) + (1,))
        out = ScaleGrad.apply(out, scale=(1.0 / counts).astype(weight.dtype))
    return out


def _check_options(max_norm, norm_type, scale_grad_by_freq, sparse, where: str) -> tuple:
    if max_norm is not None:
        max_norm = V.number_in("max_norm", max_norm, 0.0, allow_inf=True, where=where)
    norm_type = V.number_in("norm_type", norm_type, 0.0, low_open=True, allow_inf=True,
                            where=where)
    scale_grad_by_freq = V.flag("scale_grad_by_freq", scale_grad_by_freq, where=where)
    if V.flag("sparse", sparse, where=where):
        raise ValueError(f"{where}: sparse=True (sparse gradients) is not supported here; "
                         "use sparse=False (the gradient is a dense tensor)")
    return max_norm, norm_type, scale_grad_by_freq


def _renorm_rows(weight: Tensor, rows, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: rows of ``weight`` whose norm exceeds ``max_norm`` scaled
    in place (outside autograd; the write counts as a modification for saved tensors)."""
    xp = get_array_module(weight.array)
    picked = weight.array[rows]
    if norm_type == float("inf"):
        norms = xp.abs(picked).max(axis=1)
    else:
        norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    if bool(over.any()):
        scale = (max_norm / (norms[over] + 1e-7)).astype(weight.dtype)
        weight.array[rows[over]] = picked[over] * scale[:, None]
        _bump_version(weight.array)


def _padding_index(padding_idx, num_embeddings: int, where: str) -> int:
    padding_idx = V.int_in("padding_idx", padding_idx, -num_embeddings, num_embeddings - 1,
                           where=where)
    return padding_idx % num_embeddings


class Embedding(Module):
    """``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
    norm_type=2.0, scale_grad_by_freq=False)`` (see :func:`embedding`); weight ~ N(0, 1) with
    the padding row zeroed, as PyTorch initialises it."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_embeddings = V.int_at_least("num_embeddings", num_embeddings, 1,
                                             where="Embedding")
        self.embedding_dim = V.int_at_least("embedding_dim", embedding_dim, 1,
                                            where="Embedding")
        self.padding_idx = (None if padding_idx is None
                            else _padding_index(padding_idx, num_embeddings, "Embedding"))
        max_norm, norm_type, scale_grad_by_freq = _check_options(
            max_norm, norm_type, scale_grad_by_freq, sparse, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(_empty((num_embeddings, embedding_dim), device, dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                    f"{(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1), padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, **kwargs) -> Embedding:
        """An Embedding holding ``embeddings`` (2-D); frozen (no gradient) by default."""
        _check_tensor(embeddings, "Embedding.from_pretrained", "embeddings")
        if embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings,
                   _freeze=V.flag("freeze", freeze, where="Embedding.from_pretrained"),
                   **kwargs)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        return text
