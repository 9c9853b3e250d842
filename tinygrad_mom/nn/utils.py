"""Gradient utilities (``tm.nn.utils``), as ``torch.nn.utils``."""
