"""Facility recurrence (CUSUM against a weekday-adjusted baseline) and the scope label."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

from schemas.pattern import Scope
from services.notifier.patterns.service import coarse, cusum_alarm, scope_of

TODAY = date(2026, 11, 23)


def history(per_day: Callable[[int], int]) -> Counter[date]:
    """Daily report counts for the last 120 days; ``per_day(days_ago)``."""
    return Counter({TODAY - timedelta(days=d): per_day(d) for d in range(120)})


def usual(days_ago: int) -> int:
    return 1 if days_ago % 2 else 0


def rising(days_ago: int) -> int:
    """The usual level, plus one report every third day, then every other day (last 30)."""
    if days_ago >= 30:
        return usual(days_ago)
    return usual(days_ago) + (1 if days_ago % (2 if days_ago < 15 else 3) == 0 else 0)


def test_a_slow_rise_near_a_facility_raises_the_alarm() -> None:
    flat = history(lambda d: 1 if d % 2 else 0)
    assert not cusum_alarm(flat, TODAY), "the usual level is no alarm"
    # the last 30 days: one extra report every third day, then every other day
    rising = history(
        lambda d: (1 if d % 2 else 0) + (1 if d < 30 and d % (2 if d < 15 else 3) == 0 else 0)
    )
    assert cusum_alarm(rising, TODAY)


def test_weekday_rhythm_is_not_an_alarm() -> None:
    weekdays = history(lambda d: 3 if (TODAY - timedelta(days=d)).weekday() < 5 else 0)
    assert not cusum_alarm(weekdays, TODAY)


def test_scope_labels() -> None:
    assert scope_of({"GM0453"}, {"PV27"}, {}) is Scope.LOCAL
    assert scope_of({"GM0453", "GM0375"}, {"PV27"}, {}) is Scope.REGIONAL
    assert scope_of({"GM0453", "GM0344"}, {"PV27", "PV26"}, {}) is Scope.NATIONAL
    three_steelworks = {"a": "steel", "b": "steel", "c": "steel"}
    assert scope_of({"GM0453"}, {"PV27"}, three_steelworks) is Scope.NATIONAL


def test_coarse_points_snap_to_500_metres() -> None:
    a, b = coarse(52.49301, 4.60002), coarse(52.49302, 4.60001)
    assert (a.lat, a.lon) == (b.lat, b.lon)
    assert abs(a.lat - 52.493) < 0.005
    assert a.grid_m == 500
