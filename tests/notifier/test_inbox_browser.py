"""The authority inbox in headless Chromium, by keyboard: sign in with the API key, find the
leg, read what was reported, answer it, get a clear error for a too-short explanation, then
close it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from schemas.cloudevents import headers_for
from schemas.routing import Role
from schemas.topics import delivery_topic
from services.runtime.broker import ensure_topics, make_broker
from tests.support.browser import active_id, chromium, press, tab_to
from tests.support.factories import delivered, recipient, report_received
from tests.support.processes import service_process
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka
EXPLAINED = "De vergunning is aangescherpt; de fabriek moet de filters vervangen."


async def publish_delivery(bootstrap: str) -> str:
    report = report_received()
    event = delivered(report, recipient("gm0453", Role.COMPETENT_AUTHORITY))
    spec = delivery_topic("gm0453")
    await ensure_topics(bootstrap, [spec])
    broker = make_broker(bootstrap, client_id="inbox-test")
    await broker.start()
    try:
        await broker.publish(
            event.model_dump_json().encode(),
            spec.name,
            key=str(report.report_id).encode(),
            headers=headers_for(event, source="/test"),
        )
    finally:
        await broker.stop()
    return str(report.report_id)


def test_inbox_by_keyboard(kafka_bootstrap_servers: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": "inbox-test-secret-0123456789abcdef",
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite'}",
    }
    registered = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.cli",
            "notifier",
            "add-authority",
            "gm0453",
            "--name",
            "Gemeente Velsen",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = registered.stdout.strip().rsplit(" ", 1)[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with service_process("notifier", env, port, tmp_path / "notifier.log"), chromium() as driver:
        report_id = asyncio.run(publish_delivery(kafka_bootstrap_servers))
        driver.get(base + "/inbox")
        assert driver.current_url.endswith("/inbox/login"), "signing in comes first"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        tab_to(driver, "api_key")
        press(driver, "wrong-key", Keys.ENTER)
        errors = WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "errors"))
        )
        assert "onbekend" in errors.text
        tab_to(driver, "api_key")
        press(driver, key, Keys.ENTER)
        for _ in range(100):  # the delivery reaches the notifier through Kafka
            links = driver.find_elements(By.LINK_TEXT, report_id[:8])
            if links:
                break
            driver.refresh()
            driver.implicitly_wait(0.2)
        assert links, "the delivered report is in the inbox"
        links[0].send_keys(Keys.ENTER)
        assert "Melding" in driver.find_element(By.TAG_NAME, "h1").text
        reported = driver.find_element(By.ID, "report").text
        assert "Sterke zwavellucht, ramen dicht." in reported, "what the delivery carried"
        assert "gm0453 is bevoegd." in reported

        tab_to(driver, "status-acknowledged")  # the first of the radio group
        press(driver, Keys.SPACE)
        tab_to(driver, "save")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "dl"), "in behandeling genomen"
            )
        )

        # now: forwarded, in_progress, no_action, not_ours, resolved, waiting_for_resident
        tab_to(driver, "status-forwarded")
        press(driver, *[Keys.ARROW_DOWN] * 4)
        assert active_id(driver) == "status-resolved"
        tab_to(driver, "explanation")
        press(driver, "Opgelost.")
        tab_to(driver, "save")
        press(driver, Keys.ENTER)
        errors = WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "errors"))
        )
        assert "explanation" in errors.text
        assert active_id(driver) == "errors", "the error takes focus"
        assert driver.find_element(By.ID, "explanation").get_attribute("value") == "Opgelost."

        tab_to(driver, "status-forwarded")
        press(driver, *[Keys.ARROW_DOWN] * 4)
        tab_to(driver, "explanation")
        press(driver, Keys.END, " ", EXPLAINED)
        tab_to(driver, "save")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "dl"), "afgehandeld")
        )
        assert EXPLAINED in driver.find_element(By.TAG_NAME, "ol").text
