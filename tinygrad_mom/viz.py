"""Pictures of the autograd graph: ``tm.viz.make_dot(loss)`` (torchviz's name and layout).

The graph is walked from an output back to the leaves, as ``backward`` walks it. Each op node
shows its PyTorch-style name (``MulBackward0``), its output's shape and dtype, and what it keeps
alive for backward (saved arrays and masks, in bytes) — where a training step's memory goes.
Leaves show their shape, dtype, the parameter name when ``params`` names them, and after a
backward the norm of their ``.grad``. The DOT text is built in pure Python; ``render`` draws
it through the ``graphviz`` package and Graphviz's ``dot`` program (the ``viz`` extra).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import numpy as np

from .backend import to_numpy
from .tensor import Function, Tensor, _node_of

__all__ = ["DotGraph", "make_dot"]

_INSTALL_HINT = (
    "pip install 'tinygrad_mom[viz]' for the graphviz package, and Graphviz's dot program "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
)


class DotGraph:
    """A graph as Graphviz DOT text: ``.source``, ``save(path)`` and ``render(path)``."""

    def __init__(self, source: str):
        self.source = source

    def __str__(self) -> str:
        return self.source

    def _repr_svg_(self) -> str | None:  # drawn inline in Jupyter when Graphviz is there
        try:
            import graphviz

            return graphviz.Source(self.source)._repr_image_svg_xml()
        except Exception:  # no package, no dot binary: the notebook shows the repr instead
            return None

    def save(self, path: str | os.PathLike) -> pathlib.Path:
        """Write the DOT text to ``path`` and return it."""
        path = pathlib.Path(path)
        path.write_text(self.source)
        return path

    def render(self, path: str | os.PathLike, format: str | None = None) -> pathlib.Path:
        """Draw the graph to ``path`` (``.svg``, ``.png``, ``.pdf``; or give ``format``).

        The DOT text is always written beside it (``path`` with suffix ``.dot``), so a missing
        Graphviz loses nothing: then RuntimeError says what to install.
        """
        path = pathlib.Path(path)
        fmt = format or path.suffix.lstrip(".") or "svg"
        if fmt not in ("svg", "png", "pdf", "jpg", "gif"):
            raise ValueError(
                f"render: format must be one of svg, png, pdf, jpg, gif; got {fmt!r}"
            )
        target = path if path.suffix else path.with_suffix("." + fmt)
        dot_path = self.save(target.with_suffix(".dot"))
        try:
            import graphviz
        except ImportError:
            raise RuntimeError(
                f"render needs the graphviz package; the DOT text was written to {dot_path}. "
                + _INSTALL_HINT
            ) from None
        try:
            data = graphviz.Source(self.source).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise RuntimeError(
                f"render needs Graphviz's dot program on PATH; the DOT text was written to "
                f"{dot_path}. " + _INSTALL_HINT
            ) from None
        target.write_bytes(data)
        return target


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _shape(shape) -> str:
    return str(tuple(int(s) for s in shape))


def _kept_alive(node: Function) -> tuple[int, int]:
    """(arrays, bytes) that ``node`` holds for its backward: saved inputs/outputs and masks."""
    seen, count, total = set(), 0, 0
    values = list(node.__dict__.get("saved", ()))
    values += [v for k, v in node.__dict__.items() if k != "saved"]
    for v in values:
        nbytes = getattr(v, "nbytes", None)
        if nbytes is None or isinstance(v, np.generic) or id(v) in seen or not v.ndim:
            continue
        seen.add(id(v))
        count += 1
        total += int(nbytes)
    return count, total


def make_dot(
    output: Tensor | tuple | list,
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = True,
    show_grads: bool = True,
) -> DotGraph:
    """The autograd graph behind ``output`` (a Tensor or several) as a :class:`DotGraph`.

    Args:
        output: the tensor(s) whose graph to draw, e.g. a loss before ``backward()`` (or
            after ``backward(retain_graph=True)``: a freed graph has no edges left to draw).
        params: names for leaves, e.g. ``dict(model.named_parameters())``.
        show_saved: annotate op nodes with the arrays they keep alive for backward.
        show_grads: annotate leaves with ``‖grad‖`` when a ``.grad`` exists.
    """
    outputs = [output] if isinstance(output, Tensor) else output
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    for o in outputs:
        if not isinstance(o, Tensor):
            raise TypeError(f"make_dot: output must be a Tensor or Tensors, got {type(o).__name__}")
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(
            "make_dot: params must map names to tensors, e.g. dict(model.named_parameters())"
        )
    names = {id(t): name for name, t in (params or {}).items()}
    ids: dict[int, str] = {}
    lines = [
        "digraph autograd {",
        '  graph [rankdir=TB, fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
    ]

    def node_id(node) -> str:
        return ids.setdefault(id(node), f"n{len(ids)}")

    def leaf_label(t: Tensor) -> str:
        head = names.get(id(t), "leaf")
        label = f"{head}\n{_shape(t.shape)} {t.dtype}"
        if show_grads and t.grad is not None:
            norm = float(np.sqrt((to_numpy(t.grad.array).astype(np.float64) ** 2).sum()))
            label += f"\n‖grad‖ = {norm:.4g}"
        return label

    # (node, its output's shape, its output's dtype), walked from the outputs to the leaves
    stack = []
    for k, o in enumerate(outputs):
        node = _node_of(o)
        out_id = f"out{k}"
        lines.append(f"  {out_id} [label={_quote(f'output {_shape(o.shape)} {o.dtype}')}, "
                     'fillcolor="#c6e5ff"];')
        if o.requires_grad:
            lines.append(f"  {node_id(node)} -> {out_id};")
            stack.append((node, o.shape, o.dtype))
    drawn = set()
    while stack:
        node, shape, dtype = stack.pop()
        if id(node) in drawn:
            continue
        drawn.add(id(node))
        nid = node_id(node)
        if isinstance(node, Tensor):
            lines.append(f"  {nid} [label={_quote(leaf_label(node))}, fillcolor=\"#d9f2d0\"];")
            continue
        label = f"{node.name()}\n{_shape(shape)} {dtype}"
        if show_saved:
            count, total = _kept_alive(node)
            if count:
                label += f"\nkeeps {count} array{'s' if count > 1 else ''}, {_bytes(total)}"
        parents = node.__dict__.get("parents")
        if parents is None:
            label += "\n(freed by backward)"
        lines.append(f"  {nid} [label={_quote(label)}, fillcolor=\"#eeeeee\"];")
        # an input's dtype is the output's, except across a cast (inputs are promoted first)
        in_dtype = node.__dict__.get("in_dtype", dtype)
        for parent, in_shape in zip(parents or (), node.__dict__.get("in_shapes", ())):
            if parent is None:
                continue
            lines.append(f"  {node_id(parent)} -> {nid};")
            stack.append((parent, in_shape, in_dtype))
    lines.append("}")
    return DotGraph("\n".join(lines) + "\n")
