"""Second derivatives of the whole network toolbox: against PyTorch in float64 (skipped when
torch is missing), by hand, and a check that gradgradcheck rejects a wrong second derivative.

The op-by-op gradgradchecks live next to each gradcheck (tests/test_gradcheck.py,
tests/test_conv.py, tests/nn/); here the pieces are composed the way a user composes them.
"""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom.gradcheck import GradcheckError

RNG = np.random.default_rng(2026)


def _torch():
    return pytest.importorskip("torch", reason="torch is not installed: no PyTorch cross-check")


def _pair(array, device, torch):
    """The same float64 values as a tinygrad_mom leaf and a torch leaf."""
    ours = tm.Tensor(array, device=device, requires_grad=True)
    theirs = torch.tensor(array, dtype=torch.float64, requires_grad=True)
    return ours, theirs


def _gradient_penalty(lib, x, params, target, cnn):
    """‖∂L/∂x‖² for the loss L of ``cnn``, and its gradient w.r.t. the parameters."""
    loss = cnn(lib, x, *params, target)
    grad = lib.autograd.grad(loss, x, create_graph=True)[0]
    penalty = (grad * grad).sum()
    return penalty, lib.autograd.grad(penalty, params)


def _cnn_max(lib, x, w1, b1, w2, b2, target):
    """conv → relu → maxpool → linear → cross-entropy."""
    Fn = lib.nn.functional
    h = Fn.max_pool2d(Fn.relu(Fn.conv2d(x, w1, b1, padding=1)), 2)
    return Fn.cross_entropy(Fn.linear(h.reshape(h.shape[0], -1), w2, b2), target)


def _features_avg(lib, x, w1, b1, wt, g, beta):
    """conv (strided, dilated) → tanh → transposed conv → batch norm → avgpool, flattened."""
    Fn = lib.nn.functional
    h = lib.tanh(Fn.conv2d(x, w1, b1, stride=2, padding=1, dilation=(1, 2)))
    h = Fn.conv_transpose2d(h, wt, stride=2, padding=1, output_padding=1)
    h = Fn.batch_norm(h, None, None, g, beta, training=True)
    h = Fn.avg_pool2d(h, 2, padding=1)
    return h.reshape(h.shape[0], -1)


def _cnn_avg(lib, x, w1, b1, wt, g, beta, target):
    """:func:`_features_avg` → BCE-with-logits against soft targets."""
    features = _features_avg(lib, x, w1, b1, wt, g, beta)
    return lib.nn.functional.binary_cross_entropy_with_logits(features, target)


def test_gradient_penalty_through_a_cnn_matches_torch(device):
    torch = _torch()
    arrays = [
        RNG.standard_normal((3, 2, 6, 6)),
        RNG.standard_normal((4, 2, 3, 3)) * 0.5,
        RNG.standard_normal(4) * 0.1,
        RNG.standard_normal((5, 36)) * 0.3,
        RNG.standard_normal(5) * 0.1,
    ]
    target = np.array([0, 3, 4])
    ours = [_pair(a, device, torch) for a in arrays]
    ox, *oparams = [o for o, _ in ours]
    tx, *tparams = [t for _, t in ours]
    p_ours, g_ours = _gradient_penalty(tm, ox, oparams, tm.tensor(target, device=device), _cnn_max)
    p_torch, g_torch = _gradient_penalty(torch, tx, tparams, torch.tensor(target), _cnn_max)
    np.testing.assert_allclose(p_ours.item(), p_torch.item(), rtol=1e-10)
    for name, a, b in zip(["w1", "b1", "w2", "b2"], g_ours, g_torch, strict=True):
        np.testing.assert_allclose(
            a.numpy(force=True), b.numpy(force=True), rtol=1e-9, atol=1e-12, err_msg=name
        )


