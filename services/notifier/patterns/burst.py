"""The burst rule: unique reporters per category within 60 minutes of *observation* time, per
candidate facility and per 1 km cell. Reports arrive late (residents submit hours after they
noticed): a report joins the windows of the time it was observed, up to ``lateness`` (6 h) after
it; a report submitted later than that is left to the scan. A key fires when some 60-minute
window that contains the new report holds ``threshold`` unique reporters.

One burst is one pattern: every key that fires with reports of a live burst (same category,
shared reports) joins it, so a body receives one burst listing its facilities and cells. It is
announced when it forms, again when its unique reporters grew by half (10, 15, 23, …) or when a
body involved in its reports had not been told yet (deliveries of one report reach its bodies
one by one). A burst ends when no report can join it any more (``window + lateness`` after its
last observation); a later one at the same place is a new pattern.

In memory, rebuilt from the last ``window + lateness`` of stored signals when the service
starts. The state follows the database transaction: ``begin`` starts a journal of what the
transaction first touched, ``rollback`` puts it back (copying only what a batch touches).
"""

from __future__ import annotations

import bisect
import copy
import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BURST_NAMESPACE = uuid.UUID("0d4c5a1e-2b7f-4a55-8a4e-5f0b8c3d9e21")
LATENESS = timedelta(hours=6)
GROWTH = 1.5
SWEEP_EVERY = timedelta(minutes=10)

Key = tuple[str, ...]  # ("facility", id, category) or ("cell", gx, gy, category)


@dataclass
class _Window:
    """One key's reports in observation order: (observed, reporter, report id)."""

    reports: list[tuple[datetime, str, str]] = field(default_factory=list)
    # the reporters of the trailing window (the last ``window`` up to the latest report), kept
    # while reports arrive in observation order: counting an in-order report is O(1)
    tail: Counter[str] = field(default_factory=Counter)
    tail_start: int = 0
    tail_valid: bool = False
    fired: bool = False  # the latest report fired this key: all its window is in the burst


@dataclass
class _Pattern:
    pattern_id: uuid.UUID
    category: str
    reporters: dict[str, str]  # report id -> reporter key
    observed: dict[str, datetime]  # report id -> observed at
    keys: set[Key]
    people: set[str] = field(default_factory=set)  # unique reporter keys
    recipients: set[str] = field(default_factory=set)
    announced: int = 0  # unique reporters at the last announcement
    announced_to: frozenset[str] = frozenset()
    announcements: int = 0

    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class Burst:
    pattern_id: uuid.UUID
    category: str
    announcement: int
    unique_reporters: int
    report_ids: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    recipients: tuple[str, ...]
    facility_ids: tuple[str, ...]
    cells: tuple[tuple[int, int], ...]  # 1 km cells (gx, gy) of ``cell_m``


Journal = dict[tuple[str, Any], Any]
"""What a transaction changed, as it was before (``None``: there was none)."""

_ABSENT = None
started_max = datetime.max.replace(tzinfo=UTC)


