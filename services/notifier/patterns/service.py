"""Pattern detection inside the notifier: signals from deliveries, the burst rule on every new
report, the hourly space-time scan, the facility CUSUM and the national join, each announcing
``PatternDetected`` through the outbox with a scope label and its recipients.

Recipients: a burst goes to the executing body and the competent authority of its reports; a
scan cluster with a recurrence interval of 100 days or more to the competent authorities, and
from 365 days also to the national table; a recurring facility to its competent authority, and
to the national table only once it is a dossier candidate (an episode of four weeks or more).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import LocalizedText
from schemas.pattern import CoarsePoint, DetectionMethod, PatternDetected, Scope
from schemas.report import Category
from schemas.routing import ReportDelivered
from schemas.topics import PATTERN_DETECTED
from services.notifier.models import PatternRecord, Signal
from services.notifier.patterns import recurrence
from services.notifier.patterns.burst import Burst, BurstDetector
from services.notifier.patterns.recipients import SignalRecipient, recipient_ids
from services.notifier.patterns.scan import HOURLY_WINDOWS, Cluster, scan
from services.runtime import catalogue
from services.runtime.clock import Clock
from services.runtime.database import on_rollback
from services.runtime.geo import METRES_PER_DEG_LAT, METRES_PER_DEG_LON, to_plane
from services.runtime.outbox import enqueue

SOURCE = "/buursignaal/notifier"
NATIONAL_TABLE = "national-table"
GRID_M = 500
SIGNALS = "buursignaal.signals"  # report id -> its signal, for the rest of the transaction
SIGNALS_ASKED = "buursignaal.signals.asked"  # report ids a batch looked up (found or not)
PATTERN_NAMESPACE = uuid.UUID("9a3f1c64-1d2b-4a7e-bf55-6a0e2c9d8b11")
GROWTH = 1.5  # an ongoing pattern is announced again at 1.5 x the unique reporters
DOSSIER_DAYS = 28  # a recurrence episode this long is a dossier candidate for the table
CASE_GAP = timedelta(days=7)  # the scan counts a reporter once a week
SAME_PLACE_M = 2000.0  # a continuing cluster's centre moves less than this
LIVE = timedelta(hours=48)  # a pattern seen this recently takes part in the national join


def plane(lat: float, lon: float) -> tuple[float, float]:
    """An equirectangular plane at 52.2°N in metres (scale error < 3 % over NL)."""
    return to_plane(lat, lon)


def coarse(lat: float, lon: float) -> CoarsePoint:
    """Snap to the 500 m grid: never a resident's exact place."""
    step_lat, step_lon = GRID_M / METRES_PER_DEG_LAT, GRID_M / METRES_PER_DEG_LON
    return CoarsePoint(
        lat=round((math.floor(lat / step_lat) + 0.5) * step_lat, 5),
        lon=round((math.floor(lon / step_lon) + 0.5) * step_lon, 5),
        grid_m=GRID_M,
    )


def kind_of(category: Category | str, language: str) -> str:
    """The category as the reader's word, the catalogue's label (``Geur``, ``Odour``), never
    its code (``odour``)."""
    return catalogue.label(Category(category), "Category", language)


def summary_of(key: str, category: Category | str, **values: object) -> LocalizedText:
    """A pattern's summary in each language: ``pattern.summary.<key>`` from the catalogue, with
    the category's word as ``kind``."""
    texts = {
        language: catalogue.text(f"pattern.summary.{key}", language)
        % {**values, "kind": kind_of(category, language)}
        for language in catalogue.LANGUAGES
    }
    return LocalizedText(nl=texts["nl"], en=texts["en"])


def scope_of(municipalities: set[str], provinces: set[str], facility_ids: Sequence[str]) -> Scope:
    """Where the pattern is. Local: one municipality, or one facility. Regional: several
    municipalities (one province or OD area, or across a provincial border). National: three or
    more provinces at once; the same kind of problem at facilities of one sector in several
    provinces is joined into a national pattern (``national_groups``). The density of
    facilities of one sector near a pattern says nothing about its scope."""
    if len(provinces) >= 3:
        return Scope.NATIONAL
    if len(municipalities) <= 1 or len(set(facility_ids)) == 1:
        return Scope.LOCAL
    return Scope.REGIONAL


