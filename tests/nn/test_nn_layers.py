"""Layers and nn.functional: float64 gradchecks w.r.t. inputs and parameters, modes, bad input."""

import math

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom import nn

from .helpers import check_twice, gradcheck_module


def randn(*shape, requires_grad=True):
    return tm.randn(*shape, dtype=tm.float64, requires_grad=requires_grad)


# --- gradchecks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: nn.Linear(4, 3), (5, 4)),
        (lambda: nn.Linear(4, 3, bias=False), (2, 3, 4)),
        (lambda: nn.Dense(3, 2), (4, 3)),
        (lambda: nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
        (lambda: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 2), bias=False), (1, 2, 6, 5)),
        (lambda: nn.Conv2d(2, 2, 3, dilation=2, padding="same"), (1, 2, 6, 6)),
        (lambda: nn.Conv2d(2, 2, 2, padding="same"), (1, 2, 4, 5)),
        (lambda: nn.Conv2d(1, 2, 3, padding="valid"), (2, 1, 4, 4)),
        (lambda: nn.Conv1d(2, 3, 3), (2, 2, 6)),
        (lambda: nn.Conv1d(2, 2, 2, stride=2, padding=1, dilation=2, bias=False), (1, 2, 7)),
        (lambda: nn.Conv1d(2, 2, 3, padding="same"), (1, 2, 5)),
        (lambda: nn.ConvTranspose2d(2, 3, 3), (2, 2, 3, 3)),
        (
            lambda: nn.ConvTranspose2d(2, 2, (3, 2), stride=(2, 1), padding=(1, 0),
                                       output_padding=(1, 0), dilation=(1, 2), bias=False),
            (1, 2, 3, 4),
        ),
        (lambda: nn.MaxPool2d(2), (2, 2, 4, 4)),
        (lambda: nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
        (lambda: nn.AvgPool2d(2), (2, 2, 4, 4)),
        (lambda: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
        (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (1, 2, 5, 5)),
        (lambda: nn.AvgPool2d(2, divisor_override=3), (1, 1, 4, 4)),
        (lambda: nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 3, 4)),
        (lambda: nn.AdaptiveAvgPool2d(2), (1, 2, 4, 6)),
        (lambda: nn.AdaptiveAvgPool2d((3, None)), (1, 2, 5, 4)),
        (lambda: nn.ReLU(), (3, 4)),
        (lambda: nn.LeakyReLU(0.2), (3, 4)),
        (lambda: nn.Sigmoid(), (3, 4)),
        (lambda: nn.Tanh(), (3, 4)),
        (lambda: nn.Softmax(dim=1), (3, 4)),
        (lambda: nn.LogSoftmax(dim=-1), (2, 3, 4)),
        (lambda: nn.Flatten(), (2, 3, 2)),
        (lambda: nn.Identity(), (2, 3)),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), (5, 3)),
    ],
)
def test_layer_gradcheck_inputs_and_parameters(make, shape):
    module = make()
    gradcheck_module(module, randn(*shape))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "layer, shape",
    [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (4, 3, 2)), (nn.BatchNorm2d, (3, 2, 2, 3))],
)
def test_batchnorm_gradcheck_both_modes(layer, shape, training, affine):
    tm.manual_seed(0)
    bn = layer(shape[1], affine=affine)
    if affine:  # move away from weight=1, bias=0 so their gradients are exercised generally
        with tm.no_grad():
            bn.weight.array[...] = np.linspace(0.5, 1.5, shape[1])
            bn.bias.array[...] = np.linspace(-0.3, 0.3, shape[1])
    bn.running_mean.array[...] = 0.2
    bn.running_var.array[...] = 1.7
    bn.train(training)
    gradcheck_module(bn, randn(*shape))


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert list(bn.state_dict()) == ["weight", "bias"]
    x = tm.randn(4, 2, 3, 3)
    y = bn(x).numpy(force=True).copy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    gradcheck_module(bn, randn(4, 2, 2, 2))


def test_dropout_gradcheck_training_with_fixed_mask_and_eval():
    drop = nn.Dropout(0.4)
    gradcheck_module(drop, randn(4, 5), before=lambda: tm.manual_seed(7))
    drop.eval()
    gradcheck_module(drop, randn(4, 5))


