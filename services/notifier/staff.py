"""What the inbox offers beyond a handler's answers, by role, and the provider's back-channel.

- **Coordinator** (and administrator): arranges the organisation's incidents — moves a leg out
  of an incident (into another or into one of its own) and merges an incident into another,
  each with a reason, named in the history (``/inbox/incidents/{id}/arrange``). A handler or
  viewer gets 403 for the page and for every form.
- **Administrator**: manages the organisation's API keys — sees every key with its creation,
  last use and revocation, creates one (shown once) and revokes one, which ends at once what
  it opened (``/inbox/keys``). Anyone else gets 403; another organisation's key is a 404.
- **Back-channel logout** (OpenID Connect Back-Channel Logout 1.0): the provider posts a
  ``logout_token`` to ``/inbox/backchannel-logout`` when a person's session ends there (sign-out
  in another application, the admin console, the session's end); the token is verified against
  the provider's keys (``signin.Provider.logout_claims``) and the sessions it names end.

The roles are enforced here, on the server, by the dependencies ``InboxCoordinator`` and
``InboxAdministrator``; the pages only leave out what a role may not use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services.notifier.authorities import create_key, list_keys, revoke_key
from services.notifier.callers import CsrfChecked, DeskDep, SignInDep, inbox_person
from services.notifier.inbox import incident_row, leg_row, urgency
from services.notifier.incidents import IncidentRefusedError, UnknownIncidentError
from services.notifier.signin import LogoutTokenError, NotAllowedError, Person
from services.runtime import catalogue

T = TypeVar("T")

router = APIRouter(include_in_schema=False)
KEY_NAME_MAX = 100
NO_STORE = {"Cache-Control": "no-store"}


def _(key: str) -> str:
    return catalogue.text(key, "nl")


async def inbox_coordinator(person: Annotated[Person, Depends(inbox_person)]) -> Person:
    """A person who may arrange incidents: coordinator or administrator (403 otherwise)."""
    if not person.may_arrange:
        raise NotAllowedError("only a coordinator arranges incidents")
    return person


async def inbox_administrator(person: Annotated[Person, Depends(inbox_person)]) -> Person:
    """A person who may manage the organisation's API keys (403 otherwise)."""
    if not person.may_manage_keys:
        raise NotAllowedError("only an administrator manages keys")
    return person


InboxCoordinator = Annotated[Person, Depends(inbox_coordinator)]
InboxAdministrator = Annotated[Person, Depends(inbox_administrator)]


def _page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    from services.notifier.web import page  # the inbox's renderer (templates, CSRF token)

    return page(request, name, code, **context)


# -- back-channel logout ------------------------------------------------------------------------


@router.post("/inbox/backchannel-logout")
async def backchannel_logout(request: Request, sign_in: SignInDep) -> Response:
    """The provider ends a session: verify its logout token, end the sessions it names.

    No cookie and no CSRF token here: the caller is the provider's server, and the token is
    its proof (signed, for this client, recent)."""
    if sign_in.provider is None:
        return JSONResponse({"error": "no provider"}, status_code=404, headers=NO_STORE)
    logout_token = str((await request.form()).get("logout_token", ""))
    try:
        sid, sub = await sign_in.provider.logout_claims(logout_token)
    except LogoutTokenError as error:
        body = {"error": "invalid_request", "error_description": str(error)[:200]}
        return JSONResponse(body, status_code=400, headers=NO_STORE)
    await sign_in.end_provider_sessions(sid, sub)
    return Response(status_code=200, headers=NO_STORE)


# -- administrator: the organisation's API keys -------------------------------------------------


async def keys_page(
    request: Request, person: Person, desk: DeskDep, code: int = 200, **extra: Any
) -> Response:
    keys = await list_keys(desk.sessions, person.recipient_id)
    keys.sort(key=lambda k: (k.revoked_at is not None, k.created_at))
    context = {"title": _("staff.keys.title"), "keys": keys, "person": person, **extra}
    return _page(request, "keys.html", code, **context)


@router.get("/inbox/keys", response_class=HTMLResponse)
async def keys(request: Request, person: InboxAdministrator, desk: DeskDep) -> Response:
    return await keys_page(request, person, desk)


