"""tm.linalg decompositions and solvers (issue 9): values and gradients against PyTorch in
float64 (skipped where torch is missing), gradcheck and gradgradcheck with a random upstream
gradient on every backend, LinAlgError, bad input, and the legacy top-level spellings."""

import warnings

import numpy as np
import pytest

import tinygrad_mom as tm

RNG = np.random.default_rng(99)

try:
    import torch
except ImportError:  # the comparisons skip; gradchecks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
L = tm.linalg


def leaf(array, device="cpu"):
    return tm.Tensor(np.asarray(array, dtype=np.float64), device=device, requires_grad=True)


def general(*shape):
    return RNG.standard_normal(shape)


def spd(*shape):
    """Symmetric positive-definite, well conditioned."""
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym(x):
    """The symmetric part: the functions that read one triangle get a gradient that is
    symmetric (PyTorch's convention), so finite differences go through this."""
    return (x + x.transpose(-1, -2)) / 2


def qr_both(lib, a, mode="reduced"):
    """Q and R flattened side by side: one output that depends on both."""
    q, r = lib.linalg.qr(a, mode)
    return lib.cat([q.flatten(-2), r.flatten(-2)], -1)


def scaled_svd(lib, a):
    """A loss of U, S and Vh that does not depend on each singular pair's sign."""
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    rebuilt = (u * s[..., None, :] ** 0.5) @ vh
    return lib.cat([rebuilt.flatten(-2), (u * u).flatten(-2), (vh * vh).flatten(-2)], -1)


def eig_rebuilt(lib, a):
    """A loss of the eigenvectors that does not depend on their signs."""
    w, v = lib.linalg.eigh(sym(a))
    return (v * w.exp()[..., None, :]) @ v.transpose(-1, -2) + v * v


# name -> (function of (lib, *tensors), input arrays); each is the same code for tm and torch
CASES = {
    "inv": (lambda lib, a: lib.linalg.inv(a), [general(3, 3)]),
    "inv_batch": (lambda lib, a: lib.linalg.inv(a), [general(2, 3, 3)]),
    "inverse": (lambda lib, a: lib.inverse(a), [general(2, 3, 3)]),
    "solve_matrix": (lambda lib, a, b: lib.linalg.solve(a, b),
                     [general(2, 3, 3), general(2, 3, 4)]),
    "solve_vector": (lambda lib, a, b: lib.linalg.solve(a, b), [general(3, 3), general(3)]),
    "solve_batch_vector": (lambda lib, a, b: lib.linalg.solve(a, b),
                           [general(2, 3, 3), general(2, 3)]),
    "solve_broadcast": (lambda lib, a, b: lib.linalg.solve(a, b),
                        [general(3, 3), general(2, 3, 2)]),
    "det": (lambda lib, a: lib.linalg.det(a), [general(2, 3, 3)]),
    "det_legacy": (lambda lib, a: lib.det(a), [general(4, 4)]),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a).logabsdet, [general(2, 3, 3)]),
    "logdet": (lambda lib, a: lib.logdet(a), [spd(2, 3, 3)]),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(sym(a)), [spd(2, 3, 3)]),
    "cholesky_upper": (lambda lib, a: lib.linalg.cholesky(sym(a), upper=True), [spd(3, 3)]),
    "qr_square": (lambda lib, a: qr_both(lib, a), [general(2, 3, 3)]),
    "qr_tall": (lambda lib, a: qr_both(lib, a), [general(2, 4, 2)]),
    "qr_wide": (lambda lib, a: qr_both(lib, a), [general(2, 2, 4)]),
    "qr_complete_square": (lambda lib, a: qr_both(lib, a, "complete"), [general(3, 3)]),
    "qr_complete_wide": (lambda lib, a: lib.linalg.qr(a, "complete")[1], [general(2, 4)]),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(sym(a)), [general(2, 4, 4)]),
    "eigvalsh_upper": (lambda lib, a: lib.linalg.eigvalsh(sym(a), UPLO="U"), [general(3, 3)]),
    "eigh_values": (lambda lib, a: lib.linalg.eigh(sym(a)).eigenvalues, [general(2, 3, 3)]),
    "eigh_vectors": (eig_rebuilt, [general(2, 4, 4)]),
    "svdvals_tall": (lambda lib, a: lib.linalg.svdvals(a), [general(2, 4, 3)]),
    "svdvals_wide": (lambda lib, a: lib.linalg.svdvals(a), [general(3, 5)]),
    "svd_S_full": (lambda lib, a: lib.linalg.svd(a).S, [general(2, 4, 3)]),
    "svd_square": (scaled_svd, [general(2, 3, 3)]),
    "svd_tall": (scaled_svd, [general(2, 4, 3)]),
    "svd_wide": (scaled_svd, [general(3, 5)]),
    "pinv_square": (lambda lib, a: lib.linalg.pinv(a), [general(2, 3, 3)]),
    "pinv_tall": (lambda lib, a: lib.linalg.pinv(a), [general(4, 2)]),
    "pinv_wide": (lambda lib, a: lib.linalg.pinv(a), [general(2, 2, 4)]),
    "pinv_hermitian": (lambda lib, a: lib.linalg.pinv(sym(a), hermitian=True), [spd(3, 3)]),
    "pinverse": (lambda lib, a: lib.pinverse(a), [general(4, 3)]),
    "matrix_norm_nuc": (lambda lib, a: lib.linalg.matrix_norm(a, "nuc", (0, 2)),
                        [general(3, 2, 4)]),
    "matrix_norm_2": (lambda lib, a: lib.linalg.matrix_norm(a, 2, keepdim=True),
                      [general(2, 3, 4)]),
    "matrix_norm_-2": (lambda lib, a: lib.linalg.matrix_norm(a, -2), [general(2, 4, 3)]),
    "linalg_norm_2": (lambda lib, a: lib.linalg.norm(a, 2), [general(3, 3)]),
    "norm_nuc": (lambda lib, a: lib.norm(a, "nuc"), [general(3, 4)]),
}


