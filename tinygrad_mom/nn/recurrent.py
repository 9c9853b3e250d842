"""Recurrent layers with PyTorch's names, shapes, gate order and parameter names, so that a
PyTorch state_dict loads: ``RNN``, ``LSTM``, ``GRU`` and ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Built from the core ops (matmul, sigmoid, tanh, slicing, stack), hence differentiable to any
order. Per layer and direction the input projection ``x Wᵢₕᵀ + bᵢₕ`` is one matmul over the
whole sequence; only the recurrent ``h Wₕₕᵀ + bₕₕ`` runs step by step.

Cell equations (PyTorch's):
    RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)         (or relu)
    LSTM: i, f, g, o = chunks of W_ih x + b_ih + W_hh h + b_hh  (in that order)
          c' = σ(f)·c + σ(i)·tanh(g);  h' = σ(o)·tanh(c')
          with proj_size > 0: h' = W_hr (σ(o)·tanh(c')), h has proj_size features
    GRU:  r, z, n chunks; r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n)
          h' = (1 − z)·n + z·h     (x_* from W_ih x + b_ih, h_* from W_hh h + b_hh)
"""

from __future__ import annotations

import math

from .. import _validation as V
from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor, is_floating
from . import functional as F
from . import init
from .layers import _empty
from .module import Module, Parameter

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _chunk(t: Tensor, n: int) -> list[Tensor]:
    size = t.shape[-1] // n
    return [t[..., i * size:(i + 1) * size] for i in range(n)]


def _cell(mode: str, gx: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor,
          b_hh: Tensor | None, w_hr: Tensor | None = None):
    """One time step: ``gx`` is the input projection W_ih x + b_ih for this step; ``w_hr``
    the LSTM's output projection (``proj_size > 0``)."""
    gh = ops.matmul(h, ops.transpose(w_hh, 0, 1))
    if b_hh is not None:
        gh = gh + b_hh
    if mode == "RNN_TANH":
        return ops.tanh(gx + gh), None
    if mode == "RNN_RELU":
        return ops.relu(gx + gh), None
    if mode == "LSTM":
        i, f, g, o = _chunk(gx + gh, 4)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        if w_hr is not None:  # h = W_hr (o ⊙ tanh c): h has proj_size features
            h = ops.matmul(h, ops.transpose(w_hr, 0, 1))
        return h, c
    xr, xz, xn = _chunk(gx, 3)
    hr, hz, hn = _chunk(gh, 3)
    r = ops.sigmoid(xr + hr)
    z = ops.sigmoid(xz + hz)
    n = ops.tanh(xn + r * hn)
    return (1 - z) * n + z * h, None


