"""Every page, in both languages, checked by axe-core in headless Chromium through the whole
stack: no violation of impact serious or critical of the WCAG 2.1 A/AA rules.

The resident's pages, each in Dutch and English (``tools/screenshots.py`` lists them): the form
(empty, joined to a report nearby by "Ik merk dit ook", sent back with errors, and with a pin
and the reports nearby before sending), the confirmation, the tracking page, "is it solved?" and
its answer, and the error pages (an unknown tracking or feedback link, an address with no page).
Then the digest list and a digest, the inbox's sign-in, and, signed in, the meldkamer's pages:
the inbox list (also filtered and with no rows), an incident and a leg; at the end, every inbox
page (with arrange, keys and the digests) in both languages, and the incident screen by keyboard.
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

from tests.support.browser import (
    accessibility_violations,
    choose_answer,
    chromium,
    policy_violations,
    press,
    tab_to,
)
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


# -- the meldkamer: by keyboard alone, and axe on every inbox page in both languages ----------


def signed_in_with_an_incident(driver: WebDriver, system: System) -> str:
    """A burst of odour reports routed to the omgevingsdienst, its key typed into the sign-in
    form; the address of the incident they formed."""
    accepted = [screenshots.file_report(system.urls["intake"], n) for n in range(screenshots.BURST)]
    screenshots.routed(accepted[-1])
    links = inbox_pages(driver, system.urls["notifier"], system.key)
    return links[2][1]


def promote_sessions(system: System, role: str) -> None:
    """Give the signed-in sessions ``role`` (the key sign-in makes a handler; the arrange and
    keys pages are for coordinators and administrators, who sign in through Keycloak)."""
    import psycopg

    url = system.env["BUURSIGNAAL_NOTIFIER_DATABASE_URL"].replace(
        "postgresql+psycopg", "postgresql"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE inbox_session SET role = %s", (role,))


@pytest.mark.timeout(600)
def test_the_incident_screen_by_keyboard_alone(system: System) -> None:
    """Tab to the incident's answers, choose one with the arrow keys and Space, type the
    explanation, Tab to "send" and press Enter: the flash message and every report answered."""
    with chromium() as driver:
        incident = signed_in_with_an_incident(driver, system)
        driver.get(incident)
        driver.find_element(By.TAG_NAME, "body").click()  # focus at the top of the page
        choose_answer(driver, "in_progress")
        assert driver.find_element(By.ID, "answer-in_progress").is_selected(), "Space chose it"
        tab_to(driver, "explanation")
        press(driver, "We zijn ter plaatse en meten de geur bij de woningen.")
        tab_to(driver, "answer-incident")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "main"), "Verwerkt:")
        )
        assert driver.current_url == incident, "post, redirect, get: back on the incident"
        main = driver.find_element(By.TAG_NAME, "main").text
        assert "0 niet" in main, main
        legs = driver.find_element(By.ID, "legs").text
        assert "in behandeling" in legs, legs
        assert "ontvangen" not in legs, "every report of the incident was answered"
        assert not policy_violations(driver)


@pytest.mark.timeout(900)
def test_every_inbox_page_in_both_languages_passes_axe(system: System) -> None:
    """The inbox list (plain and filtered), a leg, an incident, its arrange page, the keys page
    and the digests, each in Dutch and English, signed in as an administrator."""
    notifier = system.urls["notifier"]
    failures: dict[str, list[dict[str, Any]]] = {}
    with chromium() as driver:
        incident = signed_in_with_an_incident(driver, system)
        driver.get(incident)
        leg = str(
            driver.find_element(By.CSS_SELECTOR, "#legs a[href^='/inbox/legs/']").get_attribute(
                "href"
            )
        )
        promote_sessions(system, "administrator")
        pages = {
            "inbox": f"{notifier}/inbox",
            "inbox-filtered": f"{notifier}/inbox?category=odour&q=geur&since=2020-01-01",
            "inbox-empty": f"{notifier}/inbox?category=noise&overdue=1",
            "leg": leg,
            "incident": incident,
            "arrange": f"{incident}/arrange",
            "keys": f"{notifier}/inbox/keys",
            "digests": f"{notifier}/digests/",
        }
        for lang in ("nl", "en"):
            for name, url in pages.items():
                driver.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
                screenshots.settled(driver)
                if url.startswith(f"{notifier}/inbox"):
                    shown = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
                    assert shown == lang, f"{name} in {lang}"
                    assert "/inbox/login" not in driver.current_url, f"{name}: signed in"
                if violations := accessibility_violations(driver):
                    failures[f"{name}-{lang}"] = violations
        assert not policy_violations(driver), "the pages satisfy their Content-Security-Policy"
    assert not failures, failures
