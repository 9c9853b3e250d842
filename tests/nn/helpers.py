"""Test helpers: gradcheck and gradgradcheck a module w.r.t. its inputs and its parameters."""

import tinygrad_mom as tm


def gradcheck_module(module, *inputs, before=None, **kwargs):
    """Gradcheck and gradgradcheck ``module(*inputs)`` in float64 w.r.t. every input and every
    parameter (first and second derivatives).

    The parameters are swapped for gradcheck's float64 leaves during the check, then restored.
    ``before`` runs at the start of every evaluation (e.g. to reseed dropout's mask).
    """
    module.double()
    named = list(module.named_parameters())
    saved = {name: p for name, p in named}

    def put(name, value):
        owner, _, leaf = name.rpartition(".")
        module.get_submodule(owner)._parameters[leaf] = value

    def fn(*args):
        if before is not None:
            before()
        xs, ps = args[: len(inputs)], args[len(inputs) :]
        for (name, _), p in zip(named, ps, strict=True):
            put(name, p)
        return module(*xs)

    leaves = [tm.Tensor(p.array, requires_grad=True) for _, p in named]
    try:
        return tm.gradcheck(fn, [*inputs, *leaves], **kwargs) and tm.gradgradcheck(
            fn, [*inputs, *leaves], **kwargs
        )
    finally:
        for name, p in saved.items():
            put(name, p)


def check_twice(fn, inputs, **kwargs):
    """gradcheck and gradgradcheck of ``fn`` at ``inputs``: first and second derivatives."""
    assert tm.gradcheck(fn, inputs, **kwargs)
    assert tm.gradgradcheck(fn, inputs, **kwargs)
    return True
