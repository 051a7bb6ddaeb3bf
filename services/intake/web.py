"""The resident's pages: the report form (no JavaScript needed), confirmation and tracking.

Dutch by default, English with ``?lang=en`` (or an English browser). A bad submission
re-renders the form with an error summary that links to each field, keeping what was typed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import select
from starlette.datastructures import UploadFile

from schemas.report import Category, Channel, HealthSymptom
from services.intake.actions import Accepted, Intake
from services.intake.filing import Filing, RateLimited, Refused, file_report
from services.intake.metrics import REPORTS_REJECTED
from services.intake.models import PhotoRecord
from services.intake.photos import MAX_BYTES, PhotoError, clean_photos
from services.intake.privacy import photo_signature_valid, tracking_token
from services.intake.problems import (
    FIELD_LABELS,
    Language,
    field_problems,
    language_from,
    message_for,
)
from services.intake.submission import AMSTERDAM, SUBTYPES, validate_submission
from services.intake.texts import CATEGORIES, ROLES, STATUSES, SYMPTOMS, pick, translator
from services.intake.tracking import nearby_open_reports, report_by_id, report_by_token, track

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ANCHORS = {
    "category": "category-odour",
    "location": "field-postcode",
    "observed_at": "field-observed_date",
}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%y")


def _language(request: Request) -> Language:
    return language_from(request.headers.get("accept-language"), request.query_params.get("lang"))


def _local(moment: datetime, language: Language) -> str:
    local = moment.astimezone(AMSTERDAM)
    return (
        local.strftime("%d-%m-%Y %H:%M") if language == "nl" else local.strftime("%Y-%m-%d %H:%M")
    )


def _page(
    request: Request, template: str, language: Language, status: int = 200, **context: Any
) -> HTMLResponse:
    other = "en" if language == "nl" else "nl"
    query = dict(request.query_params)
    query["lang"] = other
    other_url = request.url.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"lang": language, "t": translator(language), "other_language_url": other_url, **context},
        status_code=status,
    )


def _form_context(
    intake: Intake,
    language: Language,
    values: dict[str, Any],
    errors: dict[str, str],
    linked: Any = None,
) -> dict[str, Any]:
    labels = {name: pair[1] if language == "en" else pair[0] for name, pair in FIELD_LABELS.items()}
    return {
        "values": {"health_symptoms": [], **values},
        "errors": errors,
        "labels": labels,
        "anchors": ANCHORS,
        "categories": [(c.value, pick(CATEGORIES, c, language)) for c in Category],
        "category_names": {c.value: pick(CATEGORIES, c, language) for c in Category},
        "subtypes": {c.value: kinds for c, kinds in SUBTYPES.items()},
        "symptoms": [(s.value, pick(SYMPTOMS, s, language)) for s in HealthSymptom],
        "today_local": intake.clock.now().astimezone(AMSTERDAM).strftime("%d-%m-%Y"),
        "time_local": intake.clock.now().astimezone(AMSTERDAM).strftime("%H:%M"),
        "linked": linked,
    }


async def _nearby_items(
    intake: Intake,
    category: str,
    lat: float | None,
    lon: float | None,
    language: Language,
    exclude: str,
) -> list[dict[str, Any]]:
    if lat is None or lon is None:
        return []
    async with intake.sessions() as session:
        found = await nearby_open_reports(
            session, category=category, lat=lat, lon=lon, now=intake.clock.now()
        )
    t = translator(language)
    return [
        {
            "report_id": item.report_id,
            "number": item.number,
            "category_name": pick(CATEGORIES, Category(item.category), language),
            "subtype": item.subtype,
            "observed_local": _local(item.observed_at, language),
            "distance": t["about"].format(m=item.distance_m),
            "also_noticed": item.also_noticed,
        }
        for item in found
        if item.report_id != exclude
    ]


def _filing_errors(filed: Refused | RateLimited, language: Language) -> dict[str, str]:
    """Why the use case did not accept the report, as the form's error for a field."""
    if isinstance(filed, Refused):
        return {filed.field: message_for(filed.code, language)}
    minutes = max(1, round(filed.retry_after_s / 60))
    return {
        "category": (
            f"U heeft dit net al gemeld. Probeer het over {minutes} minuten opnieuw."
            if language == "nl"
            else f"You reported this a moment ago. Try again in {minutes} minutes."
        )
    }


def observed_at_from_form(date_text: str, time_text: str) -> str | None:
    """Day-month-year and hours:minutes typed in the form, as local ISO time (or None)."""
    for pattern in DATE_FORMATS:
        try:
            day = datetime.strptime(date_text.strip(), pattern)
            clock = datetime.strptime(time_text.strip().replace(".", ":"), "%H:%M")
        except ValueError:
            continue
        return day.replace(hour=clock.hour, minute=clock.minute).isoformat()
    return None


