"""``tm.linalg``: PyTorch's ``torch.linalg`` — norms, inverses and solvers, determinants and the
decompositions (Cholesky, QR, symmetric eigen, SVD), pseudo-inverse and rank.

Every function takes a batch of matrices (..., m, n), runs ``xp.linalg`` (NumPy or CuPy) and is
differentiable through a primitive of :mod:`tinygrad_mom.primitives` whose backward is written
in matrix products, so it can be differentiated again (``create_graph=True``). Real
floating-point inputs (float32, float64) only. A singular or non-positive-definite matrix raises
:class:`LinAlgError` (a ``RuntimeError``, as ``torch.linalg.LinAlgError``, and also NumPy's
``LinAlgError``).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import ops
from .backend import get_array_module
from .ops import linalg_norm as norm
from .ops import matrix_norm, vector_norm
from .primitives import (
    QR,
    SVD,
    Cholesky,
    Det,
    Eigh,
    EigvalsH,
    Inv,
    LinAlgError,
    Pinv,
    SLogDet,
    Solve,
    SVDVals,
    _largest,
    _svd_unpack,
)
from .tensor import Tensor

__all__ = [
    "LinAlgError", "cholesky", "det", "eigh", "eigvalsh", "inv", "lstsq", "matrix_norm",
    "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "vector_norm",
]

SLogDetResult = namedtuple("slogdet", ["sign", "logabsdet"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("qr", ["Q", "R"])
SVDResult = namedtuple("svd", ["U", "S", "Vh"])
LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])


def _matrices(A, fn: str, arg: str = "A", square: bool = True) -> Tensor:
    """``A`` checked: a Tensor, real floating point, at least 2-D, square when asked."""
    if not isinstance(A, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be a Tensor, not {type(A).__name__}")
    if A.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{fn}(): argument '{arg}' must be a float32 or float64 tensor, got {A.dtype}"
        )
    if A.ndim < 2:
        raise ValueError(
            f"{fn}(): argument '{arg}' must have at least 2 dimensions (a batch of matrices), "
            f"got shape {tuple(A.shape)}"
        )
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(
            f"{fn}(): argument '{arg}' must be a batch of square matrices, got shape "
            f"{tuple(A.shape)}"
        )
    return A


def _check_out(out, fn: str) -> None:
    if out is not None:
        raise TypeError(f"{fn}(): out= is not supported for decompositions; assign the result")


def _tolerances(A: Tensor, atol, rtol, fn: str) -> tuple[float, float]:
    """PyTorch's rule: rtol defaults to eps·max(m, n) when atol is not given, else to 0."""
    for name, value in (("atol", atol), ("rtol", rtol)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not value >= 0):
            raise TypeError(
                f"{fn}(): argument '{name}' must be a non-negative float or None, got {value!r}"
            )
    if rtol is None:
        rtol = float(np.finfo(A.dtype).eps) * max(A.shape[-2:]) if atol in (None, 0) else 0.0
    return (0.0 if atol is None else float(atol)), float(rtol)


def _check_driver(driver, fn: str) -> None:
    if driver is not None:
        raise ValueError(f"{fn}(): argument 'driver' chooses a cuSOLVER routine in PyTorch and "
                         f"is not supported here; leave it None, got {driver!r}")


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of each square matrix; :class:`LinAlgError` when one is singular."""
    _check_out(out, "linalg.inv")
    return Inv.apply(_matrices(A, "linalg.inv"))


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """X with A X = B. B is a batch of vectors (..., n) when it is 1-D or has A's shape
    without the last dimension, else of matrices (..., n, k); batch dimensions broadcast."""
    _check_out(out, "linalg.solve")
    A = _matrices(A, "linalg.solve")
    if left is not True:
        raise ValueError("linalg.solve(): only left=True (A X = B) is supported")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be a Tensor, not {type(B).__name__}")
    if B.dtype != A.dtype:
        raise TypeError(f"linalg.solve(): A and B must have the same dtype, got {A.dtype} and "
                        f"{B.dtype}")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = ops.unsqueeze(B, -1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != n:
        raise ValueError(
            f"linalg.solve(): argument 'B' must have {n} rows to match A of shape "
            f"{tuple(A.shape)}, got shape {tuple(B.shape)}"
        )
    try:
        lead = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(Bm.shape[:-2]))
    except ValueError:
        raise ValueError(
            f"linalg.solve(): the batch dimensions of A {tuple(A.shape)} and B "
            f"{tuple(B.shape)} do not broadcast"
        ) from None
    if tuple(A.shape[:-2]) != lead:
        A = ops.expand(A, *lead, n, n)
    if tuple(Bm.shape[:-2]) != lead:
        Bm = ops.expand(Bm, *lead, *Bm.shape[-2:])
    X = Solve.apply(A, Bm)
    return ops.squeeze(X, -1) if vector else X


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant of each square matrix."""
    _check_out(out, "linalg.det")
    return Det.apply(_matrices(A, "linalg.det"))


