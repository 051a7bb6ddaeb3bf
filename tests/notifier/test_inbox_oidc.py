"""People sign in to the inbox through the real Keycloak (the realm export of deploy/keycloak),
in headless Chromium: a handler of OD Noordzeekanaalgebied sees its legs and cannot open OD
IJmond's (404), answers with their name in the history and the audit event, cannot post a
form without its CSRF token (403); sign-out ends the session at Keycloak too; a viewer cannot
answer (403); an expired session is sent to sign in again."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from schemas.routing import Role
from services.notifier.actions import leg_id_for
from tests.support.browser import acknowledge_leg, chromium
from tests.support.deliveries import publish_delivery
from tests.support.kafka import wait_until
from tests.support.keycloak import allow_notifier_at, keycloak_server, notifier_env
from tests.support.processes import add_authority, service_process
from tools.local import keycloak
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka
__all__ = ["keycloak_server"]  # the session's Keycloak, a fixture
OD_A, OD_B = "od-odnzkg", "od-odijmond"


def sign_in(driver: webdriver.Chrome, base: str, username: str) -> None:
    """From the inbox's sign-in page through Keycloak's form and back to the inbox."""
    driver.get(base + "/inbox")
    assert driver.current_url == base + "/inbox/login", "signing in comes first"
    driver.find_element(By.ID, "sign-in").click()
    field = WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.ID, "username"))
    )
    field.send_keys(username)
    driver.find_element(By.ID, "password").send_keys(f"{username}-local-password")
    driver.find_element(By.ID, "kc-login").click()
    WebDriverWait(driver, 30).until(expected_conditions.url_to_be(base + "/inbox"))


def status_of(driver: webdriver.Chrome, url: str, form: dict[str, str] | None = None) -> int:
    """The HTTP status the browser gets for a GET (or a form POST), with its cookies."""
    script = """
        const [url, form, done] = arguments;
        const init = form === null ? {} : {method: "POST", body: new URLSearchParams(form)};
        fetch(url, {...init, redirect: "manual"}).then(r => done(r.status));
    """
    status: Any = driver.execute_async_script(script, url, form)
    return int(status)


def csrf_token(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.NAME, "csrf_token").get_attribute("value"))


def deliver(bootstrap: str, recipient_id: str) -> str:
    event = asyncio.run(
        publish_delivery(bootstrap, recipient_id, Role.COMPETENT_AUTHORITY, source="/test")
    )
    return leg_id_for(event.report_id, recipient_id)


def wait_for_leg(base: str, key: str, leg_id: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    wait_until(
        lambda: httpx.get(f"{base}/api/v1/legs/{leg_id}", headers=headers).status_code == 200,
        timeout_s=60,
    )


@pytest.mark.timeout(900)  # the session's Keycloak starts in this test's setup
def test_people_sign_in_through_keycloak(
    kafka_bootstrap_servers: str, tmp_path: Path, keycloak_server: keycloak.KeycloakConfig
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    allow_notifier_at(keycloak_server, base)
    database = tmp_path / "n.sqlite"
    env = notifier_env(
        kafka=kafka_bootstrap_servers,
        database=database,
        base_url=base,
        issuer=keycloak_server.issuer,
        client_secret=keycloak.LOCAL_CLIENT_SECRET,
        secret_key="inbox-oidc-test-secret-0123456789abcdef",
    )
    key_a = add_authority(env, OD_A, "Omgevingsdienst Noordzeekanaalgebied")
    key_b = add_authority(env, OD_B, "Omgevingsdienst IJmond")
    with service_process("notifier", env, port, tmp_path / "notifier.log"), chromium() as driver:
        leg_a, leg_b = (
            deliver(kafka_bootstrap_servers, OD_A),
            deliver(kafka_bootstrap_servers, OD_B),
        )
        wait_for_leg(base, key_a, leg_a)
        wait_for_leg(base, key_b, leg_b)

        sign_in(driver, base, "anna")
        assert "Anna de Vries (behandelaar)" in driver.find_element(By.ID, "signed-in").text
        assert driver.find_elements(By.CSS_SELECTOR, f'a[href="/inbox/legs/{leg_a}"]')
        assert not driver.find_elements(By.CSS_SELECTOR, f'a[href="/inbox/legs/{leg_b}"]')
        assert status_of(driver, f"{base}/inbox/legs/{leg_b}") == 404, "B's leg does not exist"
        token = csrf_token(driver)
        refused = status_of(driver, f"{base}/inbox/legs/{leg_a}", {"status": "acknowledged"})
        assert refused == 403, "a form without its CSRF token"
        forged = {"status": "acknowledged", "csrf_token": "x" + token[1:]}
        assert status_of(driver, f"{base}/inbox/legs/{leg_a}", forged) == 403

        driver.get(f"{base}/inbox/legs/{leg_a}")
        acknowledge_leg(driver)
        assert "door Anna de Vries" in driver.find_element(By.TAG_NAME, "ol").text
        history = httpx.get(
            f"{base}/api/v1/legs/{leg_a}", headers={"Authorization": f"Bearer {key_a}"}
        ).json()["history"]
        assert history[-1]["actor_name"] == "Anna de Vries"
        with sqlite3.connect(database) as db:
            (subject, name), *_ = db.execute(
                "SELECT actor_subject, actor_name FROM leg_history"
                " WHERE actor_name IS NOT NULL AND leg_id = ?",
                (leg_a,),
            ).fetchall()
            (payload,) = db.execute(
                "SELECT CAST(payload AS TEXT) FROM outbox"
                " WHERE CAST(payload AS TEXT) LIKE '%Anna de Vries%'"
            ).fetchone()
        assert (len(subject), name) == (36, "Anna de Vries"), "Keycloak's pseudonymous sub"
        assert subject in str(payload), "the status event names the person too"

        driver.get(base + "/inbox")
        driver.find_element(By.CSS_SELECTOR, 'form[action="/inbox/logout"] button').click()
        WebDriverWait(driver, 30).until(expected_conditions.url_to_be(base + "/inbox/login"))
        driver.get(base + "/inbox")
        assert driver.current_url == base + "/inbox/login", "signed out here"
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "username"))
        )  # Keycloak asks again: its session ended too

        driver.get(base + "/inbox")
        sign_in(driver, base, "victor")
        assert "kijker" in driver.find_element(By.ID, "signed-in").text
        token = csrf_token(driver)
        driver.get(f"{base}/inbox/legs/{leg_a}")
        assert not driver.find_elements(By.ID, "save"), "a viewer has no answer form"
        answer = {"status": "in_progress", "csrf_token": token}
        assert status_of(driver, f"{base}/inbox/legs/{leg_a}", answer) == 403

        with sqlite3.connect(database) as db:  # nine hours without use
            db.execute("UPDATE inbox_session SET last_seen_at = datetime(last_seen_at, '-9 hours')")
        driver.get(base + "/inbox")
        assert driver.current_url == base + "/inbox/login", "an expired session signs in again"
