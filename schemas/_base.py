"""The base every event shares: immutable, timezone-aware, tolerant of fields it does not know.

Consumers ignore unknown fields so that adding an optional field is a compatible change;
removing or retyping one is not, and ``schemas.compat`` refuses it.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    """A value object that travels inside events."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)


class Event(Contract):
    """One fact the system publishes; its CloudEvents type names it and its version."""

    ce_type: ClassVar[str]

    def ce_subject(self) -> str:
        """The CloudEvents ``subject``: what the event is about (usually the report id)."""
        raise NotImplementedError


class ReportEvent(Event):
    """An event about one report: its key and its subject are the report id."""

    report_id: UUID

    def ce_subject(self) -> str:
        return str(self.report_id)


class LocalizedText(Contract):
    """Plain language for residents, in Dutch first and English second."""

    nl: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)
