"""What residents read: their report's recipients, status history and deadlines; nearby reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.models import RecipientView, ReportRecord, StatusView
from services.intake.privacy import token_digest
from services.runtime.geo import distance_m

CLOSED_STATUSES = frozenset({"resolved", "no_action"})
ANSWERING_ROLES = frozenset({"competent_authority", "executing_body"})
INFORMED = "informed"  # no deadline is shown for it, also one kept from before issue 16
NEARBY_RADIUS_M = 1000
NEARBY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class StatusStep:
    status: str
    occurred_at: datetime
    explanation: str | None


@dataclass
class RecipientTrack:
    recipient_id: str
    name: str
    role: str
    reason_nl: str
    reason_en: str
    status: str
    deadline_at: datetime | None
    history: list[StatusStep] = field(default_factory=list)

    def reason(self, language: str) -> str:
        """Why this recipient got the report, in the resident's language."""
        return self.reason_en if language == "en" else self.reason_nl


@dataclass
class Track:
    report: ReportRecord
    recipients: list[RecipientTrack]
    photo_ids: list[str] = field(default_factory=list)

    def status_note(self, language: str) -> str | None:
        """The note on the report (a referral, or why nobody can take it) in ``language``."""
        report = self.report
        return report.status_note_en if language == "en" else report.status_note_nl

    @property
    def open311_status(self) -> str:
        answering = [r for r in self.recipients if r.role in ANSWERING_ROLES]
        if answering and all(r.status in CLOSED_STATUSES for r in answering):
            return "closed"
        return "open"

    @property
    def status_notes(self) -> str | None:
        steps = [s for r in self.recipients for s in r.history if s.explanation]
        if steps:
            return max(steps, key=lambda s: s.occurred_at).explanation
        return self.status_note(self.report.language)

    @property
    def agency_responsible(self) -> str | None:
        for recipient in self.recipients:
            if recipient.role == "competent_authority":
                return recipient.name
        return None

    @property
    def updated_datetime(self) -> datetime:
        """When Open311's service request last changed: its latest status change, or its
        receipt while nobody has answered (docs/open311.md)."""
        changes = [s.occurred_at for r in self.recipients for s in r.history]
        return max(changes, default=self.report.received_at)

    @property
    def expected_datetime(self) -> datetime | None:
        deadlines = [
            r.deadline_at for r in self.recipients if r.role in ANSWERING_ROLES and r.deadline_at
        ]
        return min(deadlines) if deadlines else None


async def report_by_token(session: AsyncSession, token: str) -> ReportRecord | None:
    query = select(ReportRecord).where(ReportRecord.tracking_digest == token_digest(token))
    return (await session.exec(query)).first()


async def report_by_id(session: AsyncSession, report_id: str) -> ReportRecord | None:
    return (await session.exec(select(ReportRecord).where(ReportRecord.id == report_id))).first()


async def track(session: AsyncSession, report: ReportRecord) -> Track:
    [found] = await tracks(session, [report])
    return found


async def tracks(session: AsyncSession, reports: Sequence[ReportRecord]) -> list[Track]:
    """The reports with their recipients and status history, in two queries for any number."""
    ids = [report.id for report in reports]
    if not ids:
        return []
    recipients = await session.exec(
        select(RecipientView)
        .where(col(RecipientView.report_id).in_(ids), col(RecipientView.withdrawn).is_(False))
        .order_by(col(RecipientView.role), col(RecipientView.name))
    )
    by_report: dict[str, dict[str, RecipientTrack]] = {report_id: {} for report_id in ids}
    for r in recipients:
        by_report[r.report_id][r.recipient_id] = RecipientTrack(
            r.recipient_id, r.name, r.role, r.reason_nl, r.reason_en, r.status,
            None if r.role == INFORMED else r.deadline_at,  # an informed party owes no answer
        )  # fmt: skip
    steps = await session.exec(
        select(StatusView)
        .where(col(StatusView.report_id).in_(ids))
        .order_by(col(StatusView.occurred_at), col(StatusView.id))
    )
    for step in steps:
        if (recipient := by_report[step.report_id].get(step.recipient_id)) is not None:
            recipient.history.append(StatusStep(step.status, step.occurred_at, step.explanation))
    return [Track(report, list(by_report[report.id].values())) for report in reports]


@dataclass(frozen=True)
class ServiceRequestFilter:
    """Which reports Open311's ``GET requests`` lists: by id, or by a window of receipt."""

    ids: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    categories: Sequence[str] = ()


async def listed_reports(
    session: AsyncSession, wanted: ServiceRequestFilter, limit: int
) -> Sequence[ReportRecord]:
    """The reports a filter selects, newest first, at most ``limit``."""
    query = select(ReportRecord).order_by(col(ReportRecord.received_at).desc())
    if wanted.ids:
        query = query.where(col(ReportRecord.id).in_(wanted.ids))
    if wanted.start is not None:
        query = query.where(col(ReportRecord.received_at) >= wanted.start)
    if wanted.end is not None:
        query = query.where(col(ReportRecord.received_at) <= wanted.end)
    if wanted.categories:
        query = query.where(col(ReportRecord.category).in_(wanted.categories))
    return (await session.exec(query.limit(limit))).all()


class NearbyReport(BaseModel):
    """An open report near a point: no exact place, only the distance rounded to 100 m."""

    model_config = ConfigDict(frozen=True)

    report_id: str
    number: int
    category: str
    subtype: str | None
    observed_at: datetime
    distance_m: int
    also_noticed: int


async def nearby_open_reports(
    session: AsyncSession,
    *,
    category: str,
    lat: float,
    lon: float,
    now: datetime,
    limit: int = 10,
) -> list[NearbyReport]:
    """Open reports of the same category within ~1 km in the last 24 hours (originals only)."""
    d_lat = NEARBY_RADIUS_M / 111_000
    d_lon = NEARBY_RADIUS_M / (111_000 * max(math.cos(math.radians(lat)), 0.1))
    candidates = (
        await session.exec(
            select(ReportRecord).where(
                ReportRecord.category == category,
                col(ReportRecord.received_at) >= now - NEARBY_WINDOW,
                ReportRecord.status == "open",
                col(ReportRecord.linked_report_id).is_(None),
                col(ReportRecord.lat).between(lat - d_lat, lat + d_lat),
                col(ReportRecord.lon).between(lon - d_lon, lon + d_lon),
            )
        )
    ).all()
    found = []
    for record in candidates:
        if record.lat is None or record.lon is None:
            continue
        distance = distance_m(lat, lon, record.lat, record.lon)
        if distance <= NEARBY_RADIUS_M:
            found.append((distance, record))
    found.sort(key=lambda pair: pair[0])
    joined = await _joined_counts(session, [r.id for _, r in found[:limit]])
    return [
        NearbyReport(
            report_id=record.id,
            number=record.number or 0,
            category=record.category,
            subtype=record.subtype,
            observed_at=record.observed_at,
            distance_m=int(round(distance, -2)),  # rounded to 100 m: no exact addresses
            also_noticed=joined.get(record.id, 0),
        )
        for distance, record in found[:limit]
    ]


async def _joined_counts(session: AsyncSession, report_ids: list[str]) -> dict[str, int]:
    if not report_ids:
        return {}
    rows = await session.exec(
        select(ReportRecord.linked_report_id, func.count())
        .where(col(ReportRecord.linked_report_id).in_(report_ids))
        .group_by(col(ReportRecord.linked_report_id))
    )
    return {str(linked): int(count) for linked, count in rows.all()}