@pytest.mark.parametrize(
    "fn, args",
    [
        (lambda x, w, b: F.linear(x, w, b), ((3, 4), (2, 4), (2,))),
        (
            lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
            ((1, 2, 5, 5), (3, 2, 3, 3), (3,)),
        ),
        (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), ((4, 3), (3,), (3,))),
        (
            lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
            ((2, 2, 7), (3, 2, 2), (3,)),
        ),
        (
            lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
            ((1, 2, 3, 3), (2, 3, 3, 3), (3,)),
        ),
        (lambda x, w: F.conv_transpose2d(x, w, dilation=(2, 1)), ((1, 1, 2, 3), (1, 2, 2, 2))),
        (lambda x: F.max_pool2d(x, 2), ((1, 2, 4, 4),)),
        (lambda x: F.avg_pool2d(x, 2, 1), ((1, 2, 3, 3),)),
        (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), ((1, 1, 5, 7),)),
        (lambda x: F.relu(x), ((3, 3),)),
        (lambda x: F.leaky_relu(x, 0.1), ((3, 3),)),
        (lambda x: F.sigmoid(x), ((3, 3),)),
        (lambda x: F.tanh(x), ((3, 3),)),
        (lambda x: F.softmax(x, dim=0), ((3, 3),)),
        (lambda x: F.log_softmax(x, dim=1), ((3, 3),)),
        (lambda x: F.pad(x, (1, 2)), ((2, 3),)),
        (lambda x: F.flatten(x, 1), ((2, 3, 2),)),
    ],
)
def test_functional_gradcheck(fn, args):
    check_twice(fn, [randn(*s) for s in args])


# --- forward values -----------------------------------------------------------------------------
def test_linear_forward_and_dense_alias():
    assert nn.Dense is nn.Linear
    lin = nn.Linear(3, 2)
    x = tm.randn(4, 3)
    expected = (
        x.numpy(force=True).copy() @ lin.weight.numpy(force=True).copy().T
        + lin.bias.numpy(force=True).copy()
    )
    np.testing.assert_allclose(lin(x).numpy(force=True), expected, rtol=1e-6)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    assert lin(tm.randn(3)).shape == (2,)


def test_conv2d_output_sizes():
    x = tm.randn(2, 3, 9, 8)
    assert nn.Conv2d(3, 4, 3)(x).shape == (2, 4, 7, 6)
    assert nn.Conv2d(3, 4, 3, padding="same")(x).shape == (2, 4, 9, 8)
    assert nn.Conv2d(3, 4, 4, padding="same", dilation=2)(x).shape == (2, 4, 9, 8)
    assert nn.Conv2d(3, 4, 3, stride=2, padding=1)(x).shape == (2, 4, 5, 4)
    assert nn.Conv2d(3, 4, (1, 3), padding=(0, 1))(x).shape == (2, 4, 9, 8)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 9, 8)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("stride", [2, (1, 2), (2, 1)])
