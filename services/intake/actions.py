"""The one place where intake changes state, each action in one database transaction.

``accept_report`` commits the report, its contact entry, its photos and its outbox event
together before the resident sees "received"; the read-model actions apply routing and status
events for the tracking page; ``erase_expired_contacts`` is the retention job.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.leg import LegStatusChanged
from schemas.report import Category, Channel, Location, LocationSource, ReportReceived
from schemas.routing import ReportUnroutable, RoutingDecided
from schemas.topics import REPORT_RECEIVED
from services.intake.location import Geocoder, Netherlands, ResolvedLocation
from services.intake.models import (
    Open311Client,
    PhotoRecord,
    RecipientView,
    ReporterContact,
    ReportRecord,
    ReportState,
    StatusView,
)
from services.intake.photos import CleanPhoto
from services.intake.privacy import reporter_key, token_digest, tracking_token
from services.intake.submission import ReportSubmission
from services.intake.tracking import (
    NearbyReport,
    ServiceRequestFilter,
    Track,
    listed_reports,
    nearby_open_reports,
    report_by_id,
    report_by_token,
    track,
    tracks,
)
from services.runtime.clock import Clock
from services.runtime.database import (
    SessionFactory,
    engine_of,
    stage_insert,
    table_of,
    write_transaction,
)
from services.runtime.errors import RefusedError
from services.runtime.geo import rd_to_wgs84
from services.runtime.group_commit import GroupCommitter
from services.runtime.logs import REPORT_ID
from services.runtime.models import OutboxMessage
from services.runtime.outbox import outbox_values

SOURCE = "/buursignaal/intake"
REPORT_TABLE: Table = table_of(ReportRecord)
CONTACT_TABLE: Table = table_of(ReporterContact)
PHOTO_TABLE: Table = table_of(PhotoRecord)
OUTBOX_TABLE: Table = table_of(OutboxMessage)


def key_digest(api_key: str) -> str:
    """An Open311 client's api_key as stored: only its SHA-256."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class SubmissionRefusedError(RefusedError):
    """A valid-looking submission that cannot be accepted; ``code`` keys the message table."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


class RateLimitedError(RefusedError):
    status = 429

    def __init__(self, retry_after_s: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after_s = max(1, retry_after_s)
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    report_id: str
    number: int
    location_verified: bool
    tracking_token: str
    replayed: bool = False


@dataclass(frozen=True)
class MailContact:
    """Where a round of mail about a report goes, and in which language."""

    report_id: str
    email: str
    language: str


@dataclass
class Intake:
    """What the actions need: database, clock, secret, places, and the relay to wake."""

    sessions: SessionFactory
    clock: Clock
    secret: str
    netherlands: Netherlands
    geocoder: Geocoder
    device_window: timedelta = timedelta(minutes=2)
    ip_limit_per_hour: int = 30
    contact_retention: timedelta = timedelta(days=365)
    wake_relay: object = None
    writer: GroupCommitter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = GroupCommitter(engine_of(self.sessions))

    async def report(self, report_id: str) -> ReportRecord | None:
        async with self.sessions() as session:
            return await report_by_id(session, report_id)

    async def report_for_token(self, token: str) -> ReportRecord | None:
        async with self.sessions() as session:
            return await report_by_token(session, token)

    async def tracked(self, token: str, *, with_photos: bool = False) -> Track | None:
        """The report a tracking token opens, with its recipients (None for an unknown one)
        and, when asked, the ids of its photos."""
        if not token:
            return None
        async with self.sessions() as session:
            report = await report_by_token(session, token)
            if report is None:
                return None
            view = await track(session, report)
            if with_photos:
                query = select(PhotoRecord.id).where(PhotoRecord.report_id == report.id)
                view.photo_ids = list((await session.exec(query)).all())
            return view

    async def photo(self, photo_id: str) -> PhotoRecord | None:
        async with self.sessions() as session:
            return await session.get(PhotoRecord, photo_id)

    async def service_requests(self, wanted: ServiceRequestFilter, limit: int) -> list[Track]:
        """Open311's listing: the reports a filter selects with what their rows show, in a
        constant number of queries however many there are."""
        async with self.sessions() as session:
            return await tracks(session, await listed_reports(session, wanted, limit))

    async def nearby_open_reports(
        self, category: Category, lat: float, lon: float
    ) -> list[NearbyReport]:
        """Open reports of the category near the point in the last day ("I notice it too")."""
        async with self.sessions() as session:
            return await nearby_open_reports(
                session, category=category.value, lat=lat, lon=lon, now=self.clock.now()
            )

    async def mail_contacts(self, report_ids: Sequence[str]) -> list[MailContact]:
        """The addresses for a round of mail: the reports whose resident asked for e-mail
        updates and left a usable address (the others are simply absent)."""
        async with self.sessions() as session:
            rows = await session.exec(
                select(ReporterContact, ReportRecord.language)
                .join(ReportRecord, col(ReportRecord.id) == col(ReporterContact.report_id))
                .where(col(ReporterContact.report_id).in_(report_ids))
            )
            return [
                MailContact(contact.report_id, contact.email, language)
                for contact, language in rows
                if contact.email is not None and contact.email_updates
            ]

    async def client_for_key(self, api_key: str) -> str | None:
        """The Open311 client an api_key belongs to (None for an unknown key)."""
        query = select(Open311Client.client_id).where(
            Open311Client.key_digest == key_digest(api_key)
        )
        async with self.sessions() as session:
            return (await session.exec(query)).first()

    async def register_client(self, client_id: str, name: str) -> str:
        """Register an Open311 app; returns its api_key (shown once, stored only as a digest)."""
        api_key = secrets.token_urlsafe(24)
        async with write_transaction(self.sessions) as session:
            session.add(
                Open311Client(
                    client_id=client_id,
                    name=name,
                    key_digest=key_digest(api_key),
                    created_at=self.clock.now(),
                )
            )
        return api_key

    async def resolve_location(self, submission: ReportSubmission) -> ResolvedLocation:
        if submission.lat is not None and submission.lon is not None:
            point, source = (submission.lat, submission.lon), LocationSource.WGS84
        elif submission.rd_x is not None and submission.rd_y is not None:
            point, source = rd_to_wgs84(submission.rd_x, submission.rd_y), LocationSource.RD_NEW
        else:
            query = submission.address_query or ""
            found = await self.geocoder.lookup(query)
            if found is None:
                return ResolvedLocation(None, None, LocationSource.ADDRESS, False, query)
            point, source = found, LocationSource.ADDRESS
        if not self.netherlands.contains(*point):
            raise SubmissionRefusedError("outside_netherlands", "location")
        return ResolvedLocation(point[0], point[1], source, True, submission.address_query)

    async def accept_report(
        self,
        submission: ReportSubmission,
        *,
        channel: Channel,
        photos: Sequence[CleanPhoto] = (),
        ip_address: str | None = None,
        idempotency_key: str | None = None,
        client_id: str | None = None,
    ) -> Accepted:
        scoped_key = f"{client_id or channel.value}:{idempotency_key}" if idempotency_key else None
        if scoped_key:
            replay = await self._replay(scoped_key)
            if replay is not None:
                return replay
        location = await self.resolve_location(submission)
        now = self.clock.now()
        key = reporter_key(self.secret, device_id=submission.device_id, email=submission.email)
        report_id = str(uuid.uuid4())
        REPORT_ID.set(report_id)  # every log line of this request names the report
        token = tracking_token(self.secret, report_id)
        await self._check_admissible(submission, key, ip_address, now)
        report_row = {
            **_report_values(submission, location, len(photos)),
            "id": report_id,
            "tracking_digest": token_digest(token),
            "reporter_key": key,
            "channel": channel.value,
            "received_at": now,
            "idempotency_key": scoped_key,
            "client_id": client_id,
        }
        contact_row = _contact_values(submission, location, report_id, ip_address, now)
        event = received_event(report_id, key, channel, location, now, submission, len(photos))
        outbox = outbox_values(
            event, topic=REPORT_RECEIVED.name, key=report_id, source=SOURCE, clock=self.clock
        )
        rows = [(CONTACT_TABLE, contact_row), *_photo_rows(report_id, photos)]
        try:
            # the report first (contact and photos refer to it), then the rest: one transaction
            returned = await self.writer.commit(
                [[(REPORT_TABLE, report_row)], [*rows, (OUTBOX_TABLE, outbox)]]
            )
        except IntegrityError:
            replay = await self._replay(scoped_key) if scoped_key else None
            if replay is not None:
                return replay  # a concurrent retry with the same Idempotency-Key won
            raise
        if callable(self.wake_relay):
            self.wake_relay()
        return Accepted(report_id, int(returned[0][0][0]), location.verified, token)

    async def _check_admissible(
        self, submission: ReportSubmission, key: str, ip_address: str | None, now: datetime
    ) -> None:
        """Refuse a link to an unknown report; rate-limit by device or e-mail and by address."""
        async with self.sessions() as session:
            if submission.linked_report_id is not None:
                linked = await session.exec(
                    select(ReportRecord.id).where(
                        ReportRecord.id == str(submission.linked_report_id)
                    )
                )
                if linked.first() is None:
                    raise SubmissionRefusedError("linked_report_unknown", "linked_report_id")
            if submission.device_id or submission.email:
                await self._check_device_rate(session, key, submission, now)
            if ip_address:
                await self._check_ip_rate(session, ip_address, now)

    async def _replay(self, scoped_key: str) -> Accepted | None:
        async with self.sessions() as session:
            found = (
                await session.exec(
                    select(ReportRecord).where(ReportRecord.idempotency_key == scoped_key)
                )
            ).first()
        if found is None:
            return None
        return Accepted(
            found.id,
            found.number or 0,
            found.location_verified,
            tracking_token(self.secret, found.id),
            replayed=True,
        )

    async def _check_device_rate(
        self, session: AsyncSession, key: str, submission: ReportSubmission, now: datetime
    ) -> None:
        if self.device_window.total_seconds() <= 0:
            return
        last = (
            await session.exec(
                select(func.max(ReportRecord.received_at)).where(
                    ReportRecord.reporter_key == key,
                    ReportRecord.category == submission.category.value,
                    col(ReportRecord.received_at) > now - self.device_window,
                )
            )
        ).first()
        if last is not None:
            waited = now - last  # aware: max() keeps the UTCDateTime column type
            raise RateLimitedError(
                math.ceil((self.device_window - waited).total_seconds()),
                "device_category_window",
            )

    async def _check_ip_rate(self, session: AsyncSession, ip: str, now: datetime) -> None:
        if self.ip_limit_per_hour <= 0:
            return
        hour_ago = now - timedelta(hours=1)
        count, oldest = (
            await session.exec(
                select(func.count(), func.min(ReporterContact.received_at)).where(
                    ReporterContact.ip_address == ip,
                    col(ReporterContact.received_at) > hour_ago,
                )
            )
        ).one()
        if count >= self.ip_limit_per_hour and oldest is not None:
            free_at = oldest + timedelta(hours=1)
            raise RateLimitedError(math.ceil((free_at - now).total_seconds()), "ip_per_hour")

    async def stop_email_updates(self, report_id: str) -> None:
        """The resident unsubscribed: no more e-mails about this report."""
        async with write_transaction(self.sessions) as session:
            contact = await session.get(ReporterContact, report_id)
            if contact is not None:
                contact.email_updates = False
                session.add(contact)

    async def erase_expired_contacts(self) -> int:
        """Erase contact details older than the retention; the reports stay intact."""
        now = self.clock.now()
        async with write_transaction(self.sessions) as session:
            result = await session.exec(
                update(ReporterContact)
                .where(
                    col(ReporterContact.received_at) < now - self.contact_retention,
                    col(ReporterContact.erased_at).is_(None),
                )
                .values(
                    name=None, email=None, phone=None, address=None, ip_address=None, erased_at=now
                )
            )
            return int(result.rowcount or 0)


def _report_values(
    submission: ReportSubmission, location: ResolvedLocation, photo_count: int
) -> dict[str, object]:
    """The report's columns that come from what the resident sent and where it was."""
    linked = submission.linked_report_id
    return {
        "category": submission.category.value,
        "subtype": submission.subtype,
        "lat": location.lat,
        "lon": location.lon,
        "location_source": location.source.value,
        "location_verified": location.verified,
        "observed_at": submission.observed_at,
        "duration_minutes": submission.duration_minutes,
        "still_noticeable": submission.still_noticeable,
        "intensity": submission.intensity,
        "description": submission.description,
        "health_symptoms": [s.value for s in submission.health_symptoms],
        "symptoms_other": submission.symptoms_other,
        "suspected_source": submission.suspected_source,
        "suspected_facility_id": submission.suspected_facility_id,
        "photo_count": photo_count,
        "language": submission.language,
        "linked_report_id": str(linked) if linked else None,
        "status": "open",
    }