def _uniform_by_hidden_size(module: Module) -> None:
    bound = 1.0 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _project(x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    out = ops.matmul(x, ops.transpose(w_ih, 0, 1))
    return out + b_ih if b_ih is not None else out


def _check_input(input, where: str, expected_features: int, dims: tuple) -> None:
    V.tensor_arg("input", input, where)
    if input.ndim not in dims:
        raise ValueError(
            f"{where}: expected input with {' or '.join(map(str, dims))} dimensions, got shape "
            f"{tuple(input.shape)}"
        )
    if input.shape[-1] != expected_features:
        raise ValueError(
            f"{where}: input has {input.shape[-1]} features (shape {tuple(input.shape)}), "
            f"expected input_size={expected_features}"
        )
    if not is_floating(input.dtype):
        raise TypeError(f"{where}: input must be floating point, got dtype {input.dtype}")


def _check_hidden(h, shape: tuple, where: str, arg: str, like: Tensor) -> None:
    V.tensor_arg(arg, h, where)
    if tuple(h.shape) != shape:
        raise ValueError(f"{where}: {arg} has shape {tuple(h.shape)}, expected {shape}")
    if h.dtype != like.dtype:
        raise TypeError(f"{where}: {arg} dtype {h.dtype} does not match input dtype {like.dtype}")


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (PyTorch's ``nn.RNNBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = V.int_at_least("input_size", input_size, 1, where=name)
        self.hidden_size = V.int_at_least("hidden_size", hidden_size, 1, where=name)
        self.num_layers = V.int_at_least("num_layers", num_layers, 1, where=name)
        self.bias = V.flag("bias", bias, where=name)
        self.batch_first = V.flag("batch_first", batch_first, where=name)
        self.dropout = V.number_in("dropout", dropout, 0.0, 1.0, where=name)
        self.bidirectional = V.flag("bidirectional", bidirectional, where=name)
        self.proj_size = V.int_at_least("proj_size", proj_size, 0, where=name)
        if self.proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported for LSTM, got "
                             f"proj_size={self.proj_size}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"{name}: proj_size has to be smaller than hidden_size, got "
                f"proj_size={self.proj_size} and hidden_size={self.hidden_size}"
            )
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        out_size = self.proj_size or hidden_size  # the size of h (PyTorch's real_hidden_size)
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [(f"weight_ih{suffix}", (gate_size, layer_input)),
                          (f"weight_hh{suffix}", (gate_size, out_size))]
                if bias:
                    shapes += [(f"bias_ih{suffix}", (gate_size,)),
                               (f"bias_hh{suffix}", (gate_size,))]
                if self.proj_size:
                    shapes.append((f"weight_hr{suffix}", (self.proj_size, hidden_size)))
                for pname, shape in shapes:
                    setattr(self, pname, Parameter(_empty(shape, device, dtype)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size), as PyTorch."""
        _uniform_by_hidden_size(self)

    def _weights(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (get(f"weight_ih{suffix}"), get(f"weight_hh{suffix}"), get(f"bias_ih{suffix}"),
                get(f"bias_hh{suffix}"), get(f"weight_hr{suffix}"))

    def forward(self, input: Tensor, hx=None):
        name = type(self).__name__
        _check_input(input, name, self.input_size, (2, 3))
        batched = input.ndim == 3
        if not batched:
            input = ops.unsqueeze(input, 1)
        elif self.batch_first:
            input = ops.transpose(input, 0, 1)
        steps, batch = input.shape[0], input.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: the input sequence is empty (length 0)")
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        h0, c0 = self._initial_state(hx, state_shape, batched, input, name)
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                projected = _project(layer_input, w_ih, b_ih)  # (steps, batch, gates)
                k = layer * directions + direction
                h, c = h0[k], (c0[k] if c0 is not None else None)
                seq = [None] * steps
                order = range(steps - 1, -1, -1) if direction else range(steps)
                for t in order:
                    h, c = _cell(self.mode, projected[t], h, c, w_hh, b_hh, w_hr)
                    seq[t] = h
                outputs.append(ops.stack(seq))
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else ops.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = ops.stack(h_n)
        c_n = ops.stack(c_n) if self.mode == "LSTM" else None
        if not batched:
            output = ops.squeeze(output, 1)
            h_n = ops.squeeze(h_n, 1)
            c_n = ops.squeeze(c_n, 1) if c_n is not None else None
        elif self.batch_first:
            output = ops.transpose(output, 0, 1)
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _initial_state(self, hx, shape: tuple, batched: bool, like: Tensor, where: str):
        # with proj_size, h has proj_size features and c hidden_size (PyTorch's shapes)
        h_shape = shape[:2] + (self.proj_size or shape[2],)

        def prepare(t, arg, full):
            _check_hidden(t, full if batched else (full[0], full[2]), where, arg, like)
            return t if batched else ops.unsqueeze(t, 1)

        if self.mode == "LSTM":
            if hx is None:
                return self._zeros(h_shape, like), self._zeros(shape, like)
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{where}: hx must be a tuple (h_0, c_0), got {V.describe(hx)}")
            return prepare(hx[0], "h_0", h_shape), prepare(hx[1], "c_0", shape)
        if hx is None:
            return self._zeros(shape, like), None
        return prepare(hx, "hx", shape), None

    @staticmethod
    def _zeros(shape: tuple, like: Tensor) -> Tensor:
        return Tensor._wrap(get_array_module(like.array).zeros(shape, dtype=like.dtype))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


class RNN(RNNBase):
    """Elman RNN: ``nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', ...)``;
    ``forward(input, h_0=None) -> (output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        self.nonlinearity = V.one_of("nonlinearity", nonlinearity, ("tanh", "relu"),
                                     where="RNN")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """``nn.LSTM(input_size, hidden_size, num_layers=1, ...)``;
    ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``. Gate order i, f, g, o.
    ``proj_size > 0`` adds ``weight_hr_l{k}`` (proj_size, hidden_size): h = W_hr (o ⊙ tanh c),
    so h_0/h_n and the output have proj_size features per direction, c hidden_size."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """``nn.GRU(input_size, hidden_size, num_layers=1, ...)``;
    ``forward(input, h_0=None) -> (output, h_n)``. Gate order r, z, n."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """Shared machinery of the single-step cells (PyTorch's ``nn.RNNCellBase``)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, device,
                 dtype) -> None:
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = V.int_at_least("input_size", input_size, 1, where=name)
        self.hidden_size = V.int_at_least("hidden_size", hidden_size, 1, where=name)
        self.bias = V.flag("bias", bias, where=name)
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(_empty((gate_size, input_size), device, dtype))
        self.weight_hh = Parameter(_empty((gate_size, hidden_size), device, dtype))
        if bias:
            self.bias_ih = Parameter(_empty((gate_size,), device, dtype))
            self.bias_hh = Parameter(_empty((gate_size,), device, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size), as PyTorch."""
        _uniform_by_hidden_size(self)

    def _step(self, input: Tensor, hx, with_cell: bool):
        name = type(self).__name__
        _check_input(input, name, self.input_size, (1, 2))
        batched = input.ndim == 2
        if not batched:
            input = ops.unsqueeze(input, 0)
        shape = (input.shape[0], self.hidden_size)
        expected = shape if batched else (self.hidden_size,)

        def state(t, arg):
            if t is None:
                return RNNBase._zeros(shape, input)
            _check_hidden(t, expected, name, arg, input)
            return t if batched else ops.unsqueeze(t, 0)

        if with_cell:
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: hx must be a tuple (h, c), got {V.describe(hx)}")
            h, c = (None, None) if hx is None else hx
            h, c = state(h, "h"), state(c, "c")
        else:
            h, c = state(hx, "hx"), None
        gx = _project(input, self.weight_ih, self.bias_ih)
        h, c = _cell(self.mode, gx, h, c, self.weight_hh, self.bias_hh)
        if not batched:
            h = ops.squeeze(h, 0)
            c = ops.squeeze(c, 0) if c is not None else None
        return (h, c) if with_cell else h

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """``nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``: h' = f(...)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        self.nonlinearity = V.one_of("nonlinearity", nonlinearity, ("tanh", "relu"),
                                     where="RNNCell")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, with_cell=False)


class LSTMCell(RNNCellBase):
    """``nn.LSTMCell(input_size, hidden_size, bias=True)``: ``forward(x, (h, c)) -> (h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx=None):
        return self._step(input, hx, with_cell=True)


class GRUCell(RNNCellBase):
    """``nn.GRUCell(input_size, hidden_size, bias=True)``: ``forward(x, h) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, with_cell=False)
