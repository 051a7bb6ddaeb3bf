"""Clear errors for residents and apps: RFC 9457 problem details with a message per field.

Messages are given in the resident's language (Dutch by default, English on request), keyed by
the validation error's type so that one table serves the API, Open311 and the web form; the
texts live in the gettext catalogue (context ``Problem``, field names under ``Field``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.intake.submission import MODEL_ERROR_FIELDS
from services.runtime import catalogue
from services.runtime.problems import FieldProblem, problem

Language = Literal["nl", "en"]


def _pairs(kind: str) -> dict[str, tuple[str, str]]:
    """The catalogue's messages of one kind as key -> (Dutch, English)."""
    dutch, english = catalogue.messages("nl", kind), catalogue.messages("en", kind)
    return {key: (text, english[key]) for key, text in dutch.items()}


# keyed by the validation error's type (``string_too_long``) or our own refusal code; the
# texts are in the catalogue (services/locale, context "Problem" and "Field")
MESSAGES = _pairs("Problem")
FIELD_LABELS = _pairs("Field")


def message_for(kind: str, language: Language, context: dict[str, Any] | None = None) -> str:
    nl, en = MESSAGES.get(kind, ("Deze waarde klopt niet.", "This value is not valid."))
    template = nl if language == "nl" else en
    try:
        return template.format(**(context or {}))
    except (KeyError, IndexError):
        return template.split(":")[0] + "."


def field_problems(error: ValidationError, language: Language) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        location = [str(part) for part in item["loc"] if not isinstance(part, int)]
        kind = item["type"]
        name = ".".join(location) or MODEL_ERROR_FIELDS.get(kind, "report")
        context = {k: v for k, v in (item.get("ctx") or {}).items()}
        problems.append(
            FieldProblem(name=name, code=kind, reason=message_for(kind, language, context))
        )
    return problems


def validation_problem(invalid: Sequence[FieldProblem], language: Language) -> JSONResponse:
    title = (
        "De melding is niet compleet of klopt niet."
        if language == "nl"
        else ("The report is incomplete or not valid.")
    )
    return problem(400, "invalid-report", title, invalid=invalid)


def language_from(accept_language: str | None, explicit: str | None = None) -> Language:
    if explicit == "nl":
        return "nl"
    if explicit == "en":
        return "en"
    if accept_language and accept_language.strip().lower().startswith("en"):
        return "en"
    return "nl"
