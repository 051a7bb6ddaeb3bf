"""The resident web form in headless Chromium: by keyboard only (and one pin by mouse)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
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


@contextmanager
def form_in_browser(
    kafka_bootstrap_servers: str, tmp_path: Path, tiles: str = ""
) -> Iterator[tuple[str, WebDriver]]:
    """An intake process on SQLite whose PDOK cannot be reached, and Chromium to use it."""
    port = free_port()
    env = intake_env(
        kafka_bootstrap_servers,
        f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite'}",
        pdok_locatieserver_url="http://127.0.0.1:9/unreachable",
    )
    env["BUURSIGNAAL_MAP_TILES_URL"] = tiles
    with intake_process(env, port, tmp_path / "intake.log"), chromium() as driver:
        yield f"http://127.0.0.1:{port}", driver


def test_keyboard_only_report_with_error_summary(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    with form_in_browser(kafka_bootstrap_servers, tmp_path) as (base, driver):
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


# the middle of the form's map when it opens (map.js: the Netherlands at zoom 7)
MAP_CENTRE = (52.2, 5.3)


def seeded_report(base: str) -> tuple[str, int]:
    """An open odour report 55 m from the map's middle, as an app sends it: (id, number)."""
    sent = httpx.post(
        base + "/api/v1/reports",
        json={
            "category": "odour",
            "lat": MAP_CENTRE[0] + 0.0005,
            "lon": MAP_CENTRE[1],
            "observed_at": datetime.now(ZoneInfo("Europe/Amsterdam")).isoformat(),
            "device_id": "seeding-device",
        },
        timeout=10,
    )
    assert sent.status_code == 202, sent.text
    return str(sent.json()["report_id"]), int(sent.json()["number"])


def joined(base: str, report_id: str) -> int:
    """How many reports joined ``report_id`` ("I notice this too"), as the app API says."""
    found = httpx.get(
        base + "/api/v1/reports/nearby",
        params={"category": "odour", "lat": MAP_CENTRE[0], "lon": MAP_CENTRE[1]},
        timeout=5,
    ).json()
    return int(next(item["also_noticed"] for item in found if item["report_id"] == report_id))


def pin(driver: WebDriver) -> tuple[float, float]:
    lat = driver.find_element(By.ID, "field-lat").get_attribute("value") or "nan"
    lon = driver.find_element(By.ID, "field-lon").get_attribute("value") or "nan"
    return float(lat), float(lon)


def map_zoom(driver: WebDriver) -> float:
    script = "return document.getElementById('pick-map').buursignaalMap.getZoom()"
    return float(driver.execute_script(script))


def zoomed_to(zoom: int) -> Callable[[WebDriver], bool]:
    return lambda driver: map_zoom(driver) == zoom


def pan_by_key(driver: WebDriver, key: str) -> None:
    """An arrow key to the focused map, and wait until it has moved (Leaflet pans with an
    animation, and ignores keys while one runs)."""
    driver.execute_script(
        "const map = document.getElementById('pick-map').buursignaalMap;"
        "window.bsMoved = false; map.once('moveend', () => { window.bsMoved = true; });"
    )
    press(driver, key)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.bsMoved"))


def join_nearby_and_send(driver: WebDriver, number: int) -> None:
    """The open report nearby shows before sending; "Ik merk dit ook" joins it; send."""
    button = f"notice-too-{number}"
    WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.ID, button))
    )
    assert "Al gemeld in de buurt" in driver.find_element(By.ID, "nearby-live").text
    tab_to(driver, button)
    press(driver, Keys.ENTER)
    assert driver.find_element(By.ID, button).get_attribute("aria-pressed") == "true"
    assert f"gekoppeld aan melding {number}" in driver.find_element(By.ID, "link-status").text
    tab_to(driver, "submit")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 30).until(
        expected_conditions.text_to_be_present_in_element(
            (By.TAG_NAME, "h1"), "Uw melding is ontvangen"
        )
    )


def test_pin_by_keyboard_and_by_click_with_nearby_reports_before_sending(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    # background tiles that cannot be reached: the map draws the municipal boundaries instead
    unreachable = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    with form_in_browser(kafka_bootstrap_servers, tmp_path, unreachable) as (base, driver):
        original, number = seeded_report(base)

        # 1. keyboard only: the kind of nuisance; on the map an arrow key moves it east and
        # Enter puts the pin in its middle; back west, and the pin lands near the report
        driver.get(base + "/")
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, "#pick-map.bs-map--boundaries path")
            )
        )
        tab_to(driver, "category-odour")
        press(driver, Keys.SPACE)
        tab_to(driver, "pick-map")
        pan_by_key(driver, Keys.ARROW_RIGHT)
        press(driver, Keys.ENTER)
        assert pin(driver)[1] > MAP_CENTRE[1] + 0.1, "the map moved east, and the pin with it"
        pan_by_key(driver, Keys.ARROW_LEFT)
        press(driver, Keys.ENTER)
        assert abs(pin(driver)[1] - MAP_CENTRE[1]) < 0.001
        placed = driver.find_element(By.ID, "location-status").text
        assert "Speld geplaatst op 52,2" in placed, "degrees with a decimal comma in Dutch"
        join_nearby_and_send(driver, number)
        assert joined(base, original) == 1

        # 2. by mouse: a click in the map's middle puts the pin there
        driver.get(base + "/")
        driver.find_element(By.CSS_SELECTOR, "label[for=category-odour]").click()
        assert driver.find_element(By.ID, "field-lat").get_attribute("value") == ""
        ActionChains(driver).move_to_element(
            driver.find_element(By.ID, "pick-map")
        ).click().perform()
        # at the zoom the map opens with a pixel is some 750 m: the pin is the click's spot
        WebDriverWait(driver, 10).until(
            lambda d: (
                abs(pin(d)[0] - MAP_CENTRE[0]) < 0.02 and abs(pin(d)[1] - MAP_CENTRE[1]) < 0.02
            )
        )
        # the report nearby shows for the clicked pin too; sent without joining it
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, f"notice-too-{number}"))
        )
        tab_to(driver, "submit")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "h1"), "Uw melding is ontvangen"
            )
        )
        assert joined(base, original) == 1, "not joined: nothing pressed"

        # 3. the confirmation lists the report nearby; its "Ik merk dit ook" link (no script
        # needed) opens a form joined to it, by keyboard
        link = driver.find_element(By.CSS_SELECTOR, f"a[href$='linked={original}']")
        assert link.text.startswith("Ik merk dit ook")
        driver.execute_script("arguments[0].id = 'notice-too-link'", link)
        tab_to(driver, "notice-too-link")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element(
                (By.ID, "link-status"), f"gekoppeld aan melding {number}"
            )
        )
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, "#pick-map.bs-map--boundaries path")
            )
        )
        tab_to(driver, "pick-map")
        press(driver, Keys.ENTER)  # the pin in the map's middle, by the report
        type_observed_now(driver)
        tab_to(driver, "submit")
        press(driver, Keys.ENTER)
        WebDriverWait(driver, 30).until(
            expected_conditions.text_to_be_present_in_element(
                (By.TAG_NAME, "h1"), "Uw melding is ontvangen"
            )
        )
        assert joined(base, original) == 2
        assert not policy_violations(driver), "the map satisfies the Content-Security-Policy"
