"""Response-time norms per recipient role x category, in working hours.

Defaults: acknowledge within 1 working day, resolve or answer substantively within 10 working
days; a report with health symptoms or acute signs: acknowledge within 4 working hours.
Overrides come from a YAML file (``BUURSIGNAAL_NOTIFIER_NORMS_FILE``), keyed ``role:category``
with ``*`` as a wildcard, for example::

    competent_authority:odour: {acknowledge_days: 0.5, resolve_days: 5}
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from schemas.leg import DeadlineKind


class Norm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledge_days: float | None = Field(default=None, gt=0)
    resolve_days: float | None = Field(default=None, gt=0)


class Norms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledge_days: float = Field(default=1, gt=0)
    resolve_days: float = Field(default=10, gt=0)
    urgent_acknowledge_hours: float = Field(default=4, gt=0)
    overrides: dict[str, Norm] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> Norms:
        if path is None:
            return cls()
        return cls.model_validate(yaml.safe_load(path.read_text()) or {})

    def hours(
        self, kind: DeadlineKind, *, role: str, category: str, urgent: bool, day_hours: float
    ) -> float:
        """The norm for one deadline, in working hours."""
        if kind is DeadlineKind.ACKNOWLEDGE and urgent:
            return self.urgent_acknowledge_hours
        for key in (f"{role}:{category}", f"{role}:*", f"*:{category}"):
            override = self.overrides.get(key)
            if override is None:
                continue
            days = (
                override.acknowledge_days
                if kind is DeadlineKind.ACKNOWLEDGE
                else override.resolve_days
            )
            if days is not None:
                return days * day_hours
        days = self.acknowledge_days if kind is DeadlineKind.ACKNOWLEDGE else self.resolve_days
        return days * day_hours
