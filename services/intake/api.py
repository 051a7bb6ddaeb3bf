"""The app API under ``/api/v1/``: create a report, read it back by token, find nearby reports."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from schemas.report import Category, Channel
from services.intake.dependencies import BaseUrlDep, IntakeDep, client_ip
from services.intake.filing import Filing, RateLimited, Refused, file_report
from services.intake.metrics import REPORTS_REJECTED
from services.intake.photos import CleanPhoto, PhotoError, clean_photos
from services.intake.problems import (
    Language,
    field_problems,
    language_from,
    message_for,
    validation_problem,
)
from services.intake.submission import ReportSubmission, validate_submission
from services.intake.tracking import NearbyReport, RecipientTrack, Track
from services.runtime.problems import FieldProblem, json_body, known_query_parameters, problem


class ReportCreated(BaseModel):
    report_id: str
    number: int
    tracking_token: str
    tracking_url: str
    location_verified: bool
    replayed: bool


class RecipientOut(BaseModel):
    recipient_id: str
    name: str
    role: str
    reason: str
    status: str
    respond_by: datetime | None
    history: list[dict[str, Any]]


class ReportOut(BaseModel):
    report_id: str
    number: int
    category: str
    subtype: str | None
    status: str
    status_note: str | None
    observed_at: datetime
    received_at: datetime
    location_verified: bool
    recipients: list[RecipientOut]


class NearbyOut(NearbyReport):
    pass  # the app API's name for a nearby report (schemas/openapi/intake.json)


def refused(error: Refused, language: Language) -> JSONResponse:
    invalid = [
        FieldProblem(name=error.field, code=error.code, reason=message_for(error.code, language))
    ]
    return validation_problem(invalid, language)


def field_refused(name: str, code: str, reason: str, language: Language) -> JSONResponse:
    """A body or photo problem found before validation, counted under ``reason``."""
    REPORTS_REJECTED.labels("app", reason).inc()
    invalid = [FieldProblem(name=name, code=code, reason=message_for(code, language))]
    return validation_problem(invalid, language)


def rate_limited(error: RateLimited, language: Language) -> JSONResponse:
    title = (
        "U heeft dit net al gemeld. Probeer het later opnieuw."
        if language == "nl"
        else "You reported this a moment ago. Please try again later."
    )
    return problem(
        429,
        "rate-limited",
        title,
        detail=error.reason,
        headers={"Retry-After": str(error.retry_after_s)},
    )


def decode_photos(raw: object) -> list[bytes]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise PhotoError("list_type", "photos must be a list")
    decoded = []
    for item in raw:
        data = item.get("data") if isinstance(item, dict) else item
        if not isinstance(data, str):
            raise PhotoError("photo_type", "a photo is base64 text")
        try:
            decoded.append(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError) as error:
            raise PhotoError("photo_type", "a photo is not valid base64") from error
    return decoded


REPORT_AS_STORED = {
    "category",
    "subtype",
    "status",
    "observed_at",
    "received_at",
    "location_verified",
}


def recipient_out(recipient: RecipientTrack, language: Language) -> RecipientOut:
    history = [
        {"status": s.status, "at": s.occurred_at, "explanation": s.explanation}
        for s in recipient.history
    ]
    return RecipientOut(
        recipient_id=recipient.recipient_id,
        name=recipient.name,
        role=recipient.role,
        reason=recipient.reason(language),
        status=recipient.status,
        respond_by=recipient.deadline_at,
        history=history,
    )


def report_out(view: Track, language: Language) -> ReportOut:
    """A tracked report as the app API shows it: the report's columns as they are stored,
    the texts in the resident's language."""
    report = view.report
    return ReportOut(
        **report.model_dump(include=REPORT_AS_STORED),
        report_id=report.id,
        number=report.number or 0,
        status_note=view.status_note(language),
        recipients=[recipient_out(r, language) for r in view.recipients],
    )


SUBMISSION_SCHEMA = ReportSubmission.model_json_schema()
SUBMISSION_SCHEMA["properties"]["photos"] = {
    "type": "array",
    "maxItems": 5,
    "items": {"type": "object", "properties": {"data": {"type": "string", "format": "byte"}}},
}


router = APIRouter(
    prefix="/api/v1", tags=["reports"], dependencies=[Depends(known_query_parameters)]
)


@router.post(
    "/reports",
    status_code=202,
    dependencies=[Depends(json_body)],
    response_model=ReportCreated,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SUBMISSION_SCHEMA}},
        }
    },
    responses={400: {"description": "problem+json"}, 429: {"description": "problem+json"}},
)
async def create_report(
    request: Request,
    intake: IntakeDep,
    base_url: BaseUrlDep,
    accept_language: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """File a report. 202 once it is durably stored; it then travels on by itself."""
    language = language_from(accept_language)
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return field_refused("body", "json_invalid", "json_invalid", language)
    if not isinstance(data, dict):
        return field_refused("body", "dict_type", "json_invalid", language)
    language = language_from(accept_language, data.get("language"))
    try:
        photos: list[CleanPhoto] = clean_photos(decode_photos(data.pop("photos", None)))
        submission = validate_submission(data, intake.clock.now())
    except ValidationError as error:
        REPORTS_REJECTED.labels("app", "invalid").inc()
        return validation_problem(field_problems(error, language), language)
    except PhotoError as error:
        return field_refused("photos", error.code, error.code, language)
    filing = Filing(Channel.APP, client_ip(request), idempotency_key)
    accepted = await file_report(intake, submission, filing, photos)
    if isinstance(accepted, Refused):
        return refused(accepted, language)
    if isinstance(accepted, RateLimited):
        return rate_limited(accepted, language)
    body = ReportCreated(
        **asdict(accepted), tracking_url=f"{base_url}/track/{accepted.tracking_token}"
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/api/v1/reports/{accepted.report_id}"},
    )


@router.get("/reports/nearby", response_model=list[NearbyOut])
async def nearby(
    intake: IntakeDep,
    category: Category,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> list[NearbyOut]:
    """Open reports of the same category within about 1 km in the last 24 hours."""
    found = await intake.nearby_open_reports(category, lat, lon)
    return [NearbyOut.model_validate(item, from_attributes=True) for item in found]


@router.get("/reports/{report_id}", response_model=ReportOut)
async def read_report(
    intake: IntakeDep,
    report_id: str,
    x_tracking_token: Annotated[str | None, Header()] = None,
    token: str | None = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:
    """A report with its recipients, reasons, status history and deadlines."""
    language = language_from(accept_language)
    view = await intake.tracked(x_tracking_token or token or "")
    if view is None or view.report.id != report_id:
        return problem(404, "not-found", "Unknown report or tracking token.")
    return JSONResponse(report_out(view, language).model_dump(mode="json"))