def slogdet(A: Tensor, *, out=None):
    """``(sign, logabsdet)``: det = sign · exp(logabsdet), without overflow; a singular matrix
    gives sign 0 and logabsdet −inf."""
    _check_out(out, "linalg.slogdet")
    packed = SLogDet.apply(_matrices(A, "linalg.slogdet"))
    return SLogDetResult(Tensor._wrap(packed.array[..., 0].copy()), packed[..., 1])


def logdet(A: Tensor) -> Tensor:
    """log det A: NaN where det < 0, −inf where det = 0 (``torch.logdet``)."""
    sign, logabsdet = slogdet(_matrices(A, "logdet", "input"))
    xp = get_array_module(sign.array)
    nan = Tensor._wrap(xp.where(sign.array < 0, np.nan, 0).astype(sign.dtype))
    return logabsdet + nan


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """L with A = L Lᵀ (lower, from A's lower triangle) or, with ``upper=True``, U = Lᵀ with
    A = Uᵀ U (from A's upper triangle); :class:`LinAlgError` when A is not positive-definite."""
    _check_out(out, "linalg.cholesky")
    A = _matrices(A, "linalg.cholesky")
    if not isinstance(upper, (bool, np.bool_)):
        raise TypeError(f"linalg.cholesky(): argument 'upper' must be a bool, got {upper!r}")
    if upper:
        return ops.transpose(Cholesky.apply(ops.transpose(A, -1, -2)), -1, -2)
    return Cholesky.apply(A)


_QR_MODES = ("reduced", "complete", "r")


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """``(Q, R)`` with A = QR, Q orthonormal columns, R upper triangular. ``mode``:
    'reduced' (k = min(m, n) columns), 'complete' (Q is m×m) or 'r' (Q is empty)."""
    _check_out(out, "linalg.qr")
    A = _matrices(A, "linalg.qr", square=False)
    if mode not in _QR_MODES:
        raise ValueError(f"linalg.qr(): argument 'mode' must be one of {_QR_MODES}, got {mode!r}")
    prim = "complete" if mode == "complete" else "reduced"
    packed = QR.apply(A, mode=prim)
    m, n = A.shape[-2:]
    k = min(m, n)
    q_cols, r_rows = (m, m) if prim == "complete" else (k, k)
    lead = tuple(A.shape[:-2])
    Q = ops.reshape(packed[..., : m * q_cols], *lead, m, q_cols)
    R = ops.reshape(packed[..., m * q_cols:], *lead, r_rows, n)
    if mode == "r":
        Q = Tensor._wrap(get_array_module(A.array).zeros((0,), dtype=A.dtype))
    return QRResult(Q, R)


