"""The inbox's leg page shows what the delivery carried, in Dutch words (no enum codes) and in
Amsterdam time; another authority signed in gets a 404 for it. Through the real broker, on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import select

from schemas.routing import Role
from schemas.topics import delivery_topic
from services.intake.submission import SUBTYPES
from services.notifier.actions import leg_id_for
from services.notifier.authorities import InboxSession, register_authority
from services.notifier.inbox import EXPORT_COLUMNS
from services.notifier.models import CaseFile, Leg, LegHistory
from services.runtime import catalogue
from services.runtime.broker import ensure_topics
from services.runtime.database import write_transaction
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_api_leg import DESCRIPTION, deliver_rich, rich_delivery
from tests.notifier.test_notifier_service import publish
from tests.support.factories import recipient
from tests.support.kafka import wait_async
from tests.support.signin import key_sign_in, sign_out

pytestmark = pytest.mark.kafka
OD = "od-odnzkg"


async def sign_in(service: NotifierUnderTest, recipient_id: str) -> str:
    key = await register_authority(service.notifier.runtime.sessions, recipient_id, recipient_id)
    return await key_sign_in(service.client, key)


async def test_the_leg_page_shows_what_was_delivered(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    await sign_in(service, "gm0453")

    page = await service.client.get(f"/inbox/legs/{leg_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Wat er gemeld is" in text
    assert "Sterke zwavellucht sinds half elf.<br>Ramen dicht, kinderen binnen." in text
    assert "23-11-2026 10:35" in text, "observed at 10:35+01:00, shown in Amsterdam time"
    assert "23-11-2026 13:00" in text, "received at 12:00 UTC, shown as 13:00 in Amsterdam"
    assert "4 van 5" in text
    assert "<dt>Wat precies</dt><dd>zwavel</dd>" in text, "the subtype's word, not its code"
    assert "Hoofdpijn, Geïrriteerde ogen: prikkende neus" in text
    shown = " ".join(re.findall(r"<dd>(.*?)</dd>", text, re.DOTALL))
    for code in ("odour", "headache", "irritated_eyes", "sulphur", "web", "competent_authority"):
        assert not re.search(rf"\b{code}\b", shown), f"the code {code} is shown, not its word"
    assert "Velsen (GM0453)" in text
    assert "52.4806, 4.6064" in text
    assert "Tata Steel IJmuiden: 2,1 km, de melder zat benedenwinds" in text
    assert "uit 200°, 4,5 m/s" in text
    assert "gm0453 is bevoegd." in text
    assert "2, niet meegeleverd" in text
    assert "contactgegevens op verzoek worden gedeeld" in text
    assert "(website)" in text

    await sign_out(service.client)
    await sign_in(service, "gm0344")
    hidden = await service.client.get(f"/inbox/legs/{leg_id}")
    assert hidden.status_code == 404, "another authority's leg does not exist for it"
    assert DESCRIPTION.splitlines()[0] not in hidden.text


@pytest.mark.parametrize("language", catalogue.LANGUAGES)
def test_every_subtype_has_a_word(language: str) -> None:
    """Subtypes are codes (intake's ``SUBTYPES``); the leg page shows their words."""
    words = catalogue.messages(language, "Subtype")
    codes = {code for codes in SUBTYPES.values() for code in codes}
    assert sorted(codes - words.keys()) == []
    assert all(words[code] for code in codes)


async def deliver_as(
    service: NotifierUnderTest, producer: KafkaBroker, recipient_id: str, role: Role
) -> str:
    """A rich delivery to ``recipient_id`` in ``role``; the leg id once it is open."""
    event = rich_delivery(recipient_id)
    event = event.model_copy(update={"recipient": recipient(recipient_id, role)})
    spec = delivery_topic(recipient_id)
    await ensure_topics(service.settings.kafka_bootstrap_servers, [spec])
    await publish(producer, spec.name, event)
    leg_id = leg_id_for(event.report_id, recipient_id)

    async def opened() -> bool:
        async with service.notifier.runtime.sessions() as session:
            leg = await session.get(Leg, leg_id)
            return leg is not None and (role != Role.EXECUTING_BODY or bool(leg.incident_id))

    await wait_async(opened, timeout_s=60)
    return leg_id


async def incident_and_single(service: NotifierUnderTest, producer: KafkaBroker) -> str:
    """Two reports in one incident and one single leg at the omgevingsdienst, signed in as it;
    the single leg's id."""
    for _ in range(2):
        await deliver_as(service, producer, OD, Role.EXECUTING_BODY)
    single = await deliver_as(service, producer, OD, Role.COMPETENT_AUTHORITY)
    await sign_in(service, OD)
    return single


def rows_of(page: str) -> list[str]:
    """The text of each row of the inbox's table, tags removed."""
    body = page.split('<tbody class="utrecht-table__body">', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


async def copies(service: NotifierUnderTest, leg_id: str, count: int) -> None:
    """``count`` more single legs like ``leg_id`` (other reports), for the pages."""
    async with write_transaction(service.notifier.runtime.sessions) as session:
        leg = await session.get(Leg, leg_id)
        assert leg is not None
        assert leg.next_due_at is not None
        for n in range(count):
            fields = leg.model_dump()
            fields.update(id=str(uuid.uuid4()), report_id=str(uuid.uuid4()))
            fields["next_due_at"] = leg.next_due_at + timedelta(minutes=n + 1)
            session.add(Leg(**fields))


async def test_the_inbox_lists_incidents_then_legs_in_words(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    single = await incident_and_single(service, producer)

    page = await service.client.get("/inbox")
    assert page.status_code == 200, page.text
    rows = rows_of(page.text)
    assert len(rows) == 2, rows
    incident, leg = rows
    assert incident.startswith("Voorval met 2 meldingen: Tata Steel IJmuiden"), incident
    assert "Melding van 23-11-2026 10:35" in leg, "a single report: its reference and time"
    for row in rows:
        assert all(word in row for word in ("Velsen", "Geur: zwavel", "4 van 5")), row
        assert "nog " in row, "the time to the deadline"
    assert [incident.split()[-1], leg.split()[-1]] == ["open", "ontvangen"], rows
    shown = " ".join(rows)
    for code in ("odour", "sulphur", "GM0453", "delivered", "executing_body", "open_"):
        assert code not in shown, f"the code {code} is shown, not its word"

    assert rows_of((await service.client.get("/inbox?category=noise")).text) == [
        "Geen voorvallen of meldingen met deze filters."
    ]
    assert len(rows_of((await service.client.get("/inbox?category=odour")).text)) == 2
    overdue = await service.client.get("/inbox?overdue=1")
    assert rows_of(overdue.text) == ["Geen voorvallen of meldingen met deze filters."]
    assert (await service.client.get("/inbox?status=nonsense&page=x")).status_code == 200

    await copies(service, single, 60)  # 61 single legs: two pages of 50
    first = await service.client.get("/inbox")
    assert len(rows_of(first.text)) == 1 + 50, "the incident, then fifty legs"
    assert 'href="/inbox?page=2"' in first.text
    second = await service.client.get("/inbox?page=2&category=odour")
    assert len(rows_of(second.text)) == 11, "the other eleven, no incident again"
    assert 'href="/inbox?category=odour"' in second.text, "back to page 1 with the filter"
    assert "Bladzijde 2" in second.text


async def test_an_incident_is_read_and_answered_once_in_the_inbox(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    body = "od-odnzkg"
    legs = [await deliver_as(service, producer, body, Role.EXECUTING_BODY) for _ in range(2)]
    csrf = await sign_in(service, body)
    async with service.notifier.runtime.sessions() as session:
        leg = await session.get(Leg, legs[0])
        assert leg is not None
        incident_id = str(leg.incident_id)
    url = f"/inbox/incidents/{incident_id}"

    page = await service.client.get(url)
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Voorval met 2 meldingen" in text
    assert all(word in text for word in ("Tata Steel IJmuiden", "Velsen", "Geur: zwavel"))
    assert re.search(r'<dd id="reporters">1</dd>', text), "one resident, twice: one reporter"
    assert "uit 200°, 4,5 m/s" in text, "the wind of the last report"
    assert text.count(": hinder waargenomen") == 2, "the time line names each report"
    assert '"lat": 52.48, "lon": 4.605' in text, "the map's point: coarsened to 500 m"
    assert "52.4806" not in text, "never the exact point"

    short = {"csrf_token": csrf, "status": "resolved", "explanation": "Opgelost."}
    refused = await service.client.post(url, data=short)
    assert refused.status_code == 400
    assert "minstens 20 tekens" in html.unescape(refused.text)
    without = await service.client.post(url, data={"status": "acknowledged"})
    assert without.status_code == 403, "no CSRF token: refused"

    seen = await service.client.post(url, data={"csrf_token": csrf, "status": "acknowledged"})
    assert (seen.status_code, seen.headers["location"]) == (303, url), "post, redirect, get"
    shown = html.unescape((await service.client.get(url)).text)
    assert "Verwerkt: 2 meldingen bijgewerkt, 0 niet" in shown, "the flash message"
    again_shown = html.unescape((await service.client.get(url)).text)
    assert "Verwerkt:" not in again_shown, "a flash message is shown once"
    answer = "Het bedrijf heeft een lek gedicht; wij blijven toezicht houden."
    done = await service.client.post(
        url, data={"csrf_token": csrf, "status": "resolved", "explanation": answer}
    )
    assert done.status_code == 303, done.text
    assert "Verwerkt: 2 meldingen bijgewerkt, 0 niet" in html.unescape(
        (await service.client.get(url)).text
    )
    async with service.notifier.runtime.sessions() as session:
        for leg_id in legs:
            leg = await session.get(Leg, leg_id)
            assert leg is not None
            assert (leg.status, leg.explanation) == ("resolved", answer)
        history = await session.exec(select(LegHistory).where(LegHistory.leg_id == legs[0]))
        names = {h.actor_name for h in history.all() if h.to_status == "resolved"}
        assert len(names) == 1, names
        assert str(names.pop()).startswith("API-sleutel"), "the person who answered"

    async with write_transaction(service.notifier.runtime.sessions) as session:
        for row in (await session.exec(select(InboxSession))).all():
            row.role = "viewer"
            session.add(row)
    viewer_page = await service.client.get(url)
    assert viewer_page.status_code == 200
    assert 'id="answer-incident"' not in viewer_page.text, "a viewer has no answer form"
    again = {"csrf_token": csrf, "status": "acknowledged"}
    assert (await service.client.post(url, data=again)).status_code == 403, "a viewer: refused"

    await sign_out(service.client)
    await sign_in(service, "gm0344")
    assert (await service.client.get(url)).status_code == 404, "another body's incident"


async def test_the_leg_page_maps_the_coarsened_point_and_the_candidate_sources(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    await sign_in(service, "gm0453")
    text = html.unescape((await service.client.get(f"/inbox/legs/{leg_id}")).text)
    found = re.search(r"data-points='([^']+)'", text)
    assert found is not None, "the leg page has a map"
    report, source = json.loads(found.group(1))
    assert (report["lat"], report["lon"], report["radius_m"]) == (52.48, 4.605, 250)
    assert source["label"] == "Tata Steel IJmuiden"
    # 2.1 km from the report, the report lying at 20° from it: the works lie south-south-west
    assert 52.45 < source["lat"] < 52.47, source
    assert 4.58 < source["lon"] < 4.60, source
    candidates = text.split('id="candidates"', 1)[1].split("</table>", 1)[0]
    assert "Tata Steel IJmuiden" in candidates
    assert "2,1 km" in candidates
    assert "de melder zat benedenwinds" in candidates
    assert 'src="/vendor/leaflet/leaflet.js"' in text
    assert 'id="history"' in text


async def test_the_exports_hold_the_selection_without_personal_data(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    await incident_and_single(service, producer)
    async with service.notifier.runtime.sessions() as session:
        keys = {case.reporter_key for case in (await session.exec(select(CaseFile))).all()}
    assert keys, "the notifier keeps the pseudonymous reporter keys (never exported)"

    answer = await service.client.get("/inbox/export.csv?category=odour")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["soort_regel"] for r in records] == ["voorval", "melding"]
    incident, single = records
    assert (incident["meldingen"], incident["categorie"], incident["wat_precies"]) == (
        "2", "Geur", "zwavel"
    )  # fmt: skip
    assert (single["plaats"], single["status"], single["sterkte"]) == ("Velsen", "ontvangen", "4")
    assert (single["breedte"], single["lengte"]) == ("52.48", "4.605"), "coarsened to 500 m"
    assert single["waargenomen"] == "2026-11-23T10:35:00+01:00", "RFC 3339, Amsterdam offset"

    geo = await service.client.get("/inbox/export.geojson?category=odour")
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert [f["geometry"]["type"] for f in features] == ["MultiPoint", "Point"]
    assert features[1]["geometry"]["coordinates"] == [4.605, 52.48]
    assert features[1]["properties"]["kenmerk"] == single["kenmerk"]

    for exported in (answer.text, geo.text):
        for private in (*keys, *DESCRIPTION.splitlines(), "52.4806", "4.6064", "prikkende"):
            assert private not in exported, f"{private!r} is exported"
    none = await service.client.get("/inbox/export.csv?category=noise")
    assert none.text.splitlines() == [",".join(EXPORT_COLUMNS)], "an empty selection: the header"
