"""``Module.register_full_backward_hook``: see a module's gradients as PyTorch shows them.

``hook(module, grad_input, grad_output)`` runs once per backward through a call of the
module, when the gradients with respect to its tensor inputs are known; it may return a tuple
that replaces ``grad_input``. As in PyTorch this works by routing the call's tensor inputs and
outputs through identity nodes: the output nodes collect ``grad_output`` on the way back, the
input nodes collect ``grad_input`` and fire the hooks once the last one arrives. An input that
needs no gradient (the data entering the first layer) appears as None, and then the hooks
fire as soon as the output gradients are complete.
"""

from __future__ import annotations

from ..tensor import Function, Tensor, _wrap_grad


class _CallRecord:
    """The gradients of one module call, gathered by its identity nodes."""

    def __init__(self, module, hooks: list, n_inputs: int, n_outputs: int, pending_inputs: int):
        self.module, self.hooks = module, hooks
        self.grad_inputs = [None] * n_inputs
        self.grad_outputs = [None] * n_outputs
        self.pending_inputs = pending_inputs
        self.pending_outputs = n_outputs
        self.fired = False

    def fire(self, create_graph: bool):
        """Run the hooks; returns the (possibly replaced) grad_input tuple."""
        self.fired = True
        grad_inputs = tuple(None if g is None else _wrap_grad(g, create_graph)
                            for g in self.grad_inputs)
        grad_outputs = tuple(None if g is None else _wrap_grad(g, create_graph)
                             for g in self.grad_outputs)
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, grad_outputs)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grad_inputs):
                    raise RuntimeError(
                        f"backward hook of {type(self.module).__name__} returned "
                        f"{len(result)} gradients, expected {len(grad_inputs)} (one per input)"
                    )
                grad_inputs = result
        return grad_inputs


class _OutputGrad(Function):
    """Identity on an output of the hooked call; records that output's gradient."""

    def forward(self, x, record, index):
        self.record, self.index = record, index
        return x

    def backward(self, gy):
        record = self.record
        record.grad_outputs[self.index] = gy
        record.pending_outputs -= 1
        if record.pending_outputs == 0 and record.pending_inputs == 0 and not record.fired:
            record.fire(isinstance(gy, Tensor))
        return gy


class _InputGrad(Function):
    """Identity on an input of the hooked call; the last one to see its gradient fires."""

    def forward(self, x, record, index):
        self.record, self.index = record, index
        return x

    def backward(self, gy):
        record = self.record
        record.grad_inputs[self.index] = gy
        record.pending_inputs -= 1
        if record.pending_inputs or record.fired:
            return gy
        replaced = record.fire(isinstance(gy, Tensor))[self.index]
        if replaced is None:
            return None
        # earlier inputs' gradients have already flowed on; this input's can still be replaced
        return replaced if isinstance(gy, Tensor) else replaced.array


def call_with_backward_hooks(module, hooks: list, args: tuple, run):
    """``run(*args)`` with the tensor inputs and outputs routed through identity nodes."""
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    needing = [i for i in positions if args[i].requires_grad]
    record = _CallRecord(module, hooks, len(positions), 0, len(needing))
    wrapped = list(args)
    for k, i in enumerate(positions):
        if args[i].requires_grad:
            wrapped[i] = _InputGrad.apply(args[i], record=record, index=k)
    output = run(*wrapped)
    single = isinstance(output, Tensor)
    outputs = [output] if single else list(output) if isinstance(output, (tuple, list)) else []
    tensor_slots = [j for j, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
    record.grad_outputs = [None] * len(tensor_slots)
    record.pending_outputs = len(tensor_slots)
    for k, j in enumerate(tensor_slots):
        outputs[j] = _OutputGrad.apply(outputs[j], record=record, index=k)
    if single:
        return outputs[0]
    if isinstance(output, tuple):
        return type(output)(outputs) if type(output) is tuple else type(output)(*outputs)
    if isinstance(output, list):
        return outputs
    return output
