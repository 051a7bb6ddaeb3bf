"""The text catalogue: every message has Dutch and English, every shown enum has Dutch words."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from schemas.leg import ActorKind, DeadlineKind, EscalationStep, LegStatus
from schemas.pattern import DetectionMethod, Scope
from schemas.report import Category, Channel, HealthSymptom
from schemas.routing import RecipientKind, Role
from services.runtime import catalogue

LABELLED: list[type[StrEnum]] = [
    LegStatus,
    ActorKind,
    DeadlineKind,
    EscalationStep,
    DetectionMethod,
    Scope,
    Category,
    Channel,
    HealthSymptom,
    RecipientKind,
    Role,
]
TEMPLATES = sorted(Path(catalogue.LOCALE_DIR.parent).glob("*/templates/*.html"))


def _keys(language: str) -> set[tuple[str | None, str]]:
    return {(m.context, str(m.id)) for m in catalogue.source(language) if m.id}


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_message_has_a_text_in_each_language(language: str) -> None:
    every = set().union(*(_keys(other) for other in catalogue.LANGUAGES))
    found = catalogue.source(language)
    missing = sorted(
        (str(context), key)
        for context, key in every
        if not getattr(found.get(key, context), "string", "")
    )
    assert missing == [], f"no {language} text for {missing}"


@pytest.mark.parametrize("enum", LABELLED, ids=lambda e: e.__name__)
@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_enum_value_has_a_label(enum: type[StrEnum], language: str) -> None:
    labels = catalogue.messages(language, enum.__name__)
    assert sorted(set(enum) - labels.keys()) == []
    assert all(labels[member] for member in enum)


def test_a_label_is_a_word_not_a_code() -> None:
    assert catalogue.label(Role.EXECUTING_BODY, "Role") == "voert het uit"
    assert catalogue.label("delivered", "LegStatus") == "ontvangen"
    assert catalogue.label(Category.ODOUR, "Category", "en") == "Odour"


def test_templates_name_only_kinds_the_catalogue_knows() -> None:
    kinds = {e.__name__ for e in LABELLED}
    used = {
        kind
        for template in TEMPLATES
        for kind in re.findall(r"label\(\"(\w+)\"\)", template.read_text(encoding="utf-8"))
    }
    assert used
    assert used <= kinds
