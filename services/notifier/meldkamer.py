"""The meldkamer workspace's pages: the inbox list, one screen per incident and per report,
the exports and the small JSON answers the pages' script polls (``docs/inbox.md``).

Dutch by default, English with ``?lang=en`` (kept in a cookie, so every link and redirect
stays in it) or an English browser; every word comes from the catalogue. Every POST that
changes something answers 303 to the screen it came from with a flash message (post, redirect,
get); a refused one shows the same screen again with the error and what was typed (400). The
rows are ``inbox.py``'s, the changes the desk's (``desk.py``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import select

from schemas.incident import IncidentState
from schemas.leg import ActorKind, LegStatus
from schemas.report import Category
from schemas.routing import RECIPIENT_ID_PATTERN
from services.notifier import inbox
from services.notifier.callers import CsrfChecked, DeskDep, InboxHandler, InboxPerson
from services.notifier.delivered import delivered_report
from services.notifier.desk import Desk, OtherAnswerFirstError
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
    urgency,
)
from services.notifier.incidents import UnknownIncidentError
from services.notifier.models import Authority, Leg
from services.notifier.norms import Obligation, obligation
from services.notifier.signin import Person
from services.notifier.transitions import (
    ALLOWED,
    CLOSED,
    INFORMED_MAY_SET,
    MAY_SET,
    MIN_EXPLANATION,
    OPEN_ANSWERS,
    TransitionError,
)
from services.notifier.web import FLASH, inbox_language, page
from services.runtime import catalogue

router = APIRouter(include_in_schema=False)
FORWARD = "forward"  # an incident's "forward": not ours, naming the body we think it is for
S = LegStatus
# the answers in the order the forms offer them
ANSWER_ORDER = (
    S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_FOR_RESIDENT, S.RESOLVED, S.NO_ACTION, S.NOT_OURS,
    S.FORWARDED,
)  # fmt: skip
INCIDENT_ANSWERS = (
    S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_FOR_RESIDENT, S.RESOLVED, S.NO_ACTION, S.NOT_OURS,
)  # fmt: skip
RECIPIENT_ID = re.compile(RECIPIENT_ID_PATTERN)


def language(request: Request) -> str:
    return inbox_language(request)


def say(request: Request, key: str, **values: Any) -> str:
    """A catalogue text in the page's language, its placeholders filled."""
    text = catalogue.text(key, language(request))
    return text % values if values else text


def flash(request: Request, message: str, to: str) -> Response:
    """After a change: to the screen (303), which shows ``message`` once."""
    request.session[FLASH] = message
    return RedirectResponse(to, status_code=303)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def wanted_of(
    status: str = "",
    category: str = "",
    facility: str = "",
    since: str = "",
    until: str = "",
    q: Annotated[str, Query(max_length=200)] = "",
    overdue: str = "",
    page: Annotated[str, Query()] = "1",
) -> Wanted:
    """The filters from the query string; an unknown value is no filter, a bad page is 1."""
    number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    return Wanted(
        status=status if status in set(LegStatus) else "",
        category=category if category in set(Category) else "",
        facility=facility if re.fullmatch(r"[\w.:-]{1,80}", facility) else "",
        since=_day(since),
        until=_day(until),
        text=" ".join(q.split()),
        overdue=overdue in ("1", "on", "true"),
        page=number,
    )


Selected = Annotated[Wanted, Depends(wanted_of)]


