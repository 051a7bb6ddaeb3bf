"""The meldkamer's filters (facility, period, free text) each narrow the list, the inbox and its
screens in English say nothing in Dutch and show no codes, a leg's screen lists the body's other
reports close by (and not those far away in time), the stamp the pages poll moves when a leg
changes and only then, and the exports follow the filters and the language. Through the real
broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import timedelta
from typing import Any

from faststream.kafka import KafkaBroker

from services.notifier.models import Leg
from services.runtime.database import write_transaction
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_api_leg import DESCRIPTION
from tests.notifier.test_inbox_leg import incident_and_single, rows_of, sign_in

NONE_NL = "Geen voorvallen of meldingen met deze filters."
HARBOUR = "Harde knallen bij de haven, de hele nacht."


async def variant(
    service: NotifierUnderTest, leg_id: str, days_earlier: int, **delivery: Any
) -> str:
    """Another single leg like ``leg_id``: delivered and observed ``days_earlier`` days before,
    its delivery's fields changed as given; its id."""
    async with write_transaction(service.notifier.runtime.sessions) as session:
        leg = await session.get(Leg, leg_id)
        assert leg is not None
        assert leg.delivered_at is not None
        fields = leg.model_dump()
        shift = timedelta(days=days_earlier)
        carried = dict(leg.delivery or {})
        report = dict(carried.get("report") or {})
        for holder in (carried, report):
            if "observed_at" in holder:
                observed = str(holder["observed_at"])
                holder["observed_at"] = observed.replace(
                    "2026-11-23", f"2026-11-{23 - days_earlier:02d}"
                )
        if report:
            carried["report"] = report
        carried.update(delivery)
        new = str(uuid.uuid4())
        fields.update(id=new, report_id=str(uuid.uuid4()), delivery=carried)
        fields["delivered_at"] = leg.delivered_at - shift
        session.add(Leg(**fields))
    return new


def refs(rows: list[str]) -> list[str]:
    """Each row's first words: which incident or report it is."""
    return [" ".join(row.split()[:5]) for row in rows]


async def test_each_filter_narrows_the_list(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)
    other = await variant(
        service, single, 10, candidate_facilities=[], description=HARBOUR
    )  # no likely source, ten days earlier, another description
    everything = rows_of((await service.client.get("/inbox")).text)
    assert len(everything) == 3, everything
    assert sum("13-11-2026" in row for row in everything) == 1, "the other report, 10 days before"

    tata = rows_of((await service.client.get("/inbox?facility=tata_steel_ijmuiden")).text)
    assert len(tata) == 2, tata
    assert tata[0].startswith("Voorval met 2 meldingen"), "the incident at the steelworks"
    assert not any("13-11-2026" in row for row in tata), "the report without a likely source"
    nothing = await service.client.get("/inbox?facility=somewhere_else")
    assert rows_of(nothing.text) == [NONE_NL]
    page = html.unescape((await service.client.get("/inbox")).text)
    assert '<option value="tata_steel_ijmuiden"' in page, "the facility filter offers the works"

    recent = rows_of((await service.client.get("/inbox?since=2026-11-20")).text)
    assert len(recent) == 2, recent
    assert not any("13-11-2026" in row for row in recent), recent
    early = rows_of((await service.client.get("/inbox?until=2026-11-14")).text)
    assert len(early) == 1, early
    assert "13-11-2026" in early[0], early
    both = rows_of((await service.client.get("/inbox?since=2026-11-13&until=2026-11-23")).text)
    assert len(both) == 3, both
    between = await service.client.get("/inbox?since=2026-11-14&until=2026-11-22")
    assert rows_of(between.text) == [NONE_NL]

    harbour = rows_of((await service.client.get("/inbox?q=KNALLEN")).text)
    assert len(harbour) == 1, "case-insensitive, in descriptions"
    assert "13-11-2026" in harbour[0], harbour
    sulphur = rows_of((await service.client.get("/inbox?q=zwavellucht+sinds")).text)
    assert len(sulphur) == 2, sulphur
    assert sulphur[0].startswith("Voorval"), sulphur
    assert rows_of((await service.client.get("/inbox?q=100%25_")).text) == [NONE_NL], "% and _"
    assert HARBOUR not in (await service.client.get("/inbox?q=knallen")).text, "never shown"

    combined = await service.client.get("/inbox?q=knallen&facility=tata_steel_ijmuiden")
    assert rows_of(combined.text) == [NONE_NL], "filters combine"
    assert other not in combined.text


DUTCH = ("Melding van", "Voorval", "ontvangen", "Geur", "zwavel", "Bladzijde", "Zoeken", "Opslaan")
CODES = (  # codes that are no English words
    "executing_body", "competent_authority", "in_progress", "waiting_for_resident", "not_ours",
    "no_action", "irritated_eyes", "open_",
)  # fmt: skip