def test_conv2d_same_padding_refuses_any_stride_above_one(stride):
    with pytest.raises(ValueError, match="Conv2d: padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=stride, padding="same")


def test_pooling_values():
    x = tm.arange(16, dtype=tm.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).numpy(force=True)[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(
        nn.AvgPool2d(2)(x).numpy(force=True)[0, 0], [[2.5, 4.5], [10.5, 12.5]]
    )
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy(force=True).reshape(()), 7.5)
    # count_include_pad=False: a corner window with padding 1 and kernel 2 holds just one input cell
    corner = (
        F.avg_pool2d(x, 2, stride=2, padding=1, count_include_pad=False)
        .numpy(force=True)
        .copy()[0, 0, 0, 0]
    )
    assert corner == 0.0
    corner = (
        F.avg_pool2d(x + 1, 2, stride=2, padding=1, count_include_pad=False)
        .numpy(force=True)
        .copy()[0, 0, 0, 0]
    )
    assert corner == 1.0
    # PyTorch's non-divisible adaptive windows: output 3 over 5 rows uses rows [0,2), [1,4), [3,5)
    y = tm.arange(5, dtype=tm.float32).reshape(1, 1, 5, 1)
    np.testing.assert_allclose(
        F.adaptive_avg_pool2d(y, (3, 1)).numpy(force=True).ravel(), [0.5, 2.0, 3.5]
    )


def test_activation_modules_match_ops():
    x = tm.randn(3, 4)
    np.testing.assert_array_equal(
        nn.ReLU()(x).numpy(force=True), np.maximum(x.numpy(force=True), 0)
    )
    np.testing.assert_allclose(
        nn.LeakyReLU(0.2)(x).numpy(force=True).copy(),
        np.where(
            x.numpy(force=True).copy() > 0,
            x.numpy(force=True).copy(),
            0.2 * x.numpy(force=True).copy(),
        ),
    )
    np.testing.assert_allclose(
        nn.Sigmoid()(x).numpy(force=True), 1 / (1 + np.exp(-x.numpy(force=True))), rtol=1e-6
    )
    np.testing.assert_allclose(
        nn.Tanh()(x).numpy(force=True), np.tanh(x.numpy(force=True)), rtol=1e-6
    )
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy(force=True).sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(
        np.exp(nn.LogSoftmax(dim=1)(x).numpy(force=True)).sum(1), 1, rtol=1e-6
    )
    with pytest.warns(UserWarning, match="Implicit dimension"):
        implicit = nn.Softmax()(x)  # PyTorch's legacy rule: dim 1 for a 2-D input
    np.testing.assert_allclose(implicit.numpy(force=True), nn.Softmax(dim=1)(x).numpy(force=True))


# --- dropout ------------------------------------------------------------------------------------
def test_dropout_train_is_inverted_and_seeded(device):
    x = tm.ones(200, 100, device=device)
    drop = nn.Dropout(0.3)
    tm.manual_seed(5)
    a = drop(x).numpy(force=True).copy()
    tm.manual_seed(5)
    b = drop(x).numpy(force=True).copy()
    np.testing.assert_array_equal(a, b)
    kept = a != 0
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02
    assert abs(a.mean() - 1.0) < 0.03
    c = drop(x).numpy(force=True).copy()
    assert not np.array_equal(a, c)  # a new mask each call


def test_dropout_eval_and_edge_probabilities():
    x = tm.randn(10, 10)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(force=True), x.numpy(force=True))
    assert np.all(nn.Dropout(1.0)(x).numpy(force=True) == 0)
    assert F.dropout(x, 0.5, training=False) is x
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


def test_dropout_gradient_is_the_mask():
    x = tm.randn(6, 6, requires_grad=True)
    tm.manual_seed(1)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    expected = np.where(y.numpy(force=True).copy() != 0, 2.0, 0.0)
    np.testing.assert_array_equal(x.grad.numpy(force=True), expected)


# --- batch norm ---------------------------------------------------------------------------------
def test_batchnorm_train_normalises_and_updates_running_stats_by_hand():
    bn = nn.BatchNorm2d(3, momentum=0.2)
    x = tm.randn(4, 3, 2, 2) * 3 + 1
    y = bn(x).numpy(force=True).copy()
    a = x.numpy(force=True).copy()
    mean = a.mean(axis=(0, 2, 3))
    biased = a.var(axis=(0, 2, 3))
    expected = (a - mean.reshape(1, 3, 1, 1)) / np.sqrt(biased.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(force=True), 0.2 * mean, rtol=1e-5)
    unbiased = a.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_var.numpy(force=True), 0.8 + 0.2 * unbiased, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    z = bn(x).numpy(force=True).copy()
    expected = (a - bn.running_mean.numpy(force=True).copy().reshape(1, 3, 1, 1)) / np.sqrt(
        bn.running_var.numpy(force=True).copy().reshape(1, 3, 1, 1) + 1e-5
    )
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 1  # eval does not count batches


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [tm.randn(5, 2) + i for i in range(3)]
    for b in batches:
        bn(b)
    means = np.stack([b.numpy(force=True).copy().mean(0) for b in batches])
    np.testing.assert_allclose(bn.running_mean.numpy(force=True), means.mean(0), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3


def test_batchnorm_under_no_grad_still_updates_running_stats():
    bn = nn.BatchNorm1d(2)
    with tm.no_grad():
        bn(tm.randn(4, 2) + 5)
    assert np.all(bn.running_mean.numpy(force=True) > 0.3)


def test_batchnorm_default_init_and_buffers(device):
    bn = nn.BatchNorm2d(4).to(device)
    np.testing.assert_array_equal(bn.weight.numpy(force=True), 1)
    np.testing.assert_array_equal(bn.bias.numpy(force=True), 0)
    np.testing.assert_array_equal(bn.running_mean.numpy(force=True), 0)
    np.testing.assert_array_equal(bn.running_var.numpy(force=True), 1)
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == tm.int64
    out = bn(tm.randn(2, 4, 3, 3, device=device))
    out.sum().backward()
    assert bn.weight.grad.device == out.device
    assert nn.BatchNorm1d(3, affine=False).weight is None


def test_batchnorm_bad_input_changes_nothing():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match="expected 4D input"):
        bn(tm.randn(2, 3))
    with pytest.raises(ValueError, match="3 channels|num_features=3"):
        bn(tm.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tm.randn(1, 3, 1, 1))
    assert bn.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(bn.running_mean.numpy(force=True), 0)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(tm.randn(2, 3, 2, 2))
    bn.eval()
    bn(tm.randn(1, 3, 1, 1))  # a single value per channel is fine in eval mode
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(3, momentum=2.0)


