"""The text catalogue: every Dutch and English word the services show, in gettext form.

The texts live in ``services/locale/{nl,en}/LC_MESSAGES/buursignaal.po``; the install step
compiles them to ``.mo`` (``pybabel compile -d services/locale -D buursignaal``). A message is
named by a key (its ``msgid``) so that both languages are translations and a test can require
both. Enum labels use the enum's class name as context: ``label("executing_body", "Role")``.
A checkout that was not installed compiles the catalogue on first use (see ADR 0011).
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "buursignaal"
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


def _compiled(language: str) -> Path:
    messages = LOCALE_DIR / language / "LC_MESSAGES"
    po, mo = messages / f"{DOMAIN}.po", messages / f"{DOMAIN}.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        with po.open("rb") as source:
            catalogue = read_po(source, locale=language)
        with mo.open("wb") as target:
            write_mo(target, catalogue)
    return mo


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalogue for one language; anything but English is Dutch."""
    chosen = language if language in LANGUAGES else DEFAULT_LANGUAGE
    with _compiled(chosen).open("rb") as mo:
        return gettext.GNUTranslations(mo)


def text(key: str, language: str = DEFAULT_LANGUAGE) -> str:
    return translations(language).gettext(key)


def label(code: object, kind: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The word for an enum value (``kind`` is the enum's class name); the code if none."""
    value = str(getattr(code, "value", code))
    return translations(language).pgettext(kind, value)


@cache
def source(language: str) -> Catalog:
    """The uncompiled catalogue of one language, as Babel reads it."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=language)


def messages(language: str, kind: str | None = None) -> dict[str, str]:
    """Every message of one kind (``None``: the page texts) as key → text."""
    return {
        str(message.id): str(message.string)
        for message in source(language)
        if message.id and message.context == kind
    }


def install(environment: Environment, language: str = DEFAULT_LANGUAGE) -> None:
    """Give a Jinja environment ``_``/``gettext``/``pgettext`` and a ``label`` filter."""
    environment.add_extension("jinja2.ext.i18n")
    catalogue = translations(language)
    environment.globals.update(
        _=catalogue.gettext, gettext=catalogue.gettext, pgettext=catalogue.pgettext
    )
    environment.filters["label"] = lambda code, kind: label(code, kind, language)
