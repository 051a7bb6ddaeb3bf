"""``/api/v1/legs`` for authorities without Kafka: read and answer their own legs.

Authenticated by one of the authority's API keys (``Authorization: Bearer <key>``; several per
authority, revocable, see ``authorities.py``). A leg of another
authority is answered exactly like a leg that does not exist (404), so keys reveal nothing.
Each leg carries what its delivery carried (``report``, see ``delivered.py``), so an authority
that does not run Kafka sees what was reported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from schemas.leg import LegStatus
from schemas.report import Category
from schemas.routing import RECIPIENT_ID_PATTERN
from services.notifier.callers import ApiCaller, DeskDep
from services.notifier.delivered import DeliveredReport, delivered_report
from services.notifier.desk import LegFilter, SharedCase
from services.notifier.models import Leg, LegHistory
from services.notifier.norms import obligation
from services.notifier.problem_types import STATUS_CONFLICT
from services.runtime.problems import json_body, known_query_parameters


class HistoryOut(BaseModel):
    at: datetime
    from_status: str | None
    to_status: str
    actor_kind: str
    actor_name: str | None = Field(default=None, description="the person who acted, if any")
    explanation: str | None


class AnswerOut(BaseModel):
    at: datetime
    status: str
    explanation: str | None


class CaseLegOut(BaseModel):
    """Another recipient's leg of the same report: body, role, status, answers."""

    recipient_id: str
    name: str
    role: str
    obligation: str
    status: str
    answers: list[AnswerOut]


class CaseOut(BaseModel):
    lead_recipient_id: str | None = Field(description="the body that took the lead, if any")
    others: list[CaseLegOut]


class LegOut(BaseModel):
    leg_id: str
    report_id: str
    recipient_id: str
    role: str
    obligation: str = Field(
        description="answer (competent authority, executing body), advise, or informed: "
        "an informed leg has no deadline and is never overdue"
    )
    category: str
    status: str
    handler: str | None
    delivered_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    deadline: str | None = Field(description="acknowledge or resolve; none when closed")
    respond_by: datetime | None
    overdue_steps: int = Field(description="ladder rungs fired in the current cycle")
    explanation: str | None
    history: list[HistoryOut] = Field(default_factory=list)
    case: CaseOut | None = Field(
        default=None, description="the other recipients' legs (on a single leg's read)"
    )
    report: DeliveredReport | None = Field(
        default=None,
        description="what the delivery carried; none for a leg opened by forwarding",
    )


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: LegStatus
    explanation: str | None = Field(default=None, max_length=4000)
    forwarded_to: str | None = Field(default=None, pattern=RECIPIENT_ID_PATTERN)
    handler: str | None = Field(default=None, max_length=100, description="a desk, not a name")
    seen_answers_of: list[str] = Field(
        default_factory=list,
        description="recipient ids whose answers on the case the caller has read; an answer "
        "while another body's answer is not among them is refused (409, problem type "
        "answer-not-seen) with that answer",
    )


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=4000, description="kept in the leg's history")


def case_out(shared: SharedCase) -> CaseOut:
    return CaseOut(
        lead_recipient_id=shared.lead_recipient_id,
        others=[
            CaseLegOut(
                recipient_id=other.recipient_id,
                name=other.recipient_name,
                role=other.role,
                obligation=obligation(other.role),
                status=other.status,
                answers=[
                    AnswerOut(at=row.at, status=row.to_status, explanation=row.explanation)
                    for row in shared.answers.get(other.id, [])
                ],
            )
            for other in shared.others
        ],
    )


def leg_out(
    leg: Leg, history: list[LegHistory] | None = None, shared: SharedCase | None = None
) -> LegOut:
    return LegOut(
        case=case_out(shared) if shared is not None else None,
        leg_id=leg.id,
        report_id=leg.report_id,
        recipient_id=leg.recipient_id,
        role=leg.role,
        obligation=obligation(leg.role),
        category=leg.category,
        status=leg.status,
        handler=leg.handler,
        delivered_at=leg.delivered_at,
        acknowledged_at=leg.acknowledged_at,
        closed_at=leg.closed_at,
        deadline=leg.deadline_kind,
        respond_by=leg.next_due_at,
        overdue_steps=leg.next_step - 1 if leg.deadline_kind else 0,
        explanation=leg.explanation,
        history=[
            HistoryOut(
                at=h.at,
                from_status=h.from_status,
                to_status=h.to_status,
                actor_kind=h.actor_kind,
                actor_name=h.actor_name,
                explanation=h.explanation,
            )
            for h in history or []
        ],
        report=delivered_report(leg.delivery),
    )


router = APIRouter(prefix="/api/v1", tags=["legs"], dependencies=[Depends(known_query_parameters)])


@router.get("/legs", response_model=list[LegOut])
async def list_legs(
    caller: ApiCaller,
    desk: DeskDep,
    status: Annotated[LegStatus | None, Query()] = None,
    category: Category | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    wanted = LegFilter(status=status, category=category, limit=limit)
    found = await desk.legs_of(caller.recipient_id, wanted)
    return JSONResponse([leg_out(leg).model_dump(mode="json") for leg in found])


@router.get("/legs/{leg_id}", response_model=LegOut)
async def get_leg(leg_id: str, caller: ApiCaller, desk: DeskDep) -> Response:
    leg, history = await desk.leg_with_history(caller.recipient_id, leg_id)
    shared = await desk.shared_case(caller.recipient_id, leg_id)
    return JSONResponse(leg_out(leg, history, shared).model_dump(mode="json"))


@router.post(
    "/legs/{leg_id}/lead",
    response_model=LegOut,
    responses={409: {"description": "Only an answering body can take the lead"}},
)
async def take_lead(leg_id: str, caller: ApiCaller, desk: DeskDep) -> Response:
    """ "I handle this; the others are informed": the caller leads the case, visible to all."""
    await desk.take_lead(caller.recipient_id, leg_id, actor=caller.actor())
    return await get_leg(leg_id, caller, desk)


@router.post(
    "/legs/{leg_id}/status",
    response_model=LegOut,
    dependencies=[Depends(json_body)],
    responses=STATUS_CONFLICT,
)
async def change(leg_id: str, body: StatusIn, caller: ApiCaller, desk: DeskDep) -> Response:
    leg = await desk.answer(
        caller.recipient_id,
        leg_id,
        body.status,
        explanation=body.explanation,
        forwarded_to=body.forwarded_to,
        handler=body.handler,
        actor=caller.actor(),
        seen_answers_of=frozenset(body.seen_answers_of),
    )
    return JSONResponse(leg_out(leg).model_dump(mode="json"))


@router.post(
    "/legs/{leg_id}/notes",
    response_model=LegOut,
    dependencies=[Depends(json_body)],
    responses={409: {"description": "An empty note"}},
)
async def add_note(leg_id: str, body: NoteIn, caller: ApiCaller, desk: DeskDep) -> Response:
    """A note in the leg's history; any role, the way an informed party says something."""
    await desk.note(caller.recipient_id, leg_id, body.note, actor=caller.actor())
    return await get_leg(leg_id, caller, desk)
