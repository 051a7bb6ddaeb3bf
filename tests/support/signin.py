"""Signing in to the inbox over HTTP as a test client: the development sign-in with an API key,
with the page's CSRF token, as a browser would post the form (``services/notifier/signin.py``)."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, "the page has a form with a CSRF token"
    return found.group(1)


async def key_sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign in with ``key``; returns the new session's CSRF token, for its forms."""
    form = await client.get("/inbox/login")
    signed_in = await client.post(
        "/inbox/login", data={"api_key": key, "csrf_token": csrf_of(form)}
    )
    assert signed_in.status_code == 303, signed_in.text
    return csrf_of(await client.get("/inbox"))


async def sign_out(client: httpx.AsyncClient) -> None:
    page = await client.get("/inbox")
    signed_out = await client.post("/inbox/logout", data={"csrf_token": csrf_of(page)})
    assert signed_out.status_code == 303, signed_out.text
