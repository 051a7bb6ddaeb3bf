"""What the other services call (bearer token) and the links the notifier's mails carry.

- ``POST /internal/v1/reports/{id}/correction``: a triage desk or authority corrects the place
  or category; the router decides again.
- ``POST /internal/v1/contacts``: the e-mail addresses for a round of notifications.
- ``/unsubscribe/{report_id}/{signature}``: the resident stops the mails about a report.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.intake.corrections import CorrectionRequest, correct_report
from services.intake.dependencies import BaseUrlDep, IntakeDep
from services.intake.location import OutsideNetherlandsError
from services.intake.privacy import ContactsAsked, unsubscribe_token
from services.runtime.errors import RefusedError
from services.runtime.problems import problem


class InternalTokenError(RefusedError):
    """An internal endpoint called without the right bearer token."""

    status = 401
    kind = "unauthorised"
    title_key = "internal-token"  # its title: the catalogue's problem.internal-token


async def internal_caller(request: Request) -> None:
    """Let only a caller with the internal bearer token in (an empty configured token closes
    the endpoints)."""
    token: str = request.app.state.settings.internal_api_token.get_secret_value()
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given, token):
        raise InternalTokenError


internal = APIRouter(
    prefix="/internal/v1", include_in_schema=False, dependencies=[Depends(internal_caller)]
)


@internal.post("/reports/{report_id}/correction")
async def correction(report_id: str, body: CorrectionRequest, intake: IntakeDep) -> Response:
    """A triage desk or authority corrects the place or category; the router decides again."""
    try:
        found = await correct_report(intake, report_id, body)
    except OutsideNetherlandsError as error:
        return problem(422, "outside-netherlands", str(error))
    if not found:
        return problem(404, "no-report", "There is no report with this id.")
    return JSONResponse({"report_id": report_id, "status": "corrected"}, status_code=202)


@internal.post("/contacts")
async def contacts_for_mail(
    asked: ContactsAsked, intake: IntakeDep, base_url: BaseUrlDep
) -> Response:
    """The e-mail addresses for a round of notifications, to the notifier only (bearer
    token): ``{"report_ids": [...]}`` in, the reports whose resident asked for e-mail
    updates out; a report without a usable address is simply absent."""
    found = await intake.mail_contacts(asked.report_ids)
    contacts = {
        contact.report_id: {
            "email": contact.email,
            "language": contact.language,
            "unsubscribe_url": f"{base_url}/unsubscribe/{contact.report_id}/"
            f"{unsubscribe_token(intake.secret, contact.report_id)}",
        }
        for contact in found
    }
    return JSONResponse({"contacts": contacts})


mail_links = APIRouter(include_in_schema=False)  # pages a resident opens from a mail


def _plain_page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>",
        status,
    )


def _signed(secret: str, report_id: str, signature: str) -> bool:
    return hmac.compare_digest(unsubscribe_token(secret, report_id), signature)


UNKNOWN_LINK = ("Link onbekend", "Deze link klopt niet.", 404)


@mail_links.get("/unsubscribe/{report_id}/{signature}", response_class=HTMLResponse)
async def unsubscribe_page(report_id: str, signature: str, intake: IntakeDep) -> Response:
    if not _signed(intake.secret, report_id, signature):
        return _plain_page(*UNKNOWN_LINK)
    form = (
        '<form method="post"><p>Wilt u geen e-mails meer over deze melding? '
        '<i lang="en">No more e-mails about this report?</i></p>'
        '<button type="submit">Afmelden / Unsubscribe</button></form>'
    )
    return _plain_page("Afmelden", form)


@mail_links.post("/unsubscribe/{report_id}/{signature}", response_class=HTMLResponse)
async def unsubscribe(report_id: str, signature: str, intake: IntakeDep) -> Response:
    if not _signed(intake.secret, report_id, signature):
        return _plain_page(*UNKNOWN_LINK)
    await intake.stop_email_updates(report_id)
    return _plain_page(
        "Afgemeld",
        "<p>U krijgt geen e-mails meer over deze melding.</p>"
        '<p lang="en">You will get no more e-mails about this report.</p>',
    )
