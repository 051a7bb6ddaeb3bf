"""Screenshots of every page at 1280 and 375 px wide into ``docs/screenshots/`` (issue 19), so
a reader of the docs sees what residents and authorities see.

``buursignaal screenshots`` against a running stack (``make up``): it files a burst of reports
at Wijk aan Zee through the app API (one in English), waits until they are routed, publishes a
digest with the notifier's command line and takes each page in headless Chromium (Debian's
package, through Selenium). The resident's pages come in both languages (``<page>-nl``,
``<page>-en``): the form, the form joined to a report nearby ("Ik merk dit ook"), the form sent
back with errors, the form with a pin and the reports nearby before sending, the confirmation,
the tracking page, "is it solved?" and its answer, and the error pages (a tracking link or
feedback link we do not know, an address with no page). ``tests/system/test_accessibility.py``
runs axe-core on the same pages and states (see docs/pages.md).
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from services.notifier.actions import leg_id_for
from services.notifier.mail import feedback_token
from services.runtime.clock import SystemClock
from services.runtime.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

OUT = PROJECT_ROOT / "docs" / "screenshots"
WIDTHS = (1280, 375)
WIJK_AAN_ZEE = {"lat": 52.49325, "lon": 4.59954}
LANGUAGES = ("nl", "en")
ROUTED_TO = "od-odnzkg"  # the omgevingsdienst that Wijk aan Zee's odour goes to


BURST = 10  # neighbours reporting odour within the hour: the digest has a pattern to show


def file_report(intake: str, n: int = 0, language: str = "nl") -> dict[str, str]:
    """A report through the app API at Wijk aan Zee (``n`` neighbours north)."""
    sent = httpx.post(
        intake + "/api/v1/reports",
        json={
            "category": "odour",
            "subtype": "sulphur",
            "lat": WIJK_AAN_ZEE["lat"] + n * 0.0002,
            "lon": WIJK_AAN_ZEE["lon"],
            "observed_at": datetime.now(ZoneInfo("Europe/Amsterdam")).isoformat(),
            "intensity": 4,
            "description": "Zwavellucht.",
            "language": language,
            "device_id": f"screenshots-{time.time_ns()}",
        },
        timeout=10,
    )
    sent.raise_for_status()
    accepted: dict[str, str] = sent.json()
    return accepted


def routed(accepted: dict[str, str], timeout_s: float = 90) -> None:
    """Once the report's tracking page shows its recipients."""
    deadline = time.monotonic() + timeout_s
    while 'class="recipient' not in httpx.get(accepted["tracking_url"], timeout=5).text:
        if time.monotonic() > deadline:
            raise TimeoutError("the report was not routed: is the router running?")
        time.sleep(0.5)


def publish_digest(env: dict[str, str] | None, tries: int = 10) -> str:
    """The URL of a digest published now (``buursignaal notifier digest``), once it shows the
    burst of :func:`pages` (the notifier finds it as the deliveries arrive)."""
    for _ in range(tries):
        done = subprocess.run(
            [sys.executable, "-m", "tools.cli", "notifier", "digest"],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )  # fmt: skip
        url = done.stdout.split()[-1]
        if httpx.get(url + ".json", timeout=10).json()["patterns"]:
            break
        time.sleep(2)
    return url


