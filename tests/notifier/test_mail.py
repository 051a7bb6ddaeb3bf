"""Resident mail: a plain text and an HTML part from the templates, and feedback links that
expire (itsdangerous, stamped by the notifier's clock). No broker: the leg is opened and closed
by the actions on SQLite, the link is followed through the feedback pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from schemas.leg import Actor, ActorKind, LegStatus
from services.notifier import web
from services.notifier.actions import Legs
from services.notifier.callers import install_refusals
from services.notifier.desk import Desk
from services.notifier.mail import FEEDBACK_LINK_S, Contact, Mailer, feedback_token
from services.notifier.models import Leg, MailJob, MailKind, MailStatus
from services.notifier.norms import Norms
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import FixedClock
from services.runtime.database import SessionFactory, make_engine, session_factory
from services.runtime.migrations import upgrade
from tests.support.factories import NOW, delivered, recipient, report_received

SECRET = "notifier-secret-for-tests-0123456789"
EXPLAINED = "Wij hebben de afzuiging hersteld; <de geur> is bij controle verdwenen & weg."
UNSUBSCRIBE = "http://intake.test/unsubscribe/abc?report=1&sig=2"


def mailer(clock: FixedClock, sessions: SessionFactory | None = None) -> Mailer:
    return Mailer(
        sessions=sessions,  # type: ignore[arg-type]  # composing reads no database
        clock=clock,
        secret=SECRET,
        intake_url="http://intake.test",
        internal_token="token",
        public_base_url="http://notifier.test/",
        smtp_host="127.0.0.1",
        smtp_port=25,
        mail_from="Buursignaal <noreply@buursignaal.nl>",
    )


def job(kind: str, context: dict[str, object]) -> MailJob:
    return MailJob(
        id=1,
        dedupe_key=f"{kind}:1",
        report_id="report-1",
        kind=MailKind(kind),
        context=context,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=NOW,
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


ROUTED = {
    "recipients": [
        {"name": "Gemeente Velsen", "nl": "bevoegd gezag", "en": "competent authority"},
        {"name": "OD <NZKG>", "nl": "voert het uit", "en": "carries it out"},
    ],
    "call_112": True,
    "referral_nl": "Bel ook de GGD.",
    "referral_en": "Call the GGD too.",
}


@pytest.mark.parametrize(
    ("kind", "context", "language", "text"),
    [
        (
            "routed",
            ROUTED,
            "nl",
            "Uw melding is doorgestuurd naar:\n- Gemeente Velsen: bevoegd gezag\n"
            "- OD <NZKG>: voert het uit\n\nIs er nu gevaar? Bel 112.\n\nBel ook de GGD.\n\n"
            f"Geen e-mails meer over deze melding? Afmelden: {UNSUBSCRIBE}\n",
        ),
        (
            "routed",
            {**ROUTED, "call_112": False, "referral_en": None},
            "en",
            "Your report was sent to:\n- Gemeente Velsen: competent authority\n"
            "- OD <NZKG>: carries it out\n\n"
            f"No more e-mails about this report? Unsubscribe: {UNSUBSCRIBE}\n",
        ),
        (
            "acknowledged",
            {"recipient_name": "Gemeente Velsen"},
            "nl",
            "Gemeente Velsen heeft uw melding ontvangen en bevestigd.\n\n"
            f"Geen e-mails meer over deze melding? Afmelden: {UNSUBSCRIBE}\n",
        ),
    ],
)
def test_a_mail_has_a_plain_text_and_an_html_part(
    kind: str, context: dict[str, object], language: str, text: str
) -> None:
    message = mailer(FixedClock(NOW)).compose(
        job(kind, context), Contact("buur@example.nl", language, UNSUBSCRIBE)
    )
    assert message.get_content_type() == "multipart/alternative"
    assert message["Content-Language"] == language
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    plain, html = parts(message)
    assert plain == text
    assert f'<html lang="{language}">' in html
    assert UNSUBSCRIBE.replace("&", "&amp;") in html


def test_the_closing_mail_links_to_the_question_and_escapes_the_html() -> None:
    context = {
        "recipient_name": "OD <NZKG>",
        "status": "resolved",
        "explanation": EXPLAINED,
        "leg_id": "leg-1",
        "cycle": 0,
    }
    message = mailer(FixedClock(NOW)).compose(
        job("closed", context), Contact("buur@example.nl", "nl", UNSUBSCRIBE)
    )
    plain, html = parts(message)
    token = feedback_token(SECRET, FixedClock(NOW), "leg-1", 0)
    link = f"http://notifier.test/feedback/leg-1/0/{token}"
    assert plain == (
        f"OD <NZKG> heeft uw melding afgehandeld.\n\nToelichting:\n{EXPLAINED}\n\n"
        f"Is het probleem opgelost?\nJa: {link}?answer=yes\nNee: {link}?answer=no\n\n"
        f"Geen e-mails meer over deze melding? Afmelden: {UNSUBSCRIBE}\n"
    )
    assert "<NZKG>" not in html
    assert "<de geur>" not in html
    assert "OD &lt;NZKG&gt; heeft uw melding afgehandeld." in html
    assert "&lt;de geur&gt; is bij controle verdwenen &amp; weg." in html
    assert f'<a href="{link}?answer=no">Nee</a>' in html


@dataclass
class Desked:
    clock: FixedClock
    sessions: SessionFactory
    client: httpx.AsyncClient


@pytest.fixture
async def desked(tmp_path: Path) -> AsyncIterator[Desked]:
    """The feedback pages on a notifier database, with a clock the test moves."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'notifier.sqlite'}"
    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    clock = FixedClock(NOW)
    sessions = session_factory(engine)
    app = FastAPI()
    app.include_router(web.router)
    install_refusals(app)
    app.state.desk = Desk(sessions, Legs(WorkingCalendar(), Norms(), clock), SECRET)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier.test") as c:
            yield Desked(clock, sessions, c)
    finally:
        await engine.dispose()


