"""tinygrad_mom: a small deep-learning framework with reverse-mode autograd on NumPy or CuPy.

The public API follows PyTorch: ``tm.Tensor``, ``tm.nn``, ``tm.optim``, ``tm.no_grad`` ...
"""

from . import backend, data, nn, optim
from .backend import cuda_is_available, manual_seed
from .creation import (
    arange,
    empty,
    eye,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs,
    argmax,
    argmin,
    cat,
    clamp,
    clip,
    exp,
    flatten,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .serialization import load, save
from .tensor import (
    Function,
    Tensor,
    bool_,
    enable_grad,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    uint8,
)


class cuda:  # noqa: N801  (mirrors the ``torch.cuda`` namespace)
    """``tm.cuda.is_available()``, as ``torch.cuda.is_available()``."""

    is_available = staticmethod(cuda_is_available)


__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Tensor", "abs", "data", "nn", "optim", "arange", "argmax", "argmin", "backend",
    "bool_", "cat", "clamp", "clip", "cuda", "cuda_is_available", "empty", "enable_grad", "exp",
    "eye", "flatten", "float16", "float32", "float64", "full", "full_like", "gradcheck", "int8",
    "int16", "int32", "int64", "is_grad_enabled", "leaky_relu", "load", "log", "log_softmax",
    "logsumexp", "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "no_grad",
    "ones", "ones_like", "pad", "permute", "rand", "rand_like", "randint", "randn",
    "randn_like", "relu", "reshape", "save", "set_grad_enabled", "sigmoid", "softmax", "sqrt",
    "squeeze", "stack", "std", "sum", "tanh", "tensor", "transpose", "uint8", "unsqueeze",
    "var", "where", "zeros", "zeros_like",
]
