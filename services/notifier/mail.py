"""Mail to residents: jobs in the database, sent by a background loop through SMTP.

The address is asked from intake at the moment of sending (bearer token) and is neither stored
nor logged here. A job is one mail (its dedupe key makes a second job impossible); it is marked
sent right after the SMTP server accepted it. When the server or intake is unreachable the job
waits with a growing delay (up to an hour) and is tried again, indefinitely; a resident who did
not opt in (intake answers 404) makes the job ``skipped``. The Message-ID is derived from the
job, so a mail sent again after a crash in the moment between acceptance and marking carries
the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
from sqlmodel import col, select

from services.notifier.metrics import MAILS
from services.notifier.models import MailJob
from services.runtime.clock import Clock
from services.runtime.database import SessionFactory, engine_of, writing

log = logging.getLogger(__name__)
MAX_DELAY = timedelta(hours=1)


def feedback_token(secret: str, leg_id: str, cycle: int) -> str:
    message = f"feedback:{leg_id}:{cycle}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Contact:
    email: str
    language: str
    unsubscribe_url: str


class NoContactError(Exception):
    """The resident did not opt in to mail (or unsubscribed, or the address was erased)."""


@dataclass
class Mailer:
    sessions: SessionFactory
    clock: Clock
    secret: str
    intake_url: str
    internal_token: str
    public_base_url: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    smtp_timeout_s: float = 10.0

    async def contact(self, report_id: str) -> Contact:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(
                f"{self.intake_url.rstrip('/')}/internal/v1/reports/{report_id}/contact",
                headers={"Authorization": f"Bearer {self.internal_token}"},
            )
        if response.status_code == 404:
            raise NoContactError(report_id)
        response.raise_for_status()
        body = response.json()
        return Contact(body["email"], body.get("language", "nl"), body["unsubscribe_url"])

    async def send_due(self, limit: int = 100) -> int:
        """Try every job whose time has come; return how many were sent."""
        now = self.clock.now()
        async with self.sessions() as session:
            jobs = list(
                (
                    await session.exec(
                        select(MailJob)
                        .where(MailJob.status == "pending", col(MailJob.next_attempt_at) <= now)
                        .order_by(col(MailJob.id))
                        .limit(limit)
                    )
                ).all()
            )
        sent = 0
        for job in jobs:
            sent += await self._attempt(job)
        return sent

    async def _attempt(self, job: MailJob) -> int:
        outcome, error = "sent", None
        try:
            contact = await self.contact(job.report_id)
            message = self.compose(job, contact)
            await aiosmtplib.send(
                message, hostname=self.smtp_host, port=self.smtp_port, timeout=self.smtp_timeout_s
            )
        except NoContactError:
            outcome = "skipped"
        except (httpx.HTTPError, aiosmtplib.SMTPException, OSError) as failure:
            outcome, error = "retry", f"{type(failure).__name__}: {failure}"[:500]
        async with (
            writing(engine_of(self.sessions)),
            self.sessions() as session,
            session.begin(),
        ):
            stored = await session.get(MailJob, job.id)
            if stored is None:
                return 0
            stored.attempts += 1
            if outcome == "retry":
                delay = min(MAX_DELAY, timedelta(seconds=5 * 2 ** min(stored.attempts, 12)))
                stored.next_attempt_at = self.clock.now() + delay
                stored.last_error = error
                log.warning("mail %s not sent (%s); again in %s", job.id, error, delay)
            else:
                stored.status = outcome
                stored.sent_at = self.clock.now() if outcome == "sent" else None
            session.add(stored)
        MAILS.labels(job.kind, outcome).inc()
        return 1 if outcome == "sent" else 0

    def compose(self, job: MailJob, contact: Contact) -> EmailMessage:
        language = "en" if contact.language == "en" else "nl"
        subject, body = TEXTS[job.kind](job.context, language, self._links(job))
        link = contact.unsubscribe_url
        footer = {
            "nl": f"\n\nGeen e-mails meer over deze melding? Afmelden: {link}\n",
            "en": f"\n\nNo more e-mails about this report? Unsubscribe: {link}\n",
        }[language]
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = contact.email
        message["Subject"] = subject
        message["Message-ID"] = (
            f"<{hashlib.sha256(job.dedupe_key.encode()).hexdigest()[:32]}@buursignaal.nl>"
        )
        message["List-Unsubscribe"] = f"<{contact.unsubscribe_url}>"
        message["Content-Language"] = language
        message.set_content(body + footer)
        return message

    def _links(self, job: MailJob) -> dict[str, str]:
        if job.kind != "closed":
            return {}
        leg_id, cycle = str(job.context["leg_id"]), int(job.context["cycle"])
        base = (
            f"{self.public_base_url.rstrip('/')}/feedback/{leg_id}/{cycle}/"
            f"{feedback_token(self.secret, leg_id, cycle)}"
        )
        return {"yes": f"{base}?answer=yes", "no": f"{base}?answer=no"}


def _routed(context: dict[str, Any], language: str, _links: dict[str, str]) -> tuple[str, str]:
    lines = []
    for recipient in context["recipients"]:
        lines.append(f"- {recipient['name']}: {recipient[language]}")
    if language == "nl":
        text = "Uw melding is doorgestuurd naar:\n" + "\n".join(lines)
        if context.get("call_112"):
            text += "\n\nIs er nu gevaar? Bel 112."
        if context.get("referral_nl"):
            text += f"\n\n{context['referral_nl']}"
        return "Uw melding is doorgestuurd", text
    text = "Your report was sent to:\n" + "\n".join(lines)
    if context.get("call_112"):
        text += "\n\nIs there danger now? Call 112."
    if context.get("referral_en"):
        text += f"\n\n{context['referral_en']}"
    return "Your report was sent on", text


def _acknowledged(
    context: dict[str, Any], language: str, _links: dict[str, str]
) -> tuple[str, str]:
    name = context["recipient_name"]
    if language == "nl":
        return "Uw melding is in behandeling", f"{name} heeft uw melding ontvangen en bevestigd."
    return "Your report is being handled", f"{name} has received and acknowledged your report."


def _closed(context: dict[str, Any], language: str, links: dict[str, str]) -> tuple[str, str]:
    name, explanation = context["recipient_name"], context["explanation"]
    solved = context["status"] == "resolved"
    if language == "nl":
        head = (
            f"{name} heeft uw melding afgehandeld." if solved else f"{name} onderneemt geen actie."
        )
        return "Antwoord op uw melding", (
            f"{head}\n\nToelichting:\n{explanation}\n\nIs het probleem opgelost?\n"
            f"Ja: {links['yes']}\nNee: {links['no']}"
        )
    head = f"{name} has dealt with your report." if solved else f"{name} will take no action."
    return "An answer to your report", (
        f"{head}\n\nExplanation:\n{explanation}\n\nIs the problem solved?\n"
        f"Yes: {links['yes']}\nNo: {links['no']}"
    )


TEXTS = {"routed": _routed, "acknowledged": _acknowledged, "closed": _closed}