async def closing_link(world: Desked) -> tuple[str, str]:
    """Open a leg, resolve it, compose the closing mail: its leg and its "Nee" link's path."""
    legs = Legs(WorkingCalendar(), Norms(), world.clock)
    authority = Actor(kind=ActorKind.AUTHORITY, actor_id="gm0453")
    async with world.sessions() as session, session.begin():
        leg = await legs.open_leg(session, delivered(report_received(), recipient("gm0453")))
        await legs.change_status(session, leg, LegStatus.ACKNOWLEDGED, authority)
        await legs.change_status(session, leg, LegStatus.RESOLVED, authority, explanation=EXPLAINED)
    async with world.sessions() as session:
        closed = (await session.exec(select(MailJob).where(MailJob.kind == MailKind.CLOSED))).one()
    message = mailer(world.clock, world.sessions).compose(
        closed, Contact("buur@example.nl", "nl", UNSUBSCRIBE)
    )
    found = re.search(r"Nee: http://notifier\.test(\S+)\?answer=no", parts(message)[0])
    assert found is not None
    return leg.id, found.group(1)


async def test_a_feedback_link_expires_after_thirty_days(desked: Desked) -> None:
    leg_id, path = await closing_link(desked)
    assert (await desked.client.get(f"{path}?answer=no")).status_code == 200
    desked.clock.advance(timedelta(seconds=FEEDBACK_LINK_S))
    assert FEEDBACK_LINK_S == 30 * 24 * 3600
    page = await desked.client.get(path)
    assert page.status_code == 200, "valid for thirty days"
    assert "Is het probleem opgelost?" in page.text

    desked.clock.advance(timedelta(seconds=1))
    expired = await desked.client.get(path)
    assert expired.status_code == 404
    assert "Deze link kennen we niet" in expired.text, "a page in the resident's language"
    answered = await desked.client.post(path, data={"answer": "no"})
    assert answered.status_code == 404
    async with desked.sessions() as session:
        leg = await session.get(Leg, leg_id)
    assert leg is not None
    assert (leg.status, leg.cycle) == ("resolved", 0), "an expired link reopens nothing"


async def test_a_feedback_link_is_for_its_leg_and_cycle_only(desked: Desked) -> None:
    leg_id, path = await closing_link(desked)
    token = path.rsplit("/", 1)[1]
    for other in (
        f"/feedback/{leg_id}/1/{token}",  # another cycle
        f"/feedback/00000000-0000-0000-0000-000000000000/0/{token}",  # another leg
        f"/feedback/{leg_id}/0/{token[:-2]}xx",  # tampered
        f"/feedback/{leg_id}/0/{feedback_token('another-secret', desked.clock, leg_id, 0)}",
    ):
        assert (await desked.client.get(other)).status_code == 404, other
    answered = await desked.client.post(path, data={"answer": "no"})
    assert "heropend" in answered.text
