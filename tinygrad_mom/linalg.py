"""``tm.linalg``: PyTorch's ``torch.linalg`` norms (the decompositions are not implemented)."""

from __future__ import annotations

from .ops import linalg_norm as norm
from .ops import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]
