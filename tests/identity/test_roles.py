"""What a coordinator and an administrator may do beyond a handler, enforced on the server
(``services/notifier/staff.py``): a coordinator arranges the organisation's incidents (moves a
leg out, merges one into another, named in the history), an administrator manages its API keys
(sees them with their last use, creates and revokes one). A handler and a viewer get 403 for
every page and form of it; another organisation's key is a 404.

In process with the development sign-in (a handler session); the session's role is then raised
in the database, as the provider's claims would set it. The inbox and the incident page offer
the links to these pages only to whom they are for. Each test runs on SQLite and on PostgreSQL
(the ``database_url`` fixture). The same roles through the real Keycloak:
``test_backchannel_logout.py``."""

from __future__ import annotations

from html import unescape

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import col, select

from services.notifier.authorities import InboxSession, list_keys, register_authority
from services.notifier.models import Incident, IncidentMove, Leg, LegHistory
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_notifier_service import deliver
from tests.support.signin import csrf_of, key_sign_in

pytestmark = pytest.mark.kafka
OD = "od-odnzkg"


async def give_role(service: NotifierUnderTest, role: str) -> None:
    """The signed-in session's role, as a new sign-in with other claims would give it."""
    async with service.notifier.runtime.sessions() as session:
        for row in (await session.exec(select(InboxSession))).all():
            row.role = role
            session.add(row)
        await session.commit()


async def incident_of(service: NotifierUnderTest, leg_id: str) -> str:
    async with service.notifier.runtime.sessions() as session:
        leg = await session.get(Leg, leg_id)
        assert leg is not None
        assert leg.incident_id is not None
        return leg.incident_id


