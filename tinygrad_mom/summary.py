"""A model summary in torchinfo's layout: per layer its output shape, parameters, mult-adds.

    from tinygrad_mom.summary import summary
    summary(model, input_size=(1, 3, 32, 32))

One forward pass on zeros of ``input_size`` (in eval mode, without a graph) records every
module call in order; the rows nest as the calls did. Mult-adds follow torchinfo's rule: a
convolution costs (weight + bias elements) × batch × output positions, any other layer with
parameters costs batch × its parameter count, a layer without parameters costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import creation
from .nn.layers import Conv2d
from .nn.module import Module
from .tensor import Tensor, float32, no_grad

__all__ = ["LayerInfo", "ModelStatistics", "summary"]

COLUMNS = {
    "output_size": "Output Shape",
    "num_params": "Param #",
    "mult_adds": "Mult-Adds",
}


@dataclass
class LayerInfo:
    """One module call: its class, nesting depth, index at that depth, output and costs."""

    module: Module
    depth: int
    depth_index: int
    output_size: list[int] | None = None
    output_bytes: int = 0
    is_leaf: bool = True  # no module call nested inside it
    children: list[LayerInfo] = field(default_factory=list, repr=False)

    @property
    def class_name(self) -> str:
        """The module's class name."""
        return type(self.module).__name__

    def own_params(self) -> int:
        """Elements of the parameters the module holds itself (not its children's)."""
        return sum(p.numel() for p in self.module.parameters(recurse=False))

    def own_mult_adds(self) -> int:
        """torchinfo's mult-adds of this call for the parameters the module holds itself."""
        params = self.own_params()
        if not params or not self.output_size:
            return 0
        batch = self.output_size[0]
        if isinstance(self.module, Conv2d):
            return params * batch * math.prod(self.output_size[2:])
        return params * batch

    def subtree(self):
        """This call and every call nested in it, depth first."""
        yield self
        for child in self.children:
            yield from child.subtree()


@dataclass
class ModelStatistics:
    """What :func:`summary` found; ``str()`` is the table."""

    layers: list[LayerInfo]
    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    params_bytes: int
    forward_backward_bytes: int
    col_names: tuple[str, ...]
    col_width: int
    depth: int

    def _cells(self, layer: LayerInfo) -> list[str]:
        shown_children = layer.depth < self.depth and layer.children
        # a row whose nested calls are hidden by ``depth`` carries their totals
        nodes = [layer] if shown_children else list(layer.subtree())
        params = sum(n.own_params() for n in nodes)
        mult_adds = sum(n.own_mult_adds() for n in nodes)
        cells = []
        for name in self.col_names:
            if name == "output_size":
                cells.append(str(layer.output_size) if layer.output_size is not None else "--")
            elif name == "num_params":
                cells.append(f"{params:,}" if params else "--")
            else:
                cells.append(f"{mult_adds:,}" if mult_adds else "--")
        return cells

    def __str__(self) -> str:
        name_width = 40
        width = name_width + self.col_width * len(self.col_names)
        rule = "=" * width
        header = "Layer (type:depth-idx)".ljust(name_width) + "".join(
            COLUMNS[c].ljust(self.col_width) for c in self.col_names
        )
        lines = [rule, header.rstrip(), rule]
        for layer in self.layers:
            if layer.depth > self.depth:
                continue
            if layer.depth == 0:
                name = layer.class_name
            else:
                prefix = "├─" if layer.depth == 1 else "│    " * (layer.depth - 1) + "└─"
                name = f"{prefix}{layer.class_name}: {layer.depth}-{layer.depth_index}"
            row = name.ljust(name_width) + "".join(
                c.ljust(self.col_width) for c in self._cells(layer)
            )
            lines.append(row.rstrip())
        mult_adds, unit = _readable(self.total_mult_adds)
        total_bytes = self.input_bytes + self.forward_backward_bytes + self.params_bytes
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.total_params - self.trainable_params:,}",
            f"Total mult-adds ({unit}): {mult_adds:.2f}",
            rule,
            f"Input size (MB): {self.input_bytes / 1e6:.2f}",
            f"Forward/backward pass size (MB): {self.forward_backward_bytes / 1e6:.2f}",
            f"Params size (MB): {self.params_bytes / 1e6:.2f}",
            f"Estimated Total Size (MB): {total_bytes / 1e6:.2f}",
            rule,
        ]
        return "\n".join(lines)


