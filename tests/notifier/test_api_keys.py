"""An authority's API keys: several with names, stored as digests, their last use kept; a key
rotated without downtime (the new one works beside the old, the old one fails at once when
revoked, the answers do not change); ``buursignaal keys`` does the same from the command line."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from services.notifier.authorities import (
    create_key,
    key_digest,
    list_keys,
    register_authority,
    revoke_key,
)
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_api_leg import deliver_rich
from tests.support.processes import add_authority, cli

pytestmark = pytest.mark.kafka


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_rotated_key_old_fails_at_once_new_works(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    sessions = service.notifier.runtime.sessions
    leg_id = await deliver_rich(service, producer, "gm0453")
    old = await register_authority(sessions, "gm0453", "Velsen", now=service.clock.now())
    before = await service.client.get(f"/api/v1/legs/{leg_id}", headers=bearer(old))
    assert before.status_code == 200

    service.clock.advance(timedelta(minutes=5))
    row, new = await create_key(sessions, "gm0453", "zaaksysteem 2027", service.clock.now())
    for key in (old, new):  # both work while the systems move over
        answer = await service.client.get(f"/api/v1/legs/{leg_id}", headers=bearer(key))
        assert answer.status_code == 200
    initial, rotated = await list_keys(sessions, "gm0453")
    assert (initial.name, rotated.name, rotated.id) == ("initial", "zaaksysteem 2027", row.id)
    assert rotated.last_used_at == service.clock.now(), "its last use is kept"
    assert {initial.key_hash, rotated.key_hash} == {key_digest(old), key_digest(new)}
    assert old not in {initial.key_hash, rotated.key_hash}, "only digests are stored"

    assert await revoke_key(sessions, initial.id, service.clock.now())
    refused = await service.client.get(f"/api/v1/legs/{leg_id}", headers=bearer(old))
    assert refused.status_code == 401, "the old key fails at once"
    after = await service.client.get(f"/api/v1/legs/{leg_id}", headers=bearer(new))
    assert after.status_code == 200
    assert after.json() == before.json(), "nothing else changes"
    changed = await service.client.post(
        f"/api/v1/legs/{leg_id}/status", json={"status": "acknowledged"}, headers=bearer(new)
    )
    assert changed.status_code == 200
    read = await service.client.get(f"/api/v1/legs/{leg_id}", headers=bearer(new))
    assert read.json()["history"][-1]["actor_name"] == "API-sleutel zaaksysteem 2027"
    (revoked, _) = await list_keys(sessions, "gm0453")
    assert revoked.revoked_at == service.clock.now()


async def test_a_key_needs_a_registered_authority(notifier_service: NotifierUnderTest) -> None:
    with pytest.raises(LookupError):
        await create_key(notifier_service.notifier.runtime.sessions, "gm9999", "x")


def test_keys_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": "keys-cli-test-secret-0123456789abcdef",
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite'}",
    }
    add_authority(env, "od-odnzkg", "OD NZKG")
    created = cli("keys", "create", "od-odnzkg", "--name", "meldkamer", env=env, check=True)
    assert "'meldkamer' for od-odnzkg (shown once)" in created.stdout
    key_id = created.stdout.split()[2]
    listed = cli("keys", "list", env=env, check=True).stdout.splitlines()
    assert [line.split()[2] for line in listed] == ["initial", "meldkamer"]
    assert all("last used never  active" in line for line in listed)
    revoked = cli("keys", "revoke", key_id, env=env, check=True)
    assert "revoked" in revoked.stdout
    assert "revoked 20" in cli("keys", "list", "od-odnzkg", env=env).stdout.splitlines()[1]
    assert cli("keys", "revoke", "no-such-key", env=env).returncode == 1