def test_gradient_penalty_through_transposed_conv_batchnorm_avgpool_matches_torch(device):
    torch = _torch()
    arrays = [
        RNG.standard_normal((2, 2, 7, 8)),
        RNG.standard_normal((3, 2, 3, 2)) * 0.5,
        RNG.standard_normal(3) * 0.1,
        RNG.standard_normal((3, 2, 3, 3)) * 0.5,
        RNG.uniform(0.5, 1.5, 2),
        RNG.standard_normal(2) * 0.1,
    ]
    ours = [_pair(a, device, torch) for a in arrays]
    ox, *oparams = [o for o, _ in ours]
    tx, *tparams = [t for _, t in ours]
    with tm.no_grad():
        target = RNG.uniform(0, 1, tuple(_features_avg(tm, ox, *oparams).shape))
    p_ours, g_ours = _gradient_penalty(tm, ox, oparams, tm.tensor(target, device=device), _cnn_avg)
    p_torch, g_torch = _gradient_penalty(torch, tx, tparams, torch.tensor(target), _cnn_avg)
    np.testing.assert_allclose(p_ours.item(), p_torch.item(), rtol=1e-10)
    for name, a, b in zip(["w1", "b1", "wt", "gamma", "beta"], g_ours, g_torch, strict=True):
        np.testing.assert_allclose(
            a.numpy(force=True), b.numpy(force=True), rtol=1e-8, atol=1e-12, err_msg=name
        )


def test_hessian_vector_product_of_a_conv_loss_matches_torch(device):
    """H·v for the weights of conv → relu → conv, a Hessian that mixes both layers."""
    torch = _torch()
    x = RNG.standard_normal((2, 3, 5, 5))
    w1, w2 = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal((2, 4, 2, 2))
    v1, v2 = RNG.standard_normal(w1.shape), RNG.standard_normal(w2.shape)

    def hvp(lib, make):
        a, b = make(w1), make(w2)
        Fn = lib.nn.functional
        out = Fn.conv2d(Fn.relu(Fn.conv2d(make(x, False), a, padding=1)), b, stride=2)
        loss = (out * out * out).sum()
        ga, gb = lib.autograd.grad(loss, (a, b), create_graph=True)
        dot = (ga * make(v1, False)).sum() + (gb * make(v2, False)).sum()
        return lib.autograd.grad(dot, (a, b))

    ours = hvp(tm, lambda a, g=True: tm.Tensor(a, device=device, requires_grad=g))
    theirs = hvp(torch, lambda a, g=True: torch.tensor(a, dtype=torch.float64, requires_grad=g))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(force=True), b.numpy(force=True), rtol=1e-9, atol=1e-10)


def test_conv_second_derivative_by_hand(device):
    """y = conv2d(x, w) is bilinear: ∂²(Σ r·y)/∂x∂w applied to (dx, dw) is Σ r·conv2d(dx, dw)."""
    x = tm.Tensor(RNG.standard_normal((1, 2, 4, 4)), device=device, requires_grad=True)
    w = tm.Tensor(RNG.standard_normal((3, 2, 2, 2)), device=device, requires_grad=True)
    r = tm.Tensor(RNG.standard_normal((1, 3, 3, 3)), device=device)
    dx = tm.Tensor(RNG.standard_normal(x.shape), device=device)
    (gw,) = tm.autograd.grad((F.conv2d(x, w) * r).sum(), w, create_graph=True)
    (mixed,) = tm.autograd.grad((gw * tm.Tensor(np.ones(w.shape), device=device)).sum(), x)
    # Σ_w ∂/∂w Σ r·conv(x, w) = Σ r·conv(x, 1), so its x-gradient is conv_transpose(r, ones)
    expected = F.conv_transpose2d(r, tm.Tensor(np.ones(w.shape), device=device))
    np.testing.assert_allclose(
        mixed.numpy(force=True), expected.numpy(force=True), rtol=1e-12, atol=1e-12
    )
    # relu'' = 0 and max pooling routes by its argmax: the x-Hessian of Σ r·pool(relu(x)) is 0
    (gx,) = tm.autograd.grad(
        (F.max_pool2d(F.relu(x), 2) * r[:, :2, :2, :2]).sum(), x, create_graph=True
    )
    # (the mask and the routing are constants, so the gradient may not even depend on x)
    if gx.requires_grad:
        (hx,) = tm.autograd.grad((gx * dx).sum(), x, allow_unused=True)
        assert hx is None or not np.any(hx.numpy(force=True))