async def test_a_coordinator_arranges_incidents_and_a_handler_may_not(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service, client = notifier_service, notifier_service.client
    first = (await deliver(service, producer, None, OD))[0]
    second = (await deliver(service, producer, None, OD))[0]
    incident = await incident_of(service, first)
    assert await incident_of(service, second) == incident, "one incident of two reports"
    key = await register_authority(service.notifier.runtime.sessions, OD, "OD NZKG")
    token = await key_sign_in(client, key)
    arrange = f"/inbox/incidents/{incident}/arrange"
    move = f"/inbox/incidents/{incident}/legs/{second}/move"
    merge = f"/inbox/incidents/{incident}/merge"
    detail = f"/inbox/incidents/{incident}"
    for role in ("handler", "viewer"):
        await give_role(service, role)
        assert (await client.get(arrange)).status_code == 403, role
        shown = await client.get(detail)
        assert shown.status_code == 200, role
        assert "arrange-link" not in shown.text, f"a {role} is not offered the arrange page"
        assert "Dit incident indelen" not in shown.text, role
        moved = await client.post(move, data={"reason": "Ander voorval.", "csrf_token": token})
        assert moved.status_code == 403, role
        merged = await client.post(merge, data={"to": incident, "reason": "x", "csrf_token": token})
        assert merged.status_code == 403, role
    assert await incident_of(service, second) == incident, "nothing moved"

    await give_role(service, "coordinator")
    for lang, words in (("en", "Arrange this incident"), ("nl", "Dit incident indelen")):
        shown = await client.get(detail, params={"lang": lang})
        assert f'id="arrange-link" href="{arrange}">{words}</a>' in shown.text, lang  # nl last
        listed = await client.get("/inbox", params={"lang": lang})
        assert "keys-link" not in listed.text, "a coordinator manages no keys"
    page = await client.get(arrange)
    assert page.status_code == 200
    assert f'action="{move}"' in page.text
    without = await client.post(move, data={"reason": "Ander voorval."})
    assert without.status_code == 403, "the form needs its CSRF token"
    no_reason = await client.post(move, data={"reason": " ", "csrf_token": token})
    assert no_reason.status_code == 400
    moved = await client.post(move, data={"reason": "Ander voorval.", "csrf_token": token})
    assert moved.status_code == 303, moved.text
    apart = await incident_of(service, second)
    assert apart != incident, "the leg has an incident of its own"

    merge_apart = f"/inbox/incidents/{apart}/merge"
    merged = await client.post(
        merge_apart, data={"to": incident, "reason": "Toch hetzelfde.", "csrf_token": csrf_of(page)}
    )
    assert (merged.status_code, merged.headers["location"]) == (303, f"/inbox/incidents/{incident}")
    assert await incident_of(service, second) == incident
    async with service.notifier.runtime.sessions() as session:
        gone = await session.get(Incident, apart)
        moves = (await session.exec(select(IncidentMove).order_by(col(IncidentMove.id)))).all()
        notes = (
            await session.exec(
                select(LegHistory).where(LegHistory.leg_id == second).order_by(col(LegHistory.id))
            )
        ).all()
    assert gone is not None
    assert gone.state == "merged"
    assert [(m.reason, m.handler) for m in moves] == [
        ("Ander voorval.", "API-sleutel initial"),
        ("Toch hetzelfde.", "API-sleutel initial"),
    ], "each move names who made it"
    assert [h.actor_name for h in notes if h.explanation and "->" in h.explanation] == [
        "API-sleutel initial",
        "API-sleutel initial",
    ]
    unknown = await client.get("/inbox/incidents/not-an-incident/arrange")
    assert unknown.status_code == 404


async def test_an_administrator_manages_the_keys_and_a_handler_may_not(
    notifier_service: NotifierUnderTest,
) -> None:
    service, client = notifier_service, notifier_service.client
    sessions = service.notifier.runtime.sessions
    key = await register_authority(sessions, OD, "OD NZKG")
    other_key = await register_authority(sessions, "gm0453", "Velsen")
    (other,) = await list_keys(sessions, "gm0453")
    token = await key_sign_in(client, key)
    for role in ("viewer", "handler", "coordinator"):
        await give_role(service, role)
        assert (await client.get("/inbox/keys")).status_code == 403, role
        listed = await client.get("/inbox")
        assert listed.status_code == 200, role
        assert "keys-link" not in listed.text, f"a {role} is not offered the keys page"
        assert "/inbox/keys" not in listed.text, role
        made = await client.post("/inbox/keys", data={"name": "zaaksysteem", "csrf_token": token})
        assert made.status_code == 403, role
        revoked = await client.post(f"/inbox/keys/{other.id}/revoke", data={"csrf_token": token})
        assert revoked.status_code == 403, role
    assert [k.name for k in await list_keys(sessions, OD)] == ["initial"], "nothing made"

    await give_role(service, "administrator")
    for lang, words in (
        ("en", "Manage your organisation's API keys"),
        ("nl", "API-sleutels van uw organisatie beheren"),  # last: the language stays Dutch
    ):
        listed = await client.get("/inbox", params={"lang": lang})
        assert f'id="keys-link" href="/inbox/keys">{words}</a>' in unescape(listed.text), lang
    page = await client.get("/inbox/keys")
    assert page.status_code == 200
    assert "initial" in page.text
    assert "nooit" not in page.text, "the key signed in: its last use is shown"
    without = await client.post("/inbox/keys", data={"name": "zaaksysteem"})
    assert without.status_code == 403, "the form needs its CSRF token"
    made = await client.post("/inbox/keys", data={"name": "zaaksysteem", "csrf_token": token})
    assert made.status_code == 200
    start = made.text.index('id="new-key-value">') + len('id="new-key-value">')
    new_key = made.text[start : made.text.index("<", start)]
    as_new = {"Authorization": f"Bearer {new_key}"}
    assert (await client.get("/api/v1/legs", headers=as_new)).status_code == 200, "it works"
    created = next(k for k in await list_keys(sessions, OD) if k.name == "zaaksysteem")

    foreign = await client.post(f"/inbox/keys/{other.id}/revoke", data={"csrf_token": token})
    assert foreign.status_code == 404, "another organisation's key is unknown here"
    other_api = {"Authorization": f"Bearer {other_key}"}
    assert (await client.get("/api/v1/legs", headers=other_api)).status_code == 200

    revoked = await client.post(f"/inbox/keys/{created.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/legs", headers=as_new)).status_code == 401, "at once"
    page = await client.get("/inbox/keys")
    assert "ingetrokken op" in page.text

    (initial,) = [k for k in await list_keys(sessions, OD) if k.name == "initial"]
    own = await client.post(f"/inbox/keys/{initial.id}/revoke", data={"csrf_token": token})
    assert own.status_code == 303
    after = await client.get("/inbox/keys")
    assert (after.status_code, after.headers["location"]) == (303, "/inbox/login"), (
        "revoking the key this session was opened with ends it at once"
    )
