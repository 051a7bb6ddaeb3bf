"""Working time over weekends and Dutch holidays, in Dutch local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.worktime import AMSTERDAM, WorkingCalendar

CALENDAR = WorkingCalendar(time(8, 30), time(17, 0))  # 8.5 hours a day


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def test_one_working_day_after_friday_afternoon_is_monday_afternoon() -> None:
    friday = local(2026, 11, 20, 15, 0)
    assert CALENDAR.add(friday, CALENDAR.day_hours) == local(2026, 11, 23, 15, 0)


def test_outside_working_hours_the_clock_starts_next_morning() -> None:
    saturday_night = local(2026, 11, 21, 23, 0)
    assert CALENDAR.add(saturday_night, 4) == local(2026, 11, 23, 12, 30)


def test_christmas_and_new_year_do_not_count() -> None:
    # Wednesday 24 December 2025, 16:00; 25 and 26 December are holidays, then a weekend
    start = local(2025, 12, 24, 16, 0)
    assert CALENDAR.add(start, CALENDAR.day_hours) == local(2025, 12, 29, 16, 0)
    # ten working days from Monday 22 December 2025 at 9:00 (half an hour into the day) skip
    # Christmas, Boxing Day, New Year's Day and two weekends: Thursday 8 January, 9:00
    assert CALENDAR.add(local(2025, 12, 22, 9, 0), 10 * CALENDAR.day_hours) == local(
        2026, 1, 8, 9, 0
    )


def test_kings_day_moves_to_saturday_26_april_when_27_april_is_a_sunday() -> None:
    assert CALENDAR.holiday_name(date(2014, 4, 26)) is not None  # 27 April 2014 was a Sunday
    assert CALENDAR.holiday_name(date(2026, 4, 27)) is not None  # a Monday in 2026
    assert not CALENDAR.is_working_day(date(2026, 4, 27))
    friday = local(2026, 4, 24, 12, 0)
    assert CALENDAR.add(friday, CALENDAR.day_hours) == local(2026, 4, 28, 12, 0)


def test_liberation_day_is_off_in_a_lustrum_year_only() -> None:
    assert not CALENDAR.is_working_day(date(2025, 5, 5))
    assert CALENDAR.is_working_day(date(2026, 5, 5))


def test_between_counts_only_working_hours() -> None:
    assert CALENDAR.between(local(2026, 11, 20, 16, 0), local(2026, 11, 23, 9, 30)) == 2.0
    assert CALENDAR.between(local(2026, 11, 23, 10), local(2026, 11, 23, 9)) == 0.0


def test_daylight_saving_change_does_not_shift_working_hours() -> None:
    # the clocks go back in the night of 25 October 2026
    friday = local(2026, 10, 23, 12, 0)
    assert CALENDAR.add(friday, CALENDAR.day_hours) == local(2026, 10, 26, 12, 0)
    assert CALENDAR.add(friday, CALENDAR.day_hours).astimezone(UTC).hour == 11


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 1)),
    hours=st.floats(min_value=0.25, max_value=200, allow_nan=False),
)
def test_add_and_between_agree(start: datetime, hours: float) -> None:
    moment = start.replace(tzinfo=UTC)
    later = CALENDAR.add(moment, hours)
    assert CALENDAR.between(moment, later) == pytest.approx(hours, abs=1e-6)