async def selection(desk: Desk, recipient_id: str, wanted: Wanted) -> tuple[list[Row], bool]:
    """The rows of one page (incidents on the first, then single legs) and whether more follow."""
    async with desk.sessions() as session:
        legs = await inbox.single_legs(
            session, recipient_id, wanted, PAGE_SIZE + 1, (wanted.page - 1) * PAGE_SIZE
        )
    rows = [leg_row(leg) for leg in legs[:PAGE_SIZE]]
    if wanted.page == 1:
        incidents = await desk.incidents_of(recipient_id)
        members = await desk.incident_legs(recipient_id, [i.id for i in incidents])
        found = [(incident_row(i, members[i.id]), i, members[i.id]) for i in incidents]
        chosen = [r for r, i, m in found if wanted.incident_matches(r, i, m)]
        rows = sorted(chosen, key=urgency) + sorted(rows, key=urgency)
    return rows, len(legs) > PAGE_SIZE


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_list(
    request: Request, person: InboxPerson, desk: DeskDep, wanted: Selected
) -> Response:
    rows, more = await selection(desk, person.recipient_id, wanted)
    async with desk.sessions() as session:
        sources = await inbox.facilities(session, person.recipient_id)
        stamp = await inbox.version(session, person.recipient_id)
    context: dict[str, Any] = {
        "person": person,
        "rows": rows,
        "now": desk.legs.clock.now(),
        "wanted": wanted,
        "more": more,
        "statuses": [s.value for s in LegStatus if s not in CLOSED],
        "categories": [c.value for c in Category],
        "facilities": sources,
        "version": stamp,
    }
    return page(request, "inbox.html", title=say(request, "inbox.title"), **context)


@router.get("/inbox/version.json")
async def inbox_version(person: InboxPerson, desk: DeskDep) -> Response:
    """The stamp of the body's legs: the pages' script polls it and refreshes when it moves."""
    async with desk.sessions() as session:
        stamp = await inbox.version(session, person.recipient_id)
    return JSONResponse({"version": stamp}, headers={"Cache-Control": "no-store"})


def words_of(row: Row, lang: str) -> dict[str, str]:
    """The words of a row's category, subtype and status, for the exports."""
    prefix = "inbox.incidents.state." if row.kind == "incident" else "inbox.status."
    words = {
        "category": catalogue.label(row.category, "Category", lang),
        "status": catalogue.text(prefix + row.status, lang),
    }
    if row.subtype:
        words["subtype"] = catalogue.label(row.subtype, "Subtype", lang)
    return words


async def exported(
    request: Request, person: Person, desk: Desk, wanted: Wanted
) -> tuple[list[Row], list[dict[str, Any]]]:
    """The inbox's current selection (its filters and page) as export records."""
    rows, _more = await selection(desk, person.recipient_id, wanted)
    lang = language(request)
    return rows, [export_record(row, words_of(row, lang)) for row in rows]


@router.get("/inbox/export.csv")
async def export_csv(
    request: Request, person: InboxPerson, desk: DeskDep, wanted: Selected
) -> Response:
    """The selection as CSV (UTF-8, comma-separated): no personal data, no descriptions."""
    _rows, records = await exported(request, person, desk, wanted)
    return Response(
        csv_text(records),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="meldkamer.csv"'},
    )


@router.get("/inbox/export.geojson")
async def export_geojson(
    request: Request, person: InboxPerson, desk: DeskDep, wanted: Selected
) -> Response:
    """The selection as GeoJSON (RFC 7946, WGS84, points coarsened): no personal data."""
    rows, records = await exported(request, person, desk, wanted)
    return JSONResponse(
        geojson(rows, records),
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="meldkamer.geojson"'},
    )


# -- the map's points --------------------------------------------------------------------------


def report_points(request: Request, rows: list[Row]) -> list[dict[str, Any]]:
    label = say(request, "inbox.leg.map_report")
    return [{"lat": lat, "lon": lon, "radius_m": 250, "label": f"{label}: {row.ref}",
             "kind": "report"} for row in rows for lat, lon in row.points]  # fmt: skip


