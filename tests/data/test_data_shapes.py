"""The embedded shapes dataset: deterministic, well-formed, and not linearly easy."""

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom.data import synthetic as shapes_module


def test_shapes_format_and_balance():
    train, test = tm.data.load_dataset("shapes", n_train=500, n_test=100, seed=3)
    x, y = train.tensors
    assert x.shape == (500, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= x.numpy(force=True).min() and x.numpy(force=True).max() <= 1.0
    assert np.bincount(y.numpy(force=True), minlength=10).tolist() == [50] * 10
    assert len(test) == 100 and train.classes == list(shapes_module.CLASSES)


def test_shapes_is_deterministic_and_test_set_independent_of_train_size():
    a_train, a_test = tm.data.shapes(n_train=200, n_test=50, seed=1)
    b_train, b_test = tm.data.shapes(n_train=300, n_test=50, seed=1)
    np.testing.assert_array_equal(
        a_test.tensors[0].numpy(force=True), b_test.tensors[0].numpy(force=True)
    )
    c_train = tm.data.shapes(split="train", n_train=200, seed=1)
    np.testing.assert_array_equal(
        a_train.tensors[0].numpy(force=True), c_train.tensors[0].numpy(force=True)
    )
    d_train = tm.data.shapes(split="train", n_train=200, seed=2)
    assert not np.array_equal(
        a_train.tensors[0].numpy(force=True), d_train.tensors[0].numpy(force=True)
    )


def test_every_class_draws_a_visible_shape():
    x, y = shapes_module.generate(400, 0)
    # the shape covers a sizeable, class-dependent area: measure it via the brightest pixels
    for label in range(10):
        imgs = x[y == label]
        spread = (imgs.max(axis=(2, 3)) - imgs.min(axis=(2, 3))).min(axis=1)
        assert np.median(spread) > 0.3, shapes_module.CLASSES[label]


def test_shapes_argument_errors():
    with pytest.raises(ValueError, match="split must be"):
        tm.data.shapes(split="validation")
    with pytest.raises(ValueError, match="Invalid n_train value"):
        tm.data.shapes(n_train=-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        tm.data.shapes(seed=1.5)


def test_a_linear_model_on_pixels_is_weak():
    """Ridge-regression classifier on raw pixels: far from solving the task.

    The seeds' CNN reaches ~85-90% on this data in a few epochs (README, Data section); a linear
    model stays near 30%. If colour or position leaked the class, this would jump.
    """
    train, test = tm.data.shapes(n_train=4000, n_test=1000, seed=0)
    xtr = train.tensors[0].numpy(force=True).copy().reshape(4000, -1).astype(np.float64)
    xte = test.tensors[0].numpy(force=True).copy().reshape(1000, -1).astype(np.float64)
    mean = xtr.mean(axis=0)
    xtr, xte = xtr - mean, xte - mean
    targets = np.eye(10)[train.tensors[1].numpy(force=True).copy()]
    weights = np.linalg.solve(xtr.T @ xtr + 100.0 * np.eye(xtr.shape[1]), xtr.T @ targets)
    accuracy = (np.argmax(xte @ weights, axis=1) == test.tensors[1].numpy(force=True).copy()).mean()
    print(f"ridge accuracy {accuracy:.3f}")
    assert 0.1 < accuracy < 0.45