# --- default init -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, fan_in", [(lambda: nn.Linear(50, 400), 50), (lambda: nn.Conv2d(8, 64, 3), 72)]
)
def test_default_init_is_pytorchs(make, fan_in):
    layer = make()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) gives U(−1/√fan_in, 1/√fan_in)
    w, b = layer.weight.numpy(force=True).copy(), layer.bias.numpy(force=True).copy()
    assert w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)
    assert abs(w.mean()) < 0.05 * bound
    assert np.abs(b).max() <= bound


def test_default_init_follows_manual_seed():
    tm.manual_seed(11)
    a = nn.Conv2d(2, 3, 3).weight.numpy(force=True).copy()
    tm.manual_seed(11)
    b = nn.Conv2d(2, 3, 3).weight.numpy(force=True).copy()
    np.testing.assert_array_equal(a, b)


def test_layers_accept_dtype_and_device():
    lin = nn.Linear(2, 3, dtype=tm.float64, device="cpu")
    assert lin.weight.dtype == tm.float64 and lin.bias.dtype == tm.float64
    with pytest.raises(TypeError, match="floating point"):
        nn.Linear(2, 3, dtype=tm.int32)


# --- bad input ----------------------------------------------------------------------------------
def test_conv2d_bad_input():
    conv = nn.Conv2d(3, 4, 5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        conv(tm.randn(3, 8, 8))
    with pytest.raises(ValueError, match="4 channels.*expects 3"):
        conv(tm.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match="larger than"):
        conv(tm.randn(1, 3, 4, 8))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string"):
        nn.Conv2d(4, 4, 3, padding="full")
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(1, 4, 0)


def test_linear_wrong_feature_size_names_both_sizes():
    lin = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"input has 5 features.*in_features=4"):
        lin(tm.randn(3, 5))
    with pytest.raises(TypeError, match="Tensor"):
        lin(np.zeros((3, 4)))


@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda: nn.Linear(3, 2), (4, 3)),
        (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
        (lambda: nn.BatchNorm2d(2), (3, 2, 4, 4)),
    ],
)
@pytest.mark.parametrize("dtype", [tm.float64, tm.int64])
def test_input_dtype_must_match_the_layer(layer, shape, dtype):
    # PyTorch refuses a float64 or integer input to a float32 layer; silently promoting would
    # run the whole model in float64 (2x slower) or on unscaled integers without a word.
    m = layer()
    with pytest.raises(TypeError, match=rf"dtype {np.dtype(dtype)}"):
        m(tm.zeros(*shape, dtype=dtype))
    assert m(tm.zeros(*shape)).dtype == tm.float32
    assert m.double()(tm.zeros(*shape, dtype=tm.float64)).dtype == tm.float64
    weight = tm.randn(2, 3, dtype=tm.float64)
    with pytest.raises(TypeError, match="bias dtype float32"):
        F.linear(tm.zeros(4, 3, dtype=tm.float64), weight, tm.zeros(2))


