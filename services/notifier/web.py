"""Server-rendered pages: the authority inbox and the resident's "is it solved?" answer.

The inbox signs in with the authority's API key and keeps a signed, HTTP-only cookie
(SameSite=Strict, so other sites cannot post forms with it). Feedback links carry an HMAC of
the leg and its cycle; the link shows a question and only a POST changes anything, so mail
scanners that open links do not reopen legs.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from schemas.leg import Actor, ActorKind, LegStatus
from schemas.report import Category
from services.notifier.actions import Legs
from services.notifier.authorities import authority_for_key
from services.notifier.mail import feedback_token
from services.notifier.models import Authority, CaseFile, DigestRecord, Leg, LegHistory
from services.notifier.transitions import ALLOWED, CLOSED, MAY_SET, TransitionError
from services.notifier.worktime import AMSTERDAM
from services.runtime import catalogue
from services.runtime.database import SessionFactory, engine_of, writing

COOKIE = "buursignaal_inbox"
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
catalogue.install(TEMPLATES.env, "nl")
TEMPLATES.env.filters["local"] = lambda moment: (
    moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M") if moment else ""
)


def render_digest(document: dict[str, Any], charts: dict[str, str]) -> str:
    """The digest page, rendered once at publication and archived as it was."""
    return TEMPLATES.get_template("digest.html").render(
        d=document, charts=charts, lang="nl", title="Overzicht voor de landelijke tafel"
    )


def _sign(secret: str, recipient_id: str) -> str:
    digest = hmac.new(secret.encode(), f"inbox:{recipient_id}".encode(), hashlib.sha256)
    return f"{recipient_id}.{digest.hexdigest()}"


def _signed_in(secret: str, cookie: str | None) -> str | None:
    if not cookie or "." not in cookie:
        return None
    recipient_id = cookie.rsplit(".", 1)[0]
    return recipient_id if hmac.compare_digest(_sign(secret, recipient_id), cookie) else None


def web_router(sessions: SessionFactory, legs: Legs, secret: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("lang", "nl")
        return TEMPLATES.TemplateResponse(request, name, context, status_code=code)

    async def current(request: Request) -> Authority | None:
        recipient_id = _signed_in(secret, request.cookies.get(COOKIE))
        if recipient_id is None:
            return None
        async with sessions() as session:
            return await session.get(Authority, recipient_id)

    @router.get("/inbox/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        return page(request, "login.html", title="Inbox voor instanties")

    @router.post("/inbox/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await request.form()
        key = str(form.get("api_key", ""))
        authority = await authority_for_key(sessions, key)
        if authority is None:
            return page(
                request, "login.html", 401, title="Inbox voor instanties",
                error="Deze API-sleutel is onbekend.",
            )  # fmt: skip
        response = RedirectResponse("/inbox", status_code=303)
        response.set_cookie(
            COOKIE, _sign(secret, authority.recipient_id), httponly=True, samesite="strict"
        )
        return response

    @router.post("/inbox/logout")
    async def logout() -> Response:
        response = RedirectResponse("/inbox/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/inbox", response_class=HTMLResponse)
    async def inbox(request: Request, status: str = "", category: str = "") -> Response:
        authority = await current(request)
        if authority is None:
            return RedirectResponse("/inbox/login", status_code=303)
        query = select(Leg).where(Leg.recipient_id == authority.recipient_id)
        if status in {s.value for s in LegStatus}:
            query = query.where(Leg.status == status)
        else:
            query = query.where(col(Leg.status).not_in([s.value for s in CLOSED]))
        if category in {c.value for c in Category}:
            query = query.where(Leg.category == category)
        query = query.order_by(col(Leg.next_due_at).is_(None), col(Leg.next_due_at)).limit(500)
        async with sessions() as session:
            found = list((await session.exec(query)).all())
        return page(
            request, "inbox.html", title="Meldingen", authority=authority, legs=found,
            statuses=[s.value for s in LegStatus], categories=[c.value for c in Category],
            status=status, category=category,
        )  # fmt: skip

    async def leg_page(
        request: Request, authority: Authority, leg_id: str, status: int = 200, **extra: Any
    ) -> Response:
        async with sessions() as session:
            leg = await session.get(Leg, leg_id)
            if leg is None or leg.recipient_id != authority.recipient_id:
                return HTMLResponse("Onbekende melding", status_code=404)
            history = list(
                (
                    await session.exec(
                        select(LegHistory)
                        .where(LegHistory.leg_id == leg_id)
                        .order_by(col(LegHistory.id))
                    )
                ).all()
            )
        allowed = sorted(
            s.value for s in ALLOWED[LegStatus(leg.status)] & MAY_SET[ActorKind.AUTHORITY]
        )
        return page(
            request, "leg.html", status, title=f"Melding {leg.report_id[:8]}", leg=leg,
            history=history, allowed=allowed, **extra,
        )  # fmt: skip

    @router.get("/inbox/legs/{leg_id}", response_class=HTMLResponse)
    async def leg_detail(request: Request, leg_id: str) -> Response:
        authority = await current(request)
        if authority is None:
            return RedirectResponse("/inbox/login", status_code=303)
        return await leg_page(request, authority, leg_id)

    @router.post("/inbox/legs/{leg_id}", response_class=HTMLResponse)
    async def answer(request: Request, leg_id: str) -> Response:
        authority = await current(request)
        if authority is None:
            return RedirectResponse("/inbox/login", status_code=303)
        form = await request.form()
        explanation = str(form.get("explanation", "")).strip() or None
        forwarded_to = str(form.get("forwarded_to", "")).strip() or None
        try:
            wanted = LegStatus(str(form.get("status", "")))
            async with writing(engine_of(sessions)), sessions() as session, session.begin():
                leg = await session.get(Leg, leg_id)
                if leg is None or leg.recipient_id != authority.recipient_id:
                    return HTMLResponse("Onbekende melding", status_code=404)
                actor = Actor(kind=ActorKind.AUTHORITY, actor_id=authority.recipient_id)
                await legs.change_status(
                    session, leg, wanted, actor, explanation=explanation, forwarded_to=forwarded_to
                )
        except (TransitionError, ValueError) as error:
            message = str(error) if isinstance(error, TransitionError) else "Kies een status."
            return await leg_page(
                request, authority, leg_id, 400, error=message, explanation=explanation
            )
        return RedirectResponse(f"/inbox/legs/{leg_id}", status_code=303)

    async def feedback_leg(leg_id: str, cycle: int, token: str) -> tuple[Leg, str] | None:
        if not hmac.compare_digest(feedback_token(secret, leg_id, cycle), token):
            return None
        async with sessions() as session:
            leg = await session.get(Leg, leg_id)
            case = await session.get(CaseFile, leg.report_id) if leg else None
        if leg is None:
            return None
        return leg, (case.language if case else "nl")

    @router.get("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
    async def feedback_page(
        request: Request, leg_id: str, cycle: int, token: str, answer: str = ""
    ) -> Response:
        found = await feedback_leg(leg_id, cycle, token)
        if found is None:
            return HTMLResponse("Onbekende link", status_code=404)
        _, lang = found
        title = "Uw melding" if lang == "nl" else "Your report"
        return page(request, "feedback.html", title=title, lang=lang, answer=answer)

    @router.post("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
    async def feedback(request: Request, leg_id: str, cycle: int, token: str) -> Response:
        found = await feedback_leg(leg_id, cycle, token)
        if found is None:
            return HTMLResponse("Onbekende link", status_code=404)
        _, lang = found
        solved = str((await request.form()).get("answer", "")) == "yes"
        title = "Uw melding" if lang == "nl" else "Your report"
        async with writing(engine_of(sessions)), sessions() as session, session.begin():
            leg = await session.get(Leg, leg_id)
            stale = leg is None or leg.cycle != cycle or leg.status not in {"resolved", "no_action"}
            if not stale and leg is not None:
                await legs.answer_feedback(session, leg, solved)
        if stale:
            done = (
                "Dit antwoord is al verwerkt." if lang == "nl" else "This answer was already taken."
            )
        elif solved:
            done = "Dank u. Fijn dat het is opgelost." if lang == "nl" else "Thank you."
        else:
            done = (
                "Dank u. De melding is heropend; de instantie moet opnieuw antwoorden."
                if lang == "nl"
                else "Thank you. The report is reopened; the authority must answer again."
            )
        return page(request, "feedback.html", title=title, lang=lang, done=done)

    @router.get("/digests/", response_class=HTMLResponse)
    async def digests(request: Request) -> Response:
        async with sessions() as session:
            found = (
                await session.exec(
                    select(DigestRecord).order_by(col(DigestRecord.published_at).desc())
                )
            ).all()
        return page(request, "digests.html", title="Overzichten", digests=found)

    @router.get("/digests/{digest_id}.json")
    async def digest_json(digest_id: str) -> Response:
        async with sessions() as session:
            record = await session.get(DigestRecord, digest_id)
        if record is None:
            return JSONResponse({"detail": "no such digest"}, status_code=404)
        return JSONResponse(record.document)

    @router.get("/digests/{digest_id}", response_class=HTMLResponse)
    async def digest_page(digest_id: str) -> Response:
        async with sessions() as session:
            record = await session.get(DigestRecord, digest_id)
        if record is None:
            return HTMLResponse("Onbekend overzicht", status_code=404)
        return HTMLResponse(record.html)

    return router