def _contact_values(
    submission: ReportSubmission,
    location: ResolvedLocation,
    report_id: str,
    ip_address: str | None,
    now: datetime,
) -> dict[str, object]:
    return {
        "report_id": report_id,
        "name": submission.name,
        "email": submission.email,
        "phone": submission.phone,
        "address": location.address,
        "ip_address": ip_address,
        "share_with_authority": submission.share_contact,
        "email_updates": submission.email_updates,
        "received_at": now,
    }


def _photo_rows(
    report_id: str, photos: Sequence[CleanPhoto]
) -> list[tuple[Table, dict[str, object]]]:
    return [
        (
            PHOTO_TABLE,
            {
                "id": str(uuid.uuid4()),
                "report_id": report_id,
                "content_type": photo.content_type,
                "data": photo.data,
            },
        )
        for photo in photos
    ]


def received_event(
    report_id: str,
    key: str,
    channel: Channel,
    location: ResolvedLocation,
    received_at: datetime,
    submission: ReportSubmission,
    photo_count: int,
) -> ReportReceived:
    """The event for the topic: the report without any personal data."""
    return ReportReceived(
        report_id=uuid.UUID(report_id),
        reporter_key=key,
        channel=channel,
        category=submission.category,
        subtype=submission.subtype,
        location=Location(
            lat=location.lat, lon=location.lon, source=location.source, verified=location.verified
        ),
        observed_at=submission.observed_at,
        received_at=received_at,
        duration_minutes=submission.duration_minutes,
        still_noticeable=submission.still_noticeable,
        intensity=submission.intensity,
        description=submission.description,
        health_symptoms=submission.health_symptoms,
        symptoms_other=submission.symptoms_other,
        suspected_source=submission.suspected_source,
        suspected_facility_id=submission.suspected_facility_id,
        photo_count=photo_count,
        language=submission.language,
        linked_report_id=submission.linked_report_id,
        contact_available=submission.share_contact and bool(submission.email or submission.phone),
    )


