"""The realm a deployment imports (``deploy/keycloak/production/``, rendered from the realm the
local stack and the tests use) is one Keycloak itself accepts: Keycloak's own distribution
imports it at start, fills the inbox client's secret and addresses from its environment (the
placeholders compose and Kubernetes set), and holds no example people."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.keycloak import admin_client
from tools.deployment import DEPLOY_DIR, PRODUCTION_REALM
from tools.local import keycloak
from tools.local.postgres import free_port

PUBLIC = "https://inbox.example.org"
INTERNAL = "http://notifier.internal:8002"
SECRET = "a-deployment-secret-0123456789"  # what the Secret would hold; this test's own


@pytest.mark.timeout(900)  # Keycloak starts in about 20 s, minutes on a busy machine
def test_keycloak_imports_the_production_realm_with_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("NOTIFIER_INTERNAL_URL", INTERNAL)
    monkeypatch.setenv("NOTIFIER_CLIENT_SECRET", SECRET)
    config = keycloak.KeycloakConfig(
        data_dir=tmp_path, port=free_port(), realm_files=(DEPLOY_DIR / PRODUCTION_REALM,)
    )
    keycloak.up(config)  # waits for the realm's OpenID configuration
    try:
        with admin_client(config) as admin:
            (client,) = admin.get("/clients", params={"clientId": keycloak.CLIENT_ID}).json()
            secret = admin.get(f"/clients/{client['id']}/client-secret").json()["value"]
            users = admin.get("/users").json()
            groups = {g["name"] for g in admin.get("/groups").json()}
            roles = {r["name"] for r in admin.get("/roles").json()}
    finally:
        keycloak.down(config)
    assert secret == SECRET, "the client's secret comes from the environment"
    assert client["redirectUris"] == [f"{PUBLIC}/inbox/auth"]
    assert client["rootUrl"] == PUBLIC
    attributes = client["attributes"]
    assert attributes["post.logout.redirect.uris"] == f"{PUBLIC}/inbox/login"
    assert attributes["backchannel.logout.url"] == f"{INTERNAL}/inbox/backchannel-logout"
    assert attributes["pkce.code.challenge.method"] == "S256"
    assert client["publicClient"] is False
    assert users == [], "a deployment's realm has no example people"
    assert {"OD Noordzeekanaalgebied", "Landelijke tafel"} <= groups
    assert {"viewer", "handler", "coordinator", "administrator"} <= roles
