"""Incidents (voorvallen): a wave of reports about one event, handled once.

A leg of an executing body joins the open incident of that body with the same likely source
(the best candidate facility, or the ~1 km cell of the report when there is none) and category
whose time window overlaps the report's (``WINDOW`` either side of the time observed); else it
opens one. An incident keeps its unique-reporter count (of pseudonymous keys), its window, and
the last wind. One answer on an incident applies to each of its open legs through
``Legs.change_status`` in one transaction, so every resident gets the explanation on the
tracking page, and one mail per resident per answer (the mail job's dedupe key names the
incident and the reporter). Moves and merges are in ``incident_move`` and in each leg's history
with the actor and the reason. A complaint wave (``wave_threshold`` unique reporters) is told
to the competent authorities and the safety region once, and again each time the count grows
by another ``wave_threshold``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import LocalizedText
from schemas.incident import ComplaintWave, IncidentState, IncidentUpdated
from schemas.leg import Actor, LegStatus
from schemas.report import Category
from schemas.routing import ReportDelivered, Role
from schemas.topics import COMPLAINT_WAVE, INCIDENT
from services.notifier.actions import Legs
from services.notifier.models import CaseFile, Incident, IncidentMove, Leg
from services.notifier.transitions import ALLOWED, TransitionError
from services.runtime.database import stage_insert, table_of

WINDOW = timedelta(hours=2)
CELL_DEGREES = 0.01  # ~1.1 km north-south, ~0.7 km east-west in the Netherlands
FOUND = "buursignaal.incidents"
ASKED = "buursignaal.incidents.asked"  # the (body, category, source) keys a batch loaded
TIMELINES = "buursignaal.incidents.timelines"  # incident id -> the observed moments of its legs
MOVE_TABLE = table_of(IncidentMove)


class UnknownIncidentError(LookupError):
    """No such incident for this executing body."""


class IncidentRefusedError(TransitionError):
    """A move or merge that cannot be done (the message says why)."""


@dataclass(frozen=True)
class Outcome:
    """What one answer on an incident did: the legs it changed and those it left."""

    changed: list[str]
    left: dict[str, str]  # leg id -> why (already answered, not allowed)


def source_key(delivery: ReportDelivered) -> str:
    """The likely source: the best-scored candidate facility, else the report's cell."""
    if delivery.candidate_facilities:
        best = max(delivery.candidate_facilities, key=lambda f: (f.score, -f.distance_m))
        return f"facility:{best.facility_id}"
    location = delivery.report.location
    if location is None or location.lat is None or location.lon is None:
        return "cell:unknown"
    return f"cell:{_cell(location.lat)}:{_cell(location.lon)}"


def _cell(degrees: float) -> str:
    return f"{round(degrees / CELL_DEGREES) * CELL_DEGREES:.2f}"