@dataclass
class TrackingRows:
    """A batch's recipient rows and report records, fetched by ``load_tracking`` in two
    queries, so that each event finds them (or learns there are none) without asking."""

    report_ids: set[str]
    recipients: dict[str, dict[str, RecipientView]]
    records: dict[str, ReportRecord]


TRACKING_ROWS = "buursignaal.tracking_rows"
STATUS_TABLE: Table = table_of(StatusView)


async def load_tracking(session: AsyncSession, report_ids: set[str]) -> None:
    """The ``prepare`` step of the tracking consumers (adds to what the session has)."""
    rows = session.info.get(TRACKING_ROWS)
    if not isinstance(rows, TrackingRows):
        rows = session.info[TRACKING_ROWS] = TrackingRows(set(), {}, {})
    report_ids = report_ids - rows.report_ids
    rows.report_ids |= report_ids
    rows.recipients.update((r, {}) for r in report_ids)
    if report_ids:
        views = await session.exec(
            select(RecipientView).where(col(RecipientView.report_id).in_(report_ids))
        )
        for view in views:
            rows.recipients[view.report_id][view.recipient_id] = view
        records = await session.exec(
            select(ReportRecord).where(col(ReportRecord.id).in_(report_ids))
        )
        rows.records.update((record.id, record) for record in records)