def source_points(legs: list[Leg]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for leg in legs:
        for found in candidates(leg.delivery):
            if found.lat is not None and found.lon is not None and found.name not in seen:
                seen[found.name] = {"lat": found.lat, "lon": found.lon, "radius_m": 60,
                                    "label": found.name, "kind": "source"}  # fmt: skip
    return list(seen.values())


def nearby_points(request: Request, near: list[inbox.Nearby]) -> list[dict[str, Any]]:
    label = say(request, "inbox.nearby.map_label")
    return [{"lat": lat, "lon": lon, "radius_m": 250, "label": f"{label}: {n.row.ref}",
             "kind": "nearby"} for n in near for lat, lon in n.row.points]  # fmt: skip


def feature_collection(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                "properties": {k: v for k, v in p.items() if k not in ("lat", "lon")},
            }
            for p in points
        ],
    }


# -- an incident -------------------------------------------------------------------------------


async def incident_view(
    request: Request, person: Person, desk: Desk, incident_id: str
) -> dict[str, Any] | None:
    try:
        incident, legs, moves = await desk.incident(person.recipient_id, incident_id)
    except UnknownIncidentError:
        return None
    row = incident_row(incident, legs)
    rows = sorted((leg_row(leg) for leg in legs), key=urgency)
    async with desk.sessions() as session:
        near = await inbox.nearby(session, person.recipient_id, legs, {leg.id for leg in legs})
    timeline = [(r.observed_at, say(request, "inbox.incident.observed", ref=r.ref)) for r in rows
                if r.observed_at is not None]  # fmt: skip
    timeline += [(m.at, say(request, "inbox.incident.moved", reason=m.reason)) for m in moves]
    points = report_points(request, rows) + source_points(legs) + nearby_points(request, near)
    return {
        "incident": incident,
        "row": row,
        "legs": rows,
        "timeline": sorted(timeline, key=lambda entry: inbox.utc(entry[0])),
        "points": points,
        "nearby": near,
        "open_legs": any(answerable(leg.status) for leg in legs),
        "candidates": _merged_candidates(legs),
    }


def _merged_candidates(legs: list[Leg]) -> list[inbox.Candidate]:
    best: dict[str, inbox.Candidate] = {}
    for leg in legs:
        for found in candidates(leg.delivery):
            if found.name not in best or found.distance_km < best[found.name].distance_km:
                best[found.name] = found
    return sorted(best.values(), key=lambda c: c.distance_km)


async def incident_page(
    request: Request, person: Person, desk: Desk, incident_id: str, code: int = 200, **extra: Any
) -> Response:
    view = await incident_view(request, person, desk, incident_id)
    if view is None:
        return HTMLResponse(say(request, "inbox.incident.unknown"), status_code=404)
    incident = view["incident"]
    may_answer = person.may_change and view["open_legs"] and incident.state != IncidentState.MERGED
    async with desk.sessions() as session:
        stamp = await inbox.version(session, person.recipient_id)
    context = {
        **view,
        "title": say(request, "inbox.incident.title", count=view["row"].reports),
        "answers": [*(s.value for s in INCIDENT_ANSWERS), FORWARD] if may_answer else [],
        "authorities": await known_authorities(desk, person.recipient_id),
        "person": person,
        "version": stamp,
    }
    return page(request, "incident.html", code, **context, **extra)


@router.get("/inbox/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_detail(
    request: Request, incident_id: str, person: InboxPerson, desk: DeskDep
) -> Response:
    return await incident_page(request, person, desk, incident_id)


@router.get("/inbox/incidents/{incident_id}/map.geojson")
async def incident_map(
    request: Request, incident_id: str, person: InboxPerson, desk: DeskDep
) -> Response:
    """Everything the incident's map shows, in one request: the reports' coarsened points,
    the candidate sources and the nearby reports (``kind``), and the wind."""
    view = await incident_view(request, person, desk, incident_id)
    if view is None:
        return JSONResponse({"detail": say(request, "inbox.incident.unknown")}, status_code=404)
    incident = view["incident"]
    body = feature_collection(view["points"])
    body["wind"] = {"from_deg": incident.wind_from_deg, "speed_ms": incident.wind_speed_ms}
    return JSONResponse(body, media_type="application/geo+json")


