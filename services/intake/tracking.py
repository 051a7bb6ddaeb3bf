"""What residents read: their report's recipients, status history and deadlines; nearby reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.intake.models import RecipientView, ReportRecord, StatusView
from services.intake.privacy import token_digest
from services.runtime.geo import distance_m

CLOSED_STATUSES = frozenset({"resolved", "no_action"})
ANSWERING_ROLES = frozenset({"competent_authority", "executing_body"})
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


@dataclass
class Track:
    report: ReportRecord
    recipients: list[RecipientTrack]

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
        return (
            self.report.status_note_en
            if self.report.language == "en"
            else (self.report.status_note_nl)
        )

    @property
    def agency_responsible(self) -> str | None:
        for recipient in self.recipients:
            if recipient.role == "competent_authority":
                return recipient.name
        return None

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
    recipients = (
        await session.exec(
            select(RecipientView)
            .where(RecipientView.report_id == report.id, col(RecipientView.withdrawn).is_(False))
            .order_by(col(RecipientView.role), col(RecipientView.name))
        )
    ).all()
    steps = (
        await session.exec(
            select(StatusView)
            .where(StatusView.report_id == report.id)
            .order_by(col(StatusView.occurred_at), col(StatusView.id))
        )
    ).all()
    tracks = [
        RecipientTrack(
            r.recipient_id, r.name, r.role, r.reason_nl, r.reason_en, r.status, r.deadline_at
        )
        for r in recipients
    ]
    by_id = {t.recipient_id: t for t in tracks}
    for step in steps:
        if step.recipient_id in by_id:
            by_id[step.recipient_id].history.append(
                StatusStep(step.status, step.occurred_at, step.explanation)
            )
    return Track(report, tracks)


@dataclass(frozen=True)
class NearbyReport:
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
            record.id,
            record.number or 0,
            record.category,
            record.subtype,
            record.observed_at,
            int(round(distance, -2)),  # rounded to 100 m: no exact addresses
            joined.get(record.id, 0),
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