@dataclass
class Incidents:
    legs: Legs
    wave_threshold: int = 15

    def _now(self) -> datetime:
        return self.legs.clock.now().astimezone(UTC)

    # -- forming -----------------------------------------------------------------------------

    async def on_delivery(self, session: AsyncSession, delivery: ReportDelivered, leg: Leg) -> None:
        """Put an executing body's new leg in its incident (once: a repeated delivery finds it)."""
        if leg.role != Role.EXECUTING_BODY.value or leg.incident_id is not None:
            return
        observed = delivery.report.observed_at.astimezone(UTC)
        leg.observed_at = observed
        key = source_key(delivery)
        incident = await self._open_incident(session, leg, key, observed)
        if incident is None:
            incident = self._new(leg, key, observed)
            session.add(incident)
            self._found(session)[(leg.recipient_id, Category(leg.category).value, key)].append(
                incident
            )
            self._timelines(session)[incident.id] = []
        leg.incident_id = incident.id
        session.add(leg)
        incident.window_start = min(_utc(incident.window_start), observed)
        incident.window_end = max(_utc(incident.window_end), observed)
        incident.report_count += 1
        reporter = delivery.report.reporter_key
        if reporter not in incident.reporter_keys:
            incident.reporter_keys = [*incident.reporter_keys, reporter]
        incident.unique_reporters = len(incident.reporter_keys)
        if delivery.wind is not None:
            incident.wind_from_deg = delivery.wind.direction_deg
            incident.wind_speed_ms = delivery.wind.speed_ms
        session.add(incident)
        await self._maybe_wave(session, incident, delivery)
        timeline = await self._timeline(session, incident)
        timeline.append(observed)  # the next delivery of this transaction sees this one
        self._announce(session, incident, timeline)

    async def prepare(self, session: AsyncSession, deliveries: Sequence[ReportDelivered]) -> None:
        """Load the open incidents a batch's executing-body deliveries may join, and their
        timelines, in two queries; ``on_delivery`` then asks the database only for keys the
        batch did not name. One query covers the batch's whole time range: every incident that
        overlaps one delivery's window overlaps the range."""
        keys: set[tuple[str, str, str]] = set()
        moments: list[datetime] = []
        for delivery in deliveries:
            if delivery.recipient.role is not Role.EXECUTING_BODY:
                continue
            category = Category(delivery.report.category).value
            keys.add((delivery.recipient.recipient_id, category, source_key(delivery)))
            moments.append(delivery.report.observed_at.astimezone(UTC))
        if not keys:
            return
        query = select(Incident).where(
            col(Incident.recipient_id).in_({recipient for recipient, _, _ in keys}),
            col(Incident.source_key).in_({key for _, _, key in keys}),
            Incident.state == IncidentState.OPEN.value,
            col(Incident.window_end) >= min(moments) - WINDOW,
            col(Incident.window_start) <= max(moments) + WINDOW,
        )
        found = self._found(session)
        loaded = list((await session.exec(query)).all())
        for incident in loaded:
            key = (incident.recipient_id, Category(incident.category).value, incident.source_key)
            if key in keys and incident not in found[key]:
                found[key].append(incident)
        self._asked(session).update(keys)
        timelines = self._timelines(session)
        missing = [incident.id for incident in loaded if incident.id not in timelines]
        for incident_id in missing:
            timelines[incident_id] = []
        if missing:
            rows = await session.exec(
                select(Leg.incident_id, Leg.observed_at).where(
                    col(Leg.incident_id).in_(missing), col(Leg.observed_at).is_not(None)
                )
            )
            for member_of, moment in rows.all():
                if member_of is not None and moment is not None:
                    timelines[member_of].append(_utc(moment))

    def _asked(self, session: AsyncSession) -> set[tuple[str, str, str]]:
        asked = session.info.get(ASKED)
        if not isinstance(asked, set):
            asked = session.info[ASKED] = set()
        return asked

    def _timelines(self, session: AsyncSession) -> dict[str, list[datetime]]:
        timelines = session.info.get(TIMELINES)
        if not isinstance(timelines, dict):
            timelines = session.info[TIMELINES] = {}
        return timelines

    def _found(self, session: AsyncSession) -> dict[tuple[str, str, str], list[Incident]]:
        """The incidents this transaction opened or found, so a batch asks the database once."""
        found = session.info.get(FOUND)
        if not isinstance(found, defaultdict):
            found = session.info[FOUND] = defaultdict(list)
        return found

    async def _open_incident(
        self, session: AsyncSession, leg: Leg, key: str, observed: datetime
    ) -> Incident | None:
        def overlaps(incident: Incident) -> bool:
            return (
                _utc(incident.window_start) - WINDOW
                <= observed
                <= _utc(incident.window_end) + WINDOW
            )

        batch_key = (leg.recipient_id, Category(leg.category).value, key)
        cached = self._found(session)[batch_key]
        for incident in cached:
            if incident.state == IncidentState.OPEN and overlaps(incident):
                return incident
        if batch_key in self._asked(session):
            return None  # the batch loaded every open incident this key could join
        query = select(Incident).where(
            Incident.recipient_id == leg.recipient_id,
            Incident.category == leg.category,
            Incident.source_key == key,
            Incident.state == IncidentState.OPEN.value,
            col(Incident.window_end) >= observed - WINDOW,
            col(Incident.window_start) <= observed + WINDOW,
        )
        found = (await session.exec(query.limit(1))).first()
        if found is not None:
            cached.append(found)
        return found

    def _new(self, leg: Leg, key: str, observed: datetime) -> Incident:
        return Incident(
            id=str(uuid.uuid4()), recipient_id=leg.recipient_id, category=leg.category,
            source_key=key, state=IncidentState.OPEN, window_start=observed,
            window_end=observed, report_count=0, unique_reporters=0, reporter_keys=[],
            created_at=self._now(),
        )  # fmt: skip

    async def _maybe_wave(
        self, session: AsyncSession, incident: Incident, delivery: ReportDelivered
    ) -> None:
        """A wave notice at the threshold, and again only each time it grows by as many."""
        if incident.unique_reporters < incident.wave_reporters + self.wave_threshold:
            return
        # the competent authorities of the incident's reports (a report's own may arrive later)
        reports = select(Leg.report_id).where(Leg.incident_id == incident.id)
        authorities = await session.exec(
            select(Leg.recipient_id).where(
                Leg.role == Role.COMPETENT_AUTHORITY.value, col(Leg.report_id).in_(reports)
            )
        )
        legs = await self.legs.case_legs(session, str(delivery.report_id))
        notify = {o.recipient_id for o in legs if o.role == Role.COMPETENT_AUTHORITY.value}
        notify |= set(authorities.all())
        if delivery.place.safety_region_code:
            notify.add(delivery.place.safety_region_code.lower())
        incident.waves_announced += 1
        incident.wave_reporters = incident.unique_reporters
        count = incident.unique_reporters
        event = ComplaintWave(
            incident_id=uuid.UUID(incident.id),
            recipient_id=incident.recipient_id,
            category=incident.category,
            unique_reporters=count,
            announcement=incident.waves_announced,
            notify=sorted(notify),
            reason=LocalizedText(
                nl=f"Klachtengolf: {count} verschillende melders over één voorval.",
                en=f"Complaint wave: {count} different reporters about one incident.",
            ),
            occurred_at=self._now(),
        )
        self.legs._emit(session, event, COMPLAINT_WAVE.name, incident.id)

    async def _timeline(self, session: AsyncSession, incident: Incident) -> list[datetime]:
        """The observed moments of the incident's legs: of the database once per transaction,
        then of the transaction (its legs are not flushed before the commit)."""
        timelines = self._timelines(session)
        if incident.id not in timelines:
            rows = await session.exec(
                select(Leg.observed_at).where(
                    Leg.incident_id == incident.id, col(Leg.observed_at).is_not(None)
                )
            )
            timelines[incident.id] = [_utc(m) for m in rows.all() if m is not None]
        return timelines[incident.id]

    def _announce(
        self, session: AsyncSession, incident: Incident, timeline: list[datetime]
    ) -> None:
        kind, _, rest = incident.source_key.partition(":")
        event = IncidentUpdated(
            incident_id=uuid.UUID(incident.id),
            recipient_id=incident.recipient_id,
            category=incident.category,
            facility_id=rest if kind == "facility" else None,
            cell=rest if kind == "cell" else None,
            state=IncidentState(incident.state),
            merged_into=uuid.UUID(incident.merged_into) if incident.merged_into else None,
            window_start=_utc(incident.window_start),
            window_end=_utc(incident.window_end),
            report_count=incident.report_count,
            unique_reporters=incident.unique_reporters,
            timeline=sorted(set(timeline)),
            wind_from_deg=incident.wind_from_deg,
            wind_speed_ms=incident.wind_speed_ms,
            occurred_at=self._now(),
        )
        self.legs._emit(session, event, INCIDENT.name, incident.id)

    # -- answering once ------------------------------------------------------------------------

    async def incident_of(
        self, session: AsyncSession, recipient_id: str, incident_id: str
    ) -> Incident:
        incident = await session.get(Incident, incident_id)
        if incident is None or incident.recipient_id != recipient_id:
            raise UnknownIncidentError(incident_id)
        return incident

    async def members(self, session: AsyncSession, incident_id: str) -> list[Leg]:
        query = select(Leg).where(Leg.incident_id == incident_id).order_by(col(Leg.id))
        return list((await session.exec(query)).all())

    async def answer(
        self,
        session: AsyncSession,
        incident: Incident,
        wanted: LegStatus,
        actor: Actor,
        explanation: str | None,
    ) -> Outcome:
        """Apply one answer to each open leg of the incident; one mail per resident."""
        members = await self.members(session, incident.id)
        await self.legs.load(
            session, {leg.report_id for leg in members}, {leg.id for leg in members}
        )
        cases = {
            case.report_id: case
            for case in (
                await session.exec(
                    select(CaseFile).where(
                        col(CaseFile.report_id).in_({m.report_id for m in members})
                    )
                )
            ).all()
        }
        changed: list[str] = []
        left: dict[str, str] = {}
        mailed: set[str] = set()  # one mail per resident, however many of their reports
        for leg in members:
            if wanted not in ALLOWED[LegStatus(leg.status)]:
                left[leg.id] = f"{leg.status}: {wanted.value} not allowed"
                continue
            case = cases.get(leg.report_id)
            reporter = case.reporter_key if case else leg.report_id
            mail_key = "" if reporter in mailed else (
                f"incident:{incident.id}:{wanted.value}:{reporter}:{leg.cycle}"
            )  # fmt: skip
            try:
                await self.legs.change_status(
                    session, leg, wanted, actor, explanation=explanation, mail_key=mail_key
                )
            except TransitionError as error:
                left[leg.id] = str(error)
                continue
            changed.append(leg.id)
            mailed.add(reporter)
        if wanted in (LegStatus.RESOLVED, LegStatus.NO_ACTION) and changed:
            incident.state = IncidentState.ANSWERED
            session.add(incident)
        self._announce(session, incident, await self._timeline(session, incident))
        return Outcome(changed, left)

    # -- moving ---------------------------------------------------------------------------------

    async def move(
        self,
        session: AsyncSession,
        incident: Incident,
        leg: Leg,
        to: Incident | None,
        actor: Actor,
        reason: str,
        handler: str | None = None,
    ) -> Incident:
        """Move ``leg`` out of ``incident`` into ``to`` (or a new incident of its own)."""
        if leg.incident_id != incident.id:
            raise IncidentRefusedError(f"leg {leg.id} is not in incident {incident.id}")
        if to is not None and (to.id == incident.id or to.state == IncidentState.MERGED):
            raise IncidentRefusedError("move a leg to another incident that is not merged")
        if to is None:
            observed = _utc(leg.observed_at or leg.delivered_at)
            to = self._new(leg, incident.source_key, observed)
            session.add(to)
            await session.flush()
        self._moved(session, leg, incident.id, to.id, actor, reason, handler)
        await session.flush()
        for changed in (incident, to):
            await self._recount(session, changed)
        return to

    async def merge(
        self,
        session: AsyncSession,
        incident: Incident,
        into: Incident,
        actor: Actor,
        reason: str,
        handler: str | None = None,
    ) -> Incident:
        """Every leg of ``incident`` moves into ``into``; ``incident`` is marked merged."""
        if into.id == incident.id or IncidentState.MERGED in (incident.state, into.state):
            raise IncidentRefusedError("merge two different incidents that are not merged")
        for leg in await self.members(session, incident.id):
            self._moved(session, leg, incident.id, into.id, actor, reason, handler)
        incident.state, incident.merged_into = IncidentState.MERGED, into.id
        session.add(incident)
        await session.flush()
        for changed in (incident, into):
            await self._recount(session, changed)
        return into

    def _moved(
        self,
        session: AsyncSession,
        leg: Leg,
        from_id: str,
        to_id: str,
        actor: Actor,
        reason: str,
        handler: str | None,
    ) -> None:
        if not reason.strip():
            raise IncidentRefusedError("a move needs a reason")
        now = self._now()
        leg.incident_id = to_id
        session.add(leg)
        stage_insert(
            session, MOVE_TABLE,
            {"leg_id": leg.id, "from_incident": from_id, "to_incident": to_id,
             "actor_kind": actor.kind.value, "actor_id": actor.actor_id, "handler": handler,
             "reason": reason.strip(), "at": now},
        )  # fmt: skip
        note = f"incident {from_id} -> {to_id}: {reason.strip()}"
        self.legs._history(session, leg, LegStatus(leg.status), actor, note, now)

    async def _recount(self, session: AsyncSession, incident: Incident) -> None:
        """Counts and window again from the incident's legs (after a move or merge)."""
        members = await self.members(session, incident.id)
        report_ids = {leg.report_id for leg in members}
        keys = (
            (
                await session.exec(
                    select(CaseFile.reporter_key).where(col(CaseFile.report_id).in_(report_ids))
                )
            ).all()
            if report_ids
            else []
        )
        timeline = [_utc(leg.observed_at) for leg in members if leg.observed_at is not None]
        incident.report_count = len(members)
        incident.reporter_keys = sorted(set(keys))
        incident.unique_reporters = len(incident.reporter_keys)
        if timeline:
            incident.window_start, incident.window_end = min(timeline), max(timeline)
        session.add(incident)
        self._announce(session, incident, timeline)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