def pages(
    intake: str, notifier: str, secret: str, env: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """(name, url) of every page; the resident's pages in both languages."""
    accepted, *_ = [file_report(intake, n) for n in range(BURST)]
    english = file_report(intake, BURST, language="en")
    routed(accepted)
    routed(english)
    token = accepted["tracking_token"]
    feedback = {}
    for lang, report in (("nl", accepted), ("en", english)):
        leg = leg_id_for(report["report_id"], ROUTED_TO)
        signed = feedback_token(secret, SystemClock(), leg, 1)
        feedback[lang] = f"{notifier}/feedback/{leg}/1/{signed}?answer=no"
    resident = [
        (f"{name}-{lang}", f"{url}{'&' if '?' in url else '?'}lang={lang}")
        for lang in LANGUAGES
        for name, url in (
            ("form", f"{intake}/"),
            ("form-linked", f"{intake}/?linked={accepted['report_id']}"),
            ("confirmation", f"{intake}/received/{token}"),
            ("tracking", f"{intake}/track/{token}"),
            ("not-found", f"{intake}/track/no-such-token"),
            ("page-not-found", f"{intake}/no-such-page"),
            ("feedback-unknown", f"{notifier}/feedback/no-such-leg/1/no-such-token"),
        )
    ]
    return [
        *resident,
        *[(f"feedback-{lang}", url) for lang, url in feedback.items()],
        ("digests-nl", f"{notifier}/digests/"),
        ("digest-nl", publish_digest(env)),
        ("inbox-sign-in-nl", f"{notifier}/inbox/login"),
    ]


State = tuple[str, str, "Callable[[WebDriver], None]"]


def states(found: list[tuple[str, str]]) -> list[State]:
    """Pages a resident reaches by doing something on one of ``found``: (name, url, what to do
    there), in both languages."""
    urls = dict(found)
    return [
        state
        for lang in LANGUAGES
        for state in (
            (f"form-errors-{lang}", urls[f"form-{lang}"], sent_empty),
            (f"form-nearby-{lang}", urls[f"form-{lang}"], pinned_by_the_burst),
            (f"feedback-done-{lang}", urls[f"feedback-{lang}"], answered_not_solved),
        )
    ]


def _wait(driver: WebDriver, css: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _press(driver: WebDriver, element: object) -> None:
    """A click on an element wherever it is on the (long, narrow) page."""
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element
    )


def sent_empty(driver: WebDriver) -> None:
    """The form sent as it opens: it comes back with its error summary."""
    from selenium.webdriver.common.by import By

    _press(driver, driver.find_element(By.ID, "submit"))
    _wait(driver, "#error-summary")


def pinned_by_the_burst(driver: WebDriver) -> None:
    """Odour, a pin at Wijk aan Zee: the burst's reports show before sending; join the first."""
    from selenium.webdriver.common.by import By

    _wait(driver, "#pick-map.leaflet-container")
    _press(driver, driver.find_element(By.ID, "category-odour"))
    driver.execute_script(
        "document.getElementById('pick-map').buursignaalMap.fire('click', "
        "{latlng: L.latLng(arguments[0], arguments[1])})",
        WIJK_AAN_ZEE["lat"],
        WIJK_AAN_ZEE["lon"],
    )
    _wait(driver, "#nearby-live [data-link-report]")
    _press(driver, driver.find_element(By.CSS_SELECTOR, "#nearby-live [data-link-report]"))
    _wait(driver, "#nearby-live [aria-pressed=true]")


def answered_not_solved(driver: WebDriver) -> None:
    """ "Is it solved?" answered "no" (the leg is still open: the answer is not taken)."""
    from selenium.webdriver.common.by import By

    _press(driver, driver.find_element(By.CSS_SELECTOR, "button[value=no]"))
    _wait(driver, "#feedback-done")


def settled(driver: WebDriver) -> None:
    """The page loaded, and its maps drew (boundaries or tiles) when it has any."""
    deadline = time.monotonic() + 15
    script = (
        "return document.readyState === 'complete' && [...document.querySelectorAll("
        "'.bs-map:not([hidden])')].every(m => m.querySelector('path, .leaflet-tile-loaded'))"
    )
    while not driver.execute_script(script) and time.monotonic() < deadline:
        time.sleep(0.2)


def capture(
    driver: WebDriver, name: str, url: str, out: Path, before: Callable[[], None] | None = None
) -> list[Path]:
    """The page at each width, the whole of its height, as ``<name>-<width>.png``."""
    written = []
    for width in WIDTHS:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        driver.get(url)
        if before is not None:
            before()
        settled(driver)
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path = out / f"{name}-{width}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        written.append(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return written


def take_all(
    driver: WebDriver, found: list[tuple[str, str]], out: Path = OUT, done: Sequence[State] = ()
) -> list[Path]:
    """Every page of ``found`` and every state of ``done`` at each width."""
    out.mkdir(parents=True, exist_ok=True)
    written = [path for name, url in found for path in capture(driver, name, url, out)]
    for name, url, action in done:
        written += capture(driver, name, url, out, partial(action, driver))
    return written


def main(intake: str, notifier: str, secret: str, out: Path = OUT) -> int:
    from tests.support.browser import chromium  # Selenium and Chromium: a developer's tools

    found = pages(intake, notifier, secret)
    with chromium() as driver:
        for path in take_all(driver, found, out, states(found)):
            print(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)
    return 0
