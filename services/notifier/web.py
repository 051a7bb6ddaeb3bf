"""Server-rendered pages: the authority inbox, the digests and the resident's "is it solved?".

People sign in to the inbox with OpenID Connect (``signin.py``, ADR 0016); every form of the
inbox carries the session's CSRF token. Feedback links carry a token
of the leg and its cycle (itsdangerous, valid for thirty days: ``mail.FEEDBACK_LINK_S``); the
link shows a question and only a POST changes anything, so mail scanners that open links do not
reopen legs. The pages only translate: queries and changes are
the desk's (``desk.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from authlib.integrations.starlette_client import OAuthError
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from schemas.incident import IncidentState
from schemas.leg import ActorKind, LegStatus
from schemas.report import Category
from services.notifier.authorities import authority_for_key
from services.notifier.callers import (
    SIGN_IN,
    CsrfChecked,
    DeskDep,
    InboxHandler,
    InboxPerson,
    SignInDep,
)
from services.notifier.delivered import delivered_report
from services.notifier.desk import Desk, Feedback, LegFilter, UnknownLegError
from services.notifier.inbox import (
    PAGE_SIZE,
    Row,
    Wanted,
    answerable,
    candidates,
    csv_text,
    export_record,
    geojson,
    incident_row,
    leg_row,
    remaining,
    urgency,
)
from services.notifier.incidents import UnknownIncidentError
from services.notifier.models import Leg
from services.notifier.norms import Obligation, obligation
from services.notifier.signin import (
    NotAllowedError,
    Person,
    csrf_token,
    person_from_claims,
    person_of_key,
)
from services.notifier.transitions import (
    ALLOWED,
    CLOSED,
    INFORMED_MAY_SET,
    MAY_SET,
    MIN_EXPLANATION,
    OPEN_ANSWERS,
    TransitionError,
)
from services.notifier.worktime import AMSTERDAM
from services.runtime import catalogue

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
catalogue.install(TEMPLATES.env, "nl")
TEMPLATES.env.filters["local"] = lambda moment: (
    moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if moment else ""
)
TEMPLATES.env.globals["remaining"] = remaining
TEMPLATES.env.globals["text"] = catalogue.text  # a text in the page's language: text(key, lang)


def _(key: str) -> str:
    return catalogue.text(key, "nl")


INBOX_TITLE = "Inbox voor instanties"
FEEDBACK_DONE = {
    Feedback.ALREADY_TAKEN: "feedback.already_taken",
    Feedback.SOLVED: "feedback.solved",
    Feedback.REOPENED: "feedback.reopened",
}

router = APIRouter(include_in_schema=False)


def render_digest(document: dict[str, Any], charts: dict[str, str]) -> str:
    """The digest page, rendered once at publication and archived as it was."""
    return TEMPLATES.get_template("digest.html").render(
        d=document, charts=charts, lang="nl", title="Overzicht voor de landelijke tafel"
    )


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("lang", "nl")
    if request.url.path.startswith("/inbox"):
        context.setdefault("csrf_token", csrf_token(request))
    return TEMPLATES.TemplateResponse(request, name, context, status_code=code)


def login_form(request: Request, sign_in: SignInDep, code: int = 200, **extra: Any) -> Response:
    oidc, keys = sign_in.provider is not None, sign_in.key_sign_in
    return page(request, "login.html", code, title=INBOX_TITLE, oidc=oidc, keys=keys, **extra)


@router.get("/inbox/login", response_class=HTMLResponse)
async def login_page(request: Request, sign_in: SignInDep) -> Response:
    return login_form(request, sign_in)


@router.get("/inbox/login/oidc")
async def login_oidc(request: Request, sign_in: SignInDep) -> Response:
    """To the provider's sign-in (Authorization Code with PKCE; Authlib keeps the verifier)."""
    if sign_in.provider is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    client = sign_in.provider.client
    response: Response = await client.authorize_redirect(request, sign_in.provider.redirect_uri)
    return response


@router.get("/inbox/auth")
async def login_callback(request: Request, sign_in: SignInDep) -> Response:
    """Back from the provider: the code exchanged, the ID token checked, a session opened."""
    if sign_in.provider is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    try:
        token = await sign_in.provider.client.authorize_access_token(request)
        person = person_from_claims(dict(token.get("userinfo") or {}))
    except OAuthError:
        error = "Inloggen is niet gelukt. Probeer het opnieuw."
        return login_form(request, sign_in, 401, error=error)
    except NotAllowedError:
        error = "Uw account is niet aan een organisatie en rol gekoppeld."
        return login_form(request, sign_in, 403, error=error)
    await sign_in.open(request, person, id_token=str(token.get("id_token") or "") or None)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def login(request: Request, desk: DeskDep, sign_in: SignInDep) -> Response:
    """Development sign-in with one of the organisation's API keys (never in production)."""
    if not sign_in.key_sign_in:
        return login_form(request, sign_in, 403, error="Inloggen met een API-sleutel is uit.")
    key = str((await request.form()).get("api_key", ""))
    found = await authority_for_key(desk.sessions, key, desk.legs.clock.now())
    if found is None:
        return login_form(request, sign_in, 401, error="Deze API-sleutel is onbekend.")
    authority, api_key = found
    await sign_in.open(request, person_of_key(authority, api_key), api_key_id=api_key.id)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/logout", dependencies=[CsrfChecked])
