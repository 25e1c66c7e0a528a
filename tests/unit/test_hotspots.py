"""The hotspot test on synthetic counts (routing.hotspots): the exact Poisson tail, flat and noisy series
that must not fire, a surge that must, the minimum count, and the baseline excluding the window."""

from __future__ import annotations

import math
import random

import pytest

from routing.hotspots import HotspotTest, daily_series_verdict, expected_in_window, judge, poisson_upper_tail

TEST = HotspotTest()


@pytest.mark.parametrize(("k", "mu"), [(0, 1.0), (1, 1.0), (3, 2.5), (10, 2.0), (25, 3.0), (60, 4.0), (2, 10.0)])
def test_the_upper_tail_is_the_exact_poisson_sum(k: int, mu: float) -> None:
    def pmf(i: int) -> float:
        return math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1))

    by_hand = 1.0 - sum(pmf(i) for i in range(k))
    tail = sum(pmf(i) for i in range(k, k + 400))
    got = poisson_upper_tail(k, mu)
    assert got == pytest.approx(tail, rel=1e-9, abs=1e-300)
    if by_hand > 1e-12:
        assert got == pytest.approx(by_hand, rel=1e-6)


def test_the_tail_agrees_with_scipy_far_out() -> None:
    stats = pytest.importorskip("scipy.stats")
    for k, mu in [(5, 0.027), (40, 3.0), (12, 1.5), (3, 3.0)]:
        assert poisson_upper_tail(k, mu) == pytest.approx(float(stats.poisson.sf(k - 1, mu)), rel=1e-8)


def test_a_flat_series_never_fires() -> None:
    for per_day in range(0, 40):
        v = daily_series_verdict([per_day] * 59, TEST)
        assert not v.hot, (per_day, v)
        if per_day >= 2:
            assert v.p_value > 0.3  # the window is what the baseline expects


def test_noisy_steady_series_do_not_fire() -> None:
    rng = random.Random(16)
    fired = 0
    for _ in range(500):
        rate = rng.uniform(0.2, 6.0)
        days = [_poisson(rng, rate) for _ in range(59)]
        fired += daily_series_verdict(days, TEST).hot
    assert fired <= 3  # p < 0.001 on 500 steady pairs: about 0.5 expected by chance


def test_a_surge_fires() -> None:
    days = [1, 0, 1, 1, 0, 2, 1] * 8 + [6, 7, 8]
    v = daily_series_verdict(days, TEST)
    assert v.hot and v.count == 21 and v.baseline == 48
    assert v.expected == pytest.approx((48 + 0.5) / 56 * 3)
    assert v.p_value < 1e-6 and v.ratio > 8


def test_few_reports_are_never_a_hotspot_however_quiet_the_pair_was() -> None:
    assert not judge(4, 0, TEST).hot and judge(4, 0, TEST).p_value < 1e-5
    assert judge(5, 0, TEST).hot


def test_the_threshold_is_the_p_value() -> None:
    # b = 55: λ = 55.5 / 56 × 3 ≈ 2.973; P(X ≥ 10) ≈ 0.00103 (not hot), P(X ≥ 11) ≈ 0.00027 (hot).
    assert expected_in_window(55, TEST) == pytest.approx(55.5 / 56 * 3)
    assert not judge(10, 55, TEST).hot and judge(10, 55, TEST).p_value == pytest.approx(0.0010321, rel=1e-4)
    assert judge(11, 55, TEST).hot


def test_the_baseline_excludes_the_window() -> None:
    # A surge that started 3 days ago does not raise its own baseline.
    days = [0] * 56 + [10, 10, 10]
    v = daily_series_verdict(days, TEST)
    assert v.baseline == 0 and v.count == 30 and v.hot
    # A surge that ended long ago is baseline; the window looks ordinary against it.
    old = [10] * 56 + [10, 9, 11]
    assert not daily_series_verdict(old, TEST).hot


def test_a_test_that_cannot_work_is_refused() -> None:
    with pytest.raises(ValueError):
        HotspotTest(alpha=0)
    with pytest.raises(ValueError):
        judge(-1, 0, TEST)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
