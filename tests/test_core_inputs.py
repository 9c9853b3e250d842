"""Core inputs that used to reach NumPy raw: each is now the library's error, named."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_mom as tm


@pytest.mark.parametrize(
    "make",
    [lambda: tm.zeros(10**6, 10**6, 10**6), lambda: tm.ones((1 << 62,)),
     lambda: tm.empty(10**12, 10**9), lambda: tm.full((10**10, 10**10), 1.0),
     lambda: tm.randn(2**40, 2**40), lambda: tm.rand(2**40, 2**40),
     lambda: tm.randint(0, 5, (2**40, 2**40)), lambda: tm.arange(0, 1e19)],
)
def test_huge_shapes_are_a_named_memory_error(make):
    with pytest.raises(MemoryError, match=r"^(zeros|ones|empty|full|randn|rand|randint|arange): "):
        make()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [((math.nan,), ValueError, "Invalid end value: nan"), ((0, math.inf), ValueError, "inf"),
     (("5",), TypeError, "end must be a real number"), ((0, 5, 0), ValueError, "nonzero"),
     ((0, 5, None), TypeError, "step"), ((5, 0, 1), ValueError, "inconsistent with step sign")],
)
def test_arange_rejects_bad_bounds(args, error, match):
    with pytest.raises(error, match=match):
        tm.arange(*args)


def test_arange_still_works():
    np.testing.assert_array_equal(tm.arange(5).numpy(), np.arange(5))
    np.testing.assert_allclose(tm.arange(1, 2, 0.25).numpy(), [1, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(tm.arange(5, 0, -2).numpy(), [5, 3, 1])
    assert tm.arange(0).shape == (0,)


def test_bool_tensors_cannot_be_negated_or_subtracted():
    m = tm.tensor([True, False])
    with pytest.raises(TypeError, match="Negation.*bool"):
        _ = -m
    with pytest.raises(TypeError, match="Subtraction.*two bool"):
        _ = m - tm.tensor([False, False])
    with pytest.raises(TypeError, match="Subtraction.*two bool"):
        _ = m - True
    np.testing.assert_array_equal((m - 1).numpy(), [0, -1])  # bool with an int promotes


def test_in_place_operands_are_checked_before_anything_changes():
    t = tm.zeros(3)
    for op in (lambda: t.add_(tm.ones(4)), lambda: t.mul_(tm.ones(2, 3)),
               lambda: t.__iadd__(tm.ones(2, 2)), lambda: t.sub_("1")):
        with pytest.raises((ValueError, TypeError), match=r"add_|mul_|\+=|sub_"):
            op()
    np.testing.assert_array_equal(t.numpy(), [0, 0, 0])
    i = tm.zeros(3, dtype=tm.int64)
    with pytest.raises(TypeError, match="can't be cast to the desired output type int64"):
        i.add_(tm.ones(3))
    with pytest.raises(TypeError, match="can't be cast"):
        i += 0.5
    with pytest.raises(TypeError, match="can't be cast"):
        i.div_(2)
    np.testing.assert_array_equal(i.numpy(), [0, 0, 0])
    i += 2
    t += tm.ones(1)
    np.testing.assert_array_equal(i.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(t.numpy(), [1, 1, 1])


def test_cat_and_stack_refuse_a_bare_tensor():
    x = tm.ones(2, 3)
    with pytest.raises(TypeError, match=r"cat\(\): argument 'tensors' must be a tuple or list"):
        tm.cat(x)
    with pytest.raises(TypeError, match=r"stack\(\)"):
        tm.stack(x)
    assert tm.cat([x, x]).shape == (4, 3) and tm.stack((x, x)).shape == (2, 2, 3)


def test_two_ellipses_are_an_index_error():
    with pytest.raises(IndexError, match="single ellipsis"):
        tm.ones(2, 3)[..., ...]


@pytest.mark.parametrize("fn", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sum", "mean",
                                "abs", "neg", "flatten"])
def test_a_list_where_a_tensor_is_required(fn):
    pattern = rf"{fn}: input must be a Tensor.*\(list\).*tensor\(\.\.\.\)"
    with pytest.raises(TypeError, match=pattern):
        getattr(tm.ops, fn)([1.0, 2.0])


def test_a_grad_of_another_dtype_is_refused():
    p = tm.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="data type int64, but the tensor has data type float32"):
        p.grad = tm.zeros(3, dtype=tm.int64)
    with pytest.raises(RuntimeError, match="float64"):
        p.grad = tm.zeros(3, dtype=tm.float64)
    assert p.grad is None
    p.grad = tm.ones(3)
    assert p.grad is not None
