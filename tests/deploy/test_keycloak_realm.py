"""The realm a deployment imports (``deploy/keycloak/production/``, rendered from the realm the
local stack and the tests use) is one Keycloak itself accepts, set up as compose and Kubernetes
set it up: Keycloak's own distribution imports it at start, fills the inbox client's secret and
addresses from its environment, holds no example people; its public address (``KC_HOSTNAME``,
the issuer) differs from the one the notifier uses (``KC_HOSTNAME_BACKCHANNEL_DYNAMIC``), and a
person added by an administrator signs in to the notifier, configured with the deployment's two
addresses (``OIDC_ISSUER`` public, ``OIDC_METADATA_URL`` inside), and is signed out there by
Keycloak's back-channel logout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.notifier.test_inbox_oidc import sign_in
from tests.support.browser import chromium
from tests.support.keycloak import admin_client, notifier_env
from tests.support.processes import add_authority, service_process
from tools.deployment import DEPLOY_DIR, PRODUCTION_REALM
from tools.local import keycloak
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka
SECRET = "a-deployment-secret-0123456789"  # what the Secret would hold; this test's own
OD = "od-odnzkg"
PUBLIC_HOST = "login.buursignaal.test"  # .test never resolves in DNS (RFC 6761)


def add_person(admin: httpx.Client, username: str, role: str, group: str) -> None:
    """A person as an administrator adds one in the console: their group, one realm role."""
    admin.post(
        "/users",
        json={
            "username": username, "enabled": True, "emailVerified": True,
            "firstName": "Dora", "lastName": "Jansen", "email": f"{username}@example.org",
            "credentials": [
                {"type": "password", "value": f"{username}-local-password", "temporary": False}
            ],
            "groups": [f"/{group}"],
        },
    ).raise_for_status()  # fmt: skip
    (user,) = admin.get("/users", params={"username": username, "exact": "true"}).json()
    granted = admin.get(f"/roles/{role}").json()
    admin.post(f"/users/{user['id']}/role-mappings/realm", json=[granted]).raise_for_status()


def sessions_in(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [name for (name,) in db.execute("SELECT display_name FROM inbox_session")]


@pytest.mark.timeout(900)  # Keycloak starts in about 20 s, minutes on a busy machine
def test_keycloak_imports_the_production_realm_and_signs_people_in_to_the_notifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_bootstrap_servers: str
) -> None:
    port, notifier_port = free_port(), free_port()
    # what browsers reach, the issuer: a name only the browser resolves (to 127.0.0.1), so the
    # notifier can only work through its metadata URL inside ("the network": 127.0.0.1)
    public_keycloak = f"http://{PUBLIC_HOST}:{port}"
    base = f"http://127.0.0.1:{notifier_port}"
    for name, value in {
        "NOTIFIER_PUBLIC_URL": base,
        "NOTIFIER_INTERNAL_URL": base,
        "NOTIFIER_CLIENT_SECRET": SECRET,
        "KC_HOSTNAME": public_keycloak,
        "KC_HOSTNAME_BACKCHANNEL_DYNAMIC": "true",
    }.items():
        monkeypatch.setenv(name, value)
    config = keycloak.KeycloakConfig(
        data_dir=tmp_path / "keycloak", port=port, realm_files=(DEPLOY_DIR / PRODUCTION_REALM,)
    )
    keycloak.up(config)  # waits for the realm's OpenID configuration at 127.0.0.1
    try:
        with admin_client(config) as admin:
            (client,) = admin.get("/clients", params={"clientId": keycloak.CLIENT_ID}).json()
            secret = admin.get(f"/clients/{client['id']}/client-secret").json()["value"]
            users = admin.get("/users").json()
            groups = {g["name"] for g in admin.get("/groups").json()}
            roles = {r["name"] for r in admin.get("/roles").json()}
            add_person(admin, "dora", "handler", "OD Noordzeekanaalgebied")
        assert secret == SECRET, "the client's secret comes from the environment"
        assert client["redirectUris"] == [f"{base}/inbox/auth"]
        assert client["rootUrl"] == base
        attributes = client["attributes"]
        assert attributes["post.logout.redirect.uris"] == f"{base}/inbox/login"
        assert attributes["backchannel.logout.url"] == f"{base}/inbox/backchannel-logout"
        assert attributes["pkce.code.challenge.method"] == "S256"
        assert client["publicClient"] is False
        assert users == [], "a deployment's realm has no example people"
        assert {"OD Noordzeekanaalgebied", "Landelijke tafel"} <= groups
        assert {"viewer", "handler", "coordinator", "administrator"} <= roles

        metadata = httpx.get(config.metadata_url, timeout=30).json()
        assert metadata["issuer"] == f"{public_keycloak}/realms/{keycloak.REALM}"
        assert metadata["authorization_endpoint"].startswith(public_keycloak), "for browsers"
        assert metadata["token_endpoint"].startswith(config.base_url), "for the notifier"

        database = tmp_path / "n.sqlite"
        env = notifier_env(
            kafka=kafka_bootstrap_servers,
            database=database,
            base_url=base,
            issuer=metadata["issuer"],
            client_secret=SECRET,
            secret_key="deployed-realm-test-secret-0123456789abcdef",
            oidc_metadata_url=config.metadata_url,
        )
        add_authority(env, OD, "Omgevingsdienst Noordzeekanaalgebied")
        with (
            service_process("notifier", env, notifier_port, tmp_path / "notifier.log"),
            chromium(f"--host-resolver-rules=MAP {PUBLIC_HOST} 127.0.0.1") as driver,
        ):
            sign_in(driver, base, "dora")  # through Keycloak's pages at the public name
            assert sessions_in(database) == ["Dora Jansen"]
            with admin_client(config) as admin:
                (user,) = admin.get("/users", params={"username": "dora"}).json()
                admin.post(f"/users/{user['id']}/logout").raise_for_status()
            assert sessions_in(database) == [], "the back-channel logout reached the notifier"
    finally:
        keycloak.down(config)
