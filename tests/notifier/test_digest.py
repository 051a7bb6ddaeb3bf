"""The national table's digest: rendered in headless Chromium, with its sections, its charts,
no personal data and no small counts; archived and listed, and announced on Kafka."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from selenium.webdriver.common.by import By

from schemas.cloudevents import decode
from schemas.leg import Actor, ActorKind, LegStatus
from schemas.pattern import DigestPublished
from schemas.report import Category
from schemas.routing import Place, Role
from schemas.topics import DIGEST_PUBLISHED
from services.notifier import web
from services.notifier.actions import Legs
from services.notifier.models import Leg
from services.notifier.norms import Norms
from services.notifier.patterns.digest import compose
from services.notifier.worktime import AMSTERDAM, WorkingCalendar
from services.runtime.clock import FixedClock
from services.runtime.database import make_engine, session_factory
from services.runtime.migrations import upgrade
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_patterns_service import WIJK_AAN_ZEE, at, send_reports
from tests.support.browser import chromium
from tests.support.factories import NOW, delivered, recipient, report_received, reporter_key
from tests.support.kafka import consume_until, headers_of

DESCRIPTION = "Vieze lucht bij mijn huis aan de Zeestraat 12."


@pytest.mark.kafka
async def test_digest_page_json_and_event(
    notifier_service: NotifierUnderTest, producer: KafkaBroker, tmp_path: Path
) -> None:
    place = Place(municipality_code="GM0375", province_code="PV27")
    odour = [
        (
            report_received(
                reporter_key=reporter_key(f"d-{n}"),
                description=DESCRIPTION,
                observed_at=NOW - timedelta(minutes=55 - 5 * n),
                location=at(WIJK_AAN_ZEE[0] + n * 0.0002, WIJK_AAN_ZEE[1]),
            ),
            place,
        )
        for n in range(10)
    ]
    soil = [  # a category no other test delivers to these bodies: the topics are shared
        (
            report_received(
                reporter_key=reporter_key(f"n-{n}"),
                category=Category.SOIL,
                location=at(52.37, 4.89),
            ),
            Place(municipality_code="GM0363", province_code="PV27"),
        )
        for n in range(3)
    ]
    await send_reports(notifier_service, producer, odour + soil)
    digest_id = await notifier_service.notifier.publish_digest()

    document = (await notifier_service.client.get(f"/digests/{digest_id}.json")).json()
    # other tests' deliveries to the same bodies may arrive too (one broker): at least ours
    assert document["counts"]["by_category"]["odour"]["count"] >= 10
    assert document["counts"]["by_category"]["soil"] == {"count": None, "suppressed": True}
    assert any(p["method"] == "burst" for p in document["patterns"])
    assert any(f["facility_id"] != "tata_steel_ijmuiden" for f in document["blind_spots"])
    assert all(f["facility_id"] != "tata_steel_ijmuiden" for f in document["blind_spots"])
    listing = await notifier_service.client.get("/digests/")
    assert digest_id in listing.text
    assert '<html lang="nl"' in listing.text
    assert "Overzichten voor de landelijke tafel" in listing.text
    english = await notifier_service.client.get("/digests/?lang=en")
    assert '<html lang="en"' in english.text
    assert "Digests for the national table" in english.text
    assert "Overzichten" not in english.text
    assert 'href="/digests/?lang=nl"' in english.text, "the way back to Dutch"

    page = await notifier_service.client.get(f"/digests/{digest_id}")
    html = page.text
    assert not re.search(r"\b[0-9a-f]{64}\b", html), "no reporter keys"
    assert "Zeestraat" not in html, "no report texts"
    assert "@" not in html, "no addresses"
    assert "Bodem: &lt;5" in html, "three reports are shown as <5"
    assert document["place_names"]["GM0375"] == "Beverwijk"
    assert "Noord-Holland: " in html, "provinces by name"
    assert re.search(r"Gemeenten: [^<]*Beverwijk", html), "municipalities by name"
    assert "GM0375" not in html, "no codes shown"
    assert "PV27" not in html
    assert "data-points=" in html, "the period's patterns on an interactive map"
    file = tmp_path / "digest.html"
    file.write_text(html)
    with chromium() as driver:
        driver.get(file.as_uri())
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
        for section in (
            "Samenvatting",
            "Patronen",
            "Waar het stokt",
            "Aantallen",
            "Blinde vlekken",
            "Let op",
        ):
            assert section in headings, headings
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) >= 3, "map, time series and wind rose or weekly chart"
        for image in images:
            assert image.get_attribute("alt")
            assert driver.execute_script("return arguments[0].naturalWidth", image) > 0
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "Bodem: <5" in body
        assert not re.search(r"(?<![\d.])[1-4] (melders|meldingen)\b", body)

    records = await consume_until(
        notifier_service.settings.kafka_bootstrap_servers,
        DIGEST_PUBLISHED.name,
        lambda rs: any(digest_id.encode() == r.key for r in rs),
    )
    events = [
        decode(headers_of(r), r.value or b"")[1] for r in records if r.key == digest_id.encode()
    ]
    assert isinstance(events[0], DigestPublished)
    assert events[0].url.endswith(f"/digests/{digest_id}")
    assert Category.SOIL not in events[0].reports_by_category, "small counts stay out"


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=AMSTERDAM)


async def test_on_time_share_leaves_out_open_legs_not_yet_due(database_url: str) -> None:
    """Five legs answered in time and one left past its deadline: 5 of 6 on time. Three legs
    delivered an hour ago are not due yet: neither late nor on time, so not in the share.
    The same body's informed legs and an advisor's legs, never answered, are not judged at
    all: they owe no answer (issue 16)."""
    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    clock = FixedClock(local(16, 9))  # a Monday morning
    calendar = WorkingCalendar()
    legs = Legs(calendar, Norms(), clock)
    sessions = session_factory(engine)
    body = recipient("gm0453")
    authority = Actor(kind=ActorKind.AUTHORITY, actor_id=body.recipient_id)
    try:
        async with sessions() as session, session.begin():
            early = [
                await legs.open_leg(session, delivered(report_received(), body)) for _ in range(6)
            ]
            for role, party in ((Role.INFORMED, "gm0453"), (Role.ADVISOR, "ggd-kennemerland")):
                for _ in range(6):
                    await legs.open_leg(
                        session, delivered(report_received(), recipient(party, role))
                    )
        clock.set(local(16, 10))
        async with sessions() as session, session.begin():
            for opened in early[:5]:
                leg = await session.get(Leg, opened.id)
                assert leg is not None
                await legs.change_status(session, leg, LegStatus.ACKNOWLEDGED, authority)
        clock.set(local(17, 12))  # Tuesday noon: the sixth leg is past its day to acknowledge
        async with sessions() as session, session.begin():
            assert await legs.tick(session) == 1
            for _ in range(3):
                await legs.open_leg(session, delivered(report_received(), body))
        now = local(17, 13)
        async with sessions() as session:
            document, _ = await compose(
                session, calendar=calendar, start=now - timedelta(days=7), end=now, now=now,
                facilities=[],
            )  # fmt: skip
    finally:
        await engine.dispose()
    (row,) = document["stalls"]
    assert row["recipient_id"] == "gm0453", "no advisor in the table"
    assert row["legs"]["count"] == 9, "the informed legs are not counted"
    assert row["answered_on_time_share"] == 0.83, "5 of the 6 legs that were due"
    assert row["answered_on_time"] == {"count": 5, "suppressed": False}
    assert row["open_overdue"] == {"count": None, "suppressed": True}, "one leg: <5"
    assert row["rungs"]["reminders"] == {"count": None, "suppressed": True}
    assert row["rungs"]["administrative_lead"] == {"count": 0, "suppressed": False}
    assert "longest_waiting" not in document, "never a single leg"
    assert "binnen die termijn tellen nog niet mee" in document["caveat"]["nl"]
    assert "within that deadline do not count yet" in document["caveat"]["en"]
    document.update(digest_id="d", place_names={})
    for language, heading in (("nl", "Waar het stokt"), ("en", "Where things stall")):
        html = _render(document, language)
        assert heading in html
        assert "digest.page." not in html, "every text is in the catalogue"
        assert "Instantie" in html if language == "nl" else "Body" in html
        assert '<th class="utrecht-table__header-cell" scope="row">Instantie gm0453<' in html
        assert "ggd-kennemerland" not in html, "no advisor is judged"
        assert "83 %" in html


def _render(document: dict[str, Any], language: str) -> str:
    """The digest page in one language, as publication renders it."""
    return web.render_digest(document, {}, language)
