"""The inbox's sign-in cookie: signed with the secret, ended by time, refused when tampered."""

from __future__ import annotations

import base64
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from services.notifier.authorities import register_authority
from services.notifier.callers import COOKIE, INBOX_SESSION_S, sign, signed_in
from tests.notifier.conftest import NotifierUnderTest

pytestmark = pytest.mark.kafka
SECRET = "a-secret-for-the-cookie-tests-0123456789"


class SignedLongAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - INBOX_SESSION_S - 60


def expired(secret: str, recipient_id: str) -> str:
    serializer = URLSafeTimedSerializer(secret, salt="buursignaal-inbox", signer=SignedLongAgo)
    return serializer.dumps(recipient_id)


def test_a_cookie_names_its_authority_until_it_expires() -> None:
    assert signed_in(SECRET, sign(SECRET, "od-odnzkg")) == "od-odnzkg"
    assert signed_in(SECRET, expired(SECRET, "od-odnzkg")) is None
    assert signed_in(SECRET, sign("another-secret-0123456789abcdef", "od-odnzkg")) is None
    _, stamp, signature = sign(SECRET, "od-odnzkg").split(".")
    other = base64.urlsafe_b64encode(b'"od-dcmr"').decode().rstrip("=")
    assert signed_in(SECRET, f"{other}.{stamp}.{signature}") is None, "another authority"


async def test_an_expired_sign_in_is_sent_to_sign_in_again(
    notifier_service: NotifierUnderTest,
) -> None:
    service = notifier_service
    key = await register_authority(service.notifier.runtime.sessions, "gm0453", "Velsen")
    signed = await service.client.post("/inbox/login", data={"api_key": key})
    assert signed.status_code == 303
    assert signed.headers["location"] == "/inbox"
    assert f"Max-Age={INBOX_SESSION_S}" in signed.headers["set-cookie"]
    fresh = signed.cookies[COOKIE]
    assert signed_in(service.settings.secret_key.get_secret_value(), fresh) == "gm0453"
    assert (await service.client.get("/inbox")).status_code == 200
    secret = service.settings.secret_key.get_secret_value()
    service.client.cookies.set(COOKIE, expired(secret, "gm0453"))
    stale = await service.client.get("/inbox")
    assert (stale.status_code, stale.headers["location"]) == (303, "/inbox/login")