class BurstDetector:
    def __init__(
        self,
        threshold: int = 10,
        window: timedelta = timedelta(minutes=60),
        cell_m: float = 1000.0,
        lateness: timedelta = LATENESS,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.cell_m = cell_m
        self.lateness = lateness
        self._windows: dict[Key, _Window] = {}
        self._patterns: dict[uuid.UUID, _Pattern] = {}
        self._pattern_of: dict[str, uuid.UUID] = {}  # report id -> its live burst
        self._recipients: dict[str, set[str]] = {}  # report id -> bodies it was delivered to
        self._now: datetime | None = None
        self._next_sweep: datetime | None = None
        self._journal: Journal | None = None

    # -- transactions ----------------------------------------------------------------------

    def begin(self) -> Journal:
        """From now on, remember everything as it was before its first change."""
        self._journal = {}
        return self._journal

    def rollback(self, journal: Journal) -> None:
        """Put back what ``journal`` remembers as it was at ``begin``."""
        stores: dict[str, dict[Any, Any]] = {
            "window": self._windows,
            "pattern": self._patterns,
            "pattern_of": self._pattern_of,
            "recipients": self._recipients,
        }
        for (kind, key), before in journal.items():
            if before is _ABSENT:
                stores[kind].pop(key, None)
            else:
                stores[kind][key] = before
        journal.clear()

    def _touch(self, kind: str, store: dict[Any, Any], key: Any) -> None:
        if self._journal is not None and (kind, key) not in self._journal:
            before = store.get(key)
            self._journal[(kind, key)] = _ABSENT if before is None else copy.deepcopy(before)

    # -- counting --------------------------------------------------------------------------

    def keys(self, category: str, x_m: float, y_m: float, facility_ids: list[str]) -> list[Key]:
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
        received_at: datetime | None = None,
        announce: bool = True,
    ) -> list[Burst]:
        """Count one report observed ``at`` and received ``received_at`` (default: ``at``);
        a second call for the same report only adds recipients."""
        received = received_at or at
        observed = min(at, received)  # a clock ahead of the intake counts as on time
        self._now = received if self._now is None else max(self._now, received)
        if self._next_sweep is None or self._now >= self._next_sweep:
            self.sweep()
            self._next_sweep = self._now + SWEEP_EVERY
        self._touch("recipients", self._recipients, report_id)
        known = report_id in self._recipients
        self._recipients.setdefault(report_id, set()).update(recipients)
        keys = self.keys(category, x_m, y_m, facility_ids)
        if not known:
            if observed < received - self.lateness:
                return []  # too late for a burst: the scan counts it
            for key in keys:
                self._touch("window", self._windows, key)
                window = self._windows.setdefault(key, _Window())
                self._expire(window)
                self._insert(window, (observed, reporter_key, report_id))
        firing = {key: m for key in keys if (m := self._firing(key, observed, report_id, known))}
        pattern = self._join(category, firing, report_id)
        if pattern is not None and known and not pattern.recipients >= set(recipients):
            self._touch("pattern", self._patterns, pattern.pattern_id)
            pattern = self._patterns[pattern.pattern_id]
            pattern.recipients.update(recipients)
        if pattern is None or not announce:
            if pattern is not None:  # warming up: remember what was announced before
                pattern.announced = len(pattern.people)
                pattern.announced_to = frozenset(pattern.recipients)
            return []
        burst = self._announcement(pattern)
        return [burst] if burst else []

    def _insert(self, window: _Window, report: tuple[datetime, str, str]) -> None:
        in_order = not window.reports or report >= window.reports[-1]
        bisect.insort(window.reports, report)
        if not in_order:
            window.tail_valid = False
            return
        reports = window.reports
        if not window.tail_valid:
            window.tail_start = bisect.bisect_left(reports, (report[0] - self.window,))
            window.tail = Counter(r[1] for r in reports[window.tail_start :])
            window.tail_valid = True
            return
        window.tail[report[1]] += 1
        edge = report[0] - self.window
        while reports[window.tail_start][0] < edge:
            leaving = reports[window.tail_start][1]
            window.tail[leaving] -= 1
            if not window.tail[leaving]:
                del window.tail[leaving]
            window.tail_start += 1

    def _firing(
        self, key: Key, observed: datetime, report_id: str, known: bool
    ) -> list[tuple[datetime, str, str]]:
        """What the report brings to the burst of ``key``: the reports of its fullest window,
        or only itself when it came in order after a report that fired the key already."""
        members = self._fires(key, observed, report_id)
        held = self._windows.get(key)
        if held is None or known:
            return members
        just_this = held.fired and bool(members) and members[-1][2] == report_id
        held.fired = bool(members)
        return members[-1:] if just_this else members

    def _fires_at_the_end(self, window: _Window) -> list[tuple[datetime, str, str]]:
        """The latest report: the only windows holding it end at it (nothing came after)."""
        if len(window.tail) < self.threshold:
            return []
        return window.reports[window.tail_start :]

    def _fires(
        self, key: Key, observed: datetime, report_id: str
    ) -> list[tuple[datetime, str, str]]:
        """The reports of the fullest window around ``observed`` with at least ``threshold``
        unique reporters (none: it does not fire). Windows span ``window`` inclusive."""
        window = self._windows.get(key)
        if window is None:
            return []
        reports = window.reports
        if window.tail_valid and reports and reports[-1][2] == report_id:
            return self._fires_at_the_end(window)
        low = bisect.bisect_left(reports, (observed - self.window,))
        high = bisect.bisect_right(reports, (observed + self.window, "\uffff"))
        if high - low < self.threshold:
            return []  # too few reports for as many reporters: the usual case, at once
        best: tuple[int, int, int] = (0, 0, 0)  # unique, start, end (exclusive)
        counts: Counter[str] = Counter()
        end = low
        for start in range(low, high):
            if reports[start][0] > observed:
                break
            while end < high and reports[end][0] <= reports[start][0] + self.window:
                counts[reports[end][1]] += 1
                end += 1
            if len(counts) > best[0]:  # it contains ``observed``: start <= observed <= end
                best = (len(counts), start, end)
            counts[reports[start][1]] -= 1
            if not counts[reports[start][1]]:
                del counts[reports[start][1]]
        if best[0] < self.threshold:
            return []
        return reports[best[1] : best[2]]

    def _join(
        self, category: str, firing: dict[Key, list[tuple[datetime, str, str]]], report_id: str
    ) -> _Pattern | None:
        """The live burst the firing keys belong to (a new one when none), with their reports."""
        if not firing:
            known = self._pattern_of.get(report_id)
            return self._patterns.get(known) if known else None
        # a live burst holding one of the firing keys, else one sharing a report with them
        candidates = [p for p in self._patterns.values() if not p.keys.isdisjoint(firing)]
        if not candidates:
            live = {
                self._pattern_of[r[2]]
                for rs in firing.values()
                for r in rs
                if r[2] in self._pattern_of
            }
            candidates = [self._patterns[p] for p in live if p in self._patterns]
        if candidates:
            pattern_id = min(
                candidates, key=lambda p: (p.first or started_max, str(p.pattern_id))
            ).pattern_id
            self._touch("pattern", self._patterns, pattern_id)
            pattern = self._patterns[pattern_id]
        else:
            first_key = min(firing)
            started = firing[first_key][0][0]
            pattern_id = uuid.uuid5(
                BURST_NAMESPACE, f"{category}/{'/'.join(first_key)}/{started.isoformat()}"
            )
            self._touch("pattern", self._patterns, pattern_id)
            pattern = _Pattern(pattern_id, category, {}, {}, set())
            self._patterns[pattern_id] = pattern
        for key, members in firing.items():
            pattern.keys.add(key)
            for observed, reporter, rid in members:
                if rid in pattern.reporters:
                    continue
                pattern.reporters[rid] = reporter
                pattern.observed[rid] = observed
                pattern.first = observed if pattern.first is None else min(pattern.first, observed)
                pattern.last = observed if pattern.last is None else max(pattern.last, observed)
                pattern.people.add(reporter)
                pattern.recipients.update(self._recipients.get(rid, ()))
                self._touch("pattern_of", self._pattern_of, rid)
                self._pattern_of[rid] = pattern.pattern_id
        return pattern

    def _announcement(self, pattern: _Pattern) -> Burst | None:
        unique = len(pattern.people)
        recipients = pattern.recipients
        grew = unique >= max(pattern.announced + 1, math.ceil(pattern.announced * GROWTH))
        if pattern.announced and not grew and recipients <= pattern.announced_to:
            return None
        if grew:  # announced again for a new body only: growth still counts from before
            pattern.announced = unique
        pattern.announced_to = frozenset(recipients)
        pattern.announcements += 1
        facilities = sorted(k[1] for k in pattern.keys if k[0] == "facility")
        cells = sorted((int(k[1]), int(k[2])) for k in pattern.keys if k[0] == "cell")
        order = sorted(pattern.observed, key=lambda rid: (pattern.observed[rid], rid))
        return Burst(
            pattern_id=pattern.pattern_id,
            category=pattern.category,
            announcement=pattern.announcements,
            unique_reporters=unique,
            report_ids=tuple(order),
            window_start=pattern.observed[order[0]],
            window_end=pattern.observed[order[-1]],
            recipients=tuple(sorted(recipients)),
            facility_ids=tuple(facilities),
            cells=tuple(cells),
        )

    # -- forgetting ------------------------------------------------------------------------

    def _horizon(self) -> datetime:
        assert self._now is not None
        return self._now - self.lateness - self.window

    def _expire(self, window: _Window) -> None:
        """Drop reports no new report can share a window with (observed before the horizon)."""
        horizon = self._horizon()
        cut = bisect.bisect_left(window.reports, (horizon,))
        if cut:
            del window.reports[:cut]
            window.tail_start -= cut
            if window.tail_start < 0:
                window.tail_valid = False

    def sweep(self) -> None:
        """Forget keys, bursts and reports that nothing can join any more (not journalled:
        what it drops is out of every reach, a rollback need not bring it back)."""
        if self._now is None:
            return
        horizon = self._horizon()
        for key in [
            k for k, w in self._windows.items() if not w.reports or w.reports[-1][0] < horizon
        ]:
            del self._windows[key]
        ended = [p for p in self._patterns.values() if p.last is None or p.last < horizon]
        for pattern in ended:
            del self._patterns[pattern.pattern_id]
            for rid in pattern.reporters:
                self._pattern_of.pop(rid, None)
        live = {rid for w in self._windows.values() for _, _, rid in w.reports}
        for rid in [r for r in self._recipients if r not in live and r not in self._pattern_of]:
            del self._recipients[rid]
