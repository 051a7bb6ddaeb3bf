"""The two tables every service database has: the transactional outbox and processed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, text
from sqlmodel import Field, SQLModel

from services.runtime.database import UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """An event committed with the state change that caused it, waiting for the relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)
    topic: str = Field(max_length=249)
    key: str = Field(max_length=200)
    headers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ProcessedEvent(SQLModel, table=True):
    """One row per (consumer, event id) whose effects are committed: redelivery is a no-op."""

    __tablename__ = "processed_event"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
