"""``tm.onnx``: present so ``import torch.onnx`` lines port; exporting is not implemented.

pytorch/examples' word_language_model imports ``torch.onnx`` at the top and exports only when
asked (``--onnx-export``); :func:`export` raises ``NotImplementedError`` naming the reason.
"""

from __future__ import annotations

__all__ = ["export"]


def export(model, args=(), f=None, *unused_args, **unused_kwargs):
    """Not implemented: this library has no ONNX exporter (save the ``state_dict`` instead)."""
    raise NotImplementedError(
        "tm.onnx.export: exporting to ONNX is not implemented in tinygrad_mom; save "
        "model.state_dict() with tm.save and rebuild the model in PyTorch to export it there"
    )
