"""RemovableHandle: what ``Module.register_forward_hook`` and friends return."""

from __future__ import annotations

from ..tensor import RemovableHandle as _TensorHandle


class RemovableHandle(_TensorHandle):
    """Removes its hook from the registry it was added to: ``handle.remove()`` or ``with``.

    ``extra`` are sets of per-hook flags (``with_kwargs``) that forget the hook's id as well.
    """

    def __init__(self, hooks_dict: dict, *extra: set) -> None:
        super().__init__(hooks_dict)
        self.extra = extra

    def remove(self) -> None:
        """Unregister the hook; removing twice is a no-op, as in PyTorch."""
        super().remove()
        for flags in self.extra:
            flags.discard(self.id)
