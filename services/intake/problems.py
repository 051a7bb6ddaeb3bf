"""Clear errors for residents and apps: RFC 9457 problem details with a message per field.

Messages are given in the resident's language (Dutch by default, English on request), keyed by
the validation error's type so that one table serves the API, Open311 and the web form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from services.intake.submission import MODEL_ERROR_FIELDS
from services.runtime.problems import FieldProblem, problem

Language = Literal["nl", "en"]

MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Dit veld is verplicht.", "This field is required."),
    "extra_forbidden": ("Dit veld kennen we niet.", "This field is not known."),
    "string_too_long": (
        "Gebruik hoogstens {max_length} tekens.",
        "Use at most {max_length} characters.",
    ),
    "string_too_short": (
        "Gebruik minstens {min_length} tekens.",
        "Use at least {min_length} characters.",
    ),
    "too_long": ("Kies hoogstens {max_length}.", "Choose at most {max_length}."),
    "string_pattern_mismatch": ("Deze waarde klopt niet.", "This value is not valid."),
    "string_type": ("Vul tekst in.", "Enter text."),
    "int_parsing": ("Vul een heel getal in.", "Enter a whole number."),
    "int_type": ("Vul een heel getal in.", "Enter a whole number."),
    "int_from_float": ("Vul een heel getal in.", "Enter a whole number."),
    "float_parsing": ("Vul een getal in.", "Enter a number."),
    "float_type": ("Vul een getal in.", "Enter a number."),
    "bool_parsing": ("Kies ja of nee.", "Choose yes or no."),
    "bool_type": ("Kies ja of nee.", "Choose yes or no."),
    "greater_than_equal": ("Vul {ge} of meer in.", "Enter {ge} or more."),
    "less_than_equal": ("Vul {le} of minder in.", "Enter {le} or less."),
    "enum": ("Kies een van: {expected}.", "Choose one of: {expected}."),
    "literal_error": ("Kies een van: {expected}.", "Choose one of: {expected}."),
    "datetime_parsing": (
        "Vul een datum en tijd in, zoals 2026-05-01T14:30.",
        "Enter a date and time, like 2026-05-01T14:30.",
    ),
    "datetime_type": ("Vul een datum en tijd in.", "Enter a date and time."),
    "datetime_from_date_parsing": (
        "Vul een datum en tijd in, zoals 23-11-2026 en 14:30.",
        "Enter a date and time, like 23-11-2026 and 14:30.",
    ),
    "uuid_parsing": ("Dit is geen geldig meldingsnummer.", "This is not a valid report id."),
    "uuid_type": ("Dit is geen geldig meldingsnummer.", "This is not a valid report id."),
    "list_type": ("Geef een lijst.", "Give a list."),
    "value_error": ("Deze waarde klopt niet: {error}.", "This value is not valid: {error}."),
    "future_time": (
        "Dit tijdstip ligt in de toekomst. Vul in wanneer u het merkte.",
        "This time lies in the future. Enter when you noticed it.",
    ),
    "too_old": (
        "Meldingen kunnen tot 30 dagen terug. Vul een recenter tijdstip in.",
        "Reports can go back 30 days at most. Enter a more recent time.",
    ),
    "control_characters": (
        "De tekst bevat onzichtbare stuurtekens. Haal die weg.",
        "The text contains invisible control characters. Remove them.",
    ),
    "postcode": ("Vul een postcode in zoals 1234 AB.", "Enter a postcode like 1234 AB."),
    "subtype": ("Kies een van: {allowed}.", "Choose one of: {allowed}."),
    "intensity_not_applicable": (
        "Sterkte geldt alleen voor geur, geluid, trillingen en lucht.",
        "Intensity applies only to odour, noise, vibration and air.",
    ),
    "incomplete_point": (
        "Geef beide coördinaten, of kies de plek op een andere manier.",
        "Give both coordinates, or give the place another way.",
    ),
    "house_number_missing": (
        "Vul bij de postcode ook het huisnummer in.",
        "Enter the house number with the postcode.",
    ),
    "location_missing": (
        "Vertel ons waar u het merkte: een adres, postcode met huisnummer, of uw locatie.",
        "Tell us where you noticed it: an address, postcode and house number, or your location.",
    ),
    "location_ambiguous": (
        "Geef één soort coördinaten (WGS84 of RD), niet beide.",
        "Give one kind of coordinates (WGS84 or RD), not both.",
    ),
    "outside_netherlands": (
        "Deze plek ligt niet in Nederland. Buursignaal gaat alleen over Nederland.",
        "This place is not in the Netherlands. Buursignaal covers the Netherlands only.",
    ),
    "email_missing": (
        "Vul een e-mailadres in om berichten te krijgen.",
        "Enter an e-mail address to receive updates.",
    ),
    "linked_report_unknown": (
        "Die melding kennen we niet (meer).",
        "We do not know that report (any more).",
    ),
    "photo_type": ("Alleen foto's in JPEG of PNG.", "Only JPEG or PNG photos."),
    "photo_size": ("Een foto mag hoogstens 10 MB zijn.", "A photo may be 10 MB at most."),
    "photo_count": ("Hoogstens 5 foto's.", "At most 5 photos."),
    "json_invalid": ("Dit is geen geldige JSON.", "This is not valid JSON."),
    "unicode_invalid": (
        "Deze tekst bevat tekens die niet goed zijn doorgekomen. Typ hem opnieuw.",
        "This text contains characters that did not come through. Please type it again.",
    ),
    "model_attributes_type": ("Stuur een JSON-object.", "Send a JSON object."),
    "dict_type": ("Stuur een JSON-object.", "Send a JSON object."),
}

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "category": ("Soort overlast", "Kind of nuisance"),
    "subtype": ("Wat precies", "What exactly"),
    "location": ("Plek", "Place"),
    "address": ("Adres", "Address"),
    "postcode": ("Postcode", "Postcode"),
    "house_number": ("Huisnummer", "House number"),
    "lat": ("Breedtegraad", "Latitude"),
    "lon": ("Lengtegraad", "Longitude"),
    "observed_at": ("Wanneer merkte u het", "When did you notice it"),
    "duration_minutes": ("Hoe lang (minuten)", "How long (minutes)"),
    "intensity": ("Sterkte", "Intensity"),
    "description": ("Beschrijving", "Description"),
    "health_symptoms": ("Gezondheidsklachten", "Health symptoms"),
    "email": ("E-mailadres", "E-mail address"),
    "phone": ("Telefoonnummer", "Phone number"),
    "name": ("Naam", "Name"),
    "photos": ("Foto's", "Photos"),
}


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
