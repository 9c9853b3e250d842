"""PyTorch's ``torch.utils`` spellings: ``tm.utils.data`` (the same objects as ``tm.data``),
``tm.utils.hooks`` (the handle that ``register_forward_hook`` returns) and
``tinygrad_mom.utils.tensorboard`` (SummaryWriter; imported on demand, as in PyTorch)."""

from . import data, hooks

__all__ = ["data", "hooks"]
