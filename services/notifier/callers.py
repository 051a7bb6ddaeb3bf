"""Who is calling the notifier over HTTP, and how its refusals are answered — in one place.

- A system calls the API with its organisation's API key (``Authorization: Bearer <key>``).
- A person uses the inbox with a signed, HTTP-only cookie (SameSite=Strict, so other sites
  cannot post forms with it) that the sign-in page sets for a valid API key; it is signed
  with itsdangerous and expires after ``INBOX_SESSION_S`` (eight hours).

The dependencies raise; ``install_refusals`` maps what they and the desk raise to answers:
problem+json under ``/api/``, a page or a redirect elsewhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.notifier.authorities import authority_for_key
from services.notifier.desk import Desk, UnknownLegError
from services.notifier.models import Authority
from services.notifier.transitions import TransitionError
from services.runtime.problems import problem

COOKIE = "buursignaal_inbox"
SIGN_IN = "/inbox/login"
INBOX_SESSION_S = 8 * 3600  # a sign-in lasts a working day


class NoApiKeyError(Exception):
    """The API was called without a valid API key."""


class NotSignedInError(Exception):
    """The inbox was opened without a valid sign-in cookie."""


async def desk_of(request: Request) -> Desk:
    desk = request.app.state.desk
    assert isinstance(desk, Desk)
    return desk


DeskDep = Annotated[Desk, Depends(desk_of)]


API_KEY = HTTPBearer(
    auto_error=False,
    scheme_name="authorityKey",
    description="The authority's API key: `Authorization: Bearer <key>`",
)


async def api_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)], desk: DeskDep
) -> Authority:
    """The authority whose API key came with the request."""
    key = credentials.credentials if credentials is not None else ""
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


def _cookies(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="buursignaal-inbox")


def sign(secret: str, recipient_id: str) -> str:
    """The sign-in cookie's value: the authority, signed and stamped with the time."""
    return _cookies(secret).dumps(recipient_id)


def signed_in(secret: str, cookie: str | None, max_age_s: int = INBOX_SESSION_S) -> str | None:
    """The authority of a valid cookie not older than ``max_age_s`` (None otherwise)."""
    if not cookie:
        return None
    try:
        recipient_id = _cookies(secret).loads(cookie, max_age=max_age_s)
    except BadSignature:  # also SignatureExpired
        return None
    return recipient_id if isinstance(recipient_id, str) else None


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
