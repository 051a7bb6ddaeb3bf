"""Headless Chromium (Debian's package) driven by Selenium through Debian's chromedriver, and
axe-core (npm, ``node_modules``) run in it on a page."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait


@contextmanager
def chromium(*flags: str) -> Iterator[webdriver.Chrome]:
    """Headless Chromium; ``flags`` are more command-line switches (e.g. host resolver rules)."""
    chromedriver = shutil.which("chromedriver")
    binary = shutil.which("chromium")
    if chromedriver is None or binary is None:
        raise RuntimeError(
            "chromium and chromium-driver are not installed: run deploy/local/bootstrap.sh"
        )
    profile = tempfile.mkdtemp(prefix="buursignaal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,2400",
        "--lang=nl-NL",
        f"--user-data-dir={profile}",
        *flags,
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "nl-NL,nl"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# the WCAG 2.1 A and AA rules; violations of these impacts fail a page
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(result => done(result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))))
  .catch(error => done([{id: "axe-failed", impact: "critical", help: String(error), nodes: []}]));
"""


def accessibility_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 AA violations of impact serious or critical on the page shown
    (WebDriver's scripts are not subject to the page's Content-Security-Policy)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci` (deploy/local/bootstrap.sh does)")
    driver.set_script_timeout(60)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = driver.execute_async_script(RUN_AXE, WCAG_TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


def policy_violations(driver: webdriver.Chrome) -> list[str]:
    """What the browser's console said about the Content-Security-Policy since the last call."""
    entries: list[dict[str, str]] = driver.execute("getLog", {"type": "browser"})["value"]
    return [e["message"] for e in entries if "Content Security Policy" in e["message"]]


def press(driver: webdriver.Chrome, *keys: str) -> None:
    """Keys to whatever has focus, as a keyboard would send them (works on file inputs too)."""
    ActionChains(driver).send_keys(*keys).perform()


def replace_text(driver: webdriver.Chrome, text: str) -> None:
    """Select what the focused field holds (Ctrl+A) and type over it."""
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    press(driver, Keys.BACKSPACE, text)


def active_id(driver: webdriver.Chrome) -> str:
    return str(driver.execute_script("return document.activeElement.id || ''"))


def tab_to(driver: webdriver.Chrome, element_id: str, *, max_presses: int = 80) -> WebElement:
    """Press Tab until the element has focus (proving it is reachable by keyboard)."""
    for _ in range(max_presses):
        if active_id(driver) == element_id:
            return driver.switch_to.active_element
        press(driver, Keys.TAB)
    raise AssertionError(f"#{element_id} is not reachable with the Tab key")


def type_observed_now(driver: webdriver.Chrome) -> None:
    """On the report form: type today's date and the time now (Dutch time and notation)."""
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    tab_to(driver, "field-observed_date")
    replace_text(driver, now.strftime("%d-%m-%Y"))
    tab_to(driver, "field-observed_time")
    replace_text(driver, now.strftime("%H:%M"))


def choose_answer(driver: webdriver.Chrome, status: str) -> None:
    """Tab into the answer's radio group and move with the arrow keys to ``status``."""
    for _ in range(80):
        if (active_id(driver) or "").startswith("answer-"):
            break
        press(driver, Keys.TAB)
    for _ in range(12):
        if active_id(driver) == f"answer-{status}":
            press(driver, Keys.SPACE)
            return
        press(driver, Keys.ARROW_DOWN)
    raise AssertionError(f"#answer-{status} is not reachable by keyboard")


def acknowledge_leg(driver: webdriver.Chrome) -> None:
    """On a leg's page in the inbox: answer "acknowledged", save, and wait until it shows."""
    choose_answer(driver, "acknowledged")
    tab_to(driver, "save")
    press(driver, Keys.ENTER)
    WebDriverWait(driver, 30).until(
        expected_conditions.text_to_be_present_in_element(
            (By.TAG_NAME, "dl"), "ontvangst bevestigd"
        )
    )


def resolve_leg(driver: webdriver.Chrome, *explanation: str) -> None:
    """On an acknowledged leg's page: choose "resolved", type the explanation keys and save."""
    choose_answer(driver, "resolved")
    tab_to(driver, "explanation")
    press(driver, *explanation)
    tab_to(driver, "save")
    press(driver, Keys.ENTER)