@router.post("/inbox/keys", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def add_key(request: Request, person: InboxAdministrator, desk: DeskDep) -> Response:
    """A new key for the organisation's system, shown once on the answer page."""
    name = str((await request.form()).get("name", "")).strip()
    if not name or len(name) > KEY_NAME_MAX:
        error = _("staff.keys.name_needed") % {"count": KEY_NAME_MAX}
        return await keys_page(request, person, desk, 400, error=error)
    try:
        row, key = await create_key(desk.sessions, person.recipient_id, name, desk.legs.clock.now())
    except LookupError:  # an organisation that is not a registered recipient
        return await keys_page(request, person, desk, 404, error=_("staff.keys.no_authority"))
    return await keys_page(request, person, desk, new_key=key, new_key_name=row.name)


@router.post("/inbox/keys/{key_id}/revoke", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def revoke(
    request: Request, key_id: str, person: InboxAdministrator, desk: DeskDep
) -> Response:
    """Revoke one of the organisation's keys; another's is unknown (404)."""
    own = {k.id for k in await list_keys(desk.sessions, person.recipient_id)}
    if key_id not in own:
        return HTMLResponse(_("staff.keys.unknown"), status_code=404)
    await revoke_key(desk.sessions, key_id, desk.legs.clock.now())
    return RedirectResponse("/inbox/keys", status_code=303)


# -- coordinator: arranging incidents -----------------------------------------------------------


async def arrange_page(
    request: Request, person: Person, desk: DeskDep, incident_id: str, code: int = 200, **extra: Any
) -> Response:
    try:
        incident, legs, _moves = await desk.incident(person.recipient_id, incident_id)
    except UnknownIncidentError:
        return HTMLResponse(_("inbox.incident.unknown"), status_code=404)
    others = [i for i in await desk.incidents_of(person.recipient_id) if i.id != incident.id]
    members = await desk.incident_legs(person.recipient_id, [i.id for i in others])
    context = {
        "title": _("staff.arrange.title"),
        "incident": incident,
        "row": incident_row(incident, legs),
        "legs": sorted((leg_row(leg) for leg in legs), key=urgency),
        "others": [incident_row(i, members[i.id]) for i in others],
        "person": person,
        **extra,
    }
    return _page(request, "arrange.html", code, **context)


@router.get("/inbox/incidents/{incident_id}/arrange", response_class=HTMLResponse)
async def arrange(
    request: Request, incident_id: str, person: InboxCoordinator, desk: DeskDep
) -> Response:
    return await arrange_page(request, person, desk, incident_id)


async def _arranging(
    request: Request,
    person: Person,
    desk: DeskDep,
    incident_id: str,
    change: Awaitable[T],
    then: Callable[[T], str],
) -> Response:
    """A coordinator's change of an incident: on to ``then(result)`` when it is done; an
    unknown incident is a 404; a refused change shows the arrange page again with why (400)."""
    try:
        result = await change
    except UnknownIncidentError:
        return HTMLResponse(_("inbox.incident.unknown"), status_code=404)
    except IncidentRefusedError as error:
        return await arrange_page(request, person, desk, incident_id, 400, error=str(error))
    return RedirectResponse(then(result), status_code=303)


async def _reason(request: Request) -> tuple[str, str]:
    form = await request.form()
    return str(form.get("reason", "")).strip(), str(form.get("to", "")).strip()


@router.post(
    "/inbox/incidents/{incident_id}/merge", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def merge(
    request: Request, incident_id: str, person: InboxCoordinator, desk: DeskDep
) -> Response:
    """Merge this incident into another of the organisation's (``to``), with a reason."""
    reason, into = await _reason(request)
    change = desk.merge_incidents(
        person.recipient_id, incident_id, into, reason,
        actor=person.actor(), handler=person.display_name,
    )  # fmt: skip
    return await _arranging(
        request, person, desk, incident_id, change, lambda target: f"/inbox/incidents/{target.id}"
    )


@router.post(
    "/inbox/incidents/{incident_id}/legs/{leg_id}/move",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
async def move(
    request: Request, incident_id: str, leg_id: str, person: InboxCoordinator, desk: DeskDep
) -> Response:
    """Move a leg out of this incident into another (``to``) or one of its own (empty)."""
    reason, to = await _reason(request)
    change = desk.move_leg(
        person.recipient_id, incident_id, leg_id, to or None, reason,
        actor=person.actor(), handler=person.display_name,
    )  # fmt: skip
    return await _arranging(
        request, person, desk, incident_id, change,
        lambda _moved: f"/inbox/incidents/{incident_id}/arrange",
    )  # fmt: skip
