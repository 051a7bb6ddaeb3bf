"""One shared case: every recipient of a report sees the other recipients' legs.

``CaseUpdated`` goes to each recipient's own delivery topic when another leg of its report
changes (status, answer, lead). It names bodies, roles, statuses and the bodies' answers with
their explanations; never personal data (no reporter key, no description, no place).
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from schemas._base import Contract
from schemas.leg import LegEvent, LegStatus
from schemas.routing import RECIPIENT_ID_PATTERN, Role


class CaseAnswer(Contract):
    """An answer a body gave on its leg: the status and its explanation."""

    status: LegStatus
    at: AwareDatetime
    explanation: str | None = Field(default=None, max_length=4000)


class CaseLeg(Contract):
    """One recipient's leg as the other recipients see it."""

    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN)
    name: str
    role: Role
    status: LegStatus
    answers: list[CaseAnswer] = Field(default_factory=list)


class CaseUpdated(LegEvent):
    """Another leg of the report changed; ``recipient_id`` is who this event is for."""

    ce_type = "nl.buursignaal.case.updated.v1"

    occurred_at: AwareDatetime
    changed: CaseLeg = Field(description="the leg that changed")
    lead_recipient_id: str | None = Field(
        default=None, description="the body that took the lead on the case, if one did"
    )