def _ours(name):
    fn, arrays = CASES[name]
    return (lambda *ts: fn(tm, *ts)), arrays


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    fn, arrays = CASES[name]
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y, yt = fn(tm, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = RNG.standard_normal(tuple(yt.shape))
    y.backward(tm.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(device, name):
    fn, arrays = _ours(name)
    assert tm.gradcheck(fn, [leaf(a, device) for a in arrays])
    assert tm.gradgradcheck(fn, [leaf(a, device) for a in arrays])


def test_qr_mode_r_is_differentiable_and_returns_an_empty_q():
    # PyTorch raises in backward for mode='r'; the R it returns is the same, and here the
    # gradient is the reduced mode's with gQ = 0 (a deliberate extension)
    a = general(2, 4, 3)
    q, r = L.qr(tm.tensor(a), mode="r")
    assert q.shape == (0,)
    np.testing.assert_allclose(r.numpy(), L.qr(tm.tensor(a)).R.numpy())
    assert tm.gradcheck(lambda x: L.qr(x, mode="r").R, [leaf(a)])


def test_qr_complete_tall_backward_raises():
    x = leaf(general(4, 2))
    q, r = L.qr(x, mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 2)
    with pytest.raises(RuntimeError, match="mode='reduced'"):
        (q.sum() + r.sum()).backward()


@needs_torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (2, 3, 5)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_matches_torch_up_to_signs(shape, full):
    a = general(*shape)
    u, s, vh = L.svd(tm.tensor(a), full_matrices=full)
    ut, st, vht = torch.linalg.svd(torch.tensor(a), full_matrices=full)
    assert u.shape == tuple(ut.shape) and vh.shape == tuple(vht.shape)
    np.testing.assert_allclose(s.numpy(), st.numpy(), rtol=1e-12)
    k = min(shape[-2:])
    np.testing.assert_allclose(np.abs(u.numpy()[..., :k]), np.abs(ut.numpy()[..., :k]), atol=1e-10)
    rebuilt = (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]
    np.testing.assert_allclose(rebuilt.numpy(), a, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle_as_torch(uplo):
    a = general(2, 4, 4)  # not symmetric: only the UPLO triangle is read
    w, v = L.eigh(tm.tensor(a), UPLO=uplo)
    wt, vt = torch.linalg.eigh(torch.tensor(a), UPLO=uplo)
    np.testing.assert_allclose(w.numpy(), wt.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(vt.numpy()), atol=1e-10)
    np.testing.assert_allclose(L.eigvalsh(tm.tensor(a), uplo).numpy(), wt.numpy(), atol=1e-12)


@needs_torch
def test_cholesky_upper_reads_the_upper_triangle_as_torch():
    a = spd(3, 3) + np.triu(general(3, 3), 1)  # different triangles
    for upper in (False, True):
        ours = L.cholesky(tm.tensor(a), upper=upper).numpy()
        theirs = torch.linalg.cholesky(torch.tensor(a), upper=upper).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
    with warnings.catch_warnings():  # torch.cholesky is deprecated in PyTorch
        warnings.simplefilter("ignore")
        legacy = torch.cholesky(torch.tensor(a), True).numpy()
    np.testing.assert_allclose(tm.cholesky(tm.tensor(a), True).numpy(), legacy, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.2},
                                    {"hermitian": True}])
def test_matrix_rank_and_pinv_tolerances_match_torch(kwargs):
    base = general(2, 4, 4)
    u, _, vh = np.linalg.svd(base)
    a = (u * np.array([3.0, 1.0, 0.25, 1e-17])[None, None, :]) @ vh  # rank 3 (numerically)
    if kwargs.get("hermitian"):
        a = (u * np.array([3.0, -1.0, 0.25, 0.0])[None, None, :]) @ np.swapaxes(u, -1, -2)
    rank = L.matrix_rank(tm.tensor(a), **kwargs)
    assert rank.dtype == np.int64
    np.testing.assert_array_equal(rank.numpy(), torch.linalg.matrix_rank(torch.tensor(a),
                                                                         **kwargs).numpy())
    np.testing.assert_allclose(L.pinv(tm.tensor(a), **kwargs).numpy(),
                               torch.linalg.pinv(torch.tensor(a), **kwargs).numpy(), atol=1e-9)


@needs_torch
@pytest.mark.parametrize("shapes", [((5, 3), (5, 2)), ((2, 5, 3), (2, 5)), ((3, 5), (3, 1))])
def test_lstsq_matches_torch_gelsd(shapes):
    a, b = general(*shapes[0]), general(*shapes[1])
    ours = L.lstsq(tm.tensor(a), tm.tensor(b))
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver="gelsd")
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.numpy(), y.numpy(), atol=1e-10)
    assert tm.gradcheck(lambda x, y: L.lstsq(x, y).solution, [leaf(a), leaf(b)])


