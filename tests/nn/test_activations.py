"""The activations of nn/activations.py: gradcheck and gradgradcheck in float64 (random upstream
gradient, the suite's shapes, every backend through ``device``), values and gradients against
PyTorch where it is installed, the modules' defaults and reprs, and bad input."""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom import nn

try:
    import torch
except ImportError:  # the cross-checks skip; the gradchecks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RNG = np.random.default_rng(99)


def away_from_kinks(shape, kinks=(0.0,), scale=3.0):
    """Values at least 0.05 from every kink, so central differences stay on one piece."""
    x = RNG.uniform(-scale, scale, shape)
    for k in kinks:
        near = np.abs(x - k) < 0.05
        x[near] = k + np.sign(x[near] - k + 1e-9) * 0.1
    return x


# name: (ours, theirs (name in torch.nn.functional, kwargs), kinks)
CASES = {
    "elu": (lambda x: F.elu(x), ("elu", {}), (0.0,)),
    "elu_alpha": (lambda x: F.elu(x, alpha=0.7), ("elu", {"alpha": 0.7}), (0.0,)),
    "selu": (lambda x: F.selu(x), ("selu", {}), (0.0,)),
    "celu": (lambda x: F.celu(x, alpha=2.0), ("celu", {"alpha": 2.0}), (0.0,)),
    "gelu": (lambda x: F.gelu(x), ("gelu", {}), ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), ("gelu", {"approximate": "tanh"}), ()),
    "silu": (lambda x: F.silu(x), ("silu", {}), ()),
    "mish": (lambda x: F.mish(x), ("mish", {}), ()),
    "softplus": (lambda x: F.softplus(x), ("softplus", {}), ()),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                      ("softplus", {"beta": 2.0, "threshold": 3.0}), (1.5,)),
    "softsign": (lambda x: F.softsign(x), ("softsign", {}), (0.0,)),
    "logsigmoid": (lambda x: F.logsigmoid(x), ("logsigmoid", {}), ()),
    "tanhshrink": (lambda x: F.tanhshrink(x), ("tanhshrink", {}), ()),
    "hardtanh": (lambda x: F.hardtanh(x), ("hardtanh", {}), (-1.0, 1.0)),
    "hardtanh_range": (lambda x: F.hardtanh(x, -0.5, 2.0),
                       ("hardtanh", {"min_val": -0.5, "max_val": 2.0}), (-0.5, 2.0)),
    "relu6": (lambda x: F.relu6(x * 3), ("relu6", {}), (0.0, 2.0)),
    "hardsigmoid": (lambda x: F.hardsigmoid(x * 2), ("hardsigmoid", {}), (-1.5, 1.5)),
    "hardswish": (lambda x: F.hardswish(x * 2), ("hardswish", {}), (-1.5, 1.5)),
    "softshrink": (lambda x: F.softshrink(x), ("softshrink", {}), (-0.5, 0.5)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.3), ("hardshrink", {"lambd": 0.3}), (-0.3, 0.3)),
    "threshold": (lambda x: F.threshold(x, 0.2, -1.0),
                  ("threshold", {"threshold": 0.2, "value": -1.0}), (0.2,)),
    "glu": (lambda x: F.glu(x, 0), ("glu", {"dim": 0}), ()),
    "softmin": (lambda x: F.softmin(x, dim=1), ("softmin", {"dim": 1}), ()),
    "normalize": (lambda x: F.normalize(x), ("normalize", {}), ()),
    "normalize_p1": (lambda x: F.normalize(x, p=1.0, dim=0), ("normalize", {"p": 1.0, "dim": 0}),
                     (0.0,)),
}


def _leaf(a, device):
    return tm.Tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=True)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("shape", [(4, 3), (2, 0), (2, 3, 2)], ids=str)
def test_activation_gradcheck_and_gradgradcheck(device, name, shape):
    fn, _, kinks = CASES[name]
    if name == "softmin" and len(shape) < 2:
        pytest.skip("softmin over dim 1 needs two dims")
    a = away_from_kinks(shape, kinks)
    assert tm.gradcheck(fn, [_leaf(a, device)])
    assert tm.gradgradcheck(fn, [_leaf(a, device)])
    # a non-contiguous input gives the same
    t = _leaf(np.ascontiguousarray(np.swapaxes(a, 0, 1)), device)
    assert tm.gradcheck(lambda x: fn(x.transpose(0, 1)), [t])


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_activation_values_and_gradients_match_torch(name):
    fn, (torch_name, kwargs), kinks = CASES[name]
    a = away_from_kinks((4, 6), kinks)
    g = RNG.standard_normal(np.shape(fn(tm.Tensor(a)).numpy()))
    x = tm.Tensor(a, requires_grad=True)
    y = fn(x)
    (y * tm.Tensor(g)).sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    scale = {"relu6": 3, "hardsigmoid": 2, "hardswish": 2}.get(name, 1)
    yt = getattr(torch.nn.functional, torch_name)(xt * scale, **kwargs)
    (yt * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    # ATen's hardsigmoid/hardswish backward uses the float32 constant 1.0f / 6.0f
    rtol = 1e-7 if name in ("hardsigmoid", "hardswish") else 1e-10
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-12)
    # float32 keeps its dtype, as PyTorch
    assert fn(tm.Tensor(a.astype(np.float32))).dtype == tm.float32


