"""``tm.compile``: PyTorch 2's ``torch.compile`` call, accepted so scripts that use it run.

There is no graph compiler in this library: the function or module comes back unchanged (also
when used as a decorator, with or without arguments). The arguments are checked for their
types only.
"""

from __future__ import annotations

from . import _validation as V

__all__ = ["compile"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable: bool = False):
    """Return ``model`` unchanged (``torch.compile(model)``); ``@tm.compile(...)`` works too."""
    V.flag("fullgraph", fullgraph, where="compile")
    V.flag("disable", disable, where="compile")
    if mode is not None and not isinstance(mode, str):
        raise TypeError(f"compile: mode must be a str or None, got {type(mode).__name__}")
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if not callable(model):
        raise TypeError(
            f"compile: model must be a callable or a Module, got {type(model).__name__}"
        )
    return model