@needs_torch
def test_legacy_spellings_match_torch():
    a = general(2, 4, 3)
    u, s, v = tm.svd(tm.tensor(a))
    ut, st, vt = torch.svd(torch.tensor(a))
    assert (u.shape, v.shape) == (tuple(ut.shape), tuple(vt.shape))
    np.testing.assert_allclose((u * s[..., None, :]) @ v.transpose(-1, -2), a, atol=1e-12)
    np.testing.assert_allclose(np.abs(v.numpy()), np.abs(vt.numpy()), atol=1e-10)
    for some in (True, False):
        shapes = [x.shape for x in tm.svd(tm.tensor(a), some=some)]
        assert shapes == [tuple(x.shape) for x in torch.svd(torch.tensor(a), some=some)]
    u0, s0, v0 = tm.svd(tm.tensor(a), compute_uv=False)
    assert u0.shape == (2, 4, 4) and v0.shape == (2, 3, 3) and not u0.numpy().any()
    q, r = tm.tensor(a).qr(some=False)
    assert q.shape == (2, 4, 4) and r.shape == (2, 4, 3)
    x = tm.tensor(spd(3, 3))
    xt = torch.tensor(x.numpy())
    for name in ("inverse", "det", "logdet", "cholesky", "pinverse"):
        np.testing.assert_allclose(getattr(x, name)().numpy(), getattr(xt, name)().numpy(),
                                   atol=1e-12)
    sign, logabsdet = x.slogdet()
    np.testing.assert_allclose([sign.item(), logabsdet.item()], [v.item() for v in xt.slogdet()])
    assert tuple(tm.slogdet(x)._fields) == ("sign", "logabsdet")
    assert tuple(tm.linalg.eigh(x)._fields) == ("eigenvalues", "eigenvectors")
    assert tuple(tm.linalg.svd(x)._fields) == ("U", "S", "Vh")
    assert tuple(tm.svd(x)._fields) == ("U", "S", "V")


