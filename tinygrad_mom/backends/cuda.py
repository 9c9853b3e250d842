"""``torch.backends.cuda``'s ``matmul.allow_tf32`` flag, accepted; CuPy's matmul follows its own
settings (``CUPY_TF32``), so setting it changes nothing here."""

from __future__ import annotations


class _MatmulFlags:
    """Holds ``allow_tf32`` and ``allow_fp16_reduced_precision_reduction`` as plain attributes."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether CuPy (this library's CUDA backend) is installed."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None
