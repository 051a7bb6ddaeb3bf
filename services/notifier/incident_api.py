"""``/api/v1/incidents``: an executing body's incidents (voorvallen), answered once.

Same API key as the legs; another body's incident is a 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from schemas.leg import LegStatus
from services.notifier.callers import ApiCaller, DeskDep
from services.notifier.incidents import UnknownIncidentError
from services.notifier.models import Incident, IncidentMove, Leg
from services.runtime.problems import json_body, known_query_parameters, problem


class IncidentOut(BaseModel):
    incident_id: str
    category: str
    source: str = Field(description="facility:<id>, or cell:<lat>:<lon> when none is known")
    state: str
    merged_into: str | None
    window_start: datetime
    window_end: datetime
    report_count: int
    unique_reporters: int
    wind_from_deg: float | None
    wind_speed_ms: float | None


class MoveOut(BaseModel):
    leg_id: str
    from_incident: str | None
    to_incident: str
    actor_id: str
    reason: str
    at: datetime


class IncidentDetailOut(IncidentOut):
    legs: list[str] = Field(description="the incident's leg ids (see /api/v1/legs/{id})")
    timeline: list[datetime] = Field(description="when each report's nuisance was observed")
    moves: list[MoveOut]


class IncidentAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal[LegStatus.ACKNOWLEDGED, LegStatus.IN_PROGRESS, LegStatus.RESOLVED,
                    LegStatus.NO_ACTION]  # fmt: skip
    explanation: str | None = Field(default=None, max_length=4000)


class IncidentAnswerOut(BaseModel):
    changed: list[str] = Field(description="legs the answer was applied to")
    left: dict[str, str] = Field(description="legs it was not applied to, and why")


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(default=None, description="another incident; none: one of its own")
    reason: str = Field(min_length=1, max_length=1000)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str
    reason: str = Field(min_length=1, max_length=1000)


def incident_out(incident: Incident) -> IncidentOut:
    return IncidentOut(
        incident_id=incident.id, category=incident.category, source=incident.source_key,
        state=incident.state, merged_into=incident.merged_into,
        window_start=incident.window_start, window_end=incident.window_end,
        report_count=incident.report_count, unique_reporters=incident.unique_reporters,
        wind_from_deg=incident.wind_from_deg, wind_speed_ms=incident.wind_speed_ms,
    )  # fmt: skip


def detail_out(incident: Incident, legs: list[Leg], moves: list[IncidentMove]) -> IncidentDetailOut:
    return IncidentDetailOut(
        **incident_out(incident).model_dump(),
        legs=[leg.id for leg in legs],
        timeline=sorted(leg.observed_at for leg in legs if leg.observed_at is not None),
        moves=[
            MoveOut(leg_id=m.leg_id, from_incident=m.from_incident, to_incident=m.to_incident,
                    actor_id=m.actor_id, reason=m.reason, at=m.at)
            for m in moves
        ],
    )  # fmt: skip


router = APIRouter(
    prefix="/api/v1", tags=["incidents"], dependencies=[Depends(known_query_parameters)]
)


@router.get("/incidents", response_model=list[IncidentOut])
async def list_incidents(caller: ApiCaller, desk: DeskDep) -> Response:
    found = await desk.incidents_of(caller.recipient_id)
    return JSONResponse([incident_out(i).model_dump(mode="json") for i in found])


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut)
async def get_incident(incident_id: str, caller: ApiCaller, desk: DeskDep) -> Response:
    incident, legs, moves = await desk.incident(caller.recipient_id, incident_id)
    return JSONResponse(detail_out(incident, legs, moves).model_dump(mode="json"))


@router.post(
    "/incidents/{incident_id}/status",
    response_model=IncidentAnswerOut,
    dependencies=[Depends(json_body)],
)
async def answer_incident(
    incident_id: str, body: IncidentAnswerIn, caller: ApiCaller, desk: DeskDep
) -> Response:
    """One answer for each of the incident's legs; each resident gets the explanation once."""
    outcome = await desk.answer_incident(
        caller.recipient_id, incident_id, LegStatus(body.status), body.explanation
    )
    answer = IncidentAnswerOut(changed=outcome.changed, left=outcome.left)
    return JSONResponse(answer.model_dump(mode="json"))


@router.post(
    "/incidents/{incident_id}/legs/{leg_id}/move",
    response_model=IncidentDetailOut,
    dependencies=[Depends(json_body)],
)
async def move_leg(
    incident_id: str, leg_id: str, body: MoveIn, caller: ApiCaller, desk: DeskDep
) -> Response:
    target = await desk.move_leg(caller.recipient_id, incident_id, leg_id, body.to, body.reason)
    return await get_incident(target.id, caller, desk)


@router.post(
    "/incidents/{incident_id}/merge",
    response_model=IncidentDetailOut,
    dependencies=[Depends(json_body)],
)
async def merge(incident_id: str, body: MergeIn, caller: ApiCaller, desk: DeskDep) -> Response:
    target = await desk.merge_incidents(caller.recipient_id, incident_id, body.into, body.reason)
    return await get_incident(target.id, caller, desk)


async def _unknown_incident(_request: Request, _error: Exception) -> Response:
    return problem(404, "no-incident")


def install(app: FastAPI) -> None:
    app.add_exception_handler(UnknownIncidentError, _unknown_incident)
