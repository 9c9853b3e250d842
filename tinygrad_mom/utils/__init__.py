"""PyTorch's ``torch.utils`` spellings: ``tm.utils.data`` (the same objects as ``tm.data``) and
``tm.utils.hooks`` (the handle that ``register_forward_hook`` returns)."""

from . import data, hooks

__all__ = ["data", "hooks"]