@router.post(
    "/inbox/incidents/{incident_id}", response_class=HTMLResponse, dependencies=[CsrfChecked]
)
async def answer_incident(
    request: Request, incident_id: str, person: InboxHandler, desk: DeskDep
) -> Response:
    """The API's use case (``Desk.answer_incident``) with the person as the actor. "Forward"
    is "not ours" with the body the authority names written into the explanation (and so
    into every leg's history and the residents' tracking pages)."""
    form = await request.form()
    explanation = str(form.get("explanation", "")).strip() or None
    chosen = str(form.get("status", ""))
    suggested = str(form.get("suggested", "")).strip()
    error = incident_answer_error(request, chosen, explanation, suggested)
    if error:
        again = {"error": error, "explanation": explanation, "chosen": chosen,
                 "suggested": suggested}  # fmt: skip
        return await incident_page(request, person, desk, incident_id, 400, **again)
    wanted = S.NOT_OURS if chosen == FORWARD else S(chosen)
    if chosen == FORWARD:
        name = await authority_name(desk, suggested)
        explanation = f"{explanation}\n{say(request, 'inbox.answer.suggested', body=name)}"
    try:
        outcome = await desk.answer_incident(
            person.recipient_id, incident_id, wanted, explanation, actor=person.actor()
        )
    except UnknownIncidentError:
        return HTMLResponse(say(request, "inbox.incident.unknown"), status_code=404)
    done = say(request, "inbox.incident.done", changed=len(outcome.changed), left=len(outcome.left))
    return flash(request, done, f"/inbox/incidents/{incident_id}")


def incident_answer_error(
    request: Request, chosen: str, explanation: str | None, suggested: str
) -> str:
    """Why the answer cannot be sent (empty: it can), in the catalogue's words."""
    if chosen not in {*(s.value for s in INCIDENT_ANSWERS), FORWARD}:
        return say(request, "inbox.incident.choose")
    return answer_error(request, S.NOT_OURS if chosen == FORWARD else S(chosen),
                        explanation, suggested if chosen == FORWARD else None,
                        forwarding=chosen == FORWARD)  # fmt: skip


def answer_error(
    request: Request,
    wanted: LegStatus,
    explanation: str | None,
    forwarded_to: str | None,
    forwarding: bool = False,
) -> str:
    """The checks the transition table makes, said in the page's language beforehand."""
    text = explanation or ""
    if wanted in OPEN_ANSWERS and len(text) < MIN_EXPLANATION:
        return say(request, "inbox.incident.explain", count=MIN_EXPLANATION)
    if wanted is S.WAITING_FOR_RESIDENT and not text:
        return say(request, "inbox.answer.question_needed")
    if wanted in (S.NOT_OURS, S.FORWARDED) and not text:
        return say(request, "inbox.answer.reason_needed")
    if (wanted is S.FORWARDED or forwarding) and not RECIPIENT_ID.fullmatch(forwarded_to or ""):
        return say(request, "inbox.answer.recipient_needed")
    return ""


async def known_authorities(desk: Desk, recipient_id: str) -> list[tuple[str, str]]:
    """The bodies the notifier knows (id, name): the choices to forward to."""
    async with desk.sessions() as session:
        found = (await session.exec(select(Authority).order_by(Authority.name))).all()
    return [(a.recipient_id, a.name) for a in found if a.recipient_id != recipient_id]


async def authority_name(desk: Desk, recipient_id: str) -> str:
    async with desk.sessions() as session:
        found = await session.get(Authority, recipient_id)
    return f"{found.name} ({recipient_id})" if found else recipient_id


# -- a single report ---------------------------------------------------------------------------