def test_pooling_bad_arguments():
    with pytest.raises(ValueError, match="ceil_mode"):
        nn.MaxPool2d(2, ceil_mode=True)
    with pytest.raises(ValueError, match="dilation"):
        nn.MaxPool2d(2, dilation=2)
    with pytest.raises(ValueError, match="return_indices"):
        nn.MaxPool2d(2, return_indices=True)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        nn.MaxPool2d(2)(tm.randn(4, 4))
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool2d(0)(tm.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(tm.randn(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(tm.randn(1, 2, 4, 4), tm.randn(2, 1, 3, 3), groups=2)


def test_conv_transpose2d_and_conv1d_bad_arguments():
    x4, x3 = tm.randn(1, 2, 3, 3), tm.randn(1, 2, 5)
    w4, w3 = tm.randn(2, 3, 2, 2), tm.randn(3, 2, 2)
    with pytest.raises(ValueError, match="groups=2 is not supported"):
        F.conv_transpose2d(x4, w4, groups=2)
    with pytest.raises(ValueError, match="groups=2 is not supported"):
        F.conv1d(x3, w3, groups=2)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller"):
        F.conv_transpose2d(x4, w4, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="input has 2 channels but the weight expects 3"):
        F.conv_transpose2d(x4, tm.randn(3, 2, 2, 2))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        F.conv_transpose2d(x4, w4, tm.randn(2))
    with pytest.raises(ValueError, match="padding must be an int or a pair"):
        F.conv_transpose2d(x4, w4, padding="same")
    with pytest.raises(ValueError, match="output size along H would be -1"):
        F.conv_transpose2d(tm.randn(1, 2, 1, 3), tm.randn(2, 1, 1, 1), padding=1)
    with pytest.raises(ValueError, match=r"4-D input of shape \(N, C, H, W\)"):
        F.conv_transpose2d(x3, w4)
    with pytest.raises(ValueError, match=r"3-D input of shape \(N, C, L\)"):
        F.conv1d(x4, w3)
    with pytest.raises(ValueError, match="input has 2 channels but the weight expects 3"):
        F.conv1d(x3, tm.randn(3, 3, 2))
    with pytest.raises(ValueError, match="stride must be an int or a 1-tuple"):
        F.conv1d(x3, w3, stride=(1, 1))
    with pytest.raises(TypeError, match="dtype float64"):
        F.conv_transpose2d(x4.double(), w4)
    for layer, args in ((nn.ConvTranspose2d, (2, 3, 3)), (nn.Conv1d, (2, 3, 3))):
        name = layer.__name__
        with pytest.raises(ValueError, match=f"{name}: groups=2 is not supported"):
            layer(*args, groups=2)
        with pytest.raises(ValueError, match=f"{name}: padding_mode='reflect' is not supported"):
            layer(*args, padding_mode="reflect")
        with pytest.raises(ValueError, match=f"{name}: kernel_size must be >= 1"):
            layer(2, 3, 0)
        with pytest.raises(ValueError, match=f"{name}: Invalid in_channels value: 0"):
            layer(0, 3, 3)
    with pytest.raises(ValueError, match="ConvTranspose2d: output_padding"):
        nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2d: padding must be an int"):
        nn.ConvTranspose2d(2, 3, 3, padding="same")
    with pytest.raises(ValueError, match="Conv1d: padding='same' is not supported for strided"):
        nn.Conv1d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"valid sizes along dimension 2 range from 7 to 8"):
        nn.ConvTranspose2d(2, 3, 3, stride=2)(x4, output_size=(9, 7))


def test_conv_transpose2d_and_conv1d_shapes_and_reprs():
    up = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
    assert up(tm.randn(4, 2, 5, 6)).shape == (4, 3, 10, 12)
    assert up.weight.shape == (2, 3, 3, 3)
    assert repr(up).startswith(
        "ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))"
    )
    sized = nn.ConvTranspose2d(2, 3, 3, stride=2)(tm.randn(1, 2, 3, 3), output_size=(8, 7))
    assert sized.shape == (1, 3, 8, 7)
    line = nn.Conv1d(2, 4, 3, padding="same", bias=False)
    assert line(tm.randn(3, 2, 7)).shape == (3, 4, 7) and line.weight.shape == (4, 2, 3)
    assert repr(line).startswith("Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding='same'")
