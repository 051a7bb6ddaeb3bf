"""Mail to residents: jobs in the database, sent by a background loop through SMTP.

The addresses are asked from intake at the moment of sending, for a page of due jobs in one
request (bearer token), and are neither stored nor logged here. A job is one mail (its dedupe
key makes a second job impossible); it is marked sent right after the SMTP server accepted it.
When the server or intake is unreachable the job waits with a growing delay (tenacity's
exponential policy: 10 s, 20 s, ... up to an hour, see ``retries.stored_delay``) and is tried
again, indefinitely; a resident who did not opt in (intake leaves the report out of its answer)
makes the job ``skipped``. The Message-ID is derived from the job, so a mail sent again after a
crash in the moment between acceptance and marking carries the same id.

A mail is multipart/alternative: a plain text part and an HTML part (autoescaped), both
rendered from ``templates/mail/<kind>.txt`` and ``<kind>.html`` in the resident's language
with the text catalogue. The closing mail's "is it solved?" links carry an itsdangerous token
of the leg and its cycle, stamped by the service's clock and valid for ``FEEDBACK_LINK_S``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import col, select

from services.notifier.metrics import MAILS
from services.notifier.models import MailJob, MailStatus
from services.runtime import catalogue
from services.runtime.clock import Clock
from services.runtime.database import SessionFactory, write_transaction
from services.runtime.retries import stored_delay

log = logging.getLogger(__name__)
Outcome = tuple[str, str | None]
"""What became of one attempt ("sent", "skipped" or "retry") and, for a retry, why."""
FIRST_DELAY_S = 10.0
MAX_DELAY_S = 3600.0
FEEDBACK_LINK_S = 30 * 24 * 3600  # a resident may answer "is it solved?" for thirty days
MAIL_TEMPLATES = Path(__file__).with_name("templates") / "mail"


class _ClockStamps(TimestampSigner):
    """Stamps and ages signatures by the service's clock (tests move it), not the machine's."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock.now().timestamp())


def _feedback_links(secret: str, clock: Clock) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret, salt="buursignaal-feedback", signer=_ClockStamps, signer_kwargs={"clock": clock}
    )


def feedback_token(secret: str, clock: Clock, leg_id: str, cycle: int) -> str:
    """The token of a feedback link: the leg and its cycle, signed and stamped with the time."""
    return _feedback_links(secret, clock).dumps([leg_id, cycle])


def feedback_token_valid(
    secret: str,
    clock: Clock,
    token: str,
    leg_id: str,
    cycle: int,
    max_age_s: int = FEEDBACK_LINK_S,
) -> bool:
    """Whether ``token`` was signed for this leg and cycle not longer than ``max_age_s`` ago."""
    try:
        signed = _feedback_links(secret, clock).loads(token, max_age=max_age_s)
    except BadSignature:  # also SignatureExpired
        return False
    return bool(signed == [leg_id, cycle])


