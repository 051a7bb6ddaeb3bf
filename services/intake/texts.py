"""Words on the resident's pages, Dutch first and English second, read from the text catalogue.

The texts themselves live in ``services/locale/{nl,en}/LC_MESSAGES/buursignaal.po``
(see ``services.runtime.catalogue`` and ADR 0011); this module keeps the pages' lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from services.runtime import catalogue


def _pairs(kind: str | None) -> dict[str, tuple[str, str]]:
    dutch, english = catalogue.messages("nl", kind), catalogue.messages("en", kind)
    return {key: (text, english.get(key, text)) for key, text in dutch.items()}


TEXTS = _pairs(None)
ROLES = _pairs("Role")
STATUSES = _pairs("LegStatus")
CATEGORIES = _pairs("Category")
SYMPTOMS = _pairs("HealthSymptom")


@cache
def translator(language: str) -> dict[str, str]:
    """The page texts in one language (built once per language, not per page)."""
    index = 1 if language == "en" else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


def pick(table: Mapping[Any, tuple[str, str]], key: object, language: str) -> str:
    pair = table.get(str(getattr(key, "value", key)))
    if pair is None:
        return str(key)
    return pair[1] if language == "en" else pair[0]
