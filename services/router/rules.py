"""The rule table (``rules.yaml``), validated when it is loaded: ids unique, targets and roles
known, every placeholder one the router can fill."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.report import Category
from schemas.routing import Role

Target = Literal[
    "municipality",
    "place_municipality",
    "facility_municipality",
    "province",
    "od_of_municipality",
    "seveso_od_of_province",
    "od_of_facility",
    "ggd",
    "safety_region",
    "water_board",
    "rijkswaterstaat",
    "sodm",
]
PLACEHOLDERS = frozenset(
    {
        "facility",
        "municipality",
        "province",
        "od",
        "ggd",
        "safety_region",
        "water",
        "water_board",
        "wind_nl",
        "wind_en",
        "facility_nl",
        "facility_en",
        "possible_nl",
        "possible_en",
        "where_nl",
        "where_en",
        "place_municipality",
    }
)
RULES_FILE = Path(__file__).with_name("rules.yaml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Strict):
    category: list[Category] | None = None
    subtype: list[str] | None = None
    state_water: bool | None = None
    on_state_water: bool | None = None
    facility_seveso: bool | None = None
    facility_ippc: bool | None = None
    health_symptoms: bool | None = None
    acute: bool | None = None


class RecipientRule(Strict):
    target: Target
    role: Role
    nl: str = Field(min_length=10)
    en: str = Field(min_length=10)

    @field_validator("nl", "en")
    @classmethod
    def _known_placeholders(cls, text: str) -> str:
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholders {sorted(unknown)}")
        return text


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: Condition
    recipients: list[RecipientRule] = Field(min_length=1)


class OutOfScope(Strict):
    id: str
    words: list[str] = Field(min_length=1)
    contact: str


class RuleTable(Strict):
    version: str
    out_of_scope: list[OutOfScope]
    state_waters: list[str]
    competent: list[Rule] = Field(min_length=1)
    also: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_and_complete(self) -> RuleTable:
        ids = [rule.id for rule in (*self.competent, *self.also)]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        if self.competent[-1].when != Condition():
            raise ValueError("the last competent-authority rule must match everything (a fallback)")
        for rule in self.competent:
            if not any(r.role is Role.COMPETENT_AUTHORITY for r in rule.recipients):
                raise ValueError(f"rule {rule.id} names no competent authority")
        return self


def load_rules(path: Path = RULES_FILE) -> RuleTable:
    return RuleTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