async def logout(request: Request, sign_in: SignInDep) -> Response:
    """End the session here and, for a provider's sign-in, at the provider too."""
    id_token = await sign_in.close(request)
    if id_token and sign_in.provider is not None:
        return RedirectResponse(await sign_in.provider.logout_url(id_token), status_code=303)
    return RedirectResponse(SIGN_IN, status_code=303)


async def wanted_of(
    status: str = "",
    category: str = "",
    overdue: str = "",
    page: Annotated[str, Query()] = "1",
) -> Wanted:
    """The filters from the query string; an unknown value is no filter, a bad page is 1."""
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    return Wanted(
        status=status if status in set(LegStatus) else "",
        category=category if category in set(Category) else "",
        overdue=overdue in ("1", "on", "true"),
        page=number,
    )


async def selection(desk: Desk, recipient_id: str, wanted: Wanted) -> tuple[list[Row], bool]:
    """The rows of one page (incidents on the first, then single legs) and whether more follow."""
    legs = await desk.legs_of(
        recipient_id,
        LegFilter(
            status=LegStatus(wanted.status) if wanted.status else None,
            category=wanted.category or None,
            open_only=True,
            overdue_only=wanted.overdue,
            outside_incidents=True,
            limit=PAGE_SIZE + 1,
            offset=(wanted.page - 1) * PAGE_SIZE,
        ),
    )
    rows = [leg_row(leg) for leg in legs[:PAGE_SIZE]]
    if wanted.page == 1:
        incidents = await desk.incidents_of(recipient_id)
        members = await desk.incident_legs(recipient_id, [i.id for i in incidents])
        found = [(incident_row(i, members[i.id]), members[i.id]) for i in incidents]
        chosen = sorted((r for r, m in found if wanted.incident_matches(r, m)), key=urgency)
        rows = chosen + sorted(rows, key=urgency)
    return rows, len(legs) > PAGE_SIZE


Selected = Annotated[Wanted, Depends(wanted_of)]


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, person: InboxPerson, desk: DeskDep, wanted: Selected) -> Response:
    rows, more = await selection(desk, person.recipient_id, wanted)
    context: dict[str, Any] = {
        "person": person,
        "rows": rows,
        "now": desk.legs.clock.now(),
        "wanted": wanted,
        "more": more,
        "statuses": [s.value for s in LegStatus if s not in CLOSED],
        "categories": [c.value for c in Category],
    }
    return page(request, "inbox.html", title=_("inbox.title"), **context)


def words_of(row: Row) -> dict[str, str]:
    """The Dutch words of a row's category, subtype and status, for the exports."""
    status = (
        _("inbox.incidents.state." + row.status)
        if row.kind == "incident"
        else catalogue.label(row.status, "LegStatus")
    )
    words = {"category": catalogue.label(row.category, "Category"), "status": status}
    if row.subtype:
        words["subtype"] = catalogue.label(row.subtype, "Subtype")
    return words


async def exported(
    person: Person, desk: Desk, wanted: Wanted
) -> tuple[list[Row], list[dict[str, Any]]]:
    """The inbox's current selection (its filters and page) as export records."""
    rows, _more = await selection(desk, person.recipient_id, wanted)
    return rows, [export_record(row, words_of(row)) for row in rows]