@needs_torch
def test_only_names_torch_has():
    for name in ("inverse", "det", "logdet", "slogdet", "cholesky", "qr", "svd", "pinverse"):
        assert hasattr(torch, name) and hasattr(tm, name)
        assert hasattr(torch.Tensor, name) and hasattr(tm.Tensor, name)
    for name in tm.linalg.__all__:
        assert hasattr(torch.linalg, name), name


# ----------------------------------------------------------------------------------------------
# singular matrices


def test_linalg_error_is_runtime_error_and_numpys():
    assert issubclass(L.LinAlgError, RuntimeError)
    assert issubclass(L.LinAlgError, np.linalg.LinAlgError)


@pytest.mark.parametrize("call", [
    lambda a: L.inv(a), lambda a: tm.inverse(a), lambda a: L.solve(a, tm.ones(3, dtype=tm.float64)),
    lambda a: L.cholesky(a),
], ids=["inv", "inverse", "solve", "cholesky"])
def test_singular_raises_linalg_error(call):
    a = tm.tensor(np.ones((3, 3)))
    with pytest.raises(L.LinAlgError, match="singular|positive-definite"):
        call(a)
    with pytest.raises(RuntimeError):  # what a PyTorch port catches
        call(a)


def test_det_of_singular_is_zero_and_its_backward_names_the_problem():
    a = leaf(np.ones((3, 3)))
    d = L.det(a)
    assert d.item() == 0
    sign, logabsdet = L.slogdet(a.detach())
    assert sign.item() == 0 and logabsdet.item() == -np.inf
    with pytest.raises(L.LinAlgError, match="singular"):
        d.backward()


def test_logdet_of_negative_determinant_is_nan():
    assert np.isnan(tm.logdet(tm.tensor(-np.eye(3))).item())


# ----------------------------------------------------------------------------------------------
# bad input: the right type, the argument and what was given, before anything runs


@pytest.mark.parametrize("fn", [L.inv, L.det, L.slogdet, L.cholesky, L.eigh, L.eigvalsh,
                                tm.inverse, tm.logdet])
def test_non_square_is_a_value_error_naming_the_shape(fn):
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        fn(tm.zeros(2, 3, dtype=tm.float64))


@pytest.mark.parametrize("fn", [L.inv, L.qr, L.svd, L.svdvals, L.pinv, L.matrix_rank])
def test_vector_is_a_value_error(fn):
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(3,\)"):
        fn(tm.zeros(3))


def test_wrong_types():
    with pytest.raises(TypeError, match="argument 'A' must be a Tensor, not ndarray"):
        L.inv(np.eye(2))
    with pytest.raises(TypeError, match="float32 or float64.*int64"):
        L.inv(tm.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(TypeError, match="argument 'B'"):
        L.solve(tm.eye(2), [1.0, 2.0])
    with pytest.raises(TypeError, match="argument 'upper'"):
        L.cholesky(tm.eye(2), upper="yes")
    with pytest.raises(TypeError, match="argument 'atol'"):
        L.pinv(tm.eye(2), atol=-1.0)


def test_bad_values():
    with pytest.raises(ValueError, match=r"argument 'B' must have 3 rows.*\(2, 3, 3\).*\(2, 4\)"):
        L.solve(tm.zeros(2, 3, 3), tm.zeros(2, 4))
    with pytest.raises(ValueError, match="left=True"):
        L.solve(tm.eye(2), tm.ones(2), left=False)
    with pytest.raises(ValueError, match="do not broadcast"):
        L.solve(tm.zeros(2, 3, 3), tm.zeros(4, 3, 1))
    with pytest.raises(ValueError, match="argument 'mode'.*'full'"):
        L.qr(tm.eye(2), mode="full")
    with pytest.raises(ValueError, match="argument 'UPLO'.*'X'"):
        L.eigh(tm.eye(2), UPLO="X")
    with pytest.raises(ValueError, match="argument 'driver'"):
        L.svd(tm.eye(2), driver="gesvdj")
    with pytest.raises(TypeError, match="out="):
        L.inv(tm.eye(2), out=tm.eye(2))


def test_float32_stays_float32():
    a = tm.tensor(spd(3, 3).astype(np.float32))
    for fn in (L.inv, L.det, L.cholesky, L.eigvalsh, L.svdvals, L.pinv):
        assert fn(a).dtype == np.float32
