"""Response-time norms per recipient role x category, in working hours, and what each role owes.

What a role owes (``Obligation``; the project's own assumptions, docs/notifier.md, not law):

- the competent authority and the executing body **answer**: acknowledge within 1 working day,
  resolve or answer substantively within 10 working days (a report with health symptoms or
  acute signs: acknowledge within 4 working hours), with the three-rung ladder;
- an advisor (GGD, safety region) is asked for **advice**: a deadline only where the norms file
  sets ``advice_days`` (default: none), and at most a reminder, never an escalation;
- an informed party is **informed**: no deadline, no ladder, never overdue.

Overrides come from a YAML file (``BUURSIGNAAL_NOTIFIER_NORMS_FILE``), keyed ``role:category``
with ``*`` as a wildcard, for example::

    competent_authority:odour: {acknowledge_days: 0.5, resolve_days: 5}
    advisor:odour: {advice_days: 5}
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from schemas.leg import DeadlineKind
from schemas.routing import Role


class Obligation(StrEnum):
    """What a leg's recipient owes, from its role."""

    ANSWER = "answer"
    ADVISE = "advise"
    INFORMED = "informed"


OBLIGATIONS = {
    Role.COMPETENT_AUTHORITY: Obligation.ANSWER,
    Role.EXECUTING_BODY: Obligation.ANSWER,
    Role.ADVISOR: Obligation.ADVISE,
    Role.INFORMED: Obligation.INFORMED,
}
RUNGS = {Obligation.ANSWER: 3, Obligation.ADVISE: 1, Obligation.INFORMED: 0}
"""How many rungs of the ladder a leg can reach: an advisor at most a reminder."""


def obligation(role: str) -> Obligation:
    return OBLIGATIONS[Role(role)]


def rungs(role: str) -> int:
    return RUNGS[obligation(role)]


def first_deadline(role: str) -> DeadlineKind | None:
    """The deadline a new leg starts with (an advisor's only when its norm sets one)."""
    owes = obligation(role)
    if owes is Obligation.ANSWER:
        return DeadlineKind.ACKNOWLEDGE
    return DeadlineKind.ADVICE if owes is Obligation.ADVISE else None


class Norm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledge_days: float | None = Field(default=None, gt=0)
    resolve_days: float | None = Field(default=None, gt=0)
    advice_days: float | None = Field(default=None, gt=0)


class Norms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledge_days: float = Field(default=1, gt=0)
    resolve_days: float = Field(default=10, gt=0)
    urgent_acknowledge_hours: float = Field(default=4, gt=0)
    advice_days: float | None = Field(default=None, gt=0, description="default: no deadline")
    overrides: dict[str, Norm] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> Norms:
        if path is None:
            return cls()
        return cls.model_validate(yaml.safe_load(path.read_text()) or {})

    def hours(
        self, kind: DeadlineKind, *, role: str, category: str, urgent: bool, day_hours: float
    ) -> float | None:
        """The norm for one deadline in working hours; None when the role owes none."""
        owes = obligation(role)
        if owes is Obligation.INFORMED or (owes is Obligation.ADVISE) != (
            kind is DeadlineKind.ADVICE
        ):
            return None
        if kind is DeadlineKind.ACKNOWLEDGE and urgent:
            return self.urgent_acknowledge_hours
        field = f"{kind.value}_days"
        for key in (f"{role}:{category}", f"{role}:*", f"*:{category}"):
            override = self.overrides.get(key)
            days = getattr(override, field) if override is not None else None
            if days is not None:
                return float(days) * day_hours
        default = getattr(self, field)
        return None if default is None else float(default) * day_hours