@dataclass(frozen=True)
class LivePattern:
    """A local or regional pattern still going on, as the national join sees it."""

    pattern_id: str
    method: DetectionMethod
    unique_reporters: int
    provinces: frozenset[str]
    sectors: frozenset[str]
    start: datetime
    municipalities: frozenset[str] = frozenset()
    facility_ids: tuple[str, ...] = ()
    recipients: frozenset[str] = frozenset()
    report_ids: tuple[str, ...] = ()


def live_pattern(record: PatternRecord, sectors: set[str]) -> LivePattern:
    return LivePattern(
        pattern_id=record.pattern_id,
        method=DetectionMethod(record.method),
        unique_reporters=record.unique_reporters,
        provinces=frozenset(record.province_codes),
        sectors=frozenset(sectors),
        start=record.window_start,
        municipalities=frozenset(record.municipality_codes),
        facility_ids=tuple(record.facility_ids),
        recipients=frozenset(r for r in record.recipients if r != NATIONAL_TABLE),
        report_ids=tuple(record.report_ids),
    )


def national_groups(live: Sequence[LivePattern]) -> dict[str, list[LivePattern]]:
    """Per sector, the live patterns at its facilities when they lie in two or more provinces
    (the three incinerators in three provinces of issue 17): one national pattern each."""
    by_sector: dict[str, list[LivePattern]] = defaultdict(list)
    for pattern in live:
        for sector in pattern.sectors:
            by_sector[sector].append(pattern)
    return {
        sector: sorted(parts, key=lambda p: (p.start, p.pattern_id))
        for sector, parts in sorted(by_sector.items())
        if len(parts) >= 2 and len({p for part in parts for p in part.provinces}) >= 2
    }


@dataclass
class ScanSettings:
    permutations: int = 999
    max_radius_m: float = 5000.0
    announce_ri_days: float = 100.0
    national_ri_days: float = 365.0
    seed: int = 20051
    scans_per_day: float = 24.0  # hourly: the recurrence interval is per day of surveillance


