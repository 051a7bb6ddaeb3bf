"""The resident web form in headless Chromium, used by keyboard only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.intake.test_relay_crash import intake_env, intake_process
from tests.support.browser import (
    active_id,
    chromium,
    policy_violations,
    press,
    replace_text,
    tab_to,
    type_observed_now,
)
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka


def type_into(driver: object, element_id: str, text: str) -> None:
    tab_to(driver, element_id)  # type: ignore[arg-type]
    press(driver, text)  # type: ignore[arg-type]


def test_keyboard_only_report_with_error_summary(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    port = free_port()
    env = intake_env(
        kafka_bootstrap_servers,
        f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite'}",
        pdok_locatieserver_url="http://127.0.0.1:9/unreachable",
    )
    base = f"http://127.0.0.1:{port}"
    with intake_process(env, port, tmp_path / "intake.log"), chromium() as driver:
        driver.get(base + "/")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
        press(driver, Keys.TAB)
        assert driver.switch_to.active_element.text == "Naar het formulier"
        outline = driver.execute_script(
            "return getComputedStyle(document.activeElement).outlineStyle"
        )
        assert outline != "none", "focus must be visible"

        # A bad submission: no kind of nuisance, a time in the future, but a description.
        type_into(driver, "field-postcode", "1949 AB")
        type_into(driver, "field-house_number", "10")
        future = datetime.now(ZoneInfo("Europe/Amsterdam")).replace(year=2031)
        tab_to(driver, "field-observed_date")
        replace_text(driver, future.strftime("%d-%m-%Y"))
        type_into(driver, "field-description", "Roetdeeltjes op de vensterbank.")
        tab_to(driver, "submit")
        press(driver, Keys.ENTER)

        summary = WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "error-summary"))
        )
        assert active_id(driver) == "error-summary", "the error summary takes focus"
        links = summary.find_elements(By.TAG_NAME, "a")
        texts = [link.text for link in links]
        assert any(t.startswith("Soort overlast") for t in texts), texts
        assert any("toekomst" in t for t in texts), texts
        assert driver.find_element(By.ID, "field-description").get_attribute("value") == (
            "Roetdeeltjes op de vensterbank."
        ), "what was typed is kept"
        observed = driver.find_element(By.ID, "field-observed_date")
        assert observed.get_attribute("aria-invalid") == "true"
        assert "error-observed_at" in (observed.get_attribute("aria-describedby") or "")
        first = (
            tab_to(driver, links[0].get_attribute("id") or "")
            if links[0].get_attribute("id")
            else None
        )
        assert first is None  # links have no ids; follow the first with Enter instead
        driver.switch_to.active_element.send_keys(Keys.TAB)
        assert (
            driver.switch_to.active_element.get_attribute(
                "href",
            )
            is not None
        )
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        assert driver.current_url.endswith("#category-odour")

        # Fix it by keyboard: choose "Lucht" with the arrow keys, a time now.
        tab_to(driver, "category-odour")
        press(driver, Keys.SPACE)
        for _ in range(5):
            press(driver, Keys.ARROW_DOWN)
        assert active_id(driver) == "category-air"
        type_observed_now(driver)
        tab_to(driver, "submit")
        press(driver, Keys.ENTER)

        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "h1"), "Uw melding is ontvangen"
            )
        )
        number = driver.find_element(By.ID, "report-number").text
        assert number.isdigit()
        assert "adres nu niet controleren" in driver.page_source, "PDOK down: kept unverified"
        tracking = driver.find_element(By.ID, "tracking-link").get_attribute("href") or ""
        assert "/track/" in tracking
        page = httpx.get(tracking, timeout=5)
        assert page.status_code == 200
        assert f"Uw melding {number}" in page.text
        assert not policy_violations(driver), "the pages satisfy their Content-Security-Policy"
