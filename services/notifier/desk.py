"""An authority's desk: the legs it reads and answers, and the resident's "is it solved?".

The HTTP modules (``api.py``, ``web.py``) only translate requests to these actions and their
outcomes back to responses. Every state change opens its own write transaction here; reading
an authority's leg goes through ``leg_of``, which answers a leg of another authority exactly
like one that does not exist (``UnknownLegError``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.leg import Actor, ActorKind, LegStatus
from services.notifier.actions import Legs
from services.notifier.incidents import Incidents, Outcome
from services.notifier.mail import feedback_token_valid
from services.notifier.models import CaseFile, DigestRecord, Incident, IncidentMove, Leg, LegHistory
from services.notifier.transitions import CLOSED, TransitionError
from services.runtime.database import SessionFactory, write_transaction

INBOX_PAGE = 500
ANSWERED = {LegStatus.RESOLVED.value, LegStatus.NO_ACTION.value}


class UnknownLegError(LookupError):
    """No such leg for this authority (or no such feedback link)."""


class Feedback(Enum):
    """What became of a resident's answer to "is it solved?"."""

    SOLVED = "solved"
    REOPENED = "reopened"
    ALREADY_TAKEN = "already_taken"


@dataclass(frozen=True)
class LegFilter:
    status: LegStatus | None = None
    category: str | None = None
    open_only: bool = False
    overdue_only: bool = False  # a rung of the ladder fired (``next_step`` > 1)
    outside_incidents: bool = False  # the single legs, not those in an incident
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class UnseenAnswer:
    """Another body's answer the caller did not say it read (no personal data)."""

    recipient_id: str
    name: str
    status: str
    explanation: str | None


class OtherAnswerFirstError(TransitionError):
    """Another body answered the case; this one must have read that answer before its own.

    The HTTP API answers it as its own problem type (``answer-not-seen``, 409): read the case
    (``GET /api/v1/legs/{leg_id}``) and send again with ``seen_answers_of`` naming them."""

    def __init__(self, message: str, *, leg_id: str, unseen: list[UnseenAnswer]) -> None:
        super().__init__(message)
        self.leg_id = leg_id
        self.unseen = unseen


@dataclass(frozen=True)
class SharedCase:
    """The case as one recipient sees it: the lead, and every other leg with its answers
    (authorities' status changes with an explanation; never the resident's key or words)."""

    lead_recipient_id: str | None
    others: list[Leg]
    answers: dict[str, list[LegHistory]]


