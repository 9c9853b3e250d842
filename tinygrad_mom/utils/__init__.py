"""PyTorch's ``torch.utils`` spellings: ``tinygrad_mom.utils.tensorboard`` (SummaryWriter)."""
