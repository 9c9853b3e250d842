"""nn.init: PyTorch's formulas, in place under no_grad, seeded by tm.manual_seed."""

import math

import numpy as np
import pytest

import tinygrad_mom as tm
from tinygrad_mom import nn
from tinygrad_mom.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def _stats(t):
    a = t.numpy(force=True).copy()
    return a.mean(), a.std(), np.abs(a).max()


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_kaiming_and_xavier_statistics(shape):
    p = nn.Parameter(tm.empty(*shape))
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    assert init.kaiming_uniform_(p, nonlinearity="relu") is p
    std = math.sqrt(2 / fan_in)
    _, s, m = _stats(p)
    assert m <= math.sqrt(3) * std and s == pytest.approx(std, rel=0.05)
    init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
    mean, s, _ = _stats(p)
    assert s == pytest.approx(math.sqrt(2 / fan_out), rel=0.05) and abs(mean) < 0.05 * s
    init.xavier_uniform_(p, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    _, s, m = _stats(p)
    assert m <= bound and s == pytest.approx(bound / math.sqrt(3), rel=0.05)
    init.xavier_normal_(p)
    _, s, _ = _stats(p)
    assert s == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)


def test_simple_fills_and_dtype_preserved(device):
    p = nn.Parameter(tm.empty(50, 40, dtype=tm.float64, device=device))
    init.uniform_(p, -2, 3)
    a = p.numpy(force=True).copy()
    assert a.min() >= -2 and a.max() < 3 and a.mean() == pytest.approx(0.5, abs=0.1)
    init.normal_(p, 1.0, 0.5)
    assert p.numpy(force=True).mean() == pytest.approx(1.0, abs=0.05) and p.numpy(
        force=True
    ).std() == pytest.approx(0.5, rel=0.05)
    init.constant_(p, 0.25)
    assert np.all(p.numpy(force=True) == 0.25)
    init.ones_(p)
    assert np.all(p.numpy(force=True) == 1)
    init.zeros_(p)
    assert np.all(p.numpy(force=True) == 0)
    assert p.dtype == tm.float64 and p.requires_grad and p.is_leaf and p.grad is None


def test_init_is_seeded_and_records_no_graph():
    p = nn.Parameter(tm.empty(4, 5))
    tm.manual_seed(3)
    a = init.kaiming_uniform_(p).numpy(force=True).copy()
    tm.manual_seed(3)
    b = init.kaiming_uniform_(p).numpy(force=True).copy()
    np.testing.assert_array_equal(a, b)
    assert p.grad_fn is None
    tm.manual_seed(4)
    assert not np.array_equal(init.kaiming_uniform_(p).numpy(force=True), a)


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tm.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(tm.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="Tensor"):
        init.zeros_(np.zeros(3))
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(tm.empty(2), 1, 0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(tm.empty(2), 0, -1)
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(tm.empty(0, 3))
