"""Dutch working time: weekdays within working hours, not on national holidays.

Holidays come from the ``holidays`` library's calendar for the Netherlands (King's Day moves
to 26 April when 27 April is a Sunday; Liberation Day is a day off every fifth year), not from
dates written here. Working hours are configurable; all arithmetic is in Dutch local time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class WorkingCalendar:
    def __init__(
        self,
        start: time = time(8, 30),
        end: time = time(17, 0),
        *,
        extra_days_off: Iterable[date] = (),
    ) -> None:
        if end <= start:
            raise ValueError("working hours must end after they start")
        self.start, self.end = start, end
        self._holidays = holidays.country_holidays("NL")
        self._extra = frozenset(extra_days_off)
        self._working: dict[date, bool] = {}
        self._windows: dict[date, tuple[datetime, datetime]] = {}

    @property
    def day_hours(self) -> float:
        """Length of one working day in hours (a norm of "1 working day")."""
        start = datetime.combine(date(2000, 1, 3), self.start)
        return (datetime.combine(date(2000, 1, 3), self.end) - start).total_seconds() / 3600

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = (
                day.weekday() < 5 and day not in self._holidays and day not in self._extra
            )
        return known

    def holiday_name(self, day: date) -> str | None:
        name = self._holidays.get(day)
        return str(name) if name else None

    def _window(self, day: date) -> tuple[datetime, datetime]:
        window = self._windows.get(day)
        if window is None:
            window = self._windows[day] = (
                datetime.combine(day, self.start, tzinfo=AMSTERDAM),
                datetime.combine(day, self.end, tzinfo=AMSTERDAM),
            )
        return window

    def add(self, moment: datetime, hours: float) -> datetime:
        """The moment ``hours`` of working time after ``moment`` (in UTC)."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        cursor = moment.astimezone(AMSTERDAM)
        for _ in range(3660):  # ten years of days: a norm never needs more
            day = cursor.date()
            if self.is_working_day(day):
                opens, closes = self._window(day)
                cursor = max(cursor, opens)
                if cursor < closes:
                    available = closes - cursor
                    if remaining <= available:
                        return (cursor + remaining).astimezone(UTC)
                    remaining -= available
            cursor = datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
        raise ValueError(f"{hours} working hours do not fit in ten years")

    def between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start:
            return 0.0
        first, last = start.astimezone(AMSTERDAM), end.astimezone(AMSTERDAM)
        total = timedelta()
        day = first.date()
        while day <= last.date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lower, upper = max(opens, first), min(closes, last)
                if upper > lower:
                    total += upper - lower
            day += timedelta(days=1)
        return total.total_seconds() / 3600
