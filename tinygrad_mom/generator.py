"""``tm.Generator``: PyTorch's explicit random stream, for the functions that take ``generator=``
(``random_split``, the samplers, ``DataLoader``).

A Generator owns a NumPy generator seeded by :meth:`manual_seed`, independent of the global one
``tm.manual_seed`` seeds. Index draws (splits, permutations, weighted sampling) are always made
on the host, whatever ``device`` says, so ``Generator(device="cuda")`` is accepted and draws the
same numbers as a CPU one. The streams are not PyTorch's (another algorithm), only as
reproducible.
"""

from __future__ import annotations

import numpy as np

from . import _validation as V
from . import backend

__all__ = ["Generator"]

_DEFAULT_SEED = 67280421310721  # torch.Generator().initial_seed()


class Generator:
    """``torch.Generator(device="cpu")`` with ``manual_seed`` (returns the generator, so
    ``Generator().manual_seed(42)`` chains), ``seed``, ``initial_seed`` and ``device``."""

    def __init__(self, device="cpu") -> None:
        self.device = backend.device(device)
        self._initial = _DEFAULT_SEED
        self._rng = np.random.default_rng(self._initial)

    def manual_seed(self, seed: int) -> Generator:
        seed = V.int_at_least("seed", seed, None, where="Generator.manual_seed")
        self._initial = int(seed)
        self._rng = np.random.default_rng(self._initial % 2**64)
        return self

    def seed(self) -> int:
        """Re-seed from fresh entropy and return the new seed."""
        self._initial = int(np.random.SeedSequence().entropy % 2**63)
        self._rng = np.random.default_rng(self._initial)
        return self._initial

    def initial_seed(self) -> int:
        return self._initial

    def get_state(self) -> dict:
        """The NumPy bit generator's state (a dict; PyTorch returns a byte tensor)."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self._rng.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"<tinygrad_mom.Generator device={self.device} initial_seed={self._initial}>"


def numpy_rng(generator, where: str):
    """The NumPy generator behind ``generator`` (a Generator, or None for the global one)."""
    if generator is None:
        return backend.rng("cpu")
    if not isinstance(generator, Generator):
        raise TypeError(
            f"{where}: generator must be a tm.Generator or None, got {type(generator).__name__}"
        )
    return generator._rng