@dataclass
class Patterns:
    clock: Clock
    detector: BurstDetector = field(default_factory=BurstDetector)
    scan_settings: ScanSettings = field(default_factory=ScanSettings)
    _places: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    _sectors: dict[str, str] = field(default_factory=dict)
    _recurrence_day: date | None = None  # the last day the recurrence was evaluated for

    # -- signals and the burst rule ----------------------------------------------------

    async def on_delivery(self, session: AsyncSession, delivery: ReportDelivered) -> None:
        report = delivery.report
        if report.location.lat is None or report.location.lon is None:
            return
        report_id = str(report.report_id)
        typed = SignalRecipient.of(delivery.recipient)
        recipient = str(typed) if typed else None
        attributed = [c for c in delivery.candidate_facilities if c.downwind is not False]
        for candidate in attributed:
            if candidate.sector:
                self._sectors[candidate.facility_id] = candidate.sector
        self._transactional(session)
        signals: dict[str, Signal] = session.info.setdefault(SIGNALS, {})
        signal = signals.get(report_id)
        if signal is None and report_id not in session.info.get(SIGNALS_ASKED, ()):
            signal = await session.get(Signal, report_id)
        if signal is None:
            signal = Signal(
                report_id=report_id,
                reporter_key=report.reporter_key,
                category=report.category,
                lat=report.location.lat,
                lon=report.location.lon,
                observed_at=report.observed_at.astimezone(UTC),
                municipality_code=delivery.place.municipality_code,
                province_code=delivery.place.province_code,
                facility_ids=[c.facility_id for c in attributed],
                sectors=[c.sector or "" for c in attributed],  # aligned with facility_ids
                recipients=[recipient] if recipient else [],
                wind_from_deg=delivery.wind.direction_deg if delivery.wind else None,
            )
        elif recipient and recipient not in signal.recipients:
            signal.recipients = [*signal.recipients, recipient]
        session.add(signal)
        signals[report_id] = signal  # a second delivery in this transaction finds it
        received = report.received_at.astimezone(UTC)
        for burst in self._observe(signal, announce=True, received_at=received):
            await self._announce_burst(session, burst, signal)

    async def prepare(self, session: AsyncSession, deliveries: Sequence[ReportDelivered]) -> None:
        """The signals of a batch's reports in one query (a report's other deliveries came
        before, or come in this batch); ``on_delivery`` asks for no other."""
        report_ids = {str(d.report.report_id) for d in deliveries}
        signals: dict[str, Signal] = session.info.setdefault(SIGNALS, {})
        asked: set[str] = session.info.setdefault(SIGNALS_ASKED, set())
        wanted = report_ids - asked - signals.keys()
        if not wanted:
            return
        found = await session.exec(select(Signal).where(col(Signal.report_id).in_(wanted)))
        signals.update((signal.report_id, signal) for signal in found.all())
        asked |= wanted

    def _transactional(self, session: AsyncSession) -> None:
        """The burst windows follow the transaction: a rollback restores them, so a batch that
        is redone one event at a time counts and announces exactly as the first time."""
        if session.info.get("buursignaal.burst_snapshot"):
            return
        session.info["buursignaal.burst_snapshot"] = True
        journal = self.detector.begin()
        on_rollback(session, lambda: self.detector.rollback(journal))
        on_rollback(session, lambda: session.info.pop("buursignaal.burst_snapshot", None))

    async def _announce_burst(self, session: AsyncSession, burst: Burst, signal: Signal) -> None:
        places = [self._places.get(r, (None, None)) for r in burst.report_ids]
        municipalities = {m for m, _ in places if m}
        provinces = {p for _, p in places if p}
        facility_ids = list(burst.facility_ids)
        centre = None
        if burst.cells:  # the middle of its first 1 km cell, on the 500 m grid
            gx, gy = burst.cells[0]
            cell_m = self.detector.cell_m
            centre = coarse(
                (gy + 0.5) * cell_m / METRES_PER_DEG_LAT, (gx + 0.5) * cell_m / METRES_PER_DEG_LON
            )
        finding = Finding(
            key=f"burst/{burst.category}/{burst.pattern_id}",
            pattern_id=burst.pattern_id,
            method=DetectionMethod.BURST,
            category=Category(burst.category),
            scope=scope_of(municipalities, provinces, facility_ids),
            announcement=burst.announcement,
            unique_reporters=burst.unique_reporters,
            report_ids=list(burst.report_ids),
            window=(burst.window_start, burst.window_end),
            centre=centre,
            radius_m=None,
            ri=None,
            municipalities=municipalities,
            provinces=provinces,
            facility_ids=facility_ids,
            recipients=list(burst.recipients),
            summary=summary_of(
                "burst_near" if facility_ids else "burst_cell",
                burst.category,
                reporters=burst.unique_reporters,
                facilities=", ".join(facility_ids),
            ),
        )
        await self._announce(session, finding)

    async def warm_up(self, session: AsyncSession) -> None:
        """Rebuild the burst windows from the signals observed within the window and the
        lateness before now (nothing is announced)."""
        since = self.clock.now() - self.detector.window - self.detector.lateness
        rows = (
            await session.exec(
                select(Signal)
                .where(col(Signal.observed_at) >= since)
                .order_by(col(Signal.observed_at))
            )
        ).all()
        for signal in rows:
            self._observe(signal, announce=False)

    def _observe(
        self, signal: Signal, *, announce: bool, received_at: datetime | None = None
    ) -> list[Burst]:
        """Count the signal in the burst windows; the bursts it completes (when announcing)."""
        self._places[signal.report_id] = (signal.municipality_code, signal.province_code)
        x, y = plane(signal.lat, signal.lon)
        return self.detector.observe(
            report_id=signal.report_id,
            reporter_key=signal.reporter_key,
            category=signal.category,
            at=signal.observed_at,
            x_m=x,
            y_m=y,
            facility_ids=list(signal.facility_ids),
            recipients=recipient_ids(signal.recipients),
            received_at=received_at,
            announce=announce,
        )

    # -- the hourly scan -----------------------------------------------------------------

    async def scan_category(self, session: AsyncSession, category: Category, now: datetime) -> int:
        """Scan the 365 days up to ``now`` of one category in hours (windows of 6 hours to 30
        days ending now); announce clusters with a recurrence interval of 100 days or more."""
        now = now.astimezone(UTC)
        first = now - timedelta(days=365)
        in_year = select(Signal).where(
            Signal.category == category.value, col(Signal.observed_at) > first
        )
        signals = (await session.exec(in_year)).all()
        for signal in signals:
            self._sectors.update(
                (f, s) for f, s in zip(signal.facility_ids, signal.sectors, strict=False) if s
            )
        cases = one_case_per_reporter(signals)
        if len(cases) < 3:
            return 0
        xy = np.array([plane(c.lat, c.lon) for c in cases])
        last_hour = 365 * 24 - 1
        hours = np.array(
            [min(last_hour, int((c.observed_at - first).total_seconds() // 3600)) for c in cases]
        )
        settings = self.scan_settings
        clusters = await asyncio.to_thread(
            scan,
            xy[:, 0],
            xy[:, 1],
            hours,
            today=last_hour,
            windows=HOURLY_WINDOWS,
            permutations=settings.permutations,
            max_radius_m=settings.max_radius_m,
            seed=settings.seed + int(now.timestamp() // 3600),
            scans_per_day=settings.scans_per_day,
        )
        earlier = await self._recent_scan_patterns(session, category, now)
        announced = 0
        for cluster in clusters:
            if cluster.recurrence_interval_days < settings.announce_ri_days:
                continue
            members = [cases[i] for i in cluster.case_indices]
            finding = self._scan_finding(category, cluster, members, now)
            if finding is None:
                continue
            finding = self._same_pattern(finding, earlier, now)
            announced += await self._announce_if_new_or_grown(session, finding, now)
        return announced

    def _scan_finding(
        self, category: Category, cluster: Cluster, members: list[Signal], now: datetime
    ) -> Finding | None:
        """A scan cluster of three or more reporters as a finding to announce."""
        reporters = {m.reporter_key for m in members}
        if len(reporters) < 3:
            return None
        lat = cluster.centre_y / METRES_PER_DEG_LAT
        lon = cluster.centre_x / METRES_PER_DEG_LON
        recipients = competent_recipients(members)
        if cluster.recurrence_interval_days >= self.scan_settings.national_ri_days:
            recipients.append(NATIONAL_TABLE)
        municipalities, provinces = places_of(members)
        facility_ids = sorted({f for m in members for f in m.facility_ids})
        hours, ri = cluster.window_days, cluster.recurrence_interval_days
        start = now - timedelta(hours=hours)
        key = f"scan/{category.value}/{round(lat, 2)}/{round(lon, 2)}/{start:%Y-%m-%dT%H}"
        return Finding(
            key=key,
            pattern_id=uuid.uuid5(PATTERN_NAMESPACE, key),
            method=DetectionMethod.SPACE_TIME_SCAN,
            category=category,
            scope=scope_of(municipalities, provinces, facility_ids),
            unique_reporters=len(reporters),
            report_ids=[m.report_id for m in members],
            window=(start, now),
            centre=coarse(lat, lon),
            radius_m=cluster.radius_m,
            ri=ri,
            municipalities=municipalities,
            provinces=provinces,
            facility_ids=facility_ids,
            recipients=recipients,
            summary=summary_of(
                "scan_hours" if hours < 48 else "scan_days",
                category,
                reporters=len(reporters),
                span=hours if hours < 48 else hours // 24,
                ri=ri,
            ),
        )

    async def _recent_scan_patterns(
        self, session: AsyncSession, category: Category, now: datetime
    ) -> list[PatternRecord]:
        since = now - timedelta(days=31)
        query = select(PatternRecord).where(
            PatternRecord.method == DetectionMethod.SPACE_TIME_SCAN.value,
            PatternRecord.category == category.value,
            or_(col(PatternRecord.window_end) >= since, col(PatternRecord.last_seen_at) >= since),
        )
        stored = list((await session.exec(query)).all())
        pending = [
            r
            for r in _pending_patterns(session).values()
            if r.method == DetectionMethod.SPACE_TIME_SCAN and r.category == category
        ]
        return [
            *pending,
            *(r for r in stored if r.pattern_id not in {p.pattern_id for p in pending}),
        ]

    @staticmethod
    def _same_pattern(finding: Finding, earlier: list[PatternRecord], now: datetime) -> Finding:
        """The cluster continues a pattern that was last seen within its window, less than
        ``SAME_PLACE_M`` away: it keeps that pattern's identity (key and id)."""
        assert finding.centre is not None
        for record in earlier:
            last_seen = record.last_seen_at or record.window_end
            if (
                record.centre_lat is None
                or record.centre_lon is None
                or last_seen < finding.window[0]
            ):
                continue
            x0, y0 = plane(record.centre_lat, record.centre_lon)
            x1, y1 = plane(finding.centre.lat, finding.centre.lon)
            reach = max(SAME_PLACE_M, record.radius_m or 0.0, finding.radius_m or 0.0)
            if math.hypot(x1 - x0, y1 - y0) <= reach:
                return dataclasses.replace(
                    finding, key=record.key, pattern_id=uuid.UUID(record.pattern_id)
                )
        return finding

    async def _already_announced(self, session: AsyncSession, finding: Finding) -> bool:
        """True when this ongoing pattern was announced before and did not grow materially
        since, nor gained a recipient (the national table for a new dossier candidate)."""
        pending = [r for r in _pending_patterns(session).values() if r.key == finding.key]
        query = select(PatternRecord).where(PatternRecord.key == finding.key)
        record = pending[0] if pending else (await session.exec(query)).first()
        if record is None:
            return False
        new_recipients = not set(finding.recipients) <= set(record.recipients)
        return not new_recipients and not grew_materially(
            record.unique_reporters, finding.unique_reporters
        )

    async def _continuing(
        self, session: AsyncSession, prefix: str, since: datetime, finding: Finding
    ) -> Finding:
        """The finding as the ongoing pattern whose key starts with ``prefix`` and that was
        seen since ``since`` (its key and id), if there is one: an episode keeps its identity
        when its first alarm shifts as the evaluated days move on."""
        query = select(PatternRecord).where(col(PatternRecord.key).startswith(prefix))
        records = [*_pending_patterns(session).values(), *(await session.exec(query)).all()]
        ongoing = sorted(
            (
                r
                for r in records
                if r.key.startswith(prefix) and (r.last_seen_at or r.detected_at) >= since
            ),
            key=lambda r: r.first_detected_at,
        )
        if not ongoing:
            return finding
        return dataclasses.replace(
            finding, key=ongoing[0].key, pattern_id=uuid.UUID(ongoing[0].pattern_id)
        )

    async def _announce_if_new_or_grown(
        self, session: AsyncSession, finding: Finding, now: datetime
    ) -> int:
        """Announce a new or materially grown pattern (1); else note that it continues (0)."""
        if await self._already_announced(session, finding):
            await self._seen_again(session, finding, now)
            return 0
        await self._announce(session, finding)
        return 1

    async def _seen_again(self, session: AsyncSession, finding: Finding, now: datetime) -> None:
        """A continuing pattern that did not grow: remember that it continues (not announced)."""
        record = _pending_patterns(session).get(str(finding.pattern_id)) or await session.get(
            PatternRecord, str(finding.pattern_id)
        )
        if record is not None:
            record.last_seen_at = now
            session.add(record)

    # -- facility recurrence ---------------------------------------------------------------

    async def facility_recurrence(self, session: AsyncSession, today: date) -> int:
        """The calibrated CUSUM per facility (``recurrence.py``) over its daily unique reporters
        up to yesterday (complete days): a new alarm episode is announced to the competent
        authority once, again only when it grew materially, and to the national table only as
        a dossier candidate (when it lasts ``DOSSIER_DAYS``). Evaluated once a day (the
        counts are per complete day); the national join runs every time."""
        announced = 0
        if self._recurrence_day != today:
            announced = await self._evaluate_recurrence(session, today)
            self._recurrence_day = today
            on_rollback(session, lambda: setattr(self, "_recurrence_day", None))
        return announced + await self.national_join(session, self.clock.now())

    async def _evaluate_recurrence(self, session: AsyncSession, today: date) -> int:
        last_day = today - timedelta(days=1)
        first = last_day - timedelta(days=recurrence.HISTORY_DAYS + recurrence.EVALUATED_DAYS)
        since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        rows = (await session.exec(select(Signal).where(col(Signal.observed_at) >= since))).all()
        reporters: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
        signals_by_facility: dict[str, list[Signal]] = defaultdict(list)
        for signal in rows:
            for facility_id in signal.facility_ids:
                reporters[facility_id][signal.observed_at.date()].add(signal.reporter_key)
                signals_by_facility[facility_id].append(signal)
        announced = 0
        for facility_id, by_day in sorted(reporters.items()):
            daily = {day: len(keys) for day, keys in by_day.items()}
            found = recurrence.episodes(daily, last_day)
            if not found or (last_day - found[-1].last_alarm).days > recurrence.QUIET_DAYS:
                continue
            episode = found[-1]
            start = episode.first_alarm - timedelta(days=recurrence.QUIET_DAYS)
            members = [s for s in signals_by_facility[facility_id] if s.observed_at.date() >= start]
            finding = recurrence_finding(facility_id, members, episode, last_day)
            quiet_since = datetime.combine(
                episode.first_alarm - timedelta(days=recurrence.QUIET_DAYS),
                datetime.min.time(),
                UTC,
            )
            finding = await self._continuing(
                session, f"facility/{facility_id}/", quiet_since, finding
            )
            announced += await self._announce_if_new_or_grown(session, finding, self.clock.now())
        return announced

    # -- national patterns -------------------------------------------------------------------

    async def national_join(self, session: AsyncSession, now: datetime) -> int:
        """Join live local and regional patterns of one category at facilities of one sector in
        two or more provinces into one national pattern (to the table, a dossier candidate)."""
        since = now - LIVE
        stored = (
            await session.exec(
                select(PatternRecord).where(
                    col(PatternRecord.detected_at) >= since - timedelta(days=31),
                    col(PatternRecord.key).not_like("national/%"),
                )
            )
        ).all()
        pending = _pending_patterns(session)
        records = {r.pattern_id: r for r in stored} | {
            k: r for k, r in pending.items() if not r.key.startswith("national/")
        }
        by_category: dict[Category, list[LivePattern]] = defaultdict(list)
        for record in records.values():
            if (record.last_seen_at or record.detected_at) < since:
                continue
            sectors = {self._sectors[f] for f in record.facility_ids if f in self._sectors}
            by_category[Category(record.category)].append(live_pattern(record, sectors))
        announced = 0
        for category, live in sorted(by_category.items()):
            for sector, parts in national_groups(live).items():
                finding = await self._national_finding(session, category, sector, parts, now)
                announced += await self._announce_if_new_or_grown(session, finding, now)
        return announced

    async def _national_finding(
        self,
        session: AsyncSession,
        category: Category,
        sector: str,
        parts: list[LivePattern],
        now: datetime,
    ) -> Finding:
        """The national pattern of ``parts``: the ongoing one of this sector if there is one."""
        prefix = f"national/{category.value}/{sector}/"
        key = f"{prefix}{parts[0].start:%Y-%m-%dT%H}"
        provinces = sorted({p for part in parts for p in part.provinces})
        facilities = sorted(
            {f for part in parts for f in part.facility_ids if self._sectors.get(f) == sector}
        )
        finding = Finding(
            key=key,
            pattern_id=uuid.uuid5(PATTERN_NAMESPACE, key),
            method=parts[0].method,
            category=category,
            scope=Scope.NATIONAL,
            unique_reporters=sum(p.unique_reporters for p in parts),
            report_ids=sorted({r for p in parts for r in p.report_ids}),
            window=(min(p.start for p in parts), now),
            municipalities={m for p in parts for m in p.municipalities},
            provinces=set(provinces),
            facility_ids=facilities,
            recipients=sorted({NATIONAL_TABLE, *(r for p in parts for r in p.recipients)}),
            dossier_candidate=True,
            joins=[uuid.UUID(p.pattern_id) for p in parts],
            summary=summary_of(
                "national",
                category,
                facilities=len(facilities),
                sector=sector,
                provinces=len(provinces),
            ),
        )
        return await self._continuing(session, prefix, now - LIVE, finding)

    # -- announcing ------------------------------------------------------------------------

    async def _announce(self, session: AsyncSession, finding: Finding) -> None:
        """Store the pattern as now announced and publish it (announcement 1 when new)."""
        now = self.clock.now()
        pattern_id = finding.pattern_id or uuid.uuid5(PATTERN_NAMESPACE, finding.key)
        pending = _pending_patterns(session)
        record = pending.get(str(pattern_id)) or await session.get(PatternRecord, str(pattern_id))
        if record is None:
            record = finding.new_record(str(pattern_id), now)
        else:
            record.announcement = finding.announcement or record.announcement + 1
            finding.store_in(record, now)
        session.add(record)
        pending[str(pattern_id)] = record  # a second announcement in this batch updates it
        event = finding.event(pattern_id, record.announcement, now)
        enqueue(
            session,
            event,
            topic=PATTERN_DETECTED.name,
            key=str(pattern_id),
            source=SOURCE,
            clock=self.clock,
        )


def _pending_patterns(session: AsyncSession) -> dict[str, PatternRecord]:
    """The patterns this transaction stored, by id: the session does not flush before a read,
    so a batch that announces the same pattern twice must find its own first record here."""
    if "buursignaal.patterns" not in session.info:
        session.info["buursignaal.patterns"] = {}
        on_rollback(session, lambda: session.info.pop("buursignaal.patterns", None))
    pending: dict[str, PatternRecord] = session.info["buursignaal.patterns"]
    return pending


@dataclass(frozen=True)
class Finding:
    """A pattern found by one of the rules, as it will be stored and announced."""

    key: str
    method: DetectionMethod
    category: Category
    scope: Scope
    unique_reporters: int
    report_ids: list[str]
    window: tuple[datetime, datetime]
    municipalities: set[str]
    provinces: set[str]
    facility_ids: list[str]
    recipients: list[str]
    summary: LocalizedText
    centre: CoarsePoint | None = None
    radius_m: float | None = None
    ri: float | None = None
    pattern_id: uuid.UUID | None = None
    announcement: int | None = None
    dossier_candidate: bool = False
    joins: list[uuid.UUID] = field(default_factory=list)

    def new_record(self, pattern_id: str, now: datetime) -> PatternRecord:
        return PatternRecord(
            pattern_id=pattern_id,
            key=self.key,
            method=self.method,
            announcement=self.announcement or 1,
            first_detected_at=now,
            **self._columns(now),
        )

    def store_in(self, record: PatternRecord, now: datetime) -> None:
        for name, value in self._columns(now).items():
            setattr(record, name, value)

    def _columns(self, now: datetime) -> dict[str, Any]:
        """What a stored pattern records of the finding: for a new record and an update alike."""
        return {
            "category": self.category,
            "scope": self.scope,
            "unique_reporters": self.unique_reporters,
            "report_count": len(self.report_ids),
            "recurrence_interval_days": self.ri,
            "detected_at": now,
            "window_start": self.window[0],
            "window_end": self.window[1],
            "last_seen_at": now,
            "centre_lat": self.centre.lat if self.centre else None,
            "centre_lon": self.centre.lon if self.centre else None,
            "radius_m": self.radius_m,
            "municipality_codes": sorted(self.municipalities),
            "province_codes": sorted(self.provinces),
            "facility_ids": self.facility_ids,
            "recipients": self.recipients,
            "report_ids": self.report_ids,
        }

    def event(self, pattern_id: uuid.UUID, announcement: int, now: datetime) -> PatternDetected:
        return PatternDetected(
            pattern_id=pattern_id,
            method=self.method,
            category=self.category,
            scope=self.scope,
            detected_at=now,
            window_start=self.window[0],
            window_end=self.window[1],
            unique_reporters=self.unique_reporters,
            report_count=len(self.report_ids),
            announcement=announcement,
            recurrence_interval_days=self.ri,
            centre=self.centre,
            radius_m=self.radius_m,
            municipality_codes=sorted(self.municipalities),
            province_codes=sorted(self.provinces),
            facility_ids=self.facility_ids,
            recipients=self.recipients,
            summary=self.summary,
            dossier_candidate=self.dossier_candidate,
            joins=self.joins,
        )


def one_case_per_reporter(signals: Sequence[Signal], gap: timedelta = CASE_GAP) -> list[Signal]:
    """The scan's cases, in time order: see ``case_indices``."""
    ordered = sorted(signals, key=lambda s: (s.observed_at, s.report_id))
    hours = [s.observed_at.timestamp() / 3600 for s in ordered]
    keep = case_indices([s.reporter_key for s in ordered], hours, gap / timedelta(hours=1))
    return [ordered[i] for i in keep]


def case_indices(reporters: Sequence[str], hours: Sequence[float], gap_h: float) -> list[int]:
    """A reporter counts once per ``gap_h`` (a week): a report (in time order) is a case only
    when the reporter's previous case is ``gap_h`` or more before it, so a resident who reports
    eight times in three days is one case, not eight (issue 17 §4c)."""
    last_case: dict[str, float] = {}
    keep = []
    for index, (reporter, hour) in enumerate(zip(reporters, hours, strict=True)):
        before = last_case.get(reporter)
        if before is None or hour - before >= gap_h:
            last_case[reporter] = hour
            keep.append(index)
    return keep


def places_of(members: Sequence[Signal]) -> tuple[set[str], set[str]]:
    """The municipalities and provinces of a pattern's reports."""
    municipalities = {m.municipality_code for m in members if m.municipality_code}
    return municipalities, {m.province_code for m in members if m.province_code}


def competent_recipients(members: Sequence[Signal]) -> list[str]:
    return sorted({r for m in members for r in recipient_ids(m.recipients, competent_only=True)})


def grew_materially(announced: int, now: int) -> bool:
    """Half as many unique reporters again as at the last announcement (10 -> 15 -> 23)."""
    return now >= max(announced + 1, math.ceil(announced * GROWTH))


def recurrence_finding(
    facility_id: str, members: list[Signal], episode: recurrence.Episode, last_day: date
) -> Finding:
    """An alarm episode at a facility: more reports than its own baseline, day after day."""
    municipalities, provinces = places_of(members)
    end = datetime.combine(last_day, datetime.max.time(), tzinfo=UTC)
    start = datetime.combine(episode.first_alarm, datetime.min.time(), tzinfo=UTC)
    categories = Counter(m.category for m in members).most_common(1)
    dossier = (episode.last_alarm - episode.first_alarm).days >= DOSSIER_DAYS
    recipients = competent_recipients(members)
    if dossier:
        recipients = sorted({*recipients, NATIONAL_TABLE})
    key = f"facility/{facility_id}/{episode.first_alarm.isoformat()}"
    category = Category(categories[0][0]) if categories else Category.ODOUR
    return Finding(
        key=key,
        pattern_id=uuid.uuid5(PATTERN_NAMESPACE, key),
        method=DetectionMethod.FACILITY_RECURRENCE,
        category=category,
        scope=Scope.LOCAL,
        unique_reporters=len({m.reporter_key for m in members}),
        report_ids=[m.report_id for m in members],
        window=(start - timedelta(days=recurrence.QUIET_DAYS), end),
        municipalities=municipalities,
        provinces=provinces,
        facility_ids=[facility_id],
        recipients=recipients,
        dossier_candidate=dossier,
        summary=summary_of(
            "recurrence",
            category,
            facility=facility_id,
            since=episode.first_alarm.isoformat(),
        ),
    )