@router.get("/inbox/export.csv")
async def export_csv(person: InboxPerson, desk: DeskDep, wanted: Selected) -> Response:
    """The selection as CSV (UTF-8, comma-separated): no personal data."""
    _rows, records = await exported(person, desk, wanted)
    return Response(
        csv_text(records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="meldkamer.csv"'},
    )


@router.get("/inbox/export.geojson")
async def export_geojson(person: InboxPerson, desk: DeskDep, wanted: Selected) -> Response:
    """The selection as GeoJSON (RFC 7946, WGS84, points coarsened): no personal data."""
    rows, records = await exported(person, desk, wanted)
    return JSONResponse(
        geojson(rows, records),
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="meldkamer.geojson"'},
    )


INCIDENT_ANSWERS = (
    LegStatus.ACKNOWLEDGED,
    LegStatus.IN_PROGRESS,
    LegStatus.RESOLVED,
    LegStatus.NO_ACTION,
)  # as the API's IncidentAnswerIn


async def incident_page(
    request: Request,
    person: Person,
    desk: DeskDep,
    incident_id: str,
    code: int = 200,
    **extra: Any,
) -> Response:
    try:
        incident, legs, moves = await desk.incident(person.recipient_id, incident_id)
    except UnknownIncidentError:
        return HTMLResponse(_("inbox.incident.unknown"), status_code=404)
    row = incident_row(incident, legs)
    rows = sorted((leg_row(leg) for leg in legs), key=urgency)
    timeline = [(r.observed_at, _("inbox.incident.observed") % {"ref": r.ref}) for r in rows
                if r.observed_at is not None]  # fmt: skip
    timeline += [(m.at, _("inbox.incident.moved") % {"reason": m.reason}) for m in moves]
    open_legs = any(answerable(leg.status) for leg in legs)
    may_answer = person.may_change and open_legs and incident.state != IncidentState.MERGED
    context = {
        "title": _("inbox.incident.title") % {"count": row.reports},
        "incident": incident,
        "row": row,
        "legs": rows,
        "timeline": sorted(timeline, key=lambda entry: entry[0]),
        "points": [
            {
                "lat": lat,
                "lon": lon,
                "radius_m": 250,
                "label": catalogue.label(row.category, "Category"),
            }
            for lat, lon in row.points
        ],
        "answers": [s.value for s in INCIDENT_ANSWERS] if may_answer else [],
        "person": person,
    }
    return page(request, "incident.html", code, **context, **extra)


@router.get("/inbox/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_detail(
    request: Request, incident_id: str, person: InboxPerson, desk: DeskDep
) -> Response:
    return await incident_page(request, person, desk, incident_id)


@router.post(
    "/inbox/incidents/{incident_id}", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def answer_incident(
    request: Request, incident_id: str, person: InboxHandler, desk: DeskDep
) -> Response:
    """The API's use case (``Desk.answer_incident``) with the person as the actor."""
    form = await request.form()
    explanation = str(form.get("explanation", "")).strip() or None
    chosen = str(form.get("status", ""))
    wanted = next((s for s in INCIDENT_ANSWERS if s.value == chosen), None)
    error = incident_answer_error(wanted, explanation)
    if wanted is None or error:
        again = {"error": error, "explanation": explanation, "chosen": chosen}
        return await incident_page(request, person, desk, incident_id, 400, **again)
    try:
        outcome = await desk.answer_incident(
            person.recipient_id, incident_id, wanted, explanation, actor=person.actor()
        )
    except UnknownIncidentError:
        return HTMLResponse(_("inbox.incident.unknown"), status_code=404)
    done = _("inbox.incident.done") % {"changed": len(outcome.changed), "left": len(outcome.left)}
    return await incident_page(request, person, desk, incident_id, done=done)


def incident_answer_error(wanted: LegStatus | None, explanation: str | None) -> str:
    """Why the answer cannot be sent (empty: it can), in the catalogue's words."""
    if wanted is None:
        return _("inbox.incident.choose")
    if wanted in OPEN_ANSWERS and len(explanation or "") < MIN_EXPLANATION:
        return _("inbox.incident.explain") % {"count": MIN_EXPLANATION}
    return ""


async def leg_page(
    request: Request,
    person: Person,
    desk: DeskDep,
    leg_id: str,
    code: int = 200,
    **extra: Any,
) -> Response:
    leg, history = await desk.leg_with_history(person.recipient_id, leg_id)
    may_set = ALLOWED[LegStatus(leg.status)] & MAY_SET[ActorKind.AUTHORITY]
    if obligation(leg.role) is Obligation.INFORMED:
        may_set &= INFORMED_MAY_SET
    context = {
        "title": f"Melding {leg.report_id[:8]}",
        "leg": leg,
        "report": delivered_report(leg.delivery),
        "history": history,
        "person": person,
        "allowed": sorted(s.value for s in may_set) if person.may_change else [],
        "obligation": obligation(leg.role).value,
        "case": await desk.shared_case(person.recipient_id, leg_id),
        "may_lead": obligation(leg.role) is Obligation.ANSWER,
        "candidates": candidates(leg.delivery),
        "points": leg_points(leg),
    }
    return page(request, "leg.html", code, **context, **extra)


def leg_points(leg: Leg) -> list[dict[str, Any]]:
    """The leg page's map: the report's coarsened point, then each candidate source."""
    row = leg_row(leg)
    points = [{"lat": lat, "lon": lon, "radius_m": 250, "label": _("inbox.leg.map_report")}
              for lat, lon in row.points]  # fmt: skip
    for found in candidates(leg.delivery):
        if found.lat is not None and found.lon is not None:
            points.append({"lat": found.lat, "lon": found.lon, "radius_m": 60, "label": found.name})
    return points


@router.get("/inbox/legs/{leg_id}", response_class=HTMLResponse)
async def leg_detail(request: Request, leg_id: str, person: InboxPerson, desk: DeskDep) -> Response:
    return await leg_page(request, person, desk, leg_id)


@router.post("/inbox/legs/{leg_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def answer(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    form = await request.form()
    explanation = str(form.get("explanation", "")).strip() or None
    forwarded_to = str(form.get("forwarded_to", "")).strip() or None
    try:
        wanted = LegStatus(str(form.get("status", "")))
        await desk.answer(
            person.recipient_id,
            leg_id,
            wanted,
            explanation=explanation,
            forwarded_to=forwarded_to,
            actor=person.actor(),
            seen_answers_of=frozenset(str(v) for v in form.getlist("seen")),
        )
    except (TransitionError, ValueError) as error:
        message = str(error) if isinstance(error, TransitionError) else "Kies een status."
        return await leg_page(
            request, person, desk, leg_id, 400, error=message, explanation=explanation
        )
    return RedirectResponse(f"/inbox/legs/{leg_id}", status_code=303)


@router.post("/inbox/legs/{leg_id}/lead", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def take_lead(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    try:
        await desk.take_lead(person.recipient_id, leg_id, actor=person.actor())
    except TransitionError as error:
        return await leg_page(request, person, desk, leg_id, 400, error=str(error))
    return RedirectResponse(f"/inbox/legs/{leg_id}", status_code=303)


@router.post("/inbox/legs/{leg_id}/notes", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def add_note(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    note = str((await request.form()).get("note", ""))
    try:
        await desk.note(person.recipient_id, leg_id, note, actor=person.actor())
    except TransitionError as error:
        return await leg_page(request, person, desk, leg_id, 400, error=str(error))
    return RedirectResponse(f"/inbox/legs/{leg_id}", status_code=303)


def feedback_page_for(
    request: Request, lang: str, code: int = 200, heading: str = "feedback.title", **context: Any
) -> HTMLResponse:
    """The resident's "is it solved?" page in their language (texts: ``feedback.*``)."""

    def t(key: str) -> str:
        return catalogue.text(key, lang)

    return page(request, "feedback.html", code, title=t(heading), lang=lang, t=t, **context)


async def _feedback_language(desk: Desk, leg_id: str, cycle: int, token: str) -> str | None:
    """The resident's language for a valid link; None for a link expired or not signed."""
    try:
        return await desk.feedback_language(leg_id, cycle, token)
    except UnknownLegError:
        return None


def _unknown_link(request: Request) -> HTMLResponse:
    lang = "en" if request.headers.get("accept-language", "").lower().startswith("en") else "nl"
    if request.query_params.get("lang") in ("nl", "en"):
        lang = request.query_params["lang"]
    return feedback_page_for(request, lang, 404, "feedback.unknown_title", unknown=True)


@router.get("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
async def feedback_page(
    request: Request, leg_id: str, cycle: int, token: str, desk: DeskDep, answer: str = ""
) -> Response:
    lang = await _feedback_language(desk, leg_id, cycle, token)
    if lang is None:
        return _unknown_link(request)
    return feedback_page_for(request, lang, answer=answer)


@router.post("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
async def feedback(
    request: Request, leg_id: str, cycle: int, token: str, desk: DeskDep
) -> Response:
    lang = await _feedback_language(desk, leg_id, cycle, token)
    if lang is None:
        return _unknown_link(request)
    solved = str((await request.form()).get("answer", "")) == "yes"
    outcome = await desk.take_feedback(leg_id, cycle, solved)
    return feedback_page_for(request, lang, done=catalogue.text(FEEDBACK_DONE[outcome], lang))


@router.get("/digests/", response_class=HTMLResponse)
async def digests(request: Request, desk: DeskDep) -> Response:
    return page(request, "digests.html", title="Overzichten", digests=await desk.digests())


@router.get("/digests/{digest_id}.json")
async def digest_json(digest_id: str, desk: DeskDep) -> Response:
    record = await desk.digest(digest_id)
    if record is None:
        return JSONResponse({"detail": "no such digest"}, status_code=404)
    return JSONResponse(record.document)


@router.get("/digests/{digest_id}", response_class=HTMLResponse)
async def digest_page(digest_id: str, desk: DeskDep) -> Response:
    record = await desk.digest(digest_id)
    if record is None:
        return HTMLResponse("Onbekend overzicht", status_code=404)
    return HTMLResponse(record.html)
