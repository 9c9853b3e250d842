"""``torch.backends.cudnn``'s flags, accepted for compatibility; tinygrad_mom does not use cuDNN.

CuPy's kernels are deterministic for the ops this library uses except scatter-add (atomics),
whatever ``deterministic`` says; ``benchmark`` has nothing to tune.
"""

from __future__ import annotations

import contextlib

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True


def is_available() -> bool:
    """False: no cuDNN is used (convolutions are im2col + matmul on NumPy or CuPy)."""
    return False


def version() -> None:
    """None, as PyTorch reports when cuDNN is not available."""
    return None


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, deterministic: bool = False,
          allow_tf32: bool = True):
    """Set the flags for a block and restore them afterwards, as ``torch.backends.cudnn.flags``."""
    module = globals()
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {name: module[name] for name in names}
    module.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic,
                  allow_tf32=allow_tf32)
    try:
        yield
    finally:
        module.update(saved)
