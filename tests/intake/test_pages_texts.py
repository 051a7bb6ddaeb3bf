"""Every word on the resident's pages and in their mails comes from the catalogue, and the
numbers and times on them are written as the resident writes them: Dutch notation in Dutch
(decimal comma, ``1.000``, ``23 nov 2026, 13:30``), English notation in English (issue 19).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake.submission import SUBTYPES
from services.intake.texts import decimal, local_time
from services.runtime import catalogue
from tests.intake.conftest import IntakeUnderTest

SERVICES = Path(catalogue.LOCALE_DIR).parent
RESIDENT_TEMPLATES = [
    *sorted((SERVICES / "intake" / "templates").glob("*.html")),
    SERVICES / "notifier" / "templates" / "feedback.html",
    *sorted((SERVICES / "notifier" / "templates" / "mail").glob("*.*")),
]
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
TAG = re.compile(r"<[^>]*>", re.DOTALL)
# words a person reads inside a tag
READ_ATTRIBUTES = re.compile(r'\b(?:alt|title|aria-label|placeholder|label)="([^"]*)"')
# what may stand on a page outside the catalogue: the service's name, punctuation, entities,
# a list's numbers; and what a macro writes into a tag (attributes, class names)
ALLOWED = re.compile(r"Buursignaal|&[a-z]+;|[\s\d.,:;()·–\-+*/=|]")
MARKUP = re.compile(r'^(?:[a-z-]+="[^"]*"?|"|[a-z]+(?:--?[a-z0-9]+)+)$')


def _visible_literals(template: Path) -> list[str]:
    source = template.read_text(encoding="utf-8")
    without_jinja = JINJA.sub(" ", source)
    texts = TAG.sub(" ", without_jinja).split()
    attributes = [JINJA.sub("", value) for value in READ_ATTRIBUTES.findall(source)]
    words = [word for word in texts if not MARKUP.match(word)]
    return [word for word in [*words, *attributes] if ALLOWED.sub("", word)]


@pytest.mark.parametrize("template", RESIDENT_TEMPLATES, ids=lambda p: p.name)
def test_resident_templates_hold_no_words_of_their_own(template: Path) -> None:
    assert _visible_literals(template) == [], "words belong in the catalogue (docs/texts.md)"
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"if lang ==[^%}]*else", source), "one key per text, not an if"


def test_the_check_finds_a_word_outside_the_catalogue(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<p>{{ t.x }} Status: <img alt="Foto {{ n }}"></p>', encoding="utf-8")
    assert _visible_literals(page) == ["Status:", "Foto "]


def test_every_subtype_has_words_in_both_languages() -> None:
    kinds = {kind for kinds in SUBTYPES.values() for kind in kinds}
    for language in catalogue.LANGUAGES:
        labels = catalogue.messages(language, "Subtype")
        assert sorted(kinds - labels.keys()) == [], language


def test_numbers_and_times_in_the_residents_notation() -> None:
    summer = datetime(2026, 7, 1, 19, 5, tzinfo=UTC)  # 21:05 in Amsterdam (CEST)
    assert local_time(summer, "nl") == "1 jul 2026, 21:05"
    assert local_time(summer, "en") == "1 Jul 2026, 21:05"
    assert decimal(52.0905, "nl", 4) == "52,0905"
    assert decimal(52.0905, "en", 4) == "52.0905"
    assert decimal(1000, "nl") == "1.000"
    assert decimal(1000, "en") == "1,000"


def sent(lat: str, lon: str, **extra: str) -> dict[str, str]:
    return {
        "language": "nl",
        "category": "odour",
        "subtype": "sulphur",
        "lat": lat,
        "lon": lon,
        "observed_date": "23-11-2026",
        "observed_time": "12:30",
        **extra,
    }


async def tracking_path(intake_service: IntakeUnderTest, lat: str, lon: str) -> str:
    client = intake_service.client
    answer = await client.post("/", data=sent(lat, lon))
    assert answer.status_code == 303, answer.text
    confirmation = await client.get(answer.headers["location"])
    link = re.search(r'id="tracking-link" href="([^"]+)"', confirmation.text)
    assert link
    return link.group(1).replace("http://intake.test", "").split("?")[0]


async def test_tracking_page_in_dutch_and_english_notation(
    intake_service: IntakeUnderTest,
) -> None:
    path = await tracking_path(intake_service, "52.09123", "5.12345")
    dutch = (await intake_service.client.get(path, params={"lang": "nl"})).text
    english = (await intake_service.client.get(path, params={"lang": "en"})).text
    assert "23 nov 2026, 12:30" in dutch
    assert "23 Nov 2026, 12:30" in english
    assert re.search(r"Rond 52,09\d*° N, 5,12\d*° O", dutch), "a decimal comma in Dutch"
    assert re.search(r"Around 52\.09\d*° N, 5\.12\d*° E", english)
    assert "Geur" in dutch
    assert "Odour" in english


async def test_nearby_distances_are_grouped_as_the_language_writes_them(
    intake_service: IntakeUnderTest,
) -> None:
    client = intake_service.client
    assert (await client.post("/", data=sent("52.1000", "5.1200"))).status_code == 303
    spot = {"category": "odour", "lat": "52.10895", "lon": "5.12"}  # 995 m north: "1000 m"
    dutch = (await client.get("/nearby", params={**spot, "lang": "nl"})).text
    english = (await client.get("/nearby", params={**spot, "lang": "en"})).text
    assert "ongeveer 1.000 m" in dutch
    assert "about 1,000 m" in english
    assert "(zwavel)" in dutch, "the subtype in words, not its code"
    assert "(sulphur)" in english


async def test_the_form_names_the_subtypes_in_the_residents_language(
    intake_service: IntakeUnderTest,
) -> None:
    dutch = (await intake_service.client.get("/", params={"lang": "nl"})).text
    assert 'value="night_work">nachtwerk</option>' in dutch
    assert ">night work<" not in dutch
    assert ">oil film<" not in dutch
    english = (await intake_service.client.get("/", params={"lang": "en"})).text
    assert 'value="night_work">' in english
    assert ">nachtwerk<" not in english


async def test_a_pin_sent_back_is_said_in_the_residents_notation(
    intake_service: IntakeUnderTest,
) -> None:
    refused = await intake_service.client.post(
        "/", data=sent("52.2", "5.3", observed_date="not a date")
    )
    assert refused.status_code == 400
    assert "Speld geplaatst op 52,2° N, 5,3° O." in refused.text
    assert "<title>Fout: " in refused.text


@pytest.mark.parametrize(
    ("lang", "heading"), [("nl", "Deze pagina bestaat niet"), ("en", "This page does not exist")]
)
async def test_a_browser_on_an_unknown_path_gets_a_page_in_its_language(
    intake_service: IntakeUnderTest, lang: str, heading: str
) -> None:
    page = await intake_service.client.get(
        "/no-such-page", params={"lang": lang}, headers={"Accept": "text/html"}
    )
    assert page.status_code == 404
    assert f'<html lang="{lang}"' in page.text
    assert f'<h1 class="utrecht-heading-1">{heading}</h1>' in page.text
    assert "/vendor/utrecht/index.css" in page.text, "the NL Design System look"


async def test_a_request_no_page_takes_gets_a_page_and_keeps_its_headers(
    intake_service: IntakeUnderTest,
) -> None:
    refused = await intake_service.client.post(
        "/track/some-token", headers={"Accept": "text/html", "Accept-Language": "en-GB"}
    )
    assert refused.status_code == 405
    assert "error code 405" in refused.text
    assert refused.headers["allow"] == "GET"


async def test_apps_still_get_problem_details_for_unknown_paths(
    intake_service: IntakeUnderTest,
) -> None:
    answer = await intake_service.client.get(
        "/api/v1/no-such-thing", headers={"Accept": "text/html"}
    )
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    plain = await intake_service.client.get("/no-such-page")
    assert plain.headers["content-type"] == "application/problem+json"
