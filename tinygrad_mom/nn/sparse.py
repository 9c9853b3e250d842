"""``nn.Embedding`` and ``F.embedding``: a lookup table indexed by integer tensors."""

from __future__ import annotations

from .. import _validation as V
from ..backend import get_array_module
from ..tensor import Tensor
from . import init
from .functional import _check_tensor
from .layers import _empty
from .module import Module, Parameter

__all__ = ["Embedding", "embedding"]


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: shape ``input.shape + (dim,)``.

    The rows at ``padding_idx`` get no gradient, as in PyTorch. ``max_norm``,
    ``scale_grad_by_freq`` and ``sparse`` are not supported (ValueError when used).
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
    for arg, value, off in (("max_norm", max_norm, None), ("scale_grad_by_freq",
                            scale_grad_by_freq, False), ("sparse", sparse, False)):
        if value is not off and value != off:
            raise ValueError(f"embedding: {arg}={value!r} is not supported here")
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
        keep = xp.ones((n, 1), dtype=weight.dtype)
        keep[padding_idx] = 0
        # values unchanged, gradient zero for the padding row: w·keep + stop_grad(w·(1−keep))
        weight = weight * Tensor._wrap(keep) + Tensor._wrap(weight.array * (1 - keep))
    return weight[input]


def _padding_index(padding_idx, num_embeddings: int, where: str) -> int:
    padding_idx = V.int_in("padding_idx", padding_idx, -num_embeddings, num_embeddings - 1,
                           where=where)
    return padding_idx % num_embeddings


class Embedding(Module):
    """``nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)``; weight ~ N(0, 1)
    with the padding row zeroed, as PyTorch initialises it."""

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
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError("Embedding: max_norm, scale_grad_by_freq and sparse are not "
                             "supported here")
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
        return embedding(input, self.weight, self.padding_idx)

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
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
