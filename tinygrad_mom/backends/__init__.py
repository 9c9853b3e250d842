"""``torch.backends`` flags that PyTorch scripts set: accepted, and documented as having no effect.

tinygrad_mom runs on NumPy or CuPy, not cuDNN or Metal: ``cudnn.benchmark``,
``cudnn.deterministic``, ``cudnn.enabled`` and ``cuda.matmul.allow_tf32`` are plain attributes a
script may set and read back; ``mps.is_available()`` is False.
"""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
