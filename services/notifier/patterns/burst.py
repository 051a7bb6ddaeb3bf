"""The burst rule: unique reporters per category in a rolling 60 minutes, per candidate facility
and per 1 km cell. Crossing the threshold announces a pattern at once; it is announced again
only when more unique reporters join (or a body involved in its reports had not been told yet);
when the burst has died down the next one is new.

In memory (a dict per key; cost per report is a few dictionary operations), rebuilt from the
last hour of stored signals when the service starts. The windows follow the database
transaction: ``begin`` starts a journal of the windows as they were before the transaction
first touched them, and ``rollback`` puts those back (copying only what a batch touches, not
the whole hour).
"""

from __future__ import annotations

import copy
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BURST_NAMESPACE = uuid.UUID("0d4c5a1e-2b7f-4a55-8a4e-5f0b8c3d9e21")


@dataclass
class _Window:
    arrivals: deque[tuple[datetime, str]] = field(default_factory=deque)
    last_seen: dict[str, datetime] = field(default_factory=dict)
    report_ids: dict[str, datetime] = field(default_factory=dict)
    announced: int = 0  # unique reporters at the last announcement (0: none yet)
    announced_to: frozenset[str] = frozenset()
    announcements: int = 0
    started: datetime | None = None
    recipients: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Burst:
    key: tuple[str, ...]  # ("facility", id, category) or ("cell", gx, gy, category)
    category: str
    pattern_id: uuid.UUID
    announcement: int
    unique_reporters: int
    report_ids: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    recipients: tuple[str, ...]


Journal = dict[tuple[str, ...], _Window | None]
"""Windows as they were before a transaction changed them (``None``: there was none)."""


class BurstDetector:
    def __init__(
        self,
        threshold: int = 10,
        window: timedelta = timedelta(minutes=60),
        cell_m: float = 1000.0,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.cell_m = cell_m
        self._windows: dict[tuple[str, ...], _Window] = {}
        self._journal: Journal | None = None

    def begin(self) -> Journal:
        """From now on, remember every window as it was before its first change."""
        self._journal = {}
        return self._journal

    def rollback(self, journal: Journal) -> None:
        """Put the windows ``journal`` remembers back as they were at ``begin``."""
        for key, before in journal.items():
            if before is None:
                self._windows.pop(key, None)
            else:
                self._windows[key] = before
        journal.clear()

    def _window(self, key: tuple[str, ...]) -> _Window:
        if self._journal is not None and key not in self._journal:
            before = self._windows.get(key)
            self._journal[key] = None if before is None else copy.deepcopy(before)
        return self._windows.setdefault(key, _Window())

    def keys(
        self, category: str, x_m: float, y_m: float, facility_ids: list[str]
    ) -> list[tuple[str, ...]]:
        cell = ("cell", str(int(x_m // self.cell_m)), str(int(y_m // self.cell_m)), category)
        return [cell, *(("facility", f, category) for f in facility_ids)]

    def observe(
        self,
        *,
        report_id: str,
        reporter_key: str,
        category: str,
        at: datetime,
        x_m: float,
        y_m: float,
        facility_ids: list[str],
        recipients: list[str],
        announce: bool = True,
    ) -> list[Burst]:
        """Count one report (a second call for the same report only adds recipients)."""
        bursts = []
        for key in self.keys(category, x_m, y_m, facility_ids):
            window = self._window(key)
            self._expire(window, at)
            window.recipients.update(recipients)
            if report_id not in window.report_ids:
                window.report_ids[report_id] = at
                window.arrivals.append((at, reporter_key))
                window.last_seen[reporter_key] = at
            unique = len(window.last_seen)
            if unique < self.threshold:
                if unique == 0:
                    del self._windows[key]
                continue
            if window.started is None:
                window.started = min(window.report_ids.values())
            # again when more reporters joined, or when a body that has not heard of it yet
            # became involved (deliveries of one report to its recipients arrive one by one)
            if unique > window.announced or not window.recipients <= window.announced_to:
                window.announced = unique
                window.announced_to = frozenset(window.recipients)
                if not announce:
                    continue
                window.announcements += 1
                bursts.append(
                    Burst(
                        key=key,
                        category=category,
                        pattern_id=uuid.uuid5(
                            BURST_NAMESPACE, f"{'/'.join(key)}/{window.started.isoformat()}"
                        ),
                        announcement=window.announcements,
                        unique_reporters=unique,
                        report_ids=tuple(window.report_ids),
                        window_start=window.started,
                        window_end=at,
                        recipients=tuple(sorted(window.recipients)),
                    )
                )
        return bursts

    def _expire(self, window: _Window, now: datetime) -> None:
        horizon = now - self.window
        while window.arrivals and window.arrivals[0][0] < horizon:
            moment, reporter = window.arrivals.popleft()
            if window.last_seen.get(reporter) == moment:
                del window.last_seen[reporter]
        for report_id, moment in list(window.report_ids.items()):
            if moment < horizon:
                del window.report_ids[report_id]
        if len(window.last_seen) < self.threshold:
            window.announced, window.announcements, window.started = 0, 0, None
            window.announced_to = frozenset()
