"""RemovableHandle: what ``Module.register_forward_hook`` and friends return."""

from __future__ import annotations

import itertools

_ids = itertools.count()


class RemovableHandle:
    """Removes its hook from the registry it was added to: ``handle.remove()`` or ``with``."""

    def __init__(self, hooks_dict: dict, *extra: set) -> None:
        self.hooks_dict = hooks_dict
        self.extra = extra  # registries of per-hook flags (with_kwargs) to clean up as well
        self.id = next(_ids)

    def remove(self) -> None:
        """Unregister the hook; removing twice is a no-op, as in PyTorch."""
        self.hooks_dict.pop(self.id, None)
        for flags in self.extra:
            flags.discard(self.id)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()
