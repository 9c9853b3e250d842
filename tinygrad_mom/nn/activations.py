"""The rest of PyTorch's activations, as functions (``F.gelu``, ``F.elu``, ...) and modules
(``nn.GELU``, ``nn.ELU``, ...), plus ``F.normalize`` and ``F.one_hot``.

Each is composed from existing differentiable ops (``where``, ``exp``/``expm1``/``log1p``,
``erf``, ``tanh``, ``sigmoid``, ``clamp``), so it is twice differentiable for free; branches that
could overflow are clamped before the exponential, so the branch ``where`` discards never makes
a NaN gradient. Gradients at the kinks follow PyTorch: ``hardtanh``/``relu6``/``hardsigmoid``
are flat at their boundaries, ``elu``/``celu``/``selu`` take the exponential branch at 0,
``prelu`` the weight branch at 0.
"""

from __future__ import annotations

import math

from .. import _validation as V
from .. import ops
from ..tensor import Tensor, _normalize_dim, is_floating
from .functional import _check_tensor, softmax
from .module import Module, Parameter

__all__ = [
    "CELU", "ELU", "GELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh",
    "LogSigmoid", "Mish", "PReLU", "ReLU6", "SELU", "SiLU", "Softmin", "Softplus", "Softshrink",
    "Softsign", "Tanhshrink", "Threshold",
    "celu", "elu", "gelu", "glu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "logsigmoid", "mish", "normalize", "one_hot", "prelu", "relu6", "selu", "silu", "softmin",
    "softplus", "softshrink", "softsign", "tanhshrink", "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(input, name: str) -> Tensor:
    _check_tensor(input, name)
    if not is_floating(input.dtype):
        raise TypeError(f"{name}: expected a floating point input, got dtype {input.dtype}")
    return input


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn) -> Tensor:
    """``fn(input)``, or written back into ``input`` (recorded, version-checked) for inplace."""
    V.flag("inplace", inplace, where=name)
    if inplace:
        return input._apply_inplace(f"{name}_", fn)
    return fn(input)


