"""A throwaway Keycloak for the tests (``tools/local/keycloak.py``): started once per test
session (it takes about 20 s), with the realm export of ``deploy/keycloak``; a test lets the
realm's inbox client come back to the notifier it runs on its own port (and send its
back-channel logout there)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tools.local import keycloak
from tools.local.postgres import free_port


@pytest.fixture(scope="session")
def keycloak_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[keycloak.KeycloakConfig]:
    config = keycloak.KeycloakConfig(data_dir=tmp_path_factory.mktemp("keycloak"), port=free_port())
    keycloak.up(config)
    try:
        yield config
    finally:
        keycloak.down(config)


def allow_notifier_at(config: keycloak.KeycloakConfig, base_url: str) -> None:
    """Register ``base_url``'s callback and sign-out page with the inbox client, and make it the
    client's back-channel logout URL (admin API)."""
    with admin_client(config) as admin:
        (client,) = admin.get("/clients", params={"clientId": keycloak.CLIENT_ID}).json()
        client["redirectUris"] = [*client["redirectUris"], f"{base_url}/inbox/auth"]
        attributes = client.setdefault("attributes", {})
        after = attributes.get("post.logout.redirect.uris", "")
        attributes["post.logout.redirect.uris"] = f"{after}##{base_url}/inbox/login".lstrip("#")
        attributes["backchannel.logout.url"] = f"{base_url}/inbox/backchannel-logout"
        admin.put(f"/clients/{client['id']}", json=client).raise_for_status()


def admin_client(config: keycloak.KeycloakConfig) -> httpx.Client:
    """Keycloak's admin API for the realm, as its bootstrap admin."""
    token = httpx.post(
        f"{config.base_url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.ADMIN_USER,
            "password": config.admin_password,
        },
        timeout=30,
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{config.base_url}/admin/realms/{keycloak.REALM}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def notifier_env(
    *,
    kafka: str,
    database: Path,
    base_url: str,
    issuer: str,
    client_secret: str,
    secret_key: str,
    **settings: str,
) -> dict[str, str]:
    """The environment of a notifier process that signs people in at ``issuer`` (SQLite
    ``database``, reached at ``base_url``); ``settings`` adds ``BUURSIGNAAL_NOTIFIER_*`` ones."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": secret_key,
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "BUURSIGNAAL_NOTIFIER_PUBLIC_BASE_URL": base_url,
        "BUURSIGNAAL_NOTIFIER_OIDC_ISSUER": issuer,
        "BUURSIGNAAL_NOTIFIER_OIDC_CLIENT_SECRET": client_secret,
        **{f"BUURSIGNAAL_NOTIFIER_{name.upper()}": value for name, value in settings.items()},
    }
