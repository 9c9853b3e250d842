"""``torch.backends.mps``: Apple's Metal backend does not exist here."""


def is_available() -> bool:
    """False: tinygrad_mom has no Metal (MPS) backend."""
    return False


def is_built() -> bool:
    """False: tinygrad_mom has no Metal (MPS) backend."""
    return False
