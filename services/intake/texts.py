"""Words on the resident's pages, Dutch first and English second."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.report import Category, HealthSymptom

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Overlast van industrie melden", "Report a nuisance from industry"),
    "intro": (
        "Merkt u iets van een bedrijf in de buurt? Meld het hier. Wij zoeken uit welke instantie "
        "het moet oppakken en sturen uw melding daarheen. U kunt ook anoniem melden.",
        "Do you notice something from a company nearby? Report it here. We work out which "
        "authority must act and send your report there. You may report anonymously.",
    ),
    "skip": ("Naar het formulier", "Skip to the form"),
    "other_language": ("English", "Nederlands"),
    "emergency": (
        "Acuut gevaar, zoals brand, een explosie of klachten die nu ernstig zijn? Bel 112.",
        "Acute danger, such as fire, an explosion or serious symptoms now? Call 112.",
    ),
    "errors_title": ("Er ging iets mis. Verbeter het volgende:", "There is a problem. Please fix:"),
    "what": ("Wat merkt u?", "What do you notice?"),
    "category": ("Soort overlast", "Kind of nuisance"),
    "subtype": ("Wat precies (niet verplicht)", "What exactly (optional)"),
    "choose": ("Kies…", "Choose…"),
    "where": ("Waar merkt u het?", "Where do you notice it?"),
    "where_hint": (
        "Vul een postcode met huisnummer in, of een adres. Met JavaScript kunt u ook uw locatie "
        "gebruiken.",
        "Enter a postcode and house number, or an address. With JavaScript you can also use "
        "your location.",
    ),
    "postcode": ("Postcode", "Postcode"),
    "house_number": ("Huisnummer", "House number"),
    "address": ("Of: adres of plaats", "Or: address or place"),
    "use_location": ("Gebruik mijn locatie", "Use my location"),
    "when": ("Wanneer?", "When?"),
    "observed_hint": (
        "Wanneer merkte u het? Vul de datum in als dag-maand-jaar (23-11-2026) en de tijd als "
        "uren:minuten (14:30).",
        "When did you notice it? Enter the date as day-month-year (23-11-2026) and the time "
        "as hours:minutes (14:30).",
    ),
    "observed_date": ("Datum", "Date"),
    "observed_time": ("Tijd", "Time"),
    "duration_minutes": (
        "Hoe lang duurde het, in minuten (niet verplicht)",
        "How long did it last, in minutes (optional)",
    ),
    "still_noticeable": ("Merkt u het nu nog?", "Do you still notice it now?"),
    "yes": ("Ja", "Yes"),
    "no": ("Nee", "No"),
    "unknown": ("Weet ik niet", "Don't know"),
    "how": ("Hoe erg?", "How bad?"),
    "intensity": (
        "Sterkte (1 = zwak, 5 = extreem sterk)",
        "Intensity (1 = weak, 5 = extremely strong)",
    ),
    "intensity_none": ("Geen antwoord", "No answer"),
    "description": (
        "Beschrijving (niet verplicht, hoogstens 4000 tekens)",
        "Description (optional, at most 4,000 characters)",
    ),
    "symptoms": (
        "Heeft u gezondheidsklachten? (niet verplicht)",
        "Do you have health symptoms? (optional)",
    ),
    "symptoms_other": ("Andere klachten", "Other symptoms"),
    "source": (
        "Van welk bedrijf komt het volgens u? (niet verplicht)",
        "Which company do you think it comes from? (optional)",
    ),
    "photos": (
        "Foto's (JPEG of PNG, hoogstens 5, elk hoogstens 10 MB)",
        "Photos (JPEG or PNG, at most 5, each at most 10 MB)",
    ),
    "who": ("Wie bent u? (niet verplicht)", "Who are you? (optional)"),
    "who_hint": (
        "U mag anoniem melden. Laat u gegevens achter, dan bewaren we die hoogstens een jaar en "
        "alleen bij deze dienst.",
        "You may report anonymously. Contact details are kept for a year at most, only here.",
    ),
    "name": ("Naam", "Name"),
    "email": ("E-mailadres", "E-mail address"),
    "phone": ("Telefoonnummer", "Phone number"),
    "share_contact": ("De instantie mag contact met mij opnemen", "The authority may contact me"),
    "email_updates": (
        "Stuur mij berichten over deze melding per e-mail",
        "Send me updates about this report by e-mail",
    ),
    "submit": ("Melding versturen", "Send report"),
    "received_title": ("Uw melding is ontvangen", "Your report has been received"),
    "number": ("Meldingsnummer", "Report number"),
    "tracking": (
        "Volg uw melding via deze persoonlijke link. Bewaar hem goed en deel hem niet:",
        "Follow your report through this private link. Keep it and do not share it:",
    ),
    "unverified": (
        "We konden het adres nu niet controleren. Uw melding is wel ontvangen; we controleren de "
        "plek later.",
        "We could not check the address just now. Your report has been received; the place will "
        "be checked later.",
    ),
    "nearby_title": ("Meldingen in de buurt (laatste 24 uur)", "Reports nearby (last 24 hours)"),
    "nearby_none": (
        "Geen andere open meldingen van deze soort in de buurt.",
        "No other open reports of this kind nearby.",
    ),
    "notice_too": ("Ik merk dit ook", "I notice this too"),
    "also_noticed": ("anderen merkten dit ook", "others noticed this too"),
    "about": ("ongeveer {m} m", "about {m} m"),
    "track_title": ("Uw melding", "Your report"),
    "recipients": ("Wie heeft uw melding", "Who has your report"),
    "no_recipients": (
        "We zoeken nog uit bij wie uw melding hoort. Dit duurt meestal enkele seconden; "
        "ververs de pagina.",
        "We are still working out who your report belongs to. This usually takes seconds; "
        "refresh the page.",
    ),
    "respond_by": ("Antwoord verwacht uiterlijk", "Answer expected by"),
    "history": ("Verloop", "History"),
    "linked_to": ("U meldt dit bij melding", "You are adding to report"),
}

ROLES = {
    "competent_authority": ("bevoegd gezag (moet beslissen)", "competent authority (must decide)"),
    "executing_body": ("voert het uit", "carries it out"),
    "advisor": ("adviseert", "advises"),
    "informed": ("krijgt bericht", "is informed"),
}

STATUSES = {
    "delivered": ("ontvangen", "received"),
    "acknowledged": ("in behandeling genomen", "acknowledged"),
    "in_progress": ("wordt aan gewerkt", "in progress"),
    "waiting_for_resident": ("wacht op u", "waiting for you"),
    "resolved": ("afgehandeld", "resolved"),
    "no_action": ("geen actie", "no action"),
    "not_ours": ("hoort elders", "belongs elsewhere"),
    "forwarded": ("doorgestuurd", "forwarded"),
    "reopened": ("heropend", "reopened"),
}

CATEGORIES = {
    Category.ODOUR: ("Geur", "Odour"),
    Category.NOISE: ("Geluid", "Noise"),
    Category.VIBRATION: ("Trillingen", "Vibration"),
    Category.SOIL: ("Bodem", "Soil"),
    Category.WATER: ("Water", "Water"),
    Category.AIR: ("Lucht: stof, roet, rook, fakkelen", "Air: dust, soot, smoke, flaring"),
}

SYMPTOMS = {
    HealthSymptom.HEADACHE: ("Hoofdpijn", "Headache"),
    HealthSymptom.IRRITATED_EYES: ("Geïrriteerde ogen", "Irritated eyes"),
    HealthSymptom.IRRITATED_THROAT: ("Geïrriteerde keel", "Irritated throat"),
    HealthSymptom.NAUSEA: ("Misselijkheid", "Nausea"),
    HealthSymptom.BREATHING: ("Benauwdheid of ademhalingsklachten", "Breathing problems"),
    HealthSymptom.DIZZINESS: ("Duizeligheid", "Dizziness"),
    HealthSymptom.SKIN: ("Huidirritatie", "Skin irritation"),
    HealthSymptom.OTHER: ("Anders", "Other"),
}


def translator(language: str) -> dict[str, str]:
    index = 1 if language == "en" else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


def pick(table: Mapping[Any, tuple[str, str]], key: object, language: str) -> str:
    pair = table.get(key)
    if pair is None:
        return str(key)
    return pair[1] if language == "en" else pair[0]
