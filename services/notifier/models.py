"""What the notifier keeps: cases, legs with their clocks, history, fired rungs, authorities'
keys and resident mail jobs. Only pseudonymous reporter keys; addresses stay in intake."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from schemas.incident import IncidentState
from schemas.leg import ActorKind, DeadlineKind, LegStatus
from schemas.pattern import DetectionMethod, Scope
from schemas.report import Category
from schemas.routing import Role
from services.runtime.database import enum_column, utc_column


class MailKind(StrEnum):
    """Which resident mail a job sends (each has a template in ``templates/mail``)."""

    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    ROUTES = "routes"  # the ladder's third rung: which routes are open to the resident


class MailStatus(StrEnum):
    """Where a mail job stands: waiting to be sent (or retried), sent, or left unsent."""

    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class CaseFile(SQLModel, table=True):
    """One per report: what every leg of it shares."""

    __tablename__ = "case_file"

    report_id: str = Field(primary_key=True, max_length=36)
    reporter_key: str = Field(max_length=64)
    category: Category = enum_column(Category, length=16)
    language: str = Field(max_length=2)
    urgent: bool
    received_at: datetime = utc_column()
    # one body may take the lead ("I handle this; the others are informed"), visible to all
    lead_recipient_id: str | None = Field(default=None, max_length=64)
    lead_at: datetime | None = utc_column(nullable=True)


class Leg(SQLModel, table=True):
    """One recipient's part of a case, with its status and its response clock."""

    __tablename__ = "leg"
    __table_args__ = (
        UniqueConstraint("report_id", "recipient_id", name="uq_leg_report_recipient"),
        Index(
            "ix_leg_due",
            "next_due_at",
            sqlite_where=text("next_due_at IS NOT NULL"),
            postgresql_where=text("next_due_at IS NOT NULL"),
        ),
        Index("ix_leg_recipient_status", "recipient_id", "status"),
        # the meldkamer's pages and its period filter (migration notifier_0009)
        Index("ix_leg_inbox", "recipient_id", "incident_id", "next_due_at", "id"),
        Index("ix_leg_recipient_delivered", "recipient_id", "delivered_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    report_id: str = Field(max_length=36, index=True)
    recipient_id: str = Field(max_length=64)
    recipient_name: str = Field(max_length=200)
    role: Role = enum_column(Role, length=32)
    category: Category = enum_column(Category, length=16)
    routing_round: int
    status: LegStatus = enum_column(LegStatus, length=32)
    handler: str | None = Field(default=None, max_length=100)
    delivered_at: datetime = utc_column()
    acknowledged_at: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)
    explanation: str | None = Field(default=None, max_length=4000)
    forwarded_to: str | None = Field(default=None, max_length=64)
    cycle: int = 0  # +1 each time the resident reopens
    deadline_kind: DeadlineKind | None = enum_column(DeadlineKind, length=16, nullable=True)
    clock_origin: datetime = utc_column()
    paused_at: datetime | None = utc_column(nullable=True)
    paused_hours: float = 0.0
    norm_hours: float
    next_step: int = 1  # the ladder's next rung (1..3); 4 = all fired
    next_due_at: datetime | None = utc_column(nullable=True)
    incident_id: str | None = Field(default=None, max_length=36, index=True)
    observed_at: datetime | None = utc_column(nullable=True)  # the report's, for incidents
    # what was delivered (``services.notifier.delivered.kept``); none for a forwarded leg
    delivery: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class LegHistory(SQLModel, table=True):
    """Append-only: every status a leg had, who set it, when and why."""

    __tablename__ = "leg_history"

    id: int | None = Field(default=None, primary_key=True)
    leg_id: str = Field(max_length=36, index=True)
    at: datetime = utc_column()
    from_status: LegStatus | None = enum_column(LegStatus, length=32, nullable=True)
    to_status: LegStatus = enum_column(LegStatus, length=32)
    actor_kind: ActorKind = enum_column(ActorKind, length=16)
    actor_id: str = Field(max_length=128)
    actor_subject: str | None = Field(default=None, max_length=128)  # the person (OIDC sub)
    actor_name: str | None = Field(default=None, max_length=200)  # their display name
    explanation: str | None = Field(default=None, max_length=4000)


class Incident(SQLModel, table=True):
    """A voorval: an executing body's reports about one likely source and category within an
    overlapping time window, answered once for all its legs."""

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_open", "recipient_id", "category", "source_key", "window_end"),
    )

    id: str = Field(primary_key=True, max_length=36)
    recipient_id: str = Field(max_length=64)
    category: Category = enum_column(Category, length=16)
    source_key: str = Field(max_length=120)  # "facility:<id>" or "cell:<lat>:<lon>"
    state: IncidentState = enum_column(IncidentState, length=16)
    merged_into: str | None = Field(default=None, max_length=36)
    window_start: datetime = utc_column()
    window_end: datetime = utc_column()
    report_count: int = 0
    unique_reporters: int = 0
    reporter_keys: list[str] = Field(sa_column=Column(JSON, nullable=False))  # pseudonymous
    wind_from_deg: float | None = None
    wind_speed_ms: float | None = None
    waves_announced: int = 0
    wave_reporters: int = 0  # unique reporters at the last wave notice
    created_at: datetime = utc_column()