async def _tracking(session: AsyncSession, report_id: str) -> TrackingRows:
    await load_tracking(session, {report_id})  # nothing to do when the batch's prepare did it
    rows = session.info[TRACKING_ROWS]
    assert isinstance(rows, TrackingRows)
    return rows


async def apply_routing(session: AsyncSession, decision: RoutingDecided) -> None:
    """Show the resident who got the report and why; recipients no longer routed are withdrawn."""
    report_id = str(decision.report_id)
    rows = await _tracking(session, report_id)
    existing = rows.recipients[report_id]
    current = {recipient.recipient_id for recipient in decision.recipients}
    for recipient_id, row in list(existing.items()):
        if recipient_id not in current and row.routing_round < decision.round:
            row.withdrawn = True
            session.add(row)
    for recipient in decision.recipients:
        row = existing.get(recipient.recipient_id) or RecipientView(
            report_id=report_id,
            recipient_id=recipient.recipient_id,
            name=recipient.name,
            role=recipient.role,
            reason_nl=recipient.reason.nl,
            reason_en=recipient.reason.en,
        )
        row.role = recipient.role
        row.reason_nl = recipient.reason.nl
        row.reason_en = recipient.reason.en
        row.routing_round = decision.round
        row.withdrawn = False
        session.add(row)
        existing[recipient.recipient_id] = row
    record = rows.records.get(report_id)
    if record is not None and decision.referral is not None:
        record.status_note_nl = decision.referral.reason.nl
        record.status_note_en = decision.referral.reason.en
        session.add(record)


async def apply_status(session: AsyncSession, change: LegStatusChanged) -> None:
    report_id = str(change.report_id)
    stage_insert(
        session,
        STATUS_TABLE,
        {
            "report_id": report_id, "recipient_id": change.recipient_id,
            "status": change.status.value, "occurred_at": change.occurred_at,
            "explanation": change.explanation,
        },
    )  # fmt: skip
    row = (await _tracking(session, report_id)).recipients[report_id].get(change.recipient_id)
    if row is not None:
        row.status = change.status
        if change.respond_by is not None:
            row.deadline_at = change.respond_by
        session.add(row)


async def apply_unroutable(session: AsyncSession, event: ReportUnroutable) -> None:
    report_id = str(event.report_id)
    record = (await _tracking(session, report_id)).records.get(report_id)
    if record is not None:
        record.status = ReportState.UNROUTABLE
        record.status_note_nl = event.reason.nl
        record.status_note_en = event.reason.en
        session.add(record)