def web_router(photo_secret: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def form(request: Request, linked: str | None = None) -> HTMLResponse:
        intake: Intake = request.app.state.intake
        language = _language(request)
        values: dict[str, Any] = {}
        linked_report = None
        if linked:
            async with intake.sessions() as session:
                linked_report = await report_by_id(session, linked)
            if linked_report is not None:
                values = {"category": linked_report.category, "subtype": linked_report.subtype}
        return _page(
            request,
            "form.html",
            language,
            **_form_context(intake, language, values, {}, linked_report),
        )

    @router.post("/", response_class=HTMLResponse)
    async def submit(request: Request) -> Response:
        intake: Intake = request.app.state.intake
        language = _language(request)
        form_data = await request.form(max_part_size=MAX_BYTES + 1024)
        values: dict[str, Any] = {k: v for k, v in form_data.items() if isinstance(v, str)}
        values["health_symptoms"] = [
            v for v in form_data.getlist("health_symptoms") if isinstance(v, str)
        ]
        for flag in ("share_contact", "email_updates"):
            values[flag] = values.get(flag) == "true"
        uploads = [
            u for u in form_data.getlist("photos") if isinstance(u, UploadFile) and u.filename
        ]
        errors: dict[str, str] = {}
        language = (
            language_from(None, values.get("language")) if values.get("language") else language
        )
        date_text = str(values.pop("observed_date", ""))
        time_text = str(values.pop("observed_time", ""))
        observed_at = observed_at_from_form(date_text, time_text)
        if observed_at is None:
            errors["observed_at"] = message_for("datetime_from_date_parsing", language)
        else:
            values["observed_at"] = observed_at
        linked = values.get("linked_report_id")
        submission = None
        try:
            raws = [await upload.read(MAX_BYTES + 1) for upload in uploads]
            photos = clean_photos(raws)
        except PhotoError as error:
            errors["photos"] = message_for(error.code, language)
            photos = []
        try:
            submission = validate_submission(values, intake.clock.now())
        except ValidationError as error:
            for item in field_problems(error, language):
                errors.setdefault(item["name"], item["reason"])
            place_given = any(values.get(k) for k in ("lat", "postcode", "house_number", "address"))
            if not place_given:  # the model checks the place only once the fields are valid
                errors.setdefault("location", message_for("location_missing", language))
        if submission is not None and not errors:
            filing = Filing(Channel.WEB, request.client.host if request.client else None)
            filed = await file_report(intake, submission, filing, photos)
            if isinstance(filed, Accepted):
                return RedirectResponse(
                    f"/received/{filed.tracking_token}?lang={language}", status_code=303
                )
            errors.update(_filing_errors(filed, language))
        else:
            for name in errors:
                REPORTS_REJECTED.labels("web", name).inc()
        values.update(observed_date=date_text, observed_time=time_text)
        linked_report = None
        if linked:
            async with intake.sessions() as session:
                linked_report = await report_by_id(session, linked)
        context = _form_context(intake, language, values, errors, linked_report)
        return _page(request, "form.html", language, status=400, **context)

    @router.get("/received/{token}", response_class=HTMLResponse)
    async def received(request: Request, token: str) -> HTMLResponse:
        intake: Intake = request.app.state.intake
        language = _language(request)
        async with intake.sessions() as session:
            report = await report_by_token(session, token)
        if report is None:
            return _page(request, "base.html", language, status=404)
        nearby = await _nearby_items(
            intake, report.category, report.lat, report.lon, language, report.id
        )
        base = str(request.base_url).rstrip("/")
        return _page(
            request,
            "received.html",
            language,
            report=report,
            tracking_url=f"{base}/track/{token}?lang={language}",
            nearby=nearby,
        )

    @router.get("/track/{token}", response_class=HTMLResponse)
    async def tracking_page(request: Request, token: str) -> HTMLResponse:
        intake: Intake = request.app.state.intake
        language = _language(request)
        async with intake.sessions() as session:
            report = await report_by_token(session, token)
            if report is None:
                return _page(request, "base.html", language, status=404)
            view = await track(session, report)
            photo_ids = (
                await session.exec(select(PhotoRecord.id).where(PhotoRecord.report_id == report.id))
            ).all()
        recipients = [
            {
                "name": r.name,
                "role_text": pick(ROLES, r.role, language),
                "reason": r.reason_en if language == "en" else r.reason_nl,
                "status_text": pick(STATUSES, r.status, language),
                "deadline": _local(r.deadline_at, language) if r.deadline_at else None,
                "history": [
                    {
                        "when": _local(s.occurred_at, language),
                        "status": pick(STATUSES, s.status, language),
                        "explanation": s.explanation,
                    }
                    for s in r.history
                ],
            }
            for r in view.recipients
        ]
        return _page(
            request,
            "track.html",
            language,
            report=report,
            category_name=pick(CATEGORIES, Category(report.category), language),
            observed_local=_local(report.observed_at, language),
            status_note=report.status_note_en if language == "en" else report.status_note_nl,
            recipients=recipients,
            photos=[f"/photos/{pid}?token={token}" for pid in photo_ids],
        )

    @router.get("/photos/{photo_id}")
    async def photo(
        request: Request,
        photo_id: str,
        token: str | None = None,
        expires: int | None = None,
        sig: str | None = None,
    ) -> Response:
        """Only the reporter (tracking token) or an authority (signed link) sees a photo."""
        intake: Intake = request.app.state.intake
        async with intake.sessions() as session:
            record = (
                await session.exec(select(PhotoRecord).where(PhotoRecord.id == photo_id))
            ).first()
            allowed = False
            if record is not None and token:
                allowed = token == tracking_token(photo_secret, record.report_id)
            elif record is not None and expires is not None and sig:
                allowed = photo_signature_valid(
                    photo_secret, photo_id, expires, sig, intake.clock.now()
                )
        if record is None or not allowed:
            return Response(status_code=404)
        return Response(
            record.data,
            media_type=record.content_type,
            headers={"Cache-Control": "private, no-store"},
        )

    return router


def signed_photo_path(secret: str, photo_id: str, now: datetime, ttl: timedelta) -> str:
    """A link for an authority, valid until ``now + ttl``."""
    from services.intake.privacy import sign_photo

    expires = int((now + ttl).timestamp())
    return f"/photos/{photo_id}?expires={expires}&sig={sign_photo(secret, photo_id, expires)}"
