"""The notifier's state changes: open a leg, change its status, fire the ladder, answer
feedback. Each runs inside the caller's transaction and emits its events through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas import (
    Actor,
    ActorKind,
    Category,
    DeadlineKind,
    EscalationRaised,
    EscalationStep,
    Event,
    LegStatus,
    LegStatusChanged,
    LocalizedText,
    ReportDelivered,
    Role,
    RoutingDecided,
)
from schemas.case import CaseAnswer, CaseLeg, CaseUpdated
from schemas.topics import ESCALATION, LEG_STATUS, delivery_topic
from services.notifier import norms as owed
from services.notifier import transitions
from services.notifier.chain import Board, Chain
from services.notifier.delivered import kept
from services.notifier.metrics import ESCALATIONS, TIME_TO_ACKNOWLEDGE, TIME_TO_RESOLVE
from services.notifier.models import CaseFile, EscalationFired, Leg, LegHistory, MailJob
from services.notifier.norms import Norms, Obligation, first_deadline, obligation
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import Clock
from services.runtime.database import dialect_insert, stage_insert, table_of
from services.runtime.outbox import enqueue

SOURCE = "/buursignaal/notifier"
HISTORY_TABLE: Table = table_of(LegHistory)
MAIL_JOB_TABLE: Table = table_of(MailJob)
LOADED = "buursignaal.loaded"
MAIL_KEY = "buursignaal.mail_key"


@dataclass
class Loaded:
    """What ``Legs.load`` fetched for a batch: the ids it asked for and the rows that exist."""

    asked_legs: set[str]
    asked_cases: set[str]
    legs: dict[str, Leg] = field(default_factory=dict)
    cases: dict[str, CaseFile] = field(default_factory=dict)
    by_report: dict[str, dict[str, Leg]] = field(default_factory=dict)
    """Every leg of the asked reports (the shared case), by report and leg id."""
    locked: set[str] = field(default_factory=set)


def locks_rows(session: AsyncSession) -> bool:
    """Whether rows are locked one by one (PostgreSQL); SQLite has one writer at a time."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


LEAD_NOTE = "Neemt de leiding: wij behandelen dit; de anderen worden geïnformeerd."
SYSTEM = Actor(kind=ActorKind.SYSTEM, actor_id="notifier")
LEG_NAMESPACE = uuid.UUID("5b0d0c1e-7f57-4d6b-9a61-2d1c2f6b8e10")
STEPS = (
    EscalationStep.REMINDER,
    EscalationStep.COMMISSIONING_AUTHORITY,
    EscalationStep.ADMINISTRATIVE_LEAD,
)
STEP_REASONS = {
    EscalationStep.REMINDER: (
        "Herinnering: de termijn om te {nl} is verstreken.",
        "Reminder: the deadline to {en} has passed.",
    ),
    EscalationStep.COMMISSIONING_AUTHORITY: (
        "Twee keer de termijn om te {nl} is verstreken; het bevoegd gezag wordt ingelicht.",
        "Twice the deadline to {en} has passed; the competent authority is told.",
    ),
    EscalationStep.ADMINISTRATIVE_LEAD: (
        "Drie keer de termijn om te {nl} is verstreken; het bestuur van het bevoegd gezag "
        "wordt ingelicht.",
        "Three times the deadline to {en} has passed; the competent authority's board is told.",
    ),
}
DEADLINE_WORDS = {
    DeadlineKind.ACKNOWLEDGE: ("de ontvangst te bevestigen", "acknowledge the report"),
    DeadlineKind.RESOLVE: ("inhoudelijk te antwoorden", "give a substantive answer"),
    DeadlineKind.ADVICE: ("te adviseren", "give advice"),
}


def leg_id_for(report_id: object, recipient_id: str) -> str:
    return str(uuid.uuid5(LEG_NAMESPACE, f"{report_id}/{recipient_id}"))