async def leg_page(
    request: Request, person: Person, desk: Desk, leg_id: str, code: int = 200, **extra: Any
) -> Response:
    leg, history = await desk.leg_with_history(person.recipient_id, leg_id)
    may_set = ALLOWED[LegStatus(leg.status)] & MAY_SET[ActorKind.AUTHORITY]
    if obligation(leg.role) is Obligation.INFORMED:
        may_set &= INFORMED_MAY_SET
    async with desk.sessions() as session:
        near = await inbox.nearby(session, person.recipient_id, [leg], {leg.id})
        stamp = await inbox.version(session, person.recipient_id)
    row = leg_row(leg)
    context = {
        "title": say(request, "inbox.leg.title", ref=row.ref),
        "leg": leg,
        "row": row,
        "report": delivered_report(leg.delivery),
        "history": history,
        "person": person,
        "allowed": [s.value for s in ANSWER_ORDER if s in may_set] if person.may_change else [],
        "obligation": obligation(leg.role).value,
        "case": await desk.shared_case(person.recipient_id, leg_id),
        "may_lead": obligation(leg.role) is Obligation.ANSWER,
        "candidates": candidates(leg.delivery),
        "points": report_points(request, [row])
        + source_points([leg])
        + nearby_points(request, near),
        "nearby": near,
        "authorities": await known_authorities(desk, person.recipient_id),
        "version": stamp,
    }
    return page(request, "leg.html", code, **context, **extra)


@router.get("/inbox/legs/{leg_id}", response_class=HTMLResponse)
async def leg_detail(request: Request, leg_id: str, person: InboxPerson, desk: DeskDep) -> Response:
    return await leg_page(request, person, desk, leg_id)


@router.post("/inbox/legs/{leg_id}", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def answer(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    form = await request.form()
    explanation = str(form.get("explanation", "")).strip() or None
    forwarded_to = str(form.get("forwarded_to", "")).strip() or None
    chosen = str(form.get("status", ""))
    again = {"explanation": explanation, "chosen": chosen, "forwarded": forwarded_to}
    if chosen not in set(LegStatus):
        return await leg_page(request, person, desk, leg_id, 400,
                              error=say(request, "inbox.incident.choose"), **again)  # fmt: skip
    wanted = LegStatus(chosen)
    if error := answer_error(request, wanted, explanation, forwarded_to):
        return await leg_page(request, person, desk, leg_id, 400, error=error, **again)
    try:
        await desk.answer(
            person.recipient_id,
            leg_id,
            wanted,
            explanation=explanation,
            forwarded_to=forwarded_to if wanted is S.FORWARDED else None,
            actor=person.actor(),
            seen_answers_of=frozenset(str(v) for v in form.getlist("seen")),
        )
    except OtherAnswerFirstError:
        error = say(request, "inbox.answer.other_first")
        return await leg_page(request, person, desk, leg_id, 400, error=error, **again)
    except TransitionError:
        error = say(request, "inbox.answer.not_allowed")
        return await leg_page(request, person, desk, leg_id, 400, error=error, **again)
    done = say(request, "inbox.answer.done", status=say(request, "inbox.status." + wanted.value))
    return flash(request, done, f"/inbox/legs/{leg_id}")


@router.post("/inbox/legs/{leg_id}/lead", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def take_lead(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    try:
        await desk.take_lead(person.recipient_id, leg_id, actor=person.actor())
    except TransitionError:
        error = say(request, "inbox.answer.not_allowed")
        return await leg_page(request, person, desk, leg_id, 400, error=error)
    return flash(request, say(request, "inbox.case.lead_taken"), f"/inbox/legs/{leg_id}")


@router.post("/inbox/legs/{leg_id}/notes", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def add_note(request: Request, leg_id: str, person: InboxHandler, desk: DeskDep) -> Response:
    note = str((await request.form()).get("note", ""))
    try:
        await desk.note(person.recipient_id, leg_id, note, actor=person.actor())
    except TransitionError:
        error = say(request, "inbox.leg.note_empty")
        return await leg_page(request, person, desk, leg_id, 400, error=error)
    return flash(request, say(request, "inbox.leg.note_saved"), f"/inbox/legs/{leg_id}")
