"""The whole system as its users meet it: intake, router and notifier as their own processes on
a real broker and PostgreSQL, a real SMTP server, and a resident and an authority in headless
Chromium.

A resident reports odour in Wijk aan Zee, downwind of the steelworks (a Seveso site) -> the
delivery reaches the Seveso-omgevingsdienst's own topic with the reason -> the OD acknowledges
and resolves in its inbox -> the tracking page shows it and the e-mail brings the explanation ->
the resident answers "not solved" -> the leg is reopened.
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from schemas._base import Event
from schemas.cloudevents import decode
from schemas.pattern import PatternDetected
from schemas.routing import ReportDelivered, Role
from schemas.topics import PATTERN_DETECTED, delivery_topic
from services.notifier.actions import leg_id_for
from tests.support.browser import (
    acknowledge_leg,
    chromium,
    press,
    resolve_leg,
    tab_to,
    type_observed_now,
)
from tests.support.kafka import Record, consume_until, headers_of, wait_until
from tests.support.processes import cli
from tests.support.smtp import SmtpServer
from tests.system.conftest import System

pytestmark = pytest.mark.kafka
EXPLAINED = "Wij hebben de sinterfabriek gecontroleerd; een lekkende afzuiging is gerepareerd."
DESCRIPTION = "Zwavellucht en roet op de vensterbank, sinds vanochtend."
E = TypeVar("E", bound=Event)


def has_mail(smtp: SmtpServer, subject: str) -> bool:
    return any(message["Subject"] == subject for message in smtp.inbox.messages)


def published_since(records: list[Record], started_ms: int, kind: type[E]) -> list[E]:
    """The events of ``kind`` among ``records`` written since ``started_ms``."""
    found = []
    for record in records:
        if record.timestamp >= started_ms:
            _, event = decode(headers_of(record), record.value or b"")
            if isinstance(event, kind):
                found.append(event)
    return found


def test_report_to_answer_to_reopened(system: System) -> None:
    urls, key, smtp, kafka_bootstrap_servers = (
        system.urls,
        system.key,
        system.smtp,
        system.bootstrap,
    )
    with ExitStack() as stack:
        driver = stack.enter_context(chromium())
        started_ms = int(time.time() * 1000)

        # 1. the resident reports through the web form
        driver.get(urls["intake"] + "/")
        tab_to(driver, "category-odour")
        press(driver, Keys.SPACE)
        tab_to(driver, "field-postcode")
        press(driver, "1949 AB")
        tab_to(driver, "field-house_number")
        press(driver, "10")
        type_observed_now(driver)
        tab_to(driver, "field-description")
        press(driver, DESCRIPTION)
        tab_to(driver, "field-email")
        press(driver, "buur@example.nl")
        tab_to(driver, "field-email_updates")
        press(driver, Keys.SPACE)
        tab_to(driver, "submit")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "tracking-link"))
        )
        tracking = driver.find_element(By.ID, "tracking-link").get_attribute("href") or ""

        # 2. the delivery on the Seveso-omgevingsdienst's own topic, with the reason
        def ours(records: list[Record]) -> list[ReportDelivered]:
            return [
                event
                for event in published_since(records, started_ms, ReportDelivered)
                if event.report.description == DESCRIPTION
            ]

        records = asyncio.run(
            consume_until(
                kafka_bootstrap_servers,
                delivery_topic("od-odnzkg").name,
                lambda rs: bool(ours(rs)),
                timeout_s=90,
            )
        )
        (delivery,) = ours(records)
        assert delivery.recipient.role is Role.EXECUTING_BODY
        assert "Tata Steel" in delivery.recipient.reason.nl
        assert "benedenwinds" in delivery.recipient.reason.nl

        # 3. the OD acknowledges and resolves in its inbox
        driver.get(urls["notifier"] + "/inbox/login")
        tab_to(driver, "api_key")
        press(driver, key, Keys.ENTER)
        # signed in only once the redirect to the inbox arrived; a refresh before that would
        # cancel the sign-in and reload the login form
        WebDriverWait(driver, 30).until(expected_conditions.url_to_be(urls["notifier"] + "/inbox"))
        short = str(delivery.report_id)[:8]

        def listed() -> bool:
            """The leg is listed on its own, or inside one of the incidents (voorvallen) the
            inbox lists first; the driver stays on the page that links it."""
            driver.get(urls["notifier"] + "/inbox")
            if driver.find_elements(By.LINK_TEXT, short):
                return True
            incidents = driver.find_elements(By.CSS_SELECTOR, "a[href^='/inbox/incidents/']")
            for href in [a.get_attribute("href") or "" for a in incidents]:
                driver.get(href)
                if driver.find_elements(By.LINK_TEXT, short):
                    return True
            return False

        wait_until(listed, timeout_s=60, interval_s=0.5)
        driver.find_element(By.LINK_TEXT, short).send_keys(Keys.ENTER)
        acknowledge_leg(driver)
        resolve_leg(driver, EXPLAINED)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "dl"), "afgehandeld")
        )

        # 4. the resident's tracking page shows it, and the e-mail brings the explanation
        def tracking_shows_it() -> bool:
            driver.get(tracking)
            return EXPLAINED in driver.page_source

        wait_until(tracking_shows_it, timeout_s=60, interval_s=0.5)
        wait_until(lambda: has_mail(smtp, "Antwoord op uw melding"), timeout_s=60, interval_s=0.5)
        closing = next(m for m in smtp.inbox.messages if m["Subject"] == "Antwoord op uw melding")
        text = closing.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert EXPLAINED in text
        assert closing["To"] == "buur@example.nl"
        no_link = re.search(r"Nee: (\S+)", text)
        assert no_link is not None

        # 5. "not solved": the leg reopens
        driver.get(no_link.group(1))
        assert "Is het probleem opgelost?" in driver.page_source
        driver.find_element(By.XPATH, "//button[@value='no']").send_keys(Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "main"), "heropend")
        )
        leg_id = leg_id_for(delivery.report_id, "od-odnzkg")
        leg = httpx.get(
            f"{urls['notifier']}/api/v1/legs/{leg_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert leg["status"] == "reopened"
        assert leg["deadline"] == "resolve", "the clock runs again"


def test_a_burst_of_neighbours_reaches_the_table_and_the_digest(system: System) -> None:
    """Ten neighbours report odour within minutes through the app API: the burst rule announces
    a pattern near the steelworks to the OD and the province, and the digest lists it."""
    started_ms = int(time.time() * 1000)
    for n in range(10):
        answer = httpx.post(
            system.urls["intake"] + "/api/v1/reports",
            json={
                "category": "odour",
                "postcode": "1949 AB",
                "house_number": "10",
                "description": "Scherpe lucht.",
                "device_id": f"neighbour-{n}",
                "observed_at": datetime.now(ZoneInfo("Europe/Amsterdam")).isoformat(),
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text

    def bursts(records: list[Record]) -> list[PatternDetected]:
        return [
            event
            for event in published_since(records, started_ms, PatternDetected)
            if "tata_steel_ijmuiden" in event.facility_ids
        ]

    records = asyncio.run(
        consume_until(
            system.bootstrap,
            PATTERN_DETECTED.name,
            lambda rs: any(set(p.recipients) >= {"od-odnzkg", "pv27"} for p in bursts(rs)),
            timeout_s=90,
        )
    )
    pattern = bursts(records)[-1]
    assert pattern.method.value == "burst"
    assert pattern.unique_reporters >= 10
    digest = cli("notifier", "digest", env=system.env, check=True)
    url = digest.stdout.strip().rsplit(" ", 1)[-1]
    page = httpx.get(url, timeout=10).text
    assert "piek" in page, "the pattern's method in Dutch"
    assert "tata_steel_ijmuiden" in page


def test_the_demo_plan_is_reproducible_and_has_its_episodes() -> None:
    from tests.router.test_reference import SHARED
    from tools.demo import plan

    first, second = plan(SHARED, seed=3), plan(SHARED, seed=3)
    assert first == second
    assert plan(SHARED, seed=4) != first
    episodes = {r.episode for r in first if r.episode}
    assert episodes == {"odour-chemours", "dust-steelworks", "noise-night"}
    chemours = [r for r in first if r.episode == "odour-chemours"]
    assert len({r.device_id for r in chemours}) >= 10, "enough unique neighbours for a burst"
    assert max(r.at_s for r in chemours) - min(r.at_s for r in chemours) < 3600
    hours = [int(r.at_s // 3600) % 24 for r in first if r.episode is None]
    assert sum(18 <= h <= 21 for h in hours) > sum(1 <= h <= 4 for h in hours), "daily rhythm"


def test_the_demo_episodes_lie_downwind_in_its_wind_series() -> None:
    """The odour and dust episodes are where the wind of their hour carries the facility's
    emissions, by the router's own downwind test (within 30 degrees)."""
    from services.router.wind import downwind
    from services.runtime.geo import bearing_deg
    from tests.router.test_reference import SHARED
    from tools.demo import plan, wind_series

    series = wind_series(3, 7)
    assert series == wind_series(3, 7)
    assert len({hour.from_deg for hour in series}) > 20, "the wind turns during the week"
    with (SHARED / "registry" / "facilities_nl.csv").open(newline="", encoding="utf-8") as f:
        where = {r["facility_id"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f)}
    sources = {
        "odour-chemours": where["chemours_dordrecht"],
        "dust-steelworks": where["tata_steel_ijmuiden"],
    }
    episodes = [r for r in plan(SHARED, seed=3) if r.episode in sources]
    assert len(episodes) == 18 + 14
    for report in episodes:
        wind_from = series[int(report.at_s // 3600)].from_deg
        bearing = bearing_deg(*sources[str(report.episode)], report.lat, report.lon)
        assert downwind(wind_from, bearing), (report, wind_from, bearing)


def test_the_demo_drives_the_running_stack(system: System, tmp_path: Path) -> None:
    """Twelve simulated hours, 3,600 times faster: reports accepted, authorities answering."""
    result = cli(
        "demo",
        "--days",
        "0.5",
        "--per-day",
        "480",
        "--scale",
        "3600",
        "--intake",
        system.urls["intake"],
        "--notifier",
        system.urls["notifier"],
        "--weather-dir",
        str(tmp_path),
        env=system.env,
        check=True,
        timeout_s=300,
    )
    counts = dict(item.split(": ") for item in result.stdout.strip().splitlines()[-1].split(", "))
    submitted, accepted = int(counts["submitted"]), int(counts["accepted"])
    assert submitted > 0
    assert accepted >= 0.9 * submitted, "a few points near the coast may fall outside NL"
    assert int(counts["acknowledged"]) + int(counts["ignored"]) > 0, result.stdout
    assert (tmp_path / "knmi_uurgeg_demo.txt").stat().st_size > 0, "the week's wind for the router"