@needs_torch
def test_gradients_at_the_kinks_match_torch():
    points = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 0.5, -0.5])
    for name, kwargs in [("hardtanh", {}), ("relu6", {}), ("hardsigmoid", {}), ("elu", {}),
                         ("celu", {}), ("selu", {}), ("softshrink", {}), ("hardshrink", {}),
                         ("logsigmoid", {}), ("softplus", {"beta": 1.0, "threshold": 1.0})]:
        x = tm.Tensor(points, requires_grad=True)
        getattr(F, name)(x, **kwargs).sum().backward()
        xt = torch.tensor(points, requires_grad=True)
        getattr(torch.nn.functional, name)(xt, **kwargs).sum().backward()
        rtol = 1e-7 if name == "hardsigmoid" else 1e-12  # ATen's float32 1/6
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=rtol, err_msg=name)


def test_extremes_stay_finite():
    x = tm.Tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=tm.float64, requires_grad=True)
    for fn in (F.elu, F.selu, F.celu, F.softplus, F.logsigmoid, F.mish, F.silu, F.gelu):
        y = fn(x)
        y.sum().backward()
        assert np.all(np.isfinite(y.detach().numpy())) and np.all(np.isfinite(x.grad.numpy()))
        x.grad = None
    assert F.logsigmoid(x).detach().numpy()[0] == -1e4 and F.softplus(x).detach().numpy()[-1] == 1e4


@needs_torch
@pytest.mark.parametrize(
    "shape, channels", [((2, 3, 4, 4), 3), ((5, 3), 3), ((4,), 1), ((2, 3), 1)]
)
def test_prelu_matches_torch_per_channel_and_shared(shape, channels):
    a = away_from_kinks(shape)
    w = RNG.uniform(0.1, 0.5, channels)
    x, weight = tm.Tensor(a, requires_grad=True), tm.Tensor(w, requires_grad=True)
    xt, wt = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    g = RNG.standard_normal(shape)
    (F.prelu(x, weight) * tm.Tensor(g)).sum().backward()
    (torch.nn.functional.prelu(xt, wt) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(weight.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    assert tm.gradcheck(F.prelu, [_leaf(a, "cpu"), _leaf(w, "cpu")])
    assert tm.gradgradcheck(F.prelu, [_leaf(a, "cpu"), _leaf(w, "cpu")])


def test_prelu_module_and_state_dict_names():
    m = nn.PReLU(3, init=0.1)
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (3,)
    assert np.allclose(m.weight.numpy(force=True), 0.1)
    assert repr(m).startswith("PReLU(num_parameters=3)")
    out = m(tm.Tensor([[[-1.0]], [[2.0]], [[-3.0]]]).reshape(1, 3, 1, 1))
    assert np.allclose(out.detach().numpy().ravel(), [-0.1, 2.0, -0.3])
    with pytest.raises(ValueError, match="weight has 3 values, input \\(2, 4\\) has 4 channels"):
        m(tm.ones(2, 4))


@needs_torch
def test_modules_have_torch_defaults_and_reprs():
    for name in ["ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus", "Softsign",
                 "LogSigmoid", "Tanhshrink", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish",
                 "Softshrink", "Hardshrink", "GLU", "Softmin", "PReLU"]:
        ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
        assert repr(ours).splitlines()[0] == repr(theirs), name  # then "Total parameters"
    for ours, theirs in [(nn.ELU(0.5, inplace=True), torch.nn.ELU(0.5, inplace=True)),
                         (nn.GELU("tanh"), torch.nn.GELU("tanh")),
                         (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20))]:
        assert repr(ours).splitlines()[0] == repr(theirs)
    a = away_from_kinks((3, 4))
    for ours, theirs in [(nn.Softplus(beta=2), torch.nn.Softplus(beta=2)),
                         (nn.Hardtanh(-2, 2), torch.nn.Hardtanh(-2, 2)),
                         (nn.GLU(), torch.nn.GLU()), (nn.Softmin(1), torch.nn.Softmin(1))]:
        np.testing.assert_allclose(ours(tm.Tensor(a)).numpy(), theirs(torch.tensor(a)).numpy(),
                                   rtol=1e-12)


def test_inplace_forms_write_into_a_non_leaf_and_refuse_a_leaf():
    w = tm.Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    h = w * 1.0
    out = F.elu(h, inplace=True)
    assert out is h
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [np.exp(-1.0), 1.0, 1.0])
    with pytest.raises(RuntimeError):
        nn.SiLU(inplace=True)(tm.ones(2, requires_grad=True))
    x = tm.Tensor([-7.0, 3.0, 8.0])
    assert nn.ReLU6(inplace=True)(x) is x and x.tolist() == [0.0, 3.0, 6.0]