@dataclass(frozen=True)
class Contact:
    email: str
    language: str
    unsubscribe_url: str


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

    async def contacts(
        self, report_ids: list[str], client: httpx.AsyncClient
    ) -> dict[str, Contact]:
        """The addresses intake may give for these reports (absent: no mail for that one)."""
        response = await client.post(
            f"{self.intake_url.rstrip('/')}/internal/v1/contacts",
            json={"report_ids": sorted(set(report_ids))},
            headers={"Authorization": f"Bearer {self.internal_token}"},
        )
        response.raise_for_status()
        return {
            report_id: Contact(body["email"], body.get("language", "nl"), body["unsubscribe_url"])
            for report_id, body in response.json()["contacts"].items()
        }

    async def send_due(self, page: int = 100) -> int:
        """Try every job whose time has come (``page`` at a time, one connection to intake for
        the round); return how many were sent."""
        now = self.clock.now()
        sent, after = 0, 0
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                async with self.sessions() as session:
                    jobs = list(
                        (
                            await session.exec(
                                select(MailJob)
                                .where(
                                    MailJob.status == "pending",
                                    col(MailJob.next_attempt_at) <= now,
                                    col(MailJob.id) > after,
                                )
                                .order_by(col(MailJob.id))
                                .limit(page)
                            )
                        ).all()
                    )
                if not jobs:
                    return sent
                outcomes: list[Outcome]
                try:
                    contacts = await self.contacts([job.report_id for job in jobs], client)
                except httpx.HTTPError as failure:  # intake unreachable: the page waits
                    outcomes = [("retry", _reason(failure))] * len(jobs)
                else:
                    outcomes = [await self._attempt(job, contacts.get(job.report_id))
                                for job in jobs]  # fmt: skip
                sent += sum(outcome == "sent" for outcome, _ in outcomes)
                # a sent mail was marked at once; skips and retries have no side effect to
                # repeat after a crash, so they are written together
                await self._record([(j, o) for j, o in zip(jobs, outcomes, strict=True)
                                    if o[0] != "sent"])  # fmt: skip
                if len(jobs) < page:
                    return sent
                after = jobs[-1].id or after

    async def _attempt(self, job: MailJob, contact: Contact | None) -> Outcome:
        """One mail (none when the resident gave no address for mail: ``skipped``)."""
        if contact is None:
            return ("skipped", None)
        try:
            await aiosmtplib.send(
                self.compose(job, contact),
                hostname=self.smtp_host,
                port=self.smtp_port,
                timeout=self.smtp_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as failure:
            return ("retry", _reason(failure))
        await self._record([(job, ("sent", None))])
        return ("sent", None)

    async def _record(self, outcomes: list[tuple[MailJob, Outcome]]) -> None:
        if not outcomes:
            return
        async with write_transaction(self.sessions) as session:
            ids = [job.id for job, _ in outcomes]
            stored_jobs = {
                job.id: job
                for job in (
                    await session.exec(select(MailJob).where(col(MailJob.id).in_(ids)))
                ).all()
            }
            for job, (outcome, error) in outcomes:
                stored = stored_jobs.get(job.id)
                if stored is None:
                    continue
                stored.attempts += 1
                if outcome == "retry":
                    delay = stored_delay(
                        stored.attempts, initial_s=FIRST_DELAY_S, max_s=MAX_DELAY_S
                    )
                    stored.next_attempt_at = self.clock.now() + delay
                    stored.last_error = error
                    log.warning("mail %s not sent (%s); again in %s", job.id, error, delay)
                else:
                    stored.status = MailStatus(outcome)
                    stored.sent_at = self.clock.now() if outcome == "sent" else None
                session.add(stored)
                MAILS.labels(job.kind, outcome).inc()

    def compose(self, job: MailJob, contact: Contact) -> EmailMessage:
        """The mail: a plain text part and an HTML part, in the resident's language."""
        language = "en" if contact.language == "en" else "nl"
        subject = catalogue.text(f"mail.{job.kind}.subject", language)
        context = {
            "job": job.context,
            "language": language,
            "links": self._links(job),
            "subject": subject,
            "unsubscribe_url": contact.unsubscribe_url,
        }
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = contact.email
        message["Subject"] = subject
        message["Message-ID"] = (
            f"<{hashlib.sha256(job.dedupe_key.encode()).hexdigest()[:32]}@buursignaal.nl>"
        )
        message["List-Unsubscribe"] = f"<{contact.unsubscribe_url}>"
        message.set_content(_render(f"{job.kind}.txt", language, context))
        message.add_alternative(_render(f"{job.kind}.html", language, context), subtype="html")
        message["Content-Language"] = language  # after the parts: set_content clears Content-*
        return message

    def _links(self, job: MailJob) -> dict[str, str]:
        if job.kind != "closed":
            return {}
        leg_id, cycle = str(job.context["leg_id"]), int(job.context["cycle"])
        token = feedback_token(self.secret, self.clock, leg_id, cycle)
        base = f"{self.public_base_url.rstrip('/')}/feedback/{leg_id}/{cycle}/{token}"
        return {"yes": f"{base}?answer=yes", "no": f"{base}?answer=no"}


@cache
def _templates(language: str) -> Environment:
    """The mail templates with the catalogue of one language (HTML autoescaped)."""
    environment = Environment(
        loader=FileSystemLoader(MAIL_TEMPLATES), autoescape=select_autoescape(["html"])
    )
    catalogue.install(environment, language)
    return environment


def _render(name: str, language: str, context: dict[str, Any]) -> str:
    """One part of a mail from ``templates/mail/<name>``."""
    return _templates(language).get_template(name).render(context)


def _reason(failure: Exception) -> str:
    """Why an attempt failed, for the job's ``last_error``."""
    return f"{type(failure).__name__}: {failure}"[:500]
