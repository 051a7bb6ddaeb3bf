"""Who is calling the notifier over HTTP, and how its refusals are answered — in one place.

- A system calls the API with its organisation's API key (``Authorization: Bearer <key>``).
- A person uses the inbox signed in with OpenID Connect (``signin.py``): a session that ends
  when idle, at sign-out or when the key that opened it is revoked; a viewer changes nothing.

The dependencies raise; ``install_refusals`` maps what they and the desk raise to answers:
problem+json under ``/api/``, a page or a redirect elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from schemas.leg import Actor, ActorKind
from services.notifier.authorities import ApiKey, authority_for_key
from services.notifier.desk import Desk, OtherAnswerFirstError, UnknownLegError
from services.notifier.models import Authority
from services.notifier.problem_types import answer_not_seen
from services.notifier.signin import (
    CsrfError,
    NotAllowedError,
    NotSignedInError,
    Person,
    SignIn,
    check_csrf,
)
from services.notifier.transitions import TransitionError
from services.runtime.problems import problem

COOKIE = "buursignaal_inbox"
SIGN_IN = "/inbox/login"


class NoApiKeyError(Exception):
    """The API was called without a valid API key."""


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


@dataclass(frozen=True)
class System:
    """An authority's system, known by the API key it called with."""

    authority: Authority
    key: ApiKey

    @property
    def recipient_id(self) -> str:
        return self.authority.recipient_id

    def actor(self) -> Actor:
        """The history names the key (no person: a system answered)."""
        return Actor(
            kind=ActorKind.AUTHORITY,
            actor_id=self.recipient_id,
            subject=f"key:{self.key.id}",
            name=f"API-sleutel {self.key.name}",
        )


async def api_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)], desk: DeskDep
) -> System:
    """The authority whose API key came with the request."""
    key = credentials.credentials if credentials is not None else ""
    found = await authority_for_key(desk.sessions, key, desk.legs.clock.now())
    if found is None:
        raise NoApiKeyError
    return System(*found)


async def sign_in_of(request: Request) -> SignIn:
    sign_in = request.app.state.sign_in
    assert isinstance(sign_in, SignIn)
    return sign_in


SignInDep = Annotated[SignIn, Depends(sign_in_of)]


async def inbox_person(request: Request, sign_in: SignInDep) -> Person:
    """The person signed in to the inbox (to the sign-in page otherwise)."""
    return await sign_in.person(request)


async def inbox_handler(person: Annotated[Person, Depends(inbox_person)]) -> Person:
    """A person who may change legs: a viewer may not (403)."""
    if not person.may_change:
        raise NotAllowedError("a viewer changes nothing")
    return person


ApiCaller = Annotated[System, Depends(api_caller)]
InboxPerson = Annotated[Person, Depends(inbox_person)]
InboxHandler = Annotated[Person, Depends(inbox_handler)]
CsrfChecked = Depends(check_csrf)


def _on_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _no_api_key(_request: Request, _error: Exception) -> Response:
    return problem(401, "unauthorised", headers={"WWW-Authenticate": "Bearer"})


async def _not_signed_in(_request: Request, _error: Exception) -> Response:
    return RedirectResponse(SIGN_IN, status_code=303)


async def _csrf_refused(_request: Request, _error: Exception) -> Response:
    return HTMLResponse("Dit formulier is verlopen of niet van deze site.", status_code=403)


async def _not_allowed(_request: Request, _error: Exception) -> Response:
    return HTMLResponse("Uw rol staat dit niet toe.", status_code=403)


async def _unknown_leg(request: Request, _error: Exception) -> Response:
    if _on_api(request):
        return problem(404, "no-leg")
    if request.url.path.startswith("/feedback/"):
        return HTMLResponse("Onbekende link", status_code=404)
    return HTMLResponse("Onbekende melding", status_code=404)


async def _transition_refused(_request: Request, error: Exception) -> Response:
    return problem(409, "transition-refused", detail=str(error))


def install_refusals(app: FastAPI) -> None:
    app.add_exception_handler(NoApiKeyError, _no_api_key)
    app.add_exception_handler(NotSignedInError, _not_signed_in)
    app.add_exception_handler(CsrfError, _csrf_refused)
    app.add_exception_handler(NotAllowedError, _not_allowed)
    app.add_exception_handler(UnknownLegError, _unknown_leg)
    app.add_exception_handler(TransitionError, _transition_refused)
    app.add_exception_handler(OtherAnswerFirstError, answer_not_seen)
