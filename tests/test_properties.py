"""Hypothesis properties of the binary ops on drawn broadcastable shapes.

For every drawn pair of shapes: the forward equals NumPy's, each gradient has its input's shape,
and each gradient equals the upstream gradient times the local derivative, reduced to the input
by summing over every output element that the input element was broadcast to. That reduction is
computed here independently of the engine's ``unbroadcast`` (with ``np.bincount`` over the
broadcast element indices).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import tinygrad_mom as tm

SETTINGS = settings(max_examples=40, deadline=None)

SHAPES = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4)


def _reduce_to(values: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``values`` (output-shaped) onto the input elements they were broadcast from."""
    owner = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), values.shape)
    summed = np.bincount(owner.ravel(), weights=values.ravel(), minlength=int(np.prod(shape)))
    return summed.reshape(shape)


def _near_tie(a, b) -> bool:
    """Whether any broadcast pair of a and b is within 0.25 (a maximum/minimum kink)."""
    ab, bb = np.broadcast_arrays(a, b)
    return bool((np.abs(ab - bb) < 0.25).any())


# name: (tm op, numpy forward, (ga, gb) local derivatives as numpy functions of a, b)
OPS = {
    "add": (lambda a, b: a + b, np.add, (lambda a, b: np.ones_like(a * b),) * 2),
    "sub": (
        lambda a, b: a - b,
        np.subtract,
        (lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    ),
    "mul": (
        lambda a, b: a * b,
        np.multiply,
        (lambda a, b: b * np.ones_like(a), lambda a, b: a * np.ones_like(b)),
    ),
    "div": (
        lambda a, b: a / b,
        np.divide,
        (lambda a, b: 1 / b * np.ones_like(a), lambda a, b: -a / b**2),
    ),
    "pow": (
        lambda a, b: a**b,
        np.power,
        (lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
    ),
    "maximum": (
        tm.maximum,
        np.maximum,
        (lambda a, b: (a > b) * np.ones_like(b), lambda a, b: (b > a) * np.ones_like(a)),
    ),
    "minimum": (
        tm.minimum,
        np.minimum,
        (lambda a, b: (a < b) * np.ones_like(b), lambda a, b: (b < a) * np.ones_like(a)),
    ),
}


def _draw_inputs(data, name, shapes):
    sa, sb = shapes.input_shapes
    elements = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)
    a = data.draw(arrays(np.float64, sa, elements=elements), label="a")
    b = data.draw(arrays(np.float64, sb, elements=elements), label="b")
    if name == "pow":
        a = np.abs(a) + 0.5  # positive base: a**b and log(a) are defined
    if name == "div":
        b = np.where(np.abs(b) < 0.5, b + np.copysign(1.0, b), b)  # away from 0
    if name in ("maximum", "minimum"):
        # odd vs even lattice points: never within 0.25 of each other, so no ties
        a = np.round(a) * 2 + 1
        b = np.round(b) * 2
        assert not _near_tie(a, b)
    return a, b


@pytest.mark.parametrize("name", sorted(OPS))
@SETTINGS
@given(shapes=SHAPES, data=st.data())
def test_binary_forward_and_gradients(name, shapes, data):
    fn, np_fn, (da, db) = OPS[name]
    a, b = _draw_inputs(data, name, shapes)
    ta = tm.Tensor(a, requires_grad=True)
    tb = tm.Tensor(b, requires_grad=True)
    out = fn(ta, tb)
    expected = np_fn(a, b)
    assert out.shape == shapes.result_shape == expected.shape
    np.testing.assert_allclose(out.numpy(force=True), expected, rtol=1e-12, atol=0)

    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(tm.Tensor(upstream))
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    ab, bb = np.broadcast_arrays(a, b)
    np.testing.assert_allclose(
        ta.grad.numpy(force=True).copy(),
        _reduce_to(upstream * da(ab, bb), a.shape),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        tb.grad.numpy(force=True).copy(),
        _reduce_to(upstream * db(ab, bb), b.shape),
        rtol=1e-10,
        atol=1e-12,
    )


@SETTINGS
@given(shapes=SHAPES, data=st.data())
def test_reflected_scalar_forms(shapes, data):
    a = data.draw(arrays(np.float64, shapes.input_shapes[0], elements=st.floats(0.5, 3)))
    s = data.draw(st.floats(0.5, 3))
    t = tm.Tensor(a)
    for got, want in [
        (s + t, s + a),
        (s - t, s - a),
        (s * t, s * a),
        (s / t, s / a),
        (s**t, s**a),
        (t**s, a**s),
        (t - s, a - s),
        (t / s, a / s),
    ]:
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.numpy(force=True), want, rtol=1e-12)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3))
def test_non_broadcastable_shapes_name_both(shapes):
    sa, sb = shapes.input_shapes
    bad = (*sb[:-1], sb[-1] + 5)  # larger than any drawn side: never equal to sa[-1]
    if sa[-1] == 1:
        sa = (*sa[:-1], 2)  # a 1 would broadcast against anything
    with pytest.raises(ValueError) as info:
        tm.ones(*sa) + tm.ones(*bad)
    assert str(sa) in str(info.value) and str(bad) in str(info.value)