# ----------------------------------------------------------------------------------------------
# the checker rejects a backward that is right to first order only


class _SquareSavingADerivedArray(tm.Function):
    """x² whose backward uses 2x saved from forward: right values, but 2x is a constant to the
    engine (neither an input nor the output), so the second derivative comes out 0, not 2."""

    def forward(self, x):
        self.save_for_backward(2 * x)
        return x * x

    def backward(self, gy):
        (two_x,) = self.saved
        return gy * two_x


class _CubeWithAConstantMask(tm.Function):
    """x³ whose backward multiplies by a mask derived in forward instead of the saved input:
    3x² · gy is right, its derivative in x is lost."""

    def forward(self, x):
        self.save_for_backward(x)
        self.three_x2 = 3 * x * x
        return x * x * x

    def backward(self, gy):
        return gy * self.three_x2


@pytest.mark.parametrize("fn_class", [_SquareSavingADerivedArray, _CubeWithAConstantMask])
def test_gradgradcheck_rejects_a_wrong_second_derivative(device, fn_class):
    x = tm.Tensor(RNG.uniform(0.5, 1.5, (2, 3)), device=device, requires_grad=True)
    assert tm.gradcheck(lambda t: fn_class.apply(t), [x])  # first order is right
    with pytest.raises(GradcheckError, match="input 0"):
        tm.gradgradcheck(lambda t: fn_class.apply(t), [x])


def test_gradgradcheck_accepts_the_same_op_written_by_the_rules(device):
    class Square(tm.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, gy):
            (x,) = self.saved
            return 2 * gy * x

    x = tm.Tensor(RNG.uniform(0.5, 1.5, (2, 3)), device=device, requires_grad=True)
    assert tm.gradgradcheck(lambda t: Square.apply(t), [x])


# ----------------------------------------------------------------------------------------------
# layers composed from the primitives (not gradgradchecked elsewhere)


def _leaf(shape, device):
    return tm.Tensor(RNG.standard_normal(shape), device=device, requires_grad=True)


def _dropout2d_fixed(x):
    tm.manual_seed(3)  # the same channel mask at every evaluation
    return F.dropout2d(x, 0.5, True)


def _distinct_1d(device):
    values = RNG.permutation(2 * 3 * 8).reshape(2, 3, 8) * 0.1  # no ties inside a window
    return tm.Tensor(values, device=device, requires_grad=True)


@pytest.mark.parametrize(
    "name", ["embedding", "max_pool1d", "avg_pool1d", "dropout2d", "rnn", "lstm_cell"]
)
def test_composed_layers_gradgradcheck(device, name):
    if name == "embedding":
        idx = tm.tensor(np.array([[0, 2, 2], [1, 0, 3]]), device=device)
        fn, inputs = (lambda w: F.embedding(idx, w)), [_leaf((4, 3), device)]
    elif name == "max_pool1d":
        fn, inputs = (lambda x: F.max_pool1d(x, 3, 2, 1)), [_distinct_1d(device)]
    elif name == "avg_pool1d":
        fn, inputs = (lambda x: F.avg_pool1d(x, 3, 2, 1)), [_leaf((2, 3, 8), device)]
    elif name == "dropout2d":
        fn, inputs = _dropout2d_fixed, [_leaf((2, 3, 2, 2), device)]
    elif name == "rnn":
        rnn = tm.nn.RNN(2, 3, dtype=tm.float64, device=device)
        fn, inputs = (
            (lambda a, h: rnn(a, h)[0]),
            [_leaf((2, 2, 2), device), _leaf((1, 2, 3), device)],
        )
    else:
        cell = tm.nn.LSTMCell(2, 3, dtype=tm.float64, device=device)
        fn = lambda a, h, c: cell(a, (h, c))[0]  # noqa: E731
        inputs = [_leaf((2, 2), device), _leaf((2, 3), device), _leaf((2, 3), device)]
    assert tm.gradcheck(fn, inputs)
    assert tm.gradgradcheck(fn, inputs)
