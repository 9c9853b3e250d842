"""Losses: float64 gradchecks, hand-computed values, stability, module forms and every bad input."""

import numpy as np
import pytest

import tinygrad_mom as tm
import tinygrad_mom.nn.functional as F
from tinygrad_mom import nn


def randn(*shape, requires_grad=True):
    return tm.randn(*shape, dtype=tm.float64, requires_grad=requires_grad)


def labels(*values):
    return tm.tensor(list(values))


def np_log_softmax(x, axis=1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --- gradchecks ---------------------------------------------------------------------------------
WEIGHT = tm.tensor([0.5, 2.0, 1.0, 1.5], dtype=tm.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight": WEIGHT},
        {"label_smoothing": 0.2},
        {"weight": WEIGHT, "label_smoothing": 0.3},
        {"ignore_index": 1},
        {"ignore_index": 1, "weight": WEIGHT, "label_smoothing": 0.1},
    ],
)
def test_cross_entropy_gradcheck(reduction, kwargs):
    target = labels(0, 3, 1, 2, 1)
    tm.gradcheck(lambda x: F.cross_entropy(x, target, reduction=reduction, **kwargs), randn(5, 4))


def test_cross_entropy_spatial_and_probability_targets_gradcheck():
    target = tm.randint(0, 3, (2, 2, 2))
    tm.gradcheck(lambda x: F.cross_entropy(x, target, label_smoothing=0.1), randn(2, 3, 2, 2))
    tm.gradcheck(lambda x: F.cross_entropy(x, tm.tensor(2)), randn(4))
    probs = tm.softmax(tm.randn(3, 4, dtype=tm.float64), 1)
    tm.gradcheck(
        lambda x, p: F.cross_entropy(x, p, WEIGHT, label_smoothing=0.2),
        [randn(3, 4), probs.requires_grad_()],
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_gradcheck(reduction):
    target = labels(2, 0, 1)
    tm.gradcheck(lambda x: F.nll_loss(x, target, reduction=reduction), randn(3, 4))
    tm.gradcheck(lambda x: F.nll_loss(x, target, WEIGHT, reduction=reduction), randn(3, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses_gradcheck(reduction):
    tm.gradcheck(lambda x, t: F.mse_loss(x, t, reduction=reduction), [randn(3, 4), randn(3, 4)])
    tm.gradcheck(lambda x, t: F.l1_loss(x, t, reduction=reduction), [randn(3, 4), randn(3, 4)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_losses_gradcheck(reduction):
    probs = tm.rand(3, 4, dtype=tm.float64) * 0.9 + 0.05
    target = tm.rand(3, 4, dtype=tm.float64)  # soft targets exercise the target gradient
    weight = tm.rand(4, dtype=tm.float64) + 0.5
    tm.gradcheck(
        lambda x, t: F.binary_cross_entropy(x, t, weight, reduction=reduction),
        [probs.requires_grad_(), target.requires_grad_()],
    )
    pos_weight = (tm.rand(4, dtype=tm.float64) * 3).requires_grad_()
    tm.gradcheck(
        lambda x, t, pw: F.binary_cross_entropy_with_logits(
            x, t, weight, reduction=reduction, pos_weight=pw
        ),
        [randn(3, 4), target, pos_weight],
    )
    tm.gradcheck(
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
        [randn(3, 4), target],
    )


def test_bce_with_logits_gradient_at_zero_logit_is_sigmoid_minus_target():
    x = tm.zeros(3, requires_grad=True)
    F.binary_cross_entropy_with_logits(x, tm.tensor([0.0, 1.0, 0.25]), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(force=True), [0.5, -0.5, 0.25])


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_class_loss_modules_gradcheck(name):
    loss = getattr(nn, name)(weight=WEIGHT)
    target = labels(1, 3, 0)
    tm.gradcheck(lambda x: loss(x, target), randn(3, 4))


# --- values -------------------------------------------------------------------------------------
def test_cross_entropy_values_by_hand():
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = np.array([0, 3, 1, 2, 1])
    w = WEIGHT.numpy(force=True).copy()
    logp = np_log_softmax(x)
    picked = -logp[np.arange(5), y]
    out = F.cross_entropy(tm.tensor(x), tm.tensor(y), reduction="none").numpy(force=True).copy()
    np.testing.assert_allclose(out, picked)
    np.testing.assert_allclose(F.cross_entropy(tm.tensor(x), tm.tensor(y)).item(), picked.mean())
    np.testing.assert_allclose(
        F.cross_entropy(tm.tensor(x), tm.tensor(y), reduction="sum").item(), picked.sum()
    )
    # weighted mean divides by the summed weights of the targets
    weighted = F.cross_entropy(tm.tensor(x), tm.tensor(y), WEIGHT).item()
    np.testing.assert_allclose(weighted, (w[y] * picked).sum() / w[y].sum())
    # label smoothing with weight: (1−ε)·nll + ε/C · Σ_i Σ_c w_c·(−logp_ic) / Σ_i w[y_i]
    eps = 0.3
    smooth = (-(logp * w).sum(1)).sum() / w[y].sum()
    expected = (1 - eps) * (w[y] * picked).sum() / w[y].sum() + eps / 4 * smooth
    np.testing.assert_allclose(
        F.cross_entropy(tm.tensor(x), tm.tensor(y), WEIGHT, label_smoothing=eps).item(), expected
    )
    # ignore_index drops the element from the loss and from the mean's denominator
    ignored = F.cross_entropy(tm.tensor(x), tm.tensor([0, 3, -100, 2, 1])).item()
    np.testing.assert_allclose(ignored, picked[[0, 1, 3, 4]].mean())


def test_cross_entropy_is_finite_for_huge_logits():
    x = tm.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], requires_grad=True)
    loss = F.cross_entropy(x, labels(1, 1))
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)
    loss.backward()
    assert np.all(np.isfinite(x.grad.numpy(force=True)))
    assert np.isfinite(F.cross_entropy(tm.tensor([[1e4, 1e4]]), labels(0)).item())


def test_binary_losses_values_and_clamping():
    p = tm.tensor([0.0, 1.0, 0.25, 0.9])
    t = tm.tensor([1.0, 0.0, 0.0, 1.0])
    out = F.binary_cross_entropy(p, t, reduction="none").numpy(force=True).copy()
    np.testing.assert_allclose(out, [100.0, 100.0, -np.log(0.75), -np.log(0.9)], rtol=1e-6)
    p.requires_grad_()
    F.binary_cross_entropy(p, t).backward()
    assert np.all(np.isfinite(p.grad.numpy(force=True)))
    z = tm.tensor([-1000.0, 1000.0, 0.0])
    out = F.binary_cross_entropy_with_logits(
        z, tm.tensor([1.0, 0.0, 1.0]), reduction="none"
    ).numpy(force=True).copy()
    np.testing.assert_allclose(out, [1000.0, 1000.0, np.log(2)], rtol=1e-6)
    pw = F.binary_cross_entropy_with_logits(
        tm.tensor([0.0]), tm.tensor([1.0]), pos_weight=tm.tensor([3.0])
    )
    np.testing.assert_allclose(pw.item(), 3 * np.log(2), rtol=1e-6)


def test_regression_values_and_broadcast_warning():
    a, b = tm.tensor([1.0, 2.0, 4.0]), tm.tensor([0.0, 2.0, 1.0])
    assert F.mse_loss(a, b).item() == pytest.approx(10 / 3)
    assert F.l1_loss(a, b, reduction="sum").item() == pytest.approx(4)
    assert nn.MSELoss(reduction="none")(a, b).shape == (3,)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(tm.randn(3, 1), tm.randn(3))


def test_loss_modules_and_their_buffers():
    w = tm.tensor([1.0, 2.0])
    ce = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert list(ce.state_dict()) == ["weight"]
    x, y = tm.randn(4, 2), labels(0, 1, 1, 0)
    assert ce(x, y).item() == pytest.approx(F.cross_entropy(x, y, w, label_smoothing=0.1).item())
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    bce = nn.BCEWithLogitsLoss(pos_weight=tm.tensor([2.0]))
    assert list(bce.state_dict()) == ["pos_weight"]
    p, t = tm.rand(3, 1), tm.tensor([[1.0], [0.0], [1.0]])
    assert bce(p, t).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(p, t, pos_weight=tm.tensor([2.0])).item()
    )
    assert nn.BCELoss()(p, t).item() == pytest.approx(F.binary_cross_entropy(p, t).item())
    assert nn.L1Loss()(p, t).item() == pytest.approx(F.l1_loss(p, t).item())
    assert nn.NLLLoss()(x, y).item() == pytest.approx(F.nll_loss(x, y).item())
    assert repr(nn.MSELoss(reduction="sum")).startswith("MSELoss(reduction='sum')")
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("bad", [-1, 4, 100])
def test_out_of_range_label_names_label_and_classes(fn, bad):
    with pytest.raises(ValueError, match=rf"Target {bad} is out of bounds.*C=4"):
        fn(tm.randn(3, 4), labels(0, bad, 1))


def test_negative_label_is_never_wrapped_even_spatially():
    with pytest.raises(ValueError, match="Target -1"):
        F.cross_entropy(tm.randn(2, 3, 2, 2), tm.tensor([[[0, 1], [2, 0]], [[1, -1], [0, 0]]]))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_float_labels_are_a_type_error(fn):
    with pytest.raises(TypeError, match="integer class indices"):
        fn(tm.randn(3, 4), tm.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="integer class indices"):
        fn(tm.randn(3, 4), tm.tensor([True, False, True]))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_batch_size_mismatch_and_empty_batch(fn):
    with pytest.raises(ValueError, match=r"batch_size \(3\) to match target batch_size \(2\)"):
        fn(tm.randn(3, 4), labels(0, 1))
    with pytest.raises(ValueError, match="empty batch"):
        fn(tm.randn(0, 4), tm.tensor(np.zeros(0, dtype=np.int64)))
    with pytest.raises(ValueError, match="does not fit"):
        fn(tm.randn(3, 4), tm.tensor([[0], [1], [2]]))


def test_cross_entropy_other_bad_arguments():
    x, y = tm.randn(3, 4), labels(0, 1, 2)
    with pytest.raises(TypeError, match="target must be a Tensor"):
        F.cross_entropy(x, [0, 1, 2])
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(tm.tensor([[1, 2]]), labels(0))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, y, tm.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, y, reduction="mena")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, y, label_smoothing=-0.1)


def test_soft_target_of_the_wrong_shape_says_what_is_expected():
    with pytest.raises(TypeError, match=r"class probabilities of the input's shape \(2, 3\)"):
        F.cross_entropy(tm.randn(2, 3), tm.rand(2, 4))


def test_cross_entropy_module_label_smoothing_must_be_a_number():
    with pytest.raises(TypeError, match="label_smoothing must be a real number"):
        nn.CrossEntropyLoss(label_smoothing="0.1")


def test_binary_losses_bad_input():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(tm.tensor([0.5, 1.5]), tm.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy(tm.tensor([0.5, 0.5]), tm.tensor([1.0]))
    with pytest.raises(TypeError, match="floating point"):
        F.binary_cross_entropy_with_logits(tm.randn(2), tm.tensor([0, 1]))
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(tm.randn(2, 3), tm.rand(2, 3), pos_weight=tm.ones(4))
