"""Per-body, per-period figures of where things stall: the national table's view of the process.

Only the answering legs count (competent authority, executing body: ``Obligation.ANSWER``); an
informed or advising party owes no answer. Working hours throughout. The event carries no
report, leg or reporter: the table reads how the process runs, never a single case.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.process import BodyFigures, ProcessFigures
from schemas.routing import Role
from schemas.topics import PROCESS_FIGURES
from services.notifier.models import EscalationFired, Leg
from services.notifier.transitions import CLOSED, OPEN_ANSWERS
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import Clock
from services.runtime.outbox import enqueue

SOURCE = "/buursignaal/notifier"
ANSWERING = (Role.COMPETENT_AUTHORITY.value, Role.EXECUTING_BODY.value)
RUNG_FIELDS = {1: "reminders", 2: "commissioning_authority", 3: "administrative_lead"}


async def compose(
    session: AsyncSession, calendar: WorkingCalendar, start: datetime, end: datetime
) -> list[BodyFigures]:
    """The figures of every body with answering legs delivered in ``[start, end]``."""
    return [figures for figures, _ in await compose_with_legs(session, calendar, start, end)]


async def compose_with_legs(
    session: AsyncSession, calendar: WorkingCalendar, start: datetime, end: datetime
) -> list[tuple[BodyFigures, list[Leg]]]:
    """Each body's figures with the answering legs they count (the digest judges which of
    those are still within their first deadline; nothing of a leg leaves the notifier)."""
    legs = (
        await session.exec(
            select(Leg).where(
                col(Leg.role).in_(ANSWERING),
                col(Leg.delivered_at) >= start,
                col(Leg.delivered_at) <= end,
            )
        )
    ).all()
    fired = (
        await session.exec(
            select(EscalationFired).where(
                col(EscalationFired.fired_at) >= start, col(EscalationFired.fired_at) <= end
            )
        )
    ).all()
    by_body: dict[str, list[Leg]] = defaultdict(list)
    for leg in legs:
        by_body[leg.recipient_id].append(leg)
    owner = {leg.id: leg.recipient_id for leg in legs}
    rungs: Counter[tuple[str, int]] = Counter(
        (owner[f.leg_id], f.step) for f in fired if f.leg_id in owner
    )
    late = {f.leg_id for f in fired if f.deadline_kind == "acknowledge"}
    return [
        (_body(recipient_id, own, rungs, late, calendar, end), own)
        for recipient_id, own in sorted(by_body.items())
    ]


def _body(
    recipient_id: str,
    own: list[Leg],
    rungs: Counter[tuple[str, int]],
    late: set[str],
    calendar: WorkingCalendar,
    end: datetime,
) -> BodyFigures:
    acknowledged = [leg for leg in own if leg.acknowledged_at is not None]
    answered = [leg for leg in own if leg.status in OPEN_ANSWERS and leg.closed_at is not None]
    ack_hours = [calendar.between(leg.delivered_at, leg.acknowledged_at) for leg in acknowledged
                 if leg.acknowledged_at is not None]  # fmt: skip
    resolve_hours = [
        max(0.0, calendar.between(leg.clock_origin, leg.closed_at) - leg.paused_hours)
        for leg in answered
        if leg.closed_at is not None
    ]
    overdue = [
        leg for leg in own if leg.status not in CLOSED and leg.next_step > 1 and leg.deadline_kind
    ]
    return BodyFigures(
        recipient_id=recipient_id,
        name=own[0].recipient_name,
        legs=len(own),
        acknowledged=len(acknowledged),
        answered=len(answered),
        answered_on_time=sum(leg.id not in late for leg in acknowledged),
        median_hours_to_acknowledge=_median(ack_hours),
        median_hours_to_resolve=_median(resolve_hours),
        open_overdue=len(overdue),
        **{name: rungs[(recipient_id, step)] for step, name in RUNG_FIELDS.items()},
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def publish(
    session: AsyncSession,
    *,
    calendar: WorkingCalendar,
    now: datetime,
    period: timedelta,
    clock: Clock,
) -> ProcessFigures:
    """Compose the last period's figures and put them on the table's topic (outbox)."""
    start = now - period
    event = ProcessFigures(
        figures_id=uuid.uuid4(),
        period_start=start,
        period_end=now,
        published_at=now,
        bodies=await compose(session, calendar, start, now),
    )
    key = str(event.figures_id)
    enqueue(session, event, topic=PROCESS_FIGURES.name, key=key, source=SOURCE, clock=clock)
    return event