@dataclass
class Legs:
    calendar: WorkingCalendar
    norms: Norms
    clock: Clock
    chain: Chain = field(default_factory=Chain)

    def _now(self) -> datetime:
        """Now in UTC: SQLite keeps datetimes without their offset, so only UTC is stored."""
        return self.clock.now().astimezone(UTC)

    # -- opening -------------------------------------------------------------------------

    async def open_leg(self, session: AsyncSession, delivery: ReportDelivered) -> Leg:
        """A leg for the delivered recipient (once: a second delivery finds the first leg)."""
        report = delivery.report
        leg_id = leg_id_for(report.report_id, delivery.recipient.recipient_id)
        report_id = str(report.report_id)
        loaded = await self._loaded(session, report_id, leg_id)
        existing = loaded.legs.get(leg_id)
        if existing is not None:
            return existing
        case = loaded.cases.get(report_id)
        urgent = delivery.acute or bool(report.health_symptoms or report.symptoms_other)
        if case is None:
            case = CaseFile(
                report_id=str(report.report_id),
                reporter_key=report.reporter_key,
                category=report.category,
                language=report.language,
                urgent=urgent,
                received_at=report.received_at,
            )
            session.add(case)
            loaded.cases[report_id] = case  # the report's next delivery in this batch
        now = self._now()
        leg = self._new_leg(
            leg_id=leg_id,
            report_id=str(report.report_id),
            recipient_id=delivery.recipient.recipient_id,
            name=delivery.recipient.name,
            role=delivery.recipient.role,
            category=case.category,
            urgent=case.urgent,
            routing_round=delivery.round,
            now=now,
        )
        leg.delivery = kept(delivery)  # what the authority reads without Kafka
        session.add(leg)
        loaded.legs[leg_id] = leg  # a second delivery to the same recipient in this batch
        loaded.by_report.setdefault(report_id, {})[leg_id] = leg
        self._history(session, leg, None, SYSTEM, "delivered", now)
        self._emit_status(session, leg, SYSTEM, now)
        return leg

    def _new_leg(
        self,
        *,
        leg_id: str,
        report_id: str,
        recipient_id: str,
        name: str,
        role: Role,
        category: Category,
        urgent: bool,
        routing_round: int,
        now: datetime,
    ) -> Leg:
        kind = first_deadline(role)
        norm = None
        if kind is not None:
            norm = self.norms.hours(
                kind, role=role, category=category, urgent=urgent, day_hours=self.calendar.day_hours
            )
        leg = Leg(
            id=leg_id,
            report_id=report_id,
            recipient_id=recipient_id,
            recipient_name=name,
            role=role,
            category=category,
            routing_round=routing_round,
            status=LegStatus.DELIVERED,
            delivered_at=now,
            deadline_kind=kind if norm is not None else None,
            clock_origin=now,
            paused_hours=0.0,
            norm_hours=norm or 0.0,
            next_step=1,
            cycle=0,
        )
        leg.next_due_at = self._due(leg, 1) if norm is not None else None
        return leg

    async def load_for(self, session: AsyncSession, legs: Sequence[tuple[object, str]]) -> None:
        """``load`` for (report, recipient) pairs: their legs and their reports' cases."""
        report_ids = {str(report_id) for report_id, _ in legs}
        await self.load(session, report_ids, {leg_id_for(r, recipient) for r, recipient in legs})

    async def load(self, session: AsyncSession, report_ids: set[str], leg_ids: set[str]) -> None:
        """Bring a batch's legs and cases into the session in two queries; the events that
        follow find them (or learn that they do not exist yet) without asking the database
        one by one. The session keeps them until the transaction ends."""
        loaded = session.info.get(LOADED)
        if not isinstance(loaded, Loaded):
            loaded = session.info[LOADED] = Loaded(asked_legs=set(), asked_cases=set())
        loaded.asked_legs |= leg_ids
        loaded.asked_cases |= report_ids
        if leg_ids or report_ids:
            # the asked legs and the other legs of their reports (the shared case), locked in
            # the order of their ids
            legs = (
                select(Leg)
                .where(or_(col(Leg.id).in_(leg_ids), col(Leg.report_id).in_(report_ids)))
                .order_by(col(Leg.id))
            )
            if locks_rows(session):
                legs = legs.with_for_update()
            found = (await session.exec(legs)).all()
            loaded.legs.update((leg.id, leg) for leg in found)
            for report_id in report_ids:
                loaded.by_report.setdefault(report_id, {})
            for leg in found:
                loaded.by_report.setdefault(leg.report_id, {})[leg.id] = leg
            if locks_rows(session):
                loaded.locked |= {leg.id for leg in found}
        if report_ids:
            cases = select(CaseFile).where(col(CaseFile.report_id).in_(report_ids))
            loaded.cases.update((case.report_id, case) for case in (await session.exec(cases)))

    async def _loaded(self, session: AsyncSession, report_id: str, leg_id: str) -> Loaded:
        """The batch's loaded rows, with this leg and case among them (an event on its own,
        outside a consumer's ``prepare``, loads them now)."""
        loaded = session.info.get(LOADED)
        if (
            not isinstance(loaded, Loaded)
            or leg_id not in loaded.asked_legs
            or report_id not in loaded.asked_cases
        ):
            await self.load(session, {report_id}, {leg_id})
        result = session.info[LOADED]
        assert isinstance(result, Loaded)
        return result

    # -- status ----------------------------------------------------------------------------

    async def change_status(
        self,
        session: AsyncSession,
        leg: Leg,
        wanted: LegStatus,
        actor: Actor,
        *,
        explanation: str | None = None,
        forwarded_to: str | None = None,
        handler: str | None = None,
        mail_key: str | None = None,
    ) -> Leg:
        """Move ``leg`` to ``wanted`` (``TransitionError`` when the table forbids it).

        ``mail_key``: the dedupe key of the resident's mail this change sends (an incident's
        answer: one per resident), ``""`` for none; by default one per leg and cycle.

        The leg is locked first (and read again when it was read without its lock), so a
        ladder tick in another transaction can neither change it meanwhile nor be overwritten.
        """
        await self._lock(session, leg)
        current = LegStatus(leg.status)
        transitions.check(
            current, wanted, actor.kind, explanation=explanation, forwarded_to=forwarded_to,
            informed=obligation(leg.role) is Obligation.INFORMED,
        )  # fmt: skip
        if actor.kind is ActorKind.AUTHORITY and actor.actor_id != leg.recipient_id:
            raise transitions.TransitionError(
                f"{actor.actor_id} cannot change a leg of {leg.recipient_id}"
            )
        now = self._now()
        case = await self._case(session, leg.report_id)
        category = case.category if case else leg.category
        if current is LegStatus.WAITING_FOR_RESIDENT and leg.paused_at is not None:
            leg.paused_hours += self.calendar.between(leg.paused_at, now)
            leg.paused_at = None
        leg.status = wanted
        if handler:
            leg.handler = handler
        session.info[MAIL_KEY] = mail_key
        if wanted in transitions.ACKNOWLEDGING:
            self._acknowledged(session, leg, category, now)
        if wanted is LegStatus.WAITING_FOR_RESIDENT:
            leg.paused_at = now
            leg.next_due_at = None
        elif wanted in transitions.CLOSED:
            self._closed(session, leg, wanted, category, explanation, forwarded_to, now)
        elif wanted is LegStatus.REOPENED:
            leg.cycle += 1
            leg.closed_at = None
            self._restart(leg, DeadlineKind.RESOLVE, category, now, origin=now)
        elif leg.next_step <= owed.rungs(leg.role) and leg.deadline_kind is not None:
            leg.next_due_at = self._due(leg, leg.next_step)
        session.add(leg)
        self._history(session, leg, current, actor, explanation, now)
        self._emit_status(session, leg, actor, now, explanation=explanation)
        await self._case_changed(session, leg, now, explanation)
        if wanted is LegStatus.FORWARDED and forwarded_to:
            await self._forward(session, leg, forwarded_to, now)
        return leg

    async def add_note(self, session: AsyncSession, leg: Leg, actor: Actor, note: str) -> Leg:
        """A note on the leg (any role, an informed party's way to say something): a history
        row with the status unchanged; no deadline moves."""
        if actor.kind is ActorKind.AUTHORITY and actor.actor_id != leg.recipient_id:
            raise transitions.TransitionError(
                f"{actor.actor_id} cannot add a note to a leg of {leg.recipient_id}"
            )
        if not note.strip():
            raise transitions.TransitionError("a note needs text")
        current = LegStatus(leg.status)
        self._history(session, leg, current, actor, note.strip(), self._now())
        return leg

    async def take_lead(self, session: AsyncSession, leg: Leg, actor: Actor) -> CaseFile:
        """The leg's body takes the lead on the case ("I handle this; the others are
        informed"): kept on the case, in the leg's history, and told to the other legs."""
        if obligation(leg.role) is not Obligation.ANSWER:
            raise transitions.TransitionError(
                "only the competent authority or an executing body can take the lead"
            )
        if actor.kind is ActorKind.AUTHORITY and actor.actor_id != leg.recipient_id:
            raise transitions.TransitionError(
                f"{actor.actor_id} cannot lead for {leg.recipient_id}"
            )
        case = await session.get(CaseFile, leg.report_id)
        if case is None:
            raise transitions.TransitionError("this leg has no case")
        now = self._now()
        case.lead_recipient_id, case.lead_at = leg.recipient_id, now
        session.add(case)
        self._history(session, leg, LegStatus(leg.status), actor, LEAD_NOTE, now)
        await self._case_changed(session, leg, now, LEAD_NOTE)
        return case

    async def case_legs(self, session: AsyncSession, report_id: str) -> list[Leg]:
        """Every leg of the report (from the batch when it was loaded)."""
        loaded = session.info.get(LOADED)
        if isinstance(loaded, Loaded) and report_id in loaded.by_report:
            return list(loaded.by_report[report_id].values())
        query = select(Leg).where(Leg.report_id == report_id).order_by(col(Leg.id))
        return list((await session.exec(query)).all())

    async def _case_changed(
        self, session: AsyncSession, leg: Leg, now: datetime, explanation: str | None
    ) -> None:
        """``case.updated`` on each other recipient's delivery topic (only the legs that came
        through one: a forwarded leg's body has no topic of its own yet)."""
        others = [o for o in await self.case_legs(session, leg.report_id)
                  if o.id != leg.id and o.delivery is not None]  # fmt: skip
        if not others:
            return
        case = await self._case(session, leg.report_id)
        answers = []
        if explanation:
            answers = [CaseAnswer(status=LegStatus(leg.status), at=now, explanation=explanation)]
        changed = CaseLeg(
            recipient_id=leg.recipient_id, name=leg.recipient_name, role=Role(leg.role),
            status=LegStatus(leg.status), answers=answers,
        )  # fmt: skip
        for other in others:
            event = CaseUpdated(
                report_id=uuid.UUID(leg.report_id),
                recipient_id=other.recipient_id,
                occurred_at=now,
                changed=changed,
                lead_recipient_id=case.lead_recipient_id if case else None,
            )
            self._emit(session, event, delivery_topic(other.recipient_id).name, leg.report_id)

    async def _case(self, session: AsyncSession, report_id: str) -> CaseFile | None:
        """The report's case: from the batch when it was loaded, else from the database."""
        loaded = session.info.get(LOADED)
        if isinstance(loaded, Loaded) and report_id in loaded.cases:
            return loaded.cases[report_id]
        return await session.get(CaseFile, report_id)

    async def _lock(self, session: AsyncSession, leg: Leg) -> None:
        if not locks_rows(session):
            return
        loaded = session.info.get(LOADED)
        if isinstance(loaded, Loaded) and leg.id in loaded.locked:
            return
        await session.refresh(leg, with_for_update=True)
        if isinstance(loaded, Loaded):
            loaded.locked.add(leg.id)

    def _acknowledged(self, session: AsyncSession, leg: Leg, category: str, now: datetime) -> None:
        first = leg.acknowledged_at is None
        leg.acknowledged_at = leg.acknowledged_at or now
        if leg.deadline_kind != DeadlineKind.ACKNOWLEDGE:
            return  # acknowledged before, or a role without that deadline
        TIME_TO_ACKNOWLEDGE.labels(leg.recipient_id, category).observe(
            self.calendar.between(leg.delivered_at, now)
        )
        self._restart(leg, DeadlineKind.RESOLVE, category, now, origin=leg.clock_origin)
        if first and (key := self._mail_key(session, f"acknowledged:{leg.id}")):
            self.mail(
                session, "acknowledged", leg.report_id, key,
                {"recipient_name": leg.recipient_name},
            )  # fmt: skip

    def _closed(
        self,
        session: AsyncSession,
        leg: Leg,
        wanted: LegStatus,
        category: str,
        explanation: str | None,
        forwarded_to: str | None,
        now: datetime,
    ) -> None:
        leg.closed_at = now
        leg.next_due_at = None
        leg.deadline_kind = None
        leg.explanation = explanation
        leg.forwarded_to = forwarded_to
        if wanted in transitions.OPEN_ANSWERS and obligation(leg.role) is Obligation.ANSWER:
            worked = self.calendar.between(leg.clock_origin, now) - leg.paused_hours
            TIME_TO_RESOLVE.labels(leg.recipient_id, category).observe(max(0.0, worked))
            if not (key := self._mail_key(session, f"closed:{leg.id}:{leg.cycle}")):
                return
            self.mail(
                session, "closed", leg.report_id, key,
                {"recipient_name": leg.recipient_name, "status": wanted.value,
                 "explanation": explanation or "", "leg_id": leg.id, "cycle": leg.cycle},
            )  # fmt: skip

    @staticmethod
    def _mail_key(session: AsyncSession, default: str) -> str:
        """The dedupe key the current change asked for (empty: no mail), else ``default``."""
        asked = session.info.get(MAIL_KEY)
        return default if asked is None else str(asked)

    def _restart(
        self, leg: Leg, kind: DeadlineKind, category: str, now: datetime, *, origin: datetime
    ) -> None:
        norm = self.norms.hours(
            kind,
            role=leg.role,
            category=category,
            urgent=False,  # urgency shortens only the acknowledgement
            day_hours=self.calendar.day_hours,
        )
        leg.deadline_kind = kind if norm is not None else None  # only the answering roles
        leg.norm_hours = norm or 0.0
        leg.clock_origin = origin
        if origin == now:
            leg.paused_hours = 0.0
        leg.next_step = 1
        leg.next_due_at = self._due(leg, 1) if norm is not None else None

    async def _forward(self, session: AsyncSession, leg: Leg, to: str, now: datetime) -> None:
        leg_id = leg_id_for(leg.report_id, to)
        if await session.get(Leg, leg_id) is not None:
            return
        case = await session.get(CaseFile, leg.report_id)
        new = self._new_leg(
            leg_id=leg_id, report_id=leg.report_id, recipient_id=to, name=to, role=leg.role,
            category=leg.category, urgent=bool(case and case.urgent),
            routing_round=leg.routing_round, now=now,
        )  # fmt: skip
        session.add(new)
        self._history(session, new, None, SYSTEM, f"forwarded by {leg.recipient_id}", now)
        self._emit_status(session, new, SYSTEM, now)

    def _due(self, leg: Leg, step: int) -> datetime:
        return self.calendar.add(leg.clock_origin, step * leg.norm_hours + leg.paused_hours)

    # -- the ladder ----------------------------------------------------------------------------

    async def tick(self, session: AsyncSession, *, limit: int = 1000) -> int:
        """Fire every rung whose time has come (indexed on ``next_due_at``); return how many.

        The rungs of one tick are claimed with one multi-row insert into ``escalation_fired``;
        a rung whose row exists already (fired before a crash) is not fired again.
        """
        now = self._now()
        query = (
            select(Leg)
            .where(col(Leg.next_due_at).is_not(None), col(Leg.next_due_at) <= now)
            .order_by(col(Leg.next_due_at))
            .limit(limit)
        )
        if locks_rows(session):
            query = query.with_for_update(skip_locked=True)
        due_legs = list((await session.exec(query)).all())
        rungs: list[tuple[Leg, int, DeadlineKind, datetime]] = []
        for leg in due_legs:
            while leg.next_due_at is not None and leg.next_due_at <= now:
                kind = DeadlineKind(leg.deadline_kind or DeadlineKind.RESOLVE.value)
                rungs.append((leg, leg.next_step, kind, leg.next_due_at))
                leg.next_step += 1
                leg.next_due_at = (
                    self._due(leg, leg.next_step) if leg.next_step <= owed.rungs(leg.role) else None
                )
            session.add(leg)
        if not rungs:
            return 0
        claimed = await self._claim(session, rungs, now)
        fired = [rung for rung in rungs if (rung[0].id, rung[0].cycle, rung[2].value, rung[1])
                 in claimed]  # fmt: skip
        commissioners = await self._commissioners(
            session, {leg.report_id for leg, step, _, _ in fired if step >= 2}
        )
        for leg, step_number, kind, due in fired:
            self._escalate(leg, STEPS[step_number - 1], kind, due, now, commissioners, session)
        return len(fired)

    async def _claim(
        self,
        session: AsyncSession,
        rungs: list[tuple[Leg, int, DeadlineKind, datetime]],
        now: datetime,
    ) -> set[tuple[str, int, str, int]]:
        table = table_of(EscalationFired)
        statement = (
            dialect_insert(session)(table)
            .values(
                [
                    {
                        "leg_id": leg.id,
                        "cycle": leg.cycle,
                        "deadline_kind": kind.value,
                        "step": step,
                        "due_at": due,
                        "fired_at": now,
                    }
                    for leg, step, kind, due in rungs
                ]
            )
            .on_conflict_do_nothing()
            .returning(table.c.leg_id, table.c.cycle, table.c.deadline_kind, table.c.step)
        )
        connection = await session.connection()
        return {tuple(row) for row in (await connection.execute(statement)).all()}

    async def _commissioners(
        self, session: AsyncSession, report_ids: set[str]
    ) -> dict[str, tuple[str, str]]:
        """The competent authority of each report (the body that commissioned the work): its
        id and name."""
        if not report_ids:
            return {}
        rows = (
            await session.exec(
                select(Leg.report_id, Leg.recipient_id, Leg.recipient_name).where(
                    col(Leg.report_id).in_(report_ids),
                    Leg.role == Role.COMPETENT_AUTHORITY.value,
                )
            )
        ).all()
        return {report_id: (recipient_id, name) for report_id, recipient_id, name in rows}

    def _escalate(
        self,
        leg: Leg,
        step: EscalationStep,
        kind: DeadlineKind,
        due: datetime,
        now: datetime,
        commissioners: dict[str, tuple[str, str]],
        session: AsyncSession,
    ) -> None:
        notify = [leg.recipient_id]
        authority_id, authority_name = commissioners.get(
            leg.report_id, (leg.recipient_id, leg.recipient_name)
        )
        if step is EscalationStep.COMMISSIONING_AUTHORITY:
            notify = [authority_id]
        elif step is EscalationStep.ADMINISTRATIVE_LEAD:
            board = self.chain.board(authority_id, authority_name)
            notify = [board.contact_id]
            self._routes_mail(session, leg, kind, board)
        nl_words, en_words = DEADLINE_WORDS[kind]
        nl, en = STEP_REASONS[step]
        event = EscalationRaised(
            report_id=uuid.UUID(leg.report_id),
            recipient_id=leg.recipient_id,
            step=step,
            deadline_kind=kind,
            deadline_at=due,
            fired_at=now,
            notify=notify,
            reason=LocalizedText(nl=nl.format(nl=nl_words), en=en.format(en=en_words)),
        )
        self._emit(session, event, ESCALATION.name, leg.report_id)
        ESCALATIONS.labels(step.value, kind.value).inc()

    # -- residents -------------------------------------------------------------------------

    def _routes_mail(
        self, session: AsyncSession, leg: Leg, kind: DeadlineKind, board: Board
    ) -> None:
        """Tell the resident, in plain words, which routes are open now that the third rung
        fired: a complaint to the competent authority, then the ombudsman."""
        self.mail(
            session, "routes", leg.report_id, f"routes:{leg.id}:{leg.cycle}:{kind.value}",
            {"recipient_name": leg.recipient_name, "authority_name": board.authority_name,
             "board_name": board.name, "complaint_url": board.complaint_url,
             "ombudsman_url": board.ombudsman_url},
        )  # fmt: skip

    def on_decision(self, session: AsyncSession, decision: RoutingDecided) -> None:
        """Tell the resident who got the report and why (one mail per routing round)."""
        recipients = [
            {"name": r.name, "role": r.role.value, "nl": r.reason.nl, "en": r.reason.en}
            for r in decision.recipients
        ]
        self.mail(
            session, "routed", str(decision.report_id),
            f"routed:{decision.report_id}:{decision.round}",
            {"recipients": recipients, "call_112": decision.call_112,
             "referral_nl": decision.referral.reason.nl if decision.referral else None,
             "referral_en": decision.referral.reason.en if decision.referral else None},
        )  # fmt: skip

    async def answer_feedback(self, session: AsyncSession, leg: Leg, solved: bool) -> None:
        """The resident's answer to "Is the problem solved?"; "no" reopens the leg."""
        case = await session.get(CaseFile, leg.report_id)
        resident = Actor(kind=ActorKind.RESIDENT, actor_id=case.reporter_key if case else "?")
        if solved:
            self._history(session, leg, LegStatus(leg.status), resident, "solved: yes", None)
            return
        await self.change_status(
            session, leg, LegStatus.REOPENED, resident,
            explanation="The resident says the problem is not solved.",
        )  # fmt: skip

    def mail(
        self,
        session: AsyncSession,
        kind: str,
        report_id: str,
        dedupe_key: str,
        context: dict[str, Any],
    ) -> None:
        stage_insert(
            session,
            MAIL_JOB_TABLE,
            {
                "dedupe_key": dedupe_key, "report_id": report_id, "kind": kind,
                "context": context, "status": "pending", "attempts": 0,
                "next_attempt_at": self._now(), "sent_at": None, "last_error": None,
            },
        )  # fmt: skip

    # -- helpers -------------------------------------------------------------------------------

    def _history(
        self,
        session: AsyncSession,
        leg: Leg,
        previous: LegStatus | None,
        actor: Actor,
        explanation: str | None,
        at: datetime | None,
    ) -> None:
        stage_insert(
            session,
            HISTORY_TABLE,
            {
                "leg_id": leg.id, "at": at or self._now(),
                "from_status": previous.value if previous else None, "to_status": leg.status,
                "actor_kind": actor.kind.value, "actor_id": actor.actor_id,
                "actor_subject": actor.subject, "actor_name": actor.name,
                "explanation": explanation,
            },
        )  # fmt: skip

    def _emit_status(
        self,
        session: AsyncSession,
        leg: Leg,
        actor: Actor,
        now: datetime,
        *,
        explanation: str | None = None,
    ) -> None:
        event = LegStatusChanged(
            report_id=uuid.UUID(leg.report_id),
            recipient_id=leg.recipient_id,
            status=LegStatus(leg.status),
            actor=actor,
            occurred_at=now,
            explanation=explanation,
            forwarded_to=leg.forwarded_to,
            respond_by=leg.next_due_at,
        )
        self._emit(session, event, LEG_STATUS.name, leg.report_id)

    def _emit(self, session: AsyncSession, event: Event, topic: str, key: str) -> None:
        enqueue(session, event, topic=topic, key=key, source=SOURCE, clock=self.clock)
