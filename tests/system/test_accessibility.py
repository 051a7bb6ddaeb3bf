"""Every page, in both languages, checked by axe-core in headless Chromium through the whole
stack: no violation of impact serious or critical of the WCAG 2.1 A/AA rules.

The resident's pages, each in Dutch and English (``tools/screenshots.py`` lists them): the form
(empty, joined to a report nearby by "Ik merk dit ook", sent back with errors, and with a pin
and the reports nearby before sending), the confirmation, the tracking page, "is it solved?" and
its answer, and the error pages (an unknown tracking or feedback link, an address with no page).
Then the digest list and a digest, the inbox's sign-in, and, signed in, the meldkamer's pages:
the inbox list (also filtered and with no rows), an incident and a leg (Dutch only: the inbox is
in Dutch).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.browser import accessibility_violations, chromium, policy_violations
from tests.system.conftest import System
from tools import screenshots

pytestmark = pytest.mark.kafka
# set to a folder (docs/screenshots) to have the run write the screenshots too
SCREENSHOTS = os.environ.get("BUURSIGNAAL_SCREENSHOTS_DIR")


def resident_states(
    driver: WebDriver, found: list[tuple[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """The resident's pages reached by doing something (sending, placing a pin, answering), in
    both languages: each one's violations."""
    english = {what.removesuffix("-en") for what, _ in found if what.endswith("-en")}
    assert {f"{page}-nl" for page in english} <= dict(found).keys(), "each in both languages"
    assert {"form", "form-linked", "confirmation", "tracking", "feedback"} <= english
    failures = {}
    for what, url, action in screenshots.states(found):
        driver.get(url)
        action(driver)
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == what[-2:]
        if violations := accessibility_violations(driver):
            failures[what] = violations
    return failures


def inbox_pages(driver: WebDriver, notifier: str, key: str) -> list[tuple[str, str]]:
    """Sign in with the organisation's key; the inbox, its first incident and one of its legs."""
    driver.get(f"{notifier}/inbox/login")
    driver.find_element(By.ID, "api_key").send_keys(key, Keys.ENTER)
    WebDriverWait(driver, 30).until(expected_conditions.url_to_be(f"{notifier}/inbox"))
    links: list[Any] = []
    for _ in range(100):  # the burst's deliveries reach the notifier through Kafka
        links = driver.find_elements(By.CSS_SELECTOR, "a[href^='/inbox/incidents/']")
        if links:
            break
        driver.refresh()
        driver.implicitly_wait(0.2)
    assert links, "the burst formed an incident in the inbox"
    incident = str(links[0].get_attribute("href"))
    driver.get(incident)
    leg = str(
        driver.find_element(By.CSS_SELECTOR, "#legs a[href^='/inbox/legs/']").get_attribute("href")
    )
    return [
        ("inbox-nl", f"{notifier}/inbox"),
        ("inbox-filtered-nl", f"{notifier}/inbox?category=noise&overdue=1"),
        ("incident-nl", incident),
        ("leg-nl", leg),
    ]


@pytest.mark.timeout(900)  # some 30 pages, each run through axe (and photographed when asked)
def test_every_page_in_both_languages_passes_axe(system: System) -> None:
    failures: dict[str, list[dict[str, Any]]] = {}
    urls, secret = system.urls, system.env["BUURSIGNAAL_SECRET_KEY"]
    found = screenshots.pages(urls["intake"], urls["notifier"], secret, system.env)
    with chromium() as driver:
        for what, url in found:
            driver.get(url)
            screenshots.settled(driver)  # and its map drawn
            if violations := accessibility_violations(driver):
                failures[what] = violations
        inbox = inbox_pages(driver, urls["notifier"], system.key)
        for what, url in inbox:
            driver.get(url)
            screenshots.settled(driver)
            if violations := accessibility_violations(driver):
                failures[what] = violations
        failures |= resident_states(driver, found)
        assert not policy_violations(driver), "the pages satisfy their Content-Security-Policy"
        if SCREENSHOTS:
            screenshots.take_all(
                driver, [*found, *inbox], Path(SCREENSHOTS), screenshots.states(found)
            )
    assert not failures, failures
