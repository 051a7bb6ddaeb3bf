"""Words on the resident's pages, Dutch first and English second, read from the text catalogue,
and the numbers and times on them in the resident's notation (Babel).

The texts themselves live in ``services/locale/{nl,en}/LC_MESSAGES/buursignaal.po``
(see ``services.runtime.catalogue`` and ADR 0011); this module keeps the pages' lookups.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time, get_timezone
from babel.numbers import format_decimal

from services.runtime import catalogue


def _pairs(kind: str | None) -> dict[str, tuple[str, str]]:
    dutch, english = catalogue.messages("nl", kind), catalogue.messages("en", kind)
    return {key: (text, english.get(key, text)) for key, text in dutch.items()}


TEXTS = _pairs(None)
ROLES = _pairs("Role")
STATUSES = _pairs("LegStatus")
CATEGORIES = _pairs("Category")
SYMPTOMS = _pairs("HealthSymptom")
SUBTYPES = _pairs("Subtype")


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


# the resident's language as Babel's locale: Dutch notation in Dutch (decimal comma, 1.000),
# British English in English (a day before its month, a 24-hour clock)
LOCALES = {"nl": "nl_NL", "en": "en_GB"}
AMSTERDAM = get_timezone("Europe/Amsterdam")


def locale_of(language: str) -> str:
    return LOCALES["en" if language == "en" else "nl"]


def local_time(moment: datetime, language: str) -> str:
    """An instant as the resident reads it: Amsterdam time, the month in words (no 1/7 that
    reads as January 7th), hours and minutes: ``23 nov 2026, 11:35`` / ``23 Nov 2026, 11:35``."""
    locale = Locale.parse(locale_of(language))
    day = format_date(moment.astimezone(AMSTERDAM), "medium", locale=locale)
    clock = format_time(moment, "short", tzinfo=AMSTERDAM, locale=locale)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", day).replace("{0}", clock)


def decimal(value: float, language: str, digits: int = 0) -> str:
    """A number in the resident's notation (``52,0905`` in Dutch), with ``digits`` decimals at
    most and thousands grouped (``1.000``)."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, pattern, locale=locale_of(language))
