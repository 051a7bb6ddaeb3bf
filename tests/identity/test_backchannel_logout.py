"""Through the real Keycloak (the realm export of deploy/keycloak) in headless Chromium: when
a person's session ends at the provider (here: its admin API signs them out), Keycloak posts
an OpenID Connect Back-Channel Logout token to the notifier, which verifies it against the
realm's keys and ends that person's inbox session at once; a forged or garbled token is
refused (400) and ends nothing. The roles of the realm's people hold too: an administrator
(ada) opens the organisation's keys, a coordinator (coen) arranges incidents, a handler (anna)
does neither (403)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from selenium.webdriver.common.by import By

from tests.notifier.test_inbox_oidc import sign_in, status_of
from tests.support.browser import chromium
from tests.support.keycloak import admin_client, allow_notifier_at, keycloak_server, notifier_env
from tests.support.processes import add_authority, service_process
from tools.local import keycloak
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka
__all__ = ["keycloak_server"]  # the session's Keycloak, a fixture
OD = "od-odnzkg"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def sessions_in(database: Path) -> list[tuple[str, str | None]]:
    """Every inbox session's display name and provider session id."""
    with sqlite3.connect(database) as db:
        return list(db.execute("SELECT display_name, provider_sid FROM inbox_session"))


def forged_token(config: keycloak.KeycloakConfig, sid: str) -> str:
    """A logout token that says everything right but is signed with a key of our own, under
    the key id of the realm's real signing key."""
    jwks = httpx.get(f"{config.issuer}/protocol/openid-connect/certs", timeout=30).json()
    kid = next(k["kid"] for k in jwks["keys"] if k.get("use") == "sig" and k["kty"] == "RSA")
    now = int(time.time())
    claims = {
        "iss": config.issuer, "aud": keycloak.CLIENT_ID, "iat": now, "exp": now + 60,
        "jti": "forged-1", "sid": sid, "events": {EVENT: {}},
    }  # fmt: skip
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, RSAKey.generate_key(2048))


def sign_out_at_keycloak(config: keycloak.KeycloakConfig, username: str) -> None:
    """End every Keycloak session of ``username``, as an administrator would in its console."""
    with admin_client(config) as admin:
        (user,) = admin.get("/users", params={"username": username, "exact": "true"}).json()
        admin.post(f"/users/{user['id']}/logout").raise_for_status()


@pytest.mark.timeout(900)  # the session's Keycloak may start in this test's setup
def test_keycloak_ends_the_session_through_the_back_channel(
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
        secret_key="backchannel-test-secret-0123456789abcdef",
    )
    add_authority(env, OD, "Omgevingsdienst Noordzeekanaalgebied")
    logout_url = f"{base}/inbox/backchannel-logout"
    with service_process("notifier", env, port, tmp_path / "notifier.log"), chromium() as driver:
        sign_in(driver, base, "anna")
        ((name, sid),) = sessions_in(database)
        assert name == "Anna de Vries"
        assert sid, "the session keeps Keycloak's session id"
        assert status_of(driver, f"{base}/inbox/keys") == 403, "a handler manages no keys"
        assert status_of(driver, f"{base}/inbox/incidents/x/arrange") == 403

        for token in ("not-a-jwt", forged_token(keycloak_server, sid)):
            refused = httpx.post(logout_url, data={"logout_token": token}, timeout=30)
            assert refused.status_code == 400, refused.text
            assert refused.headers["cache-control"] == "no-store"
        assert httpx.post(logout_url, data={}, timeout=30).status_code == 400
        driver.get(base + "/inbox")
        assert driver.current_url == base + "/inbox", "a refused token ends nothing"
        assert len(sessions_in(database)) == 1

        sign_out_at_keycloak(keycloak_server, "anna")
        assert sessions_in(database) == [], "Keycloak's logout token ended the session"
        driver.get(base + "/inbox")
        assert driver.current_url == base + "/inbox/login", "signed out here too, at once"

        sign_in(driver, base, "ada")  # Keycloak asks for a password again: its session ended
        assert status_of(driver, f"{base}/inbox/keys") == 200, "an administrator sees the keys"
        driver.get(f"{base}/inbox/keys")
        assert "initial" in driver.find_element(By.ID, "keys").text
        sign_out_at_keycloak(keycloak_server, "ada")
        driver.get(base + "/inbox")
        assert driver.current_url == base + "/inbox/login"

        sign_in(driver, base, "coen")
        assert status_of(driver, f"{base}/inbox/incidents/x/arrange") == 404, (
            "a coordinator may arrange (this incident does not exist)"
        )
        assert status_of(driver, f"{base}/inbox/keys") == 403, "but manages no keys"
        assert json.dumps(sessions_in(database)).count("Coen Bakker") == 1
