"""Intake's tables. Personal data lives only in ``reporter_contact`` (and photos' pixels)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from schemas.leg import LegStatus
from schemas.report import Category, Channel, LocationSource
from schemas.routing import Role
from services.runtime.database import enum_column, utc_column


class ReportState(StrEnum):
    """Intake's own view of a report: open until the router says no one can take it."""

    OPEN = "open"
    UNROUTABLE = "unroutable"


class ReportRecord(SQLModel, table=True):
    """A report as accepted; no personal data (the address a resident typed is in contact)."""

    __tablename__ = "report"
    __table_args__ = (
        Index("ix_report_rate", "reporter_key", "category", "received_at"),
        Index("ix_report_nearby", "category", "received_at"),
    )

    number: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=36)
    tracking_digest: str = Field(max_length=64, unique=True)
    reporter_key: str = Field(max_length=64)
    channel: Channel = enum_column(Channel, length=16)
    category: Category = enum_column(Category, length=16)
    subtype: str | None = Field(default=None, max_length=64)
    lat: float | None = None
    lon: float | None = None
    location_source: LocationSource = enum_column(LocationSource, length=16)
    location_verified: bool = True
    observed_at: datetime = utc_column()
    received_at: datetime = utc_column()
    duration_minutes: int | None = None
    still_noticeable: bool | None = None
    intensity: int | None = None
    description: str = Field(default="", max_length=4000)
    health_symptoms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    symptoms_other: str | None = Field(default=None, max_length=500)
    suspected_source: str | None = Field(default=None, max_length=200)
    suspected_facility_id: str | None = Field(default=None, max_length=64)
    photo_count: int = 0
    language: str = Field(default="nl", max_length=2)
    linked_report_id: str | None = Field(default=None, max_length=36, index=True)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    client_id: str | None = Field(default=None, max_length=64)
    status: ReportState = enum_column(ReportState, length=16, default=ReportState.OPEN)
    status_note_nl: str | None = Field(default=None, max_length=2000)
    status_note_en: str | None = Field(default=None, max_length=2000)


class ReporterContact(SQLModel, table=True):
    """Who reported and how to reach them; erased after the retention period."""

    __tablename__ = "reporter_contact"

    report_id: str = Field(primary_key=True, foreign_key="report.id", max_length=36)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)
    ip_address: str | None = Field(default=None, max_length=45, index=True)
    share_with_authority: bool = False
    email_updates: bool = False
    received_at: datetime = utc_column()
    erased_at: datetime | None = utc_column(nullable=True)


class PhotoRecord(SQLModel, table=True):
    __tablename__ = "photo"

    id: str = Field(primary_key=True, max_length=36)
    report_id: str = Field(foreign_key="report.id", index=True, max_length=36)
    content_type: str = Field(max_length=32)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Open311Client(SQLModel, table=True):
    """A registered app that may POST through Open311; only the key's digest is stored."""

    __tablename__ = "open311_client"

    client_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    key_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()


class RecipientView(SQLModel, table=True):
    """The residents' read model of routing: who got the report, in which role, and why."""

    __tablename__ = "recipient_view"

    report_id: str = Field(primary_key=True, max_length=36)
    recipient_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    role: Role = enum_column(Role, length=32)
    reason_nl: str = Field(max_length=2000)
    reason_en: str = Field(max_length=2000)
    routing_round: int = 1
    status: LegStatus = enum_column(LegStatus, length=32, default=LegStatus.DELIVERED)
    deadline_at: datetime | None = utc_column(nullable=True)
    withdrawn: bool = False


class StatusView(SQLModel, table=True):
    """Status history per recipient, appended as the events arrive."""

    __tablename__ = "status_view"

    id: int | None = Field(default=None, primary_key=True)
    report_id: str = Field(index=True, max_length=36)
    recipient_id: str = Field(max_length=64)
    status: LegStatus = enum_column(LegStatus, length=32)
    occurred_at: datetime = utc_column()
    explanation: str | None = Field(default=None, max_length=4000)
