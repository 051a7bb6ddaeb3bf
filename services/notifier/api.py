"""``/api/v1/legs`` for authorities without Kafka: read and answer their own legs.

Authenticated by the authority's API key (``Authorization: Bearer <key>``). A leg of another
authority is answered exactly like a leg that does not exist (404), so keys reveal nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from schemas.leg import Actor, ActorKind, LegStatus
from schemas.routing import RECIPIENT_ID_PATTERN
from services.notifier.actions import Legs
from services.notifier.authorities import authority_for_key
from services.notifier.models import Authority, Leg, LegHistory
from services.notifier.transitions import TransitionError
from services.runtime.database import SessionFactory, engine_of, writing
from services.runtime.problems import problem


class HistoryOut(BaseModel):
    at: datetime
    from_status: str | None
    to_status: str
    actor_kind: str
    explanation: str | None


class LegOut(BaseModel):
    leg_id: str
    report_id: str
    recipient_id: str
    role: str
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


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: LegStatus
    explanation: str | None = Field(default=None, max_length=4000)
    forwarded_to: str | None = Field(default=None, pattern=RECIPIENT_ID_PATTERN)
    handler: str | None = Field(default=None, max_length=100, description="a desk, not a name")


async def calling_authority(request: Request) -> Authority | None:
    """The authority whose API key came with the request (None without a valid key)."""
    key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    sessions: SessionFactory = request.app.state.sessions
    return await authority_for_key(sessions, key)


Caller = Annotated[Authority | None, Depends(calling_authority)]


def leg_out(leg: Leg, history: list[LegHistory] | None = None) -> LegOut:
    return LegOut(
        leg_id=leg.id,
        report_id=leg.report_id,
        recipient_id=leg.recipient_id,
        role=leg.role,
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
                explanation=h.explanation,
            )
            for h in history or []
        ],
    )


def api_router(sessions: SessionFactory, legs: Legs) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["legs"])

    def unauthorised() -> JSONResponse:
        return problem(
            401,
            "unauthorised",
            "A valid API key is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def not_found() -> JSONResponse:
        return problem(404, "no-leg", "There is no such leg for this authority.")

    @router.get("/legs", response_model=list[LegOut])
    async def list_legs(
        caller: Caller,
        status: Annotated[LegStatus | None, Query()] = None,
        category: Annotated[str | None, Query(max_length=16)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> Response:
        if caller is None:
            return unauthorised()
        query = select(Leg).where(Leg.recipient_id == caller.recipient_id)
        if status is not None:
            query = query.where(Leg.status == status.value)
        if category is not None:
            query = query.where(Leg.category == category)
        query = query.order_by(col(Leg.next_due_at).is_(None), col(Leg.next_due_at)).limit(limit)
        async with sessions() as session:
            found = (await session.exec(query)).all()
        return JSONResponse([leg_out(leg).model_dump(mode="json") for leg in found])

    @router.get("/legs/{leg_id}", response_model=LegOut)
    async def get_leg(leg_id: str, caller: Caller) -> Response:
        if caller is None:
            return unauthorised()
        async with sessions() as session:
            leg = await session.get(Leg, leg_id)
            if leg is None or leg.recipient_id != caller.recipient_id:
                return not_found()
            history = list(
                (
                    await session.exec(
                        select(LegHistory)
                        .where(LegHistory.leg_id == leg_id)
                        .order_by(col(LegHistory.id))
                    )
                ).all()
            )
        return JSONResponse(leg_out(leg, history).model_dump(mode="json"))

    @router.post("/legs/{leg_id}/status", response_model=LegOut)
    async def change(leg_id: str, body: StatusIn, caller: Caller) -> Response:
        if caller is None:
            return unauthorised()
        actor = Actor(kind=ActorKind.AUTHORITY, actor_id=caller.recipient_id)
        try:
            async with writing(engine_of(sessions)), sessions() as session, session.begin():
                leg = await session.get(Leg, leg_id)
                if leg is None or leg.recipient_id != caller.recipient_id:
                    return not_found()
                await legs.change_status(
                    session, leg, body.status, actor, explanation=body.explanation,
                    forwarded_to=body.forwarded_to, handler=body.handler,
                )  # fmt: skip
                answer = leg_out(leg)
        except TransitionError as error:
            return problem(409, "transition-refused", "This status change is not allowed.",
                           detail=str(error))  # fmt: skip
        return JSONResponse(answer.model_dump(mode="json"))

    return router