def _uplo(UPLO, fn: str) -> str:
    if UPLO not in ("L", "U"):
        raise ValueError(f"{fn}(): argument 'UPLO' must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (read from its ``UPLO``
    triangle), eigenvalues ascending, eigenvectors as columns. Each eigenvector's sign is
    LAPACK's, so a loss should not depend on it (as in PyTorch)."""
    _check_out(out, "linalg.eigh")
    A = _matrices(A, "linalg.eigh")
    packed = Eigh.apply(A, uplo=_uplo(UPLO, "linalg.eigh"))
    n = A.shape[-1]
    return EighResult(packed[..., n, :], packed[..., :n, :])


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """The eigenvalues of each symmetric matrix, ascending."""
    _check_out(out, "linalg.eigvalsh")
    A = _matrices(A, "linalg.eigvalsh")
    return EigvalsH.apply(A, uplo=_uplo(UPLO, "linalg.eigvalsh"))


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """``(U, S, Vh)`` with A = U diag(S) Vh, S descending. ``full_matrices=False`` keeps
    k = min(m, n) columns of U and rows of Vh. Signs are LAPACK's (see :func:`eigh`)."""
    _check_out(out, "linalg.svd")
    A = _matrices(A, "linalg.svd", square=False)
    _check_driver(driver, "linalg.svd")
    if not isinstance(full_matrices, (bool, np.bool_)):
        raise TypeError(f"linalg.svd(): argument 'full_matrices' must be a bool, got "
                        f"{full_matrices!r}")
    m, n = A.shape[-2:]
    k = min(m, n)
    u_shape, vh_shape = ((m, m), (n, n)) if full_matrices else ((m, k), (k, n))
    packed = SVD.apply(A, full_matrices=bool(full_matrices))
    return SVDResult(*_svd_unpack(packed, u_shape, vh_shape))


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """The singular values of each matrix, descending."""
    _check_out(out, "linalg.svdvals")
    _check_driver(driver, "linalg.svdvals")
    return SVDVals.apply(_matrices(A, "linalg.svdvals", square=False))


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out=None) -> Tensor:
    """The Moore–Penrose pseudo-inverse; singular values ≤ max(atol, rtol·σ₁) count as zero
    (rtol's default: eps·max(m, n) when atol is not given, as PyTorch)."""
    _check_out(out, "linalg.pinv")
    A = _matrices(A, "linalg.pinv", square=bool(hermitian))
    atol, rtol = _tolerances(A, atol, rtol, "linalg.pinv")
    return Pinv.apply(A, rtol=rtol, atol=atol, hermitian=bool(hermitian))


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False,
                out=None) -> Tensor:
    """The number of singular values > max(atol, rtol·σ₁) of each matrix (int64)."""
    _check_out(out, "linalg.matrix_rank")
    A = _matrices(A, "linalg.matrix_rank", square=bool(hermitian))
    atol, rtol = _tolerances(A, atol, rtol, "linalg.matrix_rank")
    xp = get_array_module(A.array)
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(A.array))
    else:
        s = xp.linalg.svd(A.array, compute_uv=False)
    cutoff = xp.maximum(atol, rtol * _largest(s))
    return Tensor._wrap((s > cutoff).sum(axis=-1).astype(np.int64))


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least squares: the X minimising ‖A X − B‖ (the minimum-norm one when A is rank
    deficient), through the pseudo-inverse, so it is differentiable.

    ``rcond`` as PyTorch (singular values ≤ rcond·σ₁ count as zero; default eps·max(m, n)).
    ``residuals`` is the squared residual per column when m > n and A has full rank, else
    empty; ``rank`` and ``singular_values`` are filled in (PyTorch leaves some empty depending
    on its driver)."""
    A = _matrices(A, "linalg.lstsq", square=False)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.lstsq(): argument 'B' must be a Tensor, not {type(B).__name__}")
    vector = B.ndim == A.ndim - 1
    Bm = ops.unsqueeze(B, -1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-2]:
        raise ValueError(
            f"linalg.lstsq(): argument 'B' must have {A.shape[-2]} rows to match A of shape "
            f"{tuple(A.shape)}, got shape {tuple(B.shape)}"
        )
    atol, rtol = _tolerances(A, None, rcond, "linalg.lstsq")
    X = ops.matmul(Pinv.apply(A, rtol=rtol, atol=atol, hermitian=False), Bm)
    rank = matrix_rank(A.detach(), rtol=rtol)
    xp = get_array_module(A.array)
    s = Tensor._wrap(xp.linalg.svd(A.array, compute_uv=False))
    m, n = A.shape[-2:]
    if m > n and bool((rank.array == n).all()):
        r = ops.matmul(A, X) - Bm
        residuals = ops.sum(r * r, -2)
    else:
        residuals = Tensor._wrap(xp.zeros((0,), dtype=A.dtype))
    return LstsqResult(ops.squeeze(X, -1) if vector else X, residuals, rank, s)


# ----------------------------------------------------------------------------------------------
# the legacy top-level spellings (torch.inverse, torch.svd, ...): tm.inverse, tm.svd, ...

LegacySVDResult = namedtuple("svd", ["U", "S", "V"])


def inverse(input: Tensor, *, out=None) -> Tensor:
    """``torch.inverse``: :func:`inv`."""
    _check_out(out, "inverse")
    return Inv.apply(_matrices(input, "inverse", "input"))


def legacy_svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with V = Vhᵀ (not Vh); ``some=False`` gives full U and V;
    ``compute_uv=False`` gives zero-filled U (m, m) and V (n, n)."""
    _check_out(out, "svd")
    A = _matrices(input, "svd", "input", square=False)
    m, n = A.shape[-2:]
    if not compute_uv:
        xp = get_array_module(A.array)
        lead = tuple(A.shape[:-2])
        return LegacySVDResult(Tensor._wrap(xp.zeros(lead + (m, m), dtype=A.dtype)),
                               svdvals(A),
                               Tensor._wrap(xp.zeros(lead + (n, n), dtype=A.dtype)))
    U, S, Vh = svd(A, full_matrices=not some)
    return LegacySVDResult(U, S, ops.transpose(Vh, -1, -2))


def legacy_qr(input: Tensor, some: bool = True, *, out=None):
    """``torch.qr``: ``some=True`` is mode 'reduced', ``some=False`` mode 'complete'."""
    _check_out(out, "qr")
    return qr(_matrices(input, "qr", "input", square=False),
              "reduced" if some else "complete")


def legacy_cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch for ``torch.linalg.cholesky``)."""
    return cholesky(_matrices(input, "cholesky", "input"), upper=upper, out=out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: :func:`pinv` with rtol = rcond."""
    A = _matrices(input, "pinverse", "input", square=False)
    atol, rtol = _tolerances(A, 0.0, rcond, "pinverse")
    return Pinv.apply(A, rtol=rtol, atol=atol, hermitian=False)


def legacy_det(input: Tensor) -> Tensor:
    """``torch.det``."""
    return Det.apply(_matrices(input, "det", "input"))


def legacy_slogdet(input: Tensor):
    """``torch.slogdet``."""
    return slogdet(_matrices(input, "slogdet", "input"))
