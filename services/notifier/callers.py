"""Who is calling the notifier over HTTP, and how its refusals are answered — in one place.

- A system calls the API with its organisation's API key (``Authorization: Bearer <key>``).
- A person uses the inbox with a signed, HTTP-only cookie (SameSite=Strict, so other sites
  cannot post forms with it) that the sign-in page sets for a valid API key.

The dependencies raise; ``install_refusals`` maps what they and the desk raise to answers:
problem+json under ``/api/``, a page or a redirect elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.notifier.authorities import authority_for_key
from services.notifier.desk import Desk, UnknownLegError
from services.notifier.models import Authority
from services.notifier.transitions import TransitionError
from services.runtime.problems import problem

COOKIE = "buursignaal_inbox"
SIGN_IN = "/inbox/login"


class NoApiKeyError(Exception):
    """The API was called without a valid API key."""


class NotSignedInError(Exception):
    """The inbox was opened without a valid sign-in cookie."""


def desk_of(request: Request) -> Desk:
    desk = request.app.state.desk
    assert isinstance(desk, Desk)
    return desk


DeskDep = Annotated[Desk, Depends(desk_of)]


async def api_caller(request: Request, desk: DeskDep) -> Authority:
    """The authority whose API key came with the request."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    authority = await authority_for_key(desk.sessions, key)
    if authority is None:
        raise NoApiKeyError
    return authority


async def inbox_authority(request: Request, desk: DeskDep) -> Authority:
    """The authority signed in to the inbox."""
    recipient_id = signed_in(desk.secret, request.cookies.get(COOKIE))
    authority = None
    if recipient_id is not None:
        async with desk.sessions() as session:
            authority = await session.get(Authority, recipient_id)
    if authority is None:
        raise NotSignedInError
    return authority


ApiCaller = Annotated[Authority, Depends(api_caller)]
InboxAuthority = Annotated[Authority, Depends(inbox_authority)]


def sign(secret: str, recipient_id: str) -> str:
    digest = hmac.new(secret.encode(), f"inbox:{recipient_id}".encode(), hashlib.sha256)
    return f"{recipient_id}.{digest.hexdigest()}"


def signed_in(secret: str, cookie: str | None) -> str | None:
    if not cookie or "." not in cookie:
        return None
    recipient_id = cookie.rsplit(".", 1)[0]
    return recipient_id if hmac.compare_digest(sign(secret, recipient_id), cookie) else None


def _on_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _no_api_key(_request: Request, _error: Exception) -> Response:
    return problem(
        401,
        "unauthorised",
        "A valid API key is required.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _not_signed_in(_request: Request, _error: Exception) -> Response:
    return RedirectResponse(SIGN_IN, status_code=303)


async def _unknown_leg(request: Request, _error: Exception) -> Response:
    if _on_api(request):
        return problem(404, "no-leg", "There is no such leg for this authority.")
    if request.url.path.startswith("/feedback/"):
        return HTMLResponse("Onbekende link", status_code=404)
    return HTMLResponse("Onbekende melding", status_code=404)


async def _transition_refused(_request: Request, error: Exception) -> Response:
    title = "This status change is not allowed."
    return problem(409, "transition-refused", title, detail=str(error))


def install_refusals(app: FastAPI) -> None:
    app.add_exception_handler(NoApiKeyError, _no_api_key)
    app.add_exception_handler(NotSignedInError, _not_signed_in)
    app.add_exception_handler(UnknownLegError, _unknown_leg)
    app.add_exception_handler(TransitionError, _transition_refused)
