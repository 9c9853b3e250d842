"""``torch.nn.utils.rnn.pad_sequence``: variable-length sequences padded into one tensor.

``pack_padded_sequence`` / ``PackedSequence`` are not provided (the recurrent layers take
padded batches only)."""

from __future__ import annotations

from ... import _validation as V
from ... import ops
from ...tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shape (L_i, *) into (T, B, *) (``batch_first``: (B, T, *)), T the
    longest L_i, the rest filled with ``padding_value`` on ``padding_side``; differentiable."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(sequences):
        V.tensor_arg(f"sequences[{i}]", s, where="pad_sequence")
        if s.ndim == 0:
            raise ValueError(f"pad_sequence: sequences[{i}] is 0-d; each needs a length dimension")
        if tuple(s.shape[1:]) != tuple(sequences[0].shape[1:]):
            raise ValueError(
                f"pad_sequence: trailing dimensions must match, got {tuple(sequences[0].shape)} "
                f"and {tuple(s.shape)} (sequences[{i}])"
            )
    V.flag("batch_first", batch_first, where="pad_sequence")
    V.number_in("padding_value", padding_value, allow_inf=True, where="pad_sequence")
    V.one_of("padding_side", padding_side, ("right", "left"), where="pad_sequence")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        before, after = (0, extra) if padding_side == "right" else (extra, 0)
        padded.append(ops.pad(s, (0, 0) * (s.ndim - 1) + (before, after), value=padding_value))
    return ops.stack(padded, 0 if batch_first else 1)