@dataclass
class Desk:
    sessions: SessionFactory
    legs: Legs
    secret: str
    incidents: Incidents | None = None

    def _incidents(self) -> Incidents:
        if self.incidents is None:
            self.incidents = Incidents(self.legs)
        return self.incidents

    # -- incidents ---------------------------------------------------------------------------

    async def incidents_of(self, recipient_id: str, limit: int = 100) -> list[Incident]:
        """The body's incidents that are not merged away, the latest first."""
        query = (
            select(Incident)
            .where(Incident.recipient_id == recipient_id, Incident.state != "merged")
            .order_by(col(Incident.window_end).desc())
            .limit(limit)
        )
        async with self.sessions() as session:
            return list((await session.exec(query)).all())

    async def incident(
        self, recipient_id: str, incident_id: str
    ) -> tuple[Incident, list[Leg], list[IncidentMove]]:
        """The incident with its legs and every move into or out of it."""
        async with self.sessions() as session:
            incident = await self._incidents().incident_of(session, recipient_id, incident_id)
            members = await self._incidents().members(session, incident_id)
            moves = await session.exec(
                select(IncidentMove)
                .where(
                    or_(
                        col(IncidentMove.from_incident) == incident_id,
                        col(IncidentMove.to_incident) == incident_id,
                    )
                )
                .order_by(col(IncidentMove.id))
            )
            return incident, members, list(moves.all())

    async def incident_legs(
        self, recipient_id: str, incident_ids: list[str]
    ) -> dict[str, list[Leg]]:
        """The legs of each of the body's incidents (the inbox's list of incidents)."""
        found: dict[str, list[Leg]] = {incident_id: [] for incident_id in incident_ids}
        if not incident_ids:
            return found
        query = select(Leg).where(
            Leg.recipient_id == recipient_id, col(Leg.incident_id).in_(incident_ids)
        )
        async with self.sessions() as session:
            for leg in (await session.exec(query.order_by(col(Leg.id)))).all():
                found[str(leg.incident_id)].append(leg)
        return found

    async def answer_incident(
        self,
        recipient_id: str,
        incident_id: str,
        wanted: LegStatus,
        explanation: str | None,
        actor: Actor | None = None,
    ) -> Outcome:
        """One answer for every leg of the incident, in one transaction (``actor``: the
        person who answered in the inbox; none: the body's system over the API)."""
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        async with self.write() as session:
            incident = await self._incidents().incident_of(session, recipient_id, incident_id)
            return await self._incidents().answer(session, incident, wanted, actor, explanation)

    async def move_leg(
        self,
        recipient_id: str,
        incident_id: str,
        leg_id: str,
        to: str | None,
        reason: str,
        actor: Actor | None = None,
        handler: str | None = None,
    ) -> Incident:
        """``actor``/``handler``: the coordinator who moved it in the inbox; none: the API."""
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        incidents = self._incidents()
        async with self.write() as session:
            incident = await incidents.incident_of(session, recipient_id, incident_id)
            leg = await leg_of(session, recipient_id, leg_id)
            target = await incidents.incident_of(session, recipient_id, to) if to else None
            return await incidents.move(session, incident, leg, target, actor, reason, handler)

    async def merge_incidents(
        self,
        recipient_id: str,
        incident_id: str,
        into: str,
        reason: str,
        actor: Actor | None = None,
        handler: str | None = None,
    ) -> Incident:
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        incidents = self._incidents()
        async with self.write() as session:
            incident = await incidents.incident_of(session, recipient_id, incident_id)
            target = await incidents.incident_of(session, recipient_id, into)
            return await incidents.merge(session, incident, target, actor, reason, handler)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction on the notifier's database."""
        async with write_transaction(self.sessions) as session:
            yield session

    async def legs_of(self, recipient_id: str, wanted: LegFilter) -> list[Leg]:
        """The authority's legs, the soonest deadline first (no deadline last)."""
        query = select(Leg).where(Leg.recipient_id == recipient_id)
        if wanted.status is not None:
            query = query.where(Leg.status == wanted.status.value)
        elif wanted.open_only:
            query = query.where(col(Leg.status).not_in([s.value for s in CLOSED]))
        if wanted.category is not None:
            query = query.where(Leg.category == wanted.category)
        if wanted.outside_incidents:
            query = query.where(col(Leg.incident_id).is_(None))
        if wanted.overdue_only:
            query = query.where(col(Leg.next_step) > 1)
        query = query.order_by(col(Leg.next_due_at).is_(None), col(Leg.next_due_at), col(Leg.id))
        async with self.sessions() as session:
            query = query.offset(wanted.offset).limit(wanted.limit)
            return list((await session.exec(query)).all())

    async def leg_with_history(
        self, recipient_id: str, leg_id: str
    ) -> tuple[Leg, list[LegHistory]]:
        async with self.sessions() as session:
            leg = await leg_of(session, recipient_id, leg_id)
            history = select(LegHistory).where(LegHistory.leg_id == leg_id)
            return leg, list((await session.exec(history.order_by(col(LegHistory.id)))).all())

    async def answer(
        self,
        recipient_id: str,
        leg_id: str,
        wanted: LegStatus,
        *,
        explanation: str | None = None,
        forwarded_to: str | None = None,
        handler: str | None = None,
        actor: Actor | None = None,
        seen_answers_of: frozenset[str] | None = None,
    ) -> Leg:
        """The authority changes its leg's status (``TransitionError`` when not allowed);
        ``actor`` names the person who did (a system's key: the authority alone).

        An answer (resolved, no action) while another body's answer on the case is not among
        ``seen_answers_of`` is refused with that answer (``OtherAnswerFirstError``): a second
        body that answers anyway reads the first answer before it submits. ``None``: the
        caller does not say (the Kafka route), nothing is checked."""
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        async with self.write() as session:
            leg = await leg_of(session, recipient_id, leg_id)
            if seen_answers_of is not None and wanted.value in ANSWERED:
                await self._check_seen(session, leg, seen_answers_of)
            changes = {"explanation": explanation, "forwarded_to": forwarded_to, "handler": handler}
            return await self.legs.change_status(session, leg, wanted, actor, **changes)

    async def _check_seen(self, session: AsyncSession, leg: Leg, seen: frozenset[str]) -> None:
        others = await self.legs.case_legs(session, leg.report_id)
        unseen = [o for o in others if o.id != leg.id and o.status in ANSWERED
                  and o.recipient_id not in seen]  # fmt: skip
        if unseen:
            first = "; ".join(f"{o.recipient_name} ({o.recipient_id}, {o.status}): "
                              f"{o.explanation or ''}" for o in unseen)  # fmt: skip
            raise OtherAnswerFirstError(
                f"another body answered this case first; read its answer and send again with "
                f"seen_answers_of naming it: {first}",
                leg_id=leg.id,
                unseen=[UnseenAnswer(o.recipient_id, o.recipient_name, str(o.status),
                                     o.explanation) for o in unseen],
            )  # fmt: skip

    async def shared_case(self, recipient_id: str, leg_id: str) -> SharedCase:
        """The other legs of the leg's report, for its own recipient only."""
        async with self.sessions() as session:
            leg = await leg_of(session, recipient_id, leg_id)
            case = await session.get(CaseFile, leg.report_id)
            others = [o for o in await self.legs.case_legs(session, leg.report_id)
                      if o.id != leg.id]  # fmt: skip
            answers: dict[str, list[LegHistory]] = {o.id: [] for o in others}
            if others:
                rows = await session.exec(
                    select(LegHistory)
                    .where(
                        col(LegHistory.leg_id).in_(list(answers)),
                        LegHistory.actor_kind == ActorKind.AUTHORITY.value,
                        col(LegHistory.explanation).is_not(None),
                    )
                    .order_by(col(LegHistory.id))
                )
                for row in rows:
                    answers[row.leg_id].append(row)
        lead = case.lead_recipient_id if case else None
        return SharedCase(lead, others, answers)

    async def take_lead(self, recipient_id: str, leg_id: str, actor: Actor | None = None) -> None:
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        async with self.write() as session:
            leg = await leg_of(session, recipient_id, leg_id)
            await self.legs.take_lead(session, leg, actor)

    async def note(
        self, recipient_id: str, leg_id: str, note: str, actor: Actor | None = None
    ) -> Leg:
        """The authority adds a note to its leg (``TransitionError`` when it is empty)."""
        actor = actor or Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)
        async with self.write() as session:
            leg = await leg_of(session, recipient_id, leg_id)
            return await self.legs.add_note(session, leg, actor, note)

    async def feedback_language(self, leg_id: str, cycle: int, token: str) -> str:
        """The resident's language for a valid feedback link (``UnknownLegError`` otherwise:
        not signed for this leg and cycle, or older than ``mail.FEEDBACK_LINK_S``)."""
        if not feedback_token_valid(self.secret, self.legs.clock, token, leg_id, cycle):
            raise UnknownLegError(leg_id)
        async with self.sessions() as session:
            leg = await session.get(Leg, leg_id)
            if leg is None:
                raise UnknownLegError(leg_id)
            case = await session.get(CaseFile, leg.report_id)
        return case.language if case else "nl"

    async def take_feedback(self, leg_id: str, cycle: int, solved: bool) -> Feedback:
        """The resident's answer; a link of an earlier cycle, or for an open leg, is taken once."""
        async with self.write() as session:
            leg = await session.get(Leg, leg_id)
            if leg is None or leg.cycle != cycle or leg.status not in ANSWERED:
                return Feedback.ALREADY_TAKEN
            await self.legs.answer_feedback(session, leg, solved)
        return Feedback.SOLVED if solved else Feedback.REOPENED

    async def digests(self) -> list[DigestRecord]:
        newest_first = select(DigestRecord).order_by(col(DigestRecord.published_at).desc())
        async with self.sessions() as session:
            return list((await session.exec(newest_first)).all())

    async def digest(self, digest_id: str) -> DigestRecord | None:
        async with self.sessions() as session:
            return await session.get(DigestRecord, digest_id)


async def leg_of(session: AsyncSession, recipient_id: str, leg_id: str) -> Leg:
    leg = await session.get(Leg, leg_id)
    if leg is None or leg.recipient_id != recipient_id:
        raise UnknownLegError(leg_id)
    return leg