def test_one_hot_as_torch():
    y = tm.tensor([0, 2, 1, 2])
    out = F.one_hot(y)
    assert out.dtype == tm.int64 and out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert F.one_hot(tm.tensor([[1], [0]]), num_classes=4).shape == (2, 1, 4)
    assert F.one_hot(tm.tensor([], dtype=tm.int64), 3).shape == (0, 3)
    with pytest.raises(TypeError, match="only applicable to index tensor"):
        F.one_hot(tm.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(tm.tensor([-1, 0]))
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(tm.tensor([3]), 3)
    with pytest.raises(ValueError, match="empty tensor"):
        F.one_hot(tm.tensor([], dtype=tm.int64))
    if torch is not None:
        a = np.array([[3, 0], [1, 4]])
        np.testing.assert_array_equal(F.one_hot(tm.tensor(a), 6).numpy(),
                                      torch.nn.functional.one_hot(torch.tensor(a), 6).numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.elu(tm.tensor([1, 2])), TypeError, "elu: expected a floating point input"),
    (lambda: F.elu([1.0]), TypeError, "elu"),
    (lambda: F.gelu(tm.ones(2), approximate="erf"), ValueError, "approximate"),
    (lambda: F.softplus(tm.ones(2), beta=0), ValueError, "beta must be non-zero"),
    (lambda: F.hardtanh(tm.ones(2), 2.0, 1.0), ValueError, "cannot be greater than max_val"),
    (lambda: F.glu(tm.ones(2, 3)), ValueError, "dimension 1 is size 3"),
    (lambda: F.softshrink(tm.ones(2), -1.0), ValueError, "lambd"),
    (lambda: F.celu(tm.ones(2), alpha=0.0), ValueError, "alpha cannot be 0"),
    (lambda: nn.ELU(inplace="yes"), TypeError, "inplace must be a bool"),
    (lambda: nn.PReLU(0), ValueError, "num_parameters"),
    (lambda: F.normalize(tm.ones(2, 2), eps=-1.0), ValueError, "eps"),
    (lambda: nn.GELU(approximate="tanh", alpha=1), TypeError,
     "unexpected keyword argument 'alpha'"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_normalize_of_a_zero_row_is_zero_with_a_finite_gradient():
    x = tm.Tensor([[0.0, 0.0], [3.0, 4.0]], dtype=tm.float64, requires_grad=True)
    y = F.normalize(x)
    assert y.detach().tolist() == [[0.0, 0.0], [0.6, 0.8]]
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("fn, kwargs", [
    (F.binary_cross_entropy, {}), (F.mse_loss, {}), (F.l1_loss, {}),
    (F.binary_cross_entropy_with_logits, {}),
])
def test_functional_losses_map_the_legacy_size_average_and_reduce(fn, kwargs):
    x = tm.Tensor([[0.2, 0.7], [0.9, 0.4]], dtype=tm.float64)
    t = tm.Tensor([[0.0, 1.0], [1.0, 0.0]], dtype=tm.float64)
    for legacy, reduction in [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
                              ({"size_average": True}, "mean")]:
        with pytest.warns(DeprecationWarning, match="deprecated"):
            ours = fn(x, t, **legacy)
        np.testing.assert_allclose(ours.numpy(), fn(x, t, reduction=reduction).numpy())


def test_class_losses_map_the_legacy_arguments():
    logits = tm.Tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]])
    y = tm.tensor([1, 2])
    with pytest.warns(DeprecationWarning):
        s = F.cross_entropy(logits, y, size_average=False)
    np.testing.assert_allclose(s.item(), F.cross_entropy(logits, y, reduction="sum").item())
    with pytest.warns(DeprecationWarning):
        n = F.nll_loss(F.log_softmax(logits, 1), y, reduce=False)
    assert n.shape == (2,)
