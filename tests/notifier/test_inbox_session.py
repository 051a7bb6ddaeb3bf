"""The inbox's sessions: ended by eight idle hours (not by use), by sign-out and by revoking the
key that opened them; every form needs the session's CSRF token; the cookie is HTTP-only,
SameSite=Lax, and Secure in production. Development sign-in with an API key, in process (the
OpenID Connect sign-in through Keycloak and Chromium: ``test_inbox_oidc.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import select

from services.notifier.authorities import InboxSession, list_keys, register_authority, revoke_key
from services.notifier.callers import COOKIE
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_api_leg import deliver_rich
from tests.support.signin import csrf_of, key_sign_in

pytestmark = pytest.mark.kafka


async def sessions_stored(service: NotifierUnderTest) -> int:
    async with service.notifier.runtime.sessions() as session:
        return len((await session.exec(select(InboxSession))).all())


async def velsen_signed_in(service: NotifierUnderTest) -> str:
    """Register Velsen, sign in with its key; returns the key."""
    key = await register_authority(service.notifier.runtime.sessions, "gm0453", "Velsen")
    await key_sign_in(service.client, key)
    return key


async def test_an_idle_session_ends_and_a_used_one_goes_on(
    notifier_service: NotifierUnderTest,
) -> None:
    service = notifier_service
    await velsen_signed_in(service)
    assert COOKIE in service.client.cookies
    for _ in range(3):  # used every seven hours: 21 hours and still signed in
        service.clock.advance(timedelta(hours=7))
        assert (await service.client.get("/inbox")).status_code == 200
    service.clock.advance(timedelta(hours=8, minutes=1))
    stale = await service.client.get("/inbox")
    assert (stale.status_code, stale.headers["location"]) == (303, "/inbox/login")
    assert await sessions_stored(service) == 0, "the expired session is deleted"


@pytest.mark.parametrize("notifier_service", [{"inbox_idle_s": 600}], indirect=True)
async def test_the_idle_time_is_configurable(notifier_service: NotifierUnderTest) -> None:
    service = notifier_service
    await velsen_signed_in(service)
    service.clock.advance(timedelta(minutes=11))
    assert (await service.client.get("/inbox")).status_code == 303


async def test_a_form_without_its_csrf_token_is_refused(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    key = await register_authority(service.notifier.runtime.sessions, "gm0453", "Velsen")
    refused = await service.client.post("/inbox/login", data={"api_key": key})
    assert refused.status_code == 403, "the sign-in form needs its token too"
    token = await key_sign_in(service.client, key)
    answer = {"status": "acknowledged"}
    for sent in ({}, {"csrf_token": "forged"}):
        forged = await service.client.post(f"/inbox/legs/{leg_id}", data={**answer, **sent})
        assert forged.status_code == 403
    assert (await service.client.post("/inbox/logout")).status_code == 403
    page = await service.client.get(f"/inbox/legs/{leg_id}")
    assert "<dt>Status</dt><dd>in behandeling genomen</dd>" not in page.text, "nothing changed"
    done = await service.client.post(f"/inbox/legs/{leg_id}", data={**answer, "csrf_token": token})
    assert done.status_code == 303
    page = await service.client.get(f"/inbox/legs/{leg_id}")
    assert "API-sleutel initial" in page.text, "the history names who answered"


async def test_sign_out_and_revoking_the_key_end_the_session_at_once(
    notifier_service: NotifierUnderTest,
) -> None:
    service = notifier_service
    key = await velsen_signed_in(service)
    token = csrf_of(await service.client.get("/inbox"))
    signed_out = await service.client.post("/inbox/logout", data={"csrf_token": token})
    assert signed_out.headers["location"] == "/inbox/login"
    assert (await service.client.get("/inbox")).status_code == 303
    assert await sessions_stored(service) == 0

    await key_sign_in(service.client, key)
    assert (await service.client.get("/inbox")).status_code == 200
    (row,) = await list_keys(service.notifier.runtime.sessions, "gm0453")
    assert await revoke_key(service.notifier.runtime.sessions, row.id)
    assert (await service.client.get("/inbox")).status_code == 303, "revoked: signed out"
    form = await service.client.get("/inbox/login")
    again = await service.client.post(
        "/inbox/login", data={"api_key": key, "csrf_token": csrf_of(form)}
    )
    assert again.status_code == 401


async def test_the_cookie_is_http_only_and_lax(notifier_service: NotifierUnderTest) -> None:
    cookie = (await notifier_service.client.get("/inbox/login")).headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie, "plain http on 127.0.0.1 in test and development"
    assert "max-age=28800" in cookie, "the browser drops it after eight hours too"


@pytest.mark.parametrize("notifier_service", [{"environment": "production"}], indirect=True)
async def test_in_production_the_cookie_is_secure_and_keys_do_not_sign_in(
    notifier_service: NotifierUnderTest,
) -> None:
    page = await notifier_service.client.get("/inbox/login")
    assert "secure" in page.headers["set-cookie"].lower()
    assert 'name="api_key"' not in page.text