def _readable(count: int) -> tuple[float, str]:
    # torchinfo's units: millions unless the count reaches a billion or a trillion
    if count >= 1e12:
        return count / 1e12, "T"
    if count >= 1e9:
        return count / 1e9, "G"
    return count / 1e6, "M"


def summary(
    model: Module,
    input_size: Sequence[int] | None = None,
    input_data: Tensor | None = None,
    *,
    col_names: Sequence[str] = ("output_size", "num_params", "mult_adds"),
    col_width: int = 25,
    depth: int = 3,
    dtype=float32,
    device: str | None = None,
    verbose: int = 1,
) -> ModelStatistics:
    """Run ``model`` once and tabulate its layers, as ``torchinfo.summary``.

    Args:
        input_size: the input's shape, batch included, e.g. ``(1, 3, 32, 32)``; zeros of
            ``dtype`` on ``device`` (default: the model's) are fed. Or give ``input_data``.
        col_names: any of ``"output_size"``, ``"num_params"``, ``"mult_adds"``.
        depth: nesting depth shown; deeper layers are folded into the row above them.
        verbose: 1 prints the table, 0 only returns it.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    if (input_size is None) == (input_data is None):
        raise ValueError("summary: give exactly one of input_size and input_data")
    unknown = [c for c in col_names if c not in COLUMNS]
    if unknown or not col_names:
        raise ValueError(
            f"summary: col_names {tuple(col_names)} must be a non-empty selection of "
            f"{', '.join(COLUMNS)}"
        )
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"summary: depth must be an int >= 0, got {depth!r}")
    if input_data is None:
        shape = tuple(input_size)
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            raise ValueError(
                f"summary: input_size must be a shape of positive ints, got {input_size!r}"
            )
        params = list(model.parameters())
        device = device or (params[0].device if params else "cpu")
        input_data = creation.zeros(*shape, dtype=dtype, device=device)

    layers: list[LayerInfo] = []
    stack: list[LayerInfo] = []
    per_depth: dict[int, int] = {}

    def enter(module: Module, args) -> None:  # forward pre-hook: a layer's call begins
        depth_now = len(stack)
        per_depth[depth_now] = per_depth.get(depth_now, 0) + 1
        info = LayerInfo(module, depth_now, per_depth[depth_now])
        if stack:
            stack[-1].children.append(info)
            stack[-1].is_leaf = False
        layers.append(info)
        stack.append(info)

    def leave(module: Module, args, out) -> None:  # forward hook: that call has returned
        info = stack.pop()
        if isinstance(out, Tensor):
            info.output_size = list(out.shape)
            info.output_bytes = out.numel() * out.array.itemsize

    was_training = model.training
    # Record the calls of this one pass with forward hooks; the finally block removes them
    # all, so the model is left as it was (a user's own hooks still run, after ours begin).
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(enter, prepend=True))
        handles.append(module.register_forward_hook(leave))
    try:
        model.eval()
        with no_grad():
            model(input_data)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)

    all_params = list(model.parameters())
    stats = ModelStatistics(
        layers=layers,
        total_params=sum(p.numel() for p in all_params),
        trainable_params=sum(p.numel() for p in all_params if p.requires_grad),
        total_mult_adds=sum(layer.own_mult_adds() for layer in layers),
        input_bytes=input_data.numel() * input_data.array.itemsize,
        params_bytes=sum(p.numel() * p.array.itemsize for p in all_params),
        # outputs of the innermost layers, twice: once forward, once for their gradients
        forward_backward_bytes=2 * sum(layer.output_bytes for layer in layers if layer.is_leaf),
        col_names=tuple(col_names),
        col_width=col_width,
        depth=depth,
    )
    if verbose:
        print(stats)
    return stats