def _elu_core(x: Tensor, alpha: float, input_scale: float = 1.0) -> Tensor:
    # x > 0 keeps x; else alpha·(exp(x·s) − 1); the exponential sees only x ≤ 0 (no overflow)
    negative = ops.expm1(ops.clamp(x, max=0.0) * input_scale) * alpha
    return ops.where(x > 0, x, negative)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(exp(x) − 1)."""
    x = _float_input(input, "elu")
    alpha = V.finite_real("alpha", alpha, where="elu")
    return _maybe_inplace(x, inplace, "elu", lambda t: _elu_core(t, alpha))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale · elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    x = _float_input(input, "selu")
    return _maybe_inplace(x, inplace, "selu", lambda t: _elu_core(t, _SELU_ALPHA) * _SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha·(exp(x/alpha) − 1))."""
    x = _float_input(input, "celu")
    alpha = V.finite_real("alpha", alpha, where="celu")
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(x, inplace, "celu", lambda t: _elu_core(t, alpha, 1.0 / alpha))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate="none"``, with erf) or its tanh approximation (``"tanh"``)."""
    x = _float_input(input, "gelu")
    V.one_of("approximate", approximate, ("none", "tanh"), where="gelu")
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    return x * 0.5 * (ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·sigmoid(x) (swish)."""
    x = _float_input(input, "silu")
    return _maybe_inplace(x, inplace, "silu", lambda t: t * ops.sigmoid(t))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (PyTorch's rule)."""
    x = _float_input(input, "softplus")
    beta = V.finite_real("beta", beta, where="softplus")
    threshold = V.finite_real("threshold", threshold, where="softplus")
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    scaled = x * beta
    smooth = ops.log1p(ops.exp(ops.clamp(scaled, max=threshold))) * (1.0 / beta)
    return ops.where(scaled > threshold, x, smooth)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    x = _float_input(input, "mish")
    return _maybe_inplace(x, inplace, "mish", lambda t: t * ops.tanh(softplus(t)))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _float_input(input, "softsign")
    return x / (ops.abs(x) + 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), finite for any x (each exponential sees a non-positive argument)."""
    x = _float_input(input, "logsigmoid")
    negative = x - ops.log1p(ops.exp(ops.clamp(x, max=0.0)))
    positive = -ops.log1p(ops.exp(-ops.clamp(x, min=0.0)))
    return ops.where(x < 0, negative, positive)


def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x)."""
    x = _float_input(input, "tanhshrink")
    return x - ops.tanh(x)


def _hardtanh_core(x: Tensor, low: float, high: float) -> Tensor:
    # gradient 1 strictly inside (low, high) and 0 at and beyond the bounds, as PyTorch's
    inside = (x > low) & (x < high)
    return ops.where(inside, x, ops.clamp(x, low, high).detach())


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    x = _float_input(input, "hardtanh")
    low = V.finite_real("min_val", min_val, where="hardtanh")
    high = V.finite_real("max_val", max_val, where="hardtanh")
    if low > high:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    return _maybe_inplace(x, inplace, "hardtanh", lambda t: _hardtanh_core(t, low, high))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    x = _float_input(input, "relu6")
    return _maybe_inplace(x, inplace, "relu6", lambda t: _hardtanh_core(t, 0.0, 6.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    x = _float_input(input, "hardsigmoid")
    return _maybe_inplace(x, inplace, "hardsigmoid",
                          lambda t: _hardtanh_core(t + 3.0, 0.0, 6.0) * (1.0 / 6.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · relu6(x + 3) / 6."""
    x = _float_input(input, "hardswish")
    return _maybe_inplace(x, inplace, "hardswish",
                          lambda t: t * _hardtanh_core(t + 3.0, 0.0, 6.0) * (1.0 / 6.0))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x − lambd above lambd, x + lambd below −lambd, 0 between."""
    x = _float_input(input, "softshrink")
    lambd = V.number_in("lambd", lambd, 0.0, where="softshrink")
    return ops.where(x > lambd, x - lambd, ops.where(x < -lambd, x + lambd, x * 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    x = _float_input(input, "hardshrink")
    lambd = V.finite_real("lambd", lambd, where="hardshrink")
    return ops.where((x > lambd) | (x < -lambd), x, x * 0.0)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``."""
    _check_tensor(input, "threshold")
    threshold = V.number_in("threshold", threshold, allow_inf=True, where="threshold")
    value = V.number_in("value", value, allow_inf=True, where="threshold")
    return _maybe_inplace(input, inplace, "threshold",
                          lambda t: ops.where(t > threshold, t, value))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight·x, ``weight`` one value or one per channel (dimension 1)."""
    x = _float_input(input, "prelu")
    V.tensor_arg("weight", weight, where="prelu")
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-D or 1-D, got shape {tuple(weight.shape)}")
    count = weight.numel()
    channels = x.shape[1] if x.ndim >= 2 else 1
    if count != 1 and count != channels:
        raise ValueError(
            f"prelu: mismatch of parameter numbers and input channel size: weight has {count} "
            f"values, input {tuple(x.shape)} has {channels} channels"
        )
    w = weight.reshape((-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 and count > 1 else weight
    return ops.where(x > 0, x, x * w)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a · sigmoid(b), where a, b are the two halves of ``input`` along ``dim``."""
    x = _float_input(input, "glu")
    if x.ndim == 0:
        raise ValueError("glu: does not support scalars because halving size must be even")
    d = _normalize_dim(dim, x.ndim)
    size = x.shape[d]
    if size % 2:
        raise ValueError(f"glu: Halving dimension must be even, but dimension {d} is size {size}")
    a, b = ops.chunk(x, 2, dim)
    return a * ops.sigmoid(b)


def softmin(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """softmax(−x) along ``dim``."""
    _check_tensor(input, "softmin")
    if dtype is not None:
        input = input.type(dtype)
    return softmax(-input, dim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim`` (the norm kept as a size-1 dimension)."""
    x = _float_input(input, "normalize")
    eps = V.number_in("eps", eps, 0.0, where="normalize")
    denom = ops.clamp(ops.norm(x, p, dim, keepdim=True), min=eps)
    result = x / denom
    if out is not None:
        return ops._write_out(result, out, "normalize")
    return result


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows (a new last dimension); ``num_classes=-1`` takes max + 1."""
    V.tensor_arg("tensor", tensor, where="one_hot")
    if tensor.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot is only applicable to index tensor, got dtype {tensor.dtype}"
        )
    if not V.is_int(num_classes) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be an int >= -1, got {num_classes!r}")
    n = tensor.numel()
    if n and tensor.min().item() < 0:
        raise ValueError("one_hot: Class values must be non-negative.")
    if num_classes == -1:
        if n == 0:
            raise ValueError("one_hot: Can not infer total number of classes from empty tensor.")
        num_classes = int(tensor.max().item()) + 1
    elif n and tensor.max().item() >= num_classes:
        raise ValueError("one_hot: Class values must be smaller than num_classes.")
    from .. import creation

    classes = creation.arange(num_classes, device=tensor.device)
    return (tensor.detach().unsqueeze(-1) == classes).long()


# ----------------------------------------------------------------------------------------------
# modules


class _Activation(Module):
    """A module calling its functional form with the stored keyword options."""

    _fn = staticmethod(lambda input: input)
    _options: tuple = ()

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, **{k: getattr(self, k) for k in self._options})

    def extra_repr(self) -> str:
        parts = []
        for k in self._options:
            value = getattr(self, k)
            if k == "inplace":
                if value:
                    parts.append("inplace=True")
                continue
            parts.append(f"{k}={value!r}" if isinstance(value, str) else f"{k}={value}")
        return ", ".join(parts)


def _module(name: str, fn, options: tuple, doc: str, extra_repr=None):
    defaults = dict(options)

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        names = [k for k, _ in options]
        if len(args) > len(names):
            raise TypeError(f"{name}() takes at most {len(names)} arguments, got {len(args)}")
        values = dict(defaults)
        for k, v in zip(names, args):
            values[k] = v
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{name}() got an unexpected keyword argument {k!r}")
            values[k] = v
        if "inplace" in values:
            values["inplace"] = V.flag("inplace", values["inplace"], where=name)
        for k, v in values.items():
            setattr(self, k, v)

    cls = type(name, (_Activation,), {
        "__init__": __init__, "_fn": staticmethod(fn), "_options": tuple(k for k, _ in options),
        "__doc__": doc, "__module__": __name__,
    })
    if extra_repr is not None:
        cls.extra_repr = extra_repr
    return cls


ELU = _module("ELU", elu, (("alpha", 1.0), ("inplace", False)), "nn.ELU(alpha=1.0, inplace=False)")
SELU = _module("SELU", selu, (("inplace", False),), "nn.SELU(inplace=False)")
CELU = _module("CELU", celu, (("alpha", 1.0), ("inplace", False)),
               "nn.CELU(alpha=1.0, inplace=False)")
GELU = _module("GELU", gelu, (("approximate", "none"),), "nn.GELU(approximate='none')")
SiLU = _module("SiLU", silu, (("inplace", False),), "nn.SiLU(inplace=False)")
Mish = _module("Mish", mish, (("inplace", False),), "nn.Mish(inplace=False)")
Softplus = _module("Softplus", softplus, (("beta", 1.0), ("threshold", 20.0)),
                   "nn.Softplus(beta=1.0, threshold=20.0)")
Softsign = _module("Softsign", softsign, (), "nn.Softsign()")
LogSigmoid = _module("LogSigmoid", logsigmoid, (), "nn.LogSigmoid()")
Tanhshrink = _module("Tanhshrink", tanhshrink, (), "nn.Tanhshrink()")
Hardtanh = _module("Hardtanh", hardtanh, (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
                   "nn.Hardtanh(min_val=-1.0, max_val=1.0, inplace=False)")
ReLU6 = _module("ReLU6", relu6, (("inplace", False),), "nn.ReLU6(inplace=False)")
Hardsigmoid = _module("Hardsigmoid", hardsigmoid, (("inplace", False),),
                      "nn.Hardsigmoid(inplace=False)")
Hardswish = _module("Hardswish", hardswish, (("inplace", False),), "nn.Hardswish(inplace=False)")
Softshrink = _module("Softshrink", softshrink, (("lambd", 0.5),), "nn.Softshrink(lambd=0.5)",
                     lambda self: str(self.lambd))
Hardshrink = _module("Hardshrink", hardshrink, (("lambd", 0.5),), "nn.Hardshrink(lambd=0.5)",
                     lambda self: str(self.lambd))
GLU = _module("GLU", glu, (("dim", -1),), "nn.GLU(dim=-1)")
Softmin = _module("Softmin", softmin, (("dim", None),), "nn.Softmin(dim=None)")


class Threshold(Module):
    """nn.Threshold(threshold, value, inplace=False): x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        V.number_in("threshold", threshold, allow_inf=True, where="Threshold")
        V.number_in("value", value, allow_inf=True, where="Threshold")
        self.threshold, self.value = threshold, value
        self.inplace = V.flag("inplace", inplace, where="Threshold")

    def forward(self, input: Tensor) -> Tensor:
        return threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class PReLU(Module):
    """nn.PReLU(num_parameters=1, init=0.25): a learnt slope for x < 0 (one, or one per channel)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = V.int_at_least("num_parameters", num_parameters, 1, where="PReLU")
        init = V.finite_real("init", init, where="PReLU")
        from .. import creation

        self.weight = Parameter(creation.full((self.num_parameters,), init, dtype=dtype,
                                              device=device))
        self.init = init

    def forward(self, input: Tensor) -> Tensor:
        return prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
