"""The authority inbox in headless Chromium, by keyboard: sign in with the API key, find the
leg, read what was reported, answer it, get a clear error for a too-short explanation, then
close it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from schemas.routing import Role
from tests.support.browser import (
    acknowledge_leg,
    active_id,
    chromium,
    policy_violations,
    press,
    resolve_leg,
    tab_to,
)
from tests.support.deliveries import publish_delivery
from tests.support.processes import add_authority, service_process
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka
EXPLAINED = "De vergunning is aangescherpt; de fabriek moet de filters vervangen."


def test_inbox_by_keyboard(kafka_bootstrap_servers: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": "inbox-test-secret-0123456789abcdef",
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite'}",
    }
    key = add_authority(env, "gm0453", "Gemeente Velsen")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with service_process("notifier", env, port, tmp_path / "notifier.log"), chromium() as driver:
        delivery = publish_delivery(
            kafka_bootstrap_servers, "gm0453", Role.COMPETENT_AUTHORITY, source="/test"
        )
        report_id = str(asyncio.run(delivery).report_id)
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
        shown = WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, "#leg-map.leaflet-container")
            )
        )  # Leaflet drew the map of the coarsened point and the candidate sources
        assert shown.is_displayed()
        assert driver.find_elements(By.CSS_SELECTOR, "#leg-map path.leaflet-interactive")

        acknowledge_leg(driver)
        resolve_leg(driver, "Opgelost.")
        errors = WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "errors"))
        )
        assert errors.text.strip(), "the refusal is explained"
        assert active_id(driver) == "errors", "the error takes focus"
        assert driver.find_element(By.ID, "explanation").get_attribute("value") == "Opgelost."

        resolve_leg(driver, Keys.END, " ", EXPLAINED)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "dl"), "afgehandeld")
        )
        assert EXPLAINED in driver.find_element(By.TAG_NAME, "ol").text
        assert not policy_violations(driver), "the pages satisfy their Content-Security-Policy"
