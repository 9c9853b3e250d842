"""The two tests the experiment's verdict uses, in plain Python (no SciPy).

- :func:`paired_interval`: a paired Student-t confidence interval for the mean difference of
  two optimizers' scores over the same seeds (several seeds).
- :func:`mcnemar`: McNemar's exact test on two classifiers' predictions of the same test set
  (one seed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300  # keeps a zero denominator from stopping the recurrence
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0 and 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # the fraction converges fast only below the mean; above it use I_x(a,b) = 1 − I_{1−x}(b,a)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t distribution with ``df`` degrees of freedom."""
    if not df > 0:
        raise ValueError(f"t_cdf: df must be > 0, got {df}")
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution (bisection on :func:`t_cdf`)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile: p must be strictly between 0 and 1, got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


@dataclass(frozen=True)
class PairedInterval:
    """Mean of the paired differences a − b, its confidence interval, and the sample size."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def separates(self) -> bool:
        """True when the interval excludes 0: the evidence separates a from b."""
        return self.low > 0.0 or self.high < 0.0


def paired_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> PairedInterval:
    """Student-t confidence interval for mean(a − b) over paired samples (e.g. seeds).

    With differences d (n of them), the interval is mean(d) ± t_{(1+c)/2, n−1} · sd(d)/√n,
    sd with n − 1 in the denominator. It needs at least two pairs.
    """
    a_arr = np.asarray(a, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(
            f"paired_interval: a and b must be 1-D of the same length, got shapes "
            f"{a_arr.shape} and {b_arr.shape}"
        )
    if len(a_arr) < 2:
        raise ValueError(f"paired_interval: needs at least 2 pairs, got {len(a_arr)}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(
            f"paired_interval: confidence must be strictly between 0 and 1, got {confidence}"
        )
    d = a_arr - b_arr
    n = len(d)
    mean = float(d.mean())
    half = t_quantile((1.0 + confidence) / 2.0, n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
    return PairedInterval(mean, mean - half, mean + half, n, confidence)


@dataclass(frozen=True)
class McNemarResult:
    """Discordant counts (only a right, only b right) and the exact two-sided p-value."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemarResult:
    """McNemar's exact test: do classifiers a and b err on the same test set equally often?

    Only the discordant samples count: k = min(only_a, only_b) of n = only_a + only_b under
    Binomial(n, 1/2); p = min(1, 2·P(X ≤ k)), computed exactly with integers.
    """
    a_arr = np.asarray(correct_a, dtype=bool)
    b_arr = np.asarray(correct_b, dtype=bool)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(
            f"mcnemar: correct_a and correct_b must be 1-D of the same length, got shapes "
            f"{a_arr.shape} and {b_arr.shape}"
        )
    only_a = int(np.count_nonzero(a_arr & ~b_arr))
    only_b = int(np.count_nonzero(b_arr & ~a_arr))
    n = only_a + only_b
    if n == 0:
        return McNemarResult(0, 0, 1.0)
    k = min(only_a, only_b)
    # exact: Σ_{i≤k} C(n, i) as one integer (each term from the last), and int / int division
    # rounds correctly even where 2**n has no float
    term, total = 1, 1
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        total += term
    return McNemarResult(only_a, only_b, min(1.0, 2 * total / 2**n))