def visible(page: str) -> str:
    """The words of a page's body a person reads (no tags, scripts or attributes)."""
    body = page.split("<body", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


async def test_the_inbox_in_english(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)
    listing = await service.client.get("/inbox?lang=en")
    assert listing.status_code == 200, listing.text
    assert '<html lang="en"' in listing.text
    rows = rows_of(listing.text)
    assert len(rows) == 2, rows
    incident_href = re.search(r'href="(/inbox/incidents/[^"]+)"', listing.text)
    assert incident_href is not None
    screens = {
        "list": visible(listing.text),
        "filtered": visible((await service.client.get("/inbox?category=noise")).text),
        "leg": visible((await service.client.get(f"/inbox/legs/{single}")).text),
        "incident": visible((await service.client.get(incident_href.group(1))).text),
    }  # the language is kept (a cookie): no ?lang=en on the later requests
    for name, words in screens.items():
        for line in DESCRIPTION.splitlines():  # what the resident wrote stays in their words
            words = words.replace(line, "")
        for dutch in DUTCH:
            assert dutch not in words, f"the {name} screen says {dutch!r} in English"
        for code in CODES:
            assert not re.search(rf"\b{code}\b", words), f"the {name} screen shows {code}"
    assert "Odour: sulphur" in screens["list"], "the category and subtype in English"
    leg = (await service.client.get(f"/inbox/legs/{single}")).text
    assert 'data-attribution="Map data © Kadaster"' in html.unescape(leg), "the map in English"

    in_dutch = await service.client.get(f"/inbox/legs/{single}?lang=nl")
    assert '<html lang="nl"' in in_dutch.text
    assert 'data-attribution="Kaartgegevens © Kadaster"' in html.unescape(in_dutch.text)
    assert "Wat er gemeld is" in html.unescape(in_dutch.text)


async def test_a_leg_lists_the_reports_nearby(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)
    far_in_time = await variant(service, single, 10)
    page = html.unescape((await service.client.get(f"/inbox/legs/{single}")).text)
    section = page.split('id="nearby-title"', 1)[1].split("</section>", 1)[0]
    assert 'id="nearby"' in section, "the incident's two reports are close by"
    nearby = section.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    assert nearby.count("<tr") == 2, nearby
    assert nearby.count('href="/inbox/legs/') == 2
    assert "0 km" in nearby or "0,0 km" in nearby, "the same (coarsened) point"
    assert f"/inbox/legs/{far_in_time}" not in nearby, "ten days earlier is not nearby"
    assert f"/inbox/legs/{single}" not in nearby, "not the report itself"
    assert "Sterke zwavellucht" not in nearby, "never what a resident wrote"
    points = re.search(r"data-points='([^']+)'", page)
    assert points is not None
    assert points.group(1).count('"nearby"') == 2, "nearby on the map"

    alone = html.unescape((await service.client.get(f"/inbox/legs/{far_in_time}")).text)
    assert 'id="nearby-none"' in alone, "nothing close by in time"


async def stamp(service: NotifierUnderTest) -> str:
    answer = await service.client.get("/inbox/version.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return str(answer.json()["version"])


async def test_the_version_moves_when_a_leg_changes_and_only_then(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)
    csrf = await sign_in(service, "od-odnzkg")
    first = await stamp(service)
    for url in ("/inbox", f"/inbox/legs/{single}", "/inbox/export.csv", "/inbox?q=zwavel"):
        assert (await service.client.get(url)).status_code == 200
    assert await stamp(service) == first, "reading changes nothing"
    refused = await service.client.post(
        f"/inbox/legs/{single}", data={"csrf_token": csrf, "status": "resolved"}
    )
    assert refused.status_code == 400, "a refused answer changes nothing"
    assert await stamp(service) == first

    answered = await service.client.post(
        f"/inbox/legs/{single}", data={"csrf_token": csrf, "status": "acknowledged"}
    )
    assert answered.status_code == 303, answered.text
    second = await stamp(service)
    assert second != first, "an answer moves the stamp"
    assert await stamp(service) == second, "and it stays until the next change"
    page = (await service.client.get(f"/inbox/legs/{single}")).text
    assert second in page, "the page carries the stamp its script compares"

    noted = await service.client.post(
        f"/inbox/legs/{single}/notes", data={"csrf_token": csrf, "note": "Gebeld met het bedrijf."}
    )
    assert noted.status_code == 303, noted.text
    assert await stamp(service) not in (first, second), "a note is a change too"


async def test_the_export_follows_the_filters_and_the_language(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)
    await variant(service, single, 10, candidate_facilities=[], description=HARBOUR)

    def records(text: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(text)))

    everything = records((await service.client.get("/inbox/export.csv")).text)
    assert len(everything) == 3
    harbour = records((await service.client.get("/inbox/export.csv?q=knallen")).text)
    assert [r["soort_regel"] for r in harbour] == ["melding"]
    tata = await service.client.get("/inbox/export.geojson?facility=tata_steel_ijmuiden")
    assert len(tata.json()["features"]) == 2
    early = records((await service.client.get("/inbox/export.csv?until=2026-11-14")).text)
    assert len(early) == 1
    for exported in (tata.text, *(str(r) for r in everything)):
        assert "Harde knallen" not in exported
        assert "zwavellucht" not in exported

    english = (await service.client.get("/inbox/export.csv?lang=en&category=odour")).text
    words = {value for record in records(english) for value in record.values()}
    assert "Odour" in words, "the export in the page's language"
    assert "Geur" not in words