class IncidentMove(SQLModel, table=True):
    """Append-only: a leg moved between incidents (or all of one merged into another)."""

    __tablename__ = "incident_move"

    id: int | None = Field(default=None, primary_key=True)
    leg_id: str = Field(max_length=36, index=True)
    from_incident: str | None = Field(default=None, max_length=36)
    to_incident: str = Field(max_length=36)
    actor_kind: ActorKind = enum_column(ActorKind, length=16)
    actor_id: str = Field(max_length=128)
    handler: str | None = Field(default=None, max_length=100)
    reason: str = Field(max_length=1000)
    at: datetime = utc_column()


class EscalationFired(SQLModel, table=True):
    """A rung that fired; its key makes firing twice impossible, and nothing deletes it."""

    __tablename__ = "escalation_fired"

    leg_id: str = Field(primary_key=True, max_length=36)
    cycle: int = Field(primary_key=True)
    deadline_kind: DeadlineKind = enum_column(DeadlineKind, length=16, primary_key=True)
    step: int = Field(primary_key=True)
    due_at: datetime = utc_column()
    fired_at: datetime = utc_column()


class Authority(SQLModel, table=True):
    """A recipient that answers through the API or the inbox (its keys: ``authorities.ApiKey``)."""

    __tablename__ = "authority"

    recipient_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)


class MailJob(SQLModel, table=True):
    """One mail to a resident; the dedupe key makes a second job for the same mail impossible."""

    __tablename__ = "mail_job"
    __table_args__ = (Index("ix_mail_job_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    report_id: str = Field(max_length=36)
    kind: MailKind = enum_column(MailKind, length=32)
    context: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: MailStatus = enum_column(MailStatus, length=16, default=MailStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


class Signal(SQLModel, table=True):
    """One report as pattern detection sees it: where, when, what, near which facilities."""

    __tablename__ = "signal"
    __table_args__ = (Index("ix_signal_category_time", "category", "observed_at"),)

    report_id: str = Field(primary_key=True, max_length=36)
    reporter_key: str = Field(max_length=64)
    category: Category = enum_column(Category, length=16)
    lat: float
    lon: float
    observed_at: datetime = utc_column()
    municipality_code: str | None = Field(default=None, max_length=8)
    province_code: str | None = Field(default=None, max_length=8)
    facility_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    sectors: list[str] = Field(sa_column=Column(JSON, nullable=False))  # per facility id
    recipients: list[str] = Field(sa_column=Column(JSON, nullable=False))  # "ca:pv27", "eb:…"
    wind_from_deg: float | None = None


class PatternRecord(SQLModel, table=True):
    """A pattern as last announced (the digest reads these)."""

    __tablename__ = "pattern"

    pattern_id: str = Field(primary_key=True, max_length=36)
    key: str = Field(max_length=200, index=True)
    method: DetectionMethod = enum_column(DetectionMethod, length=32)
    category: Category = enum_column(Category, length=16)
    scope: Scope = enum_column(Scope, length=16)
    announcement: int
    unique_reporters: int
    report_count: int
    recurrence_interval_days: float | None = None
    first_detected_at: datetime = utc_column()
    detected_at: datetime = utc_column()
    window_start: datetime = utc_column()
    window_end: datetime = utc_column()
    last_seen_at: datetime | None = utc_column(nullable=True)  # found again, not announced
    centre_lat: float | None = None
    centre_lon: float | None = None
    radius_m: float | None = None
    municipality_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    province_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    facility_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    recipients: list[str] = Field(sa_column=Column(JSON, nullable=False))
    report_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))


class DigestRecord(SQLModel, table=True):
    """A published digest, archived as its JSON document and its page."""

    __tablename__ = "digest"

    digest_id: str = Field(primary_key=True, max_length=36)
    period_start: datetime = utc_column()
    period_end: datetime = utc_column()
    published_at: datetime = utc_column()
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    html: str
