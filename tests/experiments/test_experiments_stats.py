"""The verdict's statistics on constructed inputs, against values computed by hand."""

import math

import numpy as np
import pytest

from tinygrad_mom.experiments import stats
from tinygrad_mom.experiments.compare import RunResult, compare_runs


@pytest.mark.parametrize("t", [-3.0, -0.5, 0.0, 0.7, 1.0, 12.0])
def test_t_cdf_matches_the_closed_forms_for_one_and_two_degrees_of_freedom(t):
    # df = 1 is the Cauchy distribution; df = 2 has F(t) = 1/2 + t / (2·√(2 + t²))
    assert stats.t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    assert stats.t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


@pytest.mark.parametrize(
    "df, expected",
    # the 97.5 % points of the t tables (df = 1: tan(0.475·π), df = 2: 2·√2 / √(1 − 0.95²) ... )
    [(1, math.tan(0.475 * math.pi)), (2, 0.95 * math.sqrt(2 / (1 - 0.95**2))), (4, 2.776445)],
)
def test_t_quantile_inverts_the_cdf(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, rel=1e-6)
    assert stats.t_quantile(0.025, df) == pytest.approx(-expected, rel=1e-6)


def test_paired_interval_by_hand():
    # d = (0.4, 0.2, 0.3): mean 0.3, sd 0.1, half-width t_{0.975,2} · 0.1 / √3
    ci = stats.paired_interval([0.9, 0.8, 0.7], [0.5, 0.6, 0.4])
    half = 0.95 * math.sqrt(2 / (1 - 0.95**2)) * 0.1 / math.sqrt(3)
    assert ci.mean == pytest.approx(0.3)
    assert (ci.low, ci.high) == pytest.approx((0.3 - half, 0.3 + half))
    assert ci.n == 3 and ci.separates


def test_paired_interval_that_contains_zero_does_not_separate():
    # d = (0.1, −0.1, 0.05): mean 0.0167, sd ≈ 0.104, the interval straddles 0
    ci = stats.paired_interval([0.6, 0.5, 0.55], [0.5, 0.6, 0.5])
    assert ci.low < 0 < ci.high and not ci.separates


@pytest.mark.parametrize(
    "a, b, message",
    [([0.5], [0.4], "at least 2 pairs"), ([0.5, 0.6], [0.4], "same length")],
)
def test_paired_interval_rejects_unusable_input(a, b, message):
    with pytest.raises(ValueError, match=message):
        stats.paired_interval(a, b)


@pytest.mark.parametrize(
    "only_a, only_b, both, p",
    [
        (0, 5, 10, 2 / 32),  # 2·P(X ≤ 0), X ~ Bin(5, 1/2)
        (0, 6, 0, 2 / 64),
        (1, 6, 3, 2 * (1 + 7) / 128),
        (3, 3, 1, 1.0),  # min(1, 2·P(X ≤ 3)) for Bin(6, 1/2)
        (0, 0, 4, 1.0),  # no discordant sample: no evidence
    ],
)
def test_mcnemar_exact_p_by_hand(only_a, only_b, both, p):
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * 2
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * 2
    result = stats.mcnemar(a, b)
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.p_value == pytest.approx(p, rel=1e-12)


def test_mcnemar_is_exact_where_two_to_the_n_overflows_a_float():
    # 1200 discordant samples split 600/600: p = 1; split 0/1200: p = 2^-1199, below 1e-300
    assert stats.mcnemar([True] * 600 + [False] * 600, [False] * 600 + [True] * 600).p_value == 1
    assert stats.mcnemar([False] * 1200, [True] * 1200).p_value < 1e-300


def _runs(name, accuracies, correct=None):
    return [
        RunResult(name, seed, "SGD", [], 0.0, acc, 0.0, np.asarray(correct or [], dtype=bool))
        for seed, acc in enumerate(accuracies)
    ]


def test_verdict_over_seeds_uses_the_paired_interval():
    found = compare_runs(_runs("momentum", [0.9, 0.8, 0.7]), _runs("sgd", [0.5, 0.6, 0.4]))
    assert found.test == "paired t-interval" and found.winner == "momentum"
    assert "momentum is better" in found.text and "paired t over 3 seeds" in found.text
    tie = compare_runs(_runs("momentum", [0.6, 0.5, 0.55]), _runs("sgd", [0.5, 0.6, 0.5]))
    assert tie.winner is None and "not distinguishable" in tie.text


def test_verdict_of_one_seed_uses_mcnemar_and_a_one_image_difference_is_no_evidence():
    # the example: 0.100 vs 0.095 on 200 images is one image apart
    sgd = [True] * 19 + [False] * 181
    mom = [True] * 20 + [False] * 180
    found = compare_runs(_runs("momentum", [0.100], mom), _runs("sgd", [0.095], sgd))
    assert found.test == "McNemar" and found.winner is None
    assert found.p_value == pytest.approx(1.0) and "not distinguishable" in found.text
    clear = compare_runs(
        _runs("momentum", [0.5], [True] * 100 + [False] * 100),
        _runs("sgd", [0.1], [True] * 20 + [False] * 180),
    )
    assert clear.winner == "momentum" and clear.p_value < 1e-20


def test_runs_on_different_seeds_cannot_be_paired():
    first = _runs("momentum", [0.9, 0.8])
    second = [RunResult("sgd", 7 + i, "SGD", [], 0.0, 0.5, 0.0, np.zeros(0, bool)) for i in (0, 1)]
    with pytest.raises(ValueError, match="same seeds"):
        compare_runs(first, second)
