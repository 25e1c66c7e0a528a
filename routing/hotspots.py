"""The hotspot test (pure, no I/O): is a category's count in one grid over the last few days far above its
own level of the weeks before?

The test, exactly: let `k` be the reports of category c in grid g over the window (the last 3 days), and `b`
their number over the baseline (the 56 days — 8 weeks — before the window; the window is not in it). The
baseline's daily rate is (b + 0.5) / 56 — the half report keeps a pair never seen before from an expected
count of zero, which would make any single report "infinitely" surprising — and the window expects
λ = rate × 3. Under "nothing changed" k is Poisson(λ); the pair is a hotspot when the exact upper tail
P(X ≥ k | λ) < 0.001 and k ≥ 5 (a few reports are never a hotspot, however quiet the pair was). A flat series
— the same count every day — gives k ≈ λ and P ≈ 0.5: it never fires.

Testing many pairs at once: at p < 0.001, a city with 1,000 active (grid, category) pairs expects about one
false alarm per sweep window; the minimum count and the half-report floor keep those to pairs with real
numbers. The thresholds are settings (HOTLINE_HOTSPOT_*), shown on the page with the figures of each row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRIOR_REPORTS = 0.5  # added to the baseline count: a pair never seen expects half a report per baseline


@dataclass(frozen=True)
class HotspotTest:
    window_days: int = 3
    baseline_days: int = 56
    alpha: float = 0.001
    min_count: int = 5

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.baseline_days < 1 or not 0 < self.alpha < 1 or self.min_count < 1:
            raise ValueError(f"not a usable hotspot test: {self}")


@dataclass(frozen=True)
class Verdict:
    count: int  # k: reports in the window
    baseline: int  # b: reports in the baseline span
    expected: float  # λ: what the baseline expects in a window
    p_value: float  # P(X ≥ k | λ)
    hot: bool

    @property
    def ratio(self) -> float:
        """How many times the expected count the window saw."""
        return self.count / self.expected if self.expected else math.inf


def poisson_upper_tail(k: int, mu: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mu), exact to floating point, also far in the tail (summed from k upward in
    log space, not as 1 − CDF, which loses everything below 1e-16)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    if k <= mu:  # the bulk: 1 − P(X ≤ k−1) is accurate here
        log_term = -mu
        cdf = 0.0
        for i in range(k):
            if i:
                log_term += math.log(mu) - math.log(i)
            cdf += math.exp(log_term)
        return min(1.0, max(0.0, 1.0 - cdf))
    log_term = -mu + k * math.log(mu) - math.lgamma(k + 1)
    term = math.exp(log_term)
    total, i = 0.0, k
    while term > 0:
        total += term
        i += 1
        term *= mu / i
        if term < total * 1e-17:
            break
    return min(1.0, total)


def expected_in_window(baseline: int, test: HotspotTest) -> float:
    return (baseline + PRIOR_REPORTS) / test.baseline_days * test.window_days


def judge(count: int, baseline: int, test: HotspotTest) -> Verdict:
    """The verdict for one (grid, category): `count` in the window, `baseline` in the span before it."""
    if count < 0 or baseline < 0:
        raise ValueError("counts are never negative")
    expected = expected_in_window(baseline, test)
    p = poisson_upper_tail(count, expected)
    return Verdict(count, baseline, expected, p, count >= test.min_count and p < test.alpha)


def daily_series_verdict(days: list[int], test: HotspotTest) -> Verdict:
    """The verdict for a daily series, oldest first, whose last `window_days` are the window and the
    `baseline_days` before them the baseline (shorter series: the days missing count as zero)."""
    window = days[-test.window_days :]
    before = days[: -test.window_days][-test.baseline_days :]
    return judge(sum(window), sum(before), test)
