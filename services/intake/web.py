"""The resident's pages: the report form (no JavaScript needed), confirmation and tracking.

Dutch by default, English with ``?lang=en`` (or an English browser). A bad submission
re-renders the form with an error summary that links to each field, keeping what was typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from pydantic import Field as PydanticField
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.report import Category, Channel, HealthSymptom
from services.intake.actions import Accepted, Intake
from services.intake.dependencies import IntakeDep, client_ip
from services.intake.filing import Filing, RateLimited, Refused, file_report
from services.intake.metrics import REPORTS_REJECTED
from services.intake.models import PhotoRecord, ReportRecord
from services.intake.open311 import GRID_LAT, GRID_LON
from services.intake.photos import MAX_BYTES, CleanPhoto, PhotoError, clean_photos
from services.intake.privacy import photo_signature_valid, sign_photo, tracking_token
from services.intake.problems import (
    FIELD_LABELS,
    Language,
    field_problems,
    language_from,
    message_for,
)
from services.intake.submission import AMSTERDAM, SUBTYPES, ReportSubmission, validate_submission
from services.intake.texts import (
    CATEGORIES,
    ROLES,
    STATUSES,
    SYMPTOMS,
    decimal,
    local_time,
    pick,
    translator,
)
from services.intake.texts import SUBTYPES as SUBTYPE_NAMES
from services.intake.tracking import RecipientTrack
from services.runtime.problems import problem, wants_page

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ANCHORS = {
    "category": "category-odour",
    "location": "field-postcode",
    "observed_at": "field-observed_date",
}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%y")
PLACE_FIELDS = ("lat", "postcode", "house_number", "address")
# the order of the form's fields, which the error summary follows ("location" is the place as
# a whole, shown above its fields; a name not listed goes last)
FORM_ORDER = (
    "category", "subtype", "location", "postcode", "house_number", "address", "lat", "lon",
    "rd_x", "rd_y", "observed_at", "duration_minutes", "still_noticeable", "intensity",
    "description", "health_symptoms", "symptoms_other", "suspected_source", "photos", "name",
    "email", "phone", "share_contact", "email_updates",
)  # fmt: skip


@dataclass(frozen=True)
class Pages:
    """Renders a page in the resident's language, with the link to the other language."""

    request: Request
    language: Language

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        language = self.language
        other = "en" if language == "nl" else "nl"
        query = {**self.request.query_params, "lang": other}
        other_url = self.request.url.path + "?" + urlencode(query)
        return TEMPLATES.TemplateResponse(
            self.request,
            template,
            {
                "lang": language,
                "t": translator(language),
                "other_language_url": other_url,
                "other_lang": other,
                **context,
            },
            status_code=status,
        )

    def not_found(self) -> HTMLResponse:
        return self.render("not_found.html", status=404)

    def failed(self, status: int, headers: dict[str, str]) -> HTMLResponse:
        """No page at this address (404), or a request no page takes (405, ...)."""
        t = translator(self.language)
        if status == 404:
            heading, body = t["page_not_found_title"], t["page_not_found_body"]
        else:
            heading, body = t["page_failed_title"], t["page_failed_body"].format(status=status)
        answer = self.render("error.html", status=status, heading=heading, body=body)
        answer.headers.update(headers)
        return answer


async def pages(request: Request) -> Pages:
    language = language_from(
        request.headers.get("accept-language"), request.query_params.get("lang")
    )
    return Pages(request, language)


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own answers (no such path, method not allowed): a page in the resident's
    language for a browser, problem+json for the APIs (as every service answers them)."""
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if wants_page(request):
        return (await pages(request)).failed(error.status_code, headers)
    kind = "not-found" if error.status_code == 404 else "http-error"
    return problem(error.status_code, kind, str(error.detail), headers=headers)


PagesDep = Annotated[Pages, Depends(pages)]


@cache
def _form_choices(language: Language) -> dict[str, Any]:
    """What the form shows in one language and never changes: labels and choices."""
    labels = {name: pair[1] if language == "en" else pair[0] for name, pair in FIELD_LABELS.items()}
    return {
        "labels": labels,
        "anchors": ANCHORS,
        "categories": [(c.value, pick(CATEGORIES, c, language)) for c in Category],
        "category_names": {c.value: pick(CATEGORIES, c, language) for c in Category},
        "subtypes": {c.value: kinds for c, kinds in SUBTYPES.items()},
        "subtype_names": {kind: pick(SUBTYPE_NAMES, kind, language) for kind in SUBTYPE_NAMES},
        "symptoms": [(s.value, pick(SYMPTOMS, s, language)) for s in HealthSymptom],
    }


async def _form_page(
    pages: Pages,
    intake: Intake,
    values: dict[str, Any],
    errors: dict[str, str],
    linked: ReportRecord | None,
    status: int = 200,
) -> HTMLResponse:
    now = intake.clock.now().astimezone(AMSTERDAM)
    # a new form proposes now; a form sent back shows the date and time as they were left
    defaults = {
        "health_symptoms": [],
        "observed_date": now.strftime("%d-%m-%Y"),
        "observed_time": now.strftime("%H:%M"),
    }
    return pages.render(
        "form.html",
        status,
        **_form_choices(pages.language),
        values={**defaults, **values},
        errors=in_form_order(errors),
        linked=linked,
        pin_text=_pin_text(values, pages.language),
    )


def _pin_text(values: dict[str, Any], language: Language) -> str:
    """Where the pin is, said in words, when the form comes back with one placed."""
    try:
        lat, lon = float(values.get("lat") or ""), float(values.get("lon") or "")
    except ValueError:
        return ""
    shown = {"lat": decimal(lat, language, 5), "lon": decimal(lon, language, 5)}
    return translator(language)["map_pin_placed"].format(**shown)


def in_form_order(errors: dict[str, str]) -> dict[str, str]:
    """The errors in the order of the form's fields."""
    rank = {name: n for n, name in enumerate(FORM_ORDER)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))


async def _nearby_items(
    intake: Intake, report: ReportRecord, language: Language
) -> list[dict[str, Any]]:
    """Open reports like this one nearby, for "I notice it too" (never the report itself)."""
    if report.lat is None or report.lon is None:
        return []
    category = Category(report.category)
    return await _nearby_at(intake, category, (report.lat, report.lon), language, report.id)


class Spot(BaseModel):
    """A kind of nuisance at a place: what the form knows once a pin is placed or an address
    typed."""

    category: Category
    lat: float | None = PydanticField(default=None, ge=-90, le=90)
    lon: float | None = PydanticField(default=None, ge=-180, le=180)
    postcode: str = PydanticField(default="", max_length=10)
    house_number: str = PydanticField(default="", max_length=10)
    address: str = PydanticField(default="", max_length=200)

    async def point(self, intake: Intake) -> tuple[float, float] | None:
        """The pin, else the typed address as PDOK finds it (None: not known yet)."""
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        postcode = self.postcode.replace(" ", "").upper()
        if postcode and self.house_number.strip():
            query = f"{postcode} {self.house_number.strip()}"
        else:
            query = self.address.strip()
        return await intake.geocoder.lookup(query) if query else None


async def _nearby_at(
    intake: Intake,
    category: Category,
    point: tuple[float, float],
    language: Language,
    exclude: str | None = None,
) -> list[dict[str, Any]]:
    found = await intake.nearby_open_reports(category, *point)
    t = translator(language)
    return [
        {
            "report_id": item.report_id,
            "number": item.number,
            "category_name": pick(CATEGORIES, Category(item.category), language),
            "subtype": pick(SUBTYPE_NAMES, item.subtype, language) if item.subtype else None,
            "observed_local": local_time(item.observed_at, language),
            "distance": t["about"].format(m=decimal(item.distance_m, language)),
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
    if minutes == 1:
        return {"category": message_for("rate_limited_minute", language)}
    return {"category": message_for("rate_limited", language, {"minutes": minutes})}


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


@dataclass
class FormEntry:
    """What the form sent: its fields as the submission model reads them, the photos, and the
    date and time as typed (shown again when the form comes back)."""

    values: dict[str, Any]
    uploads: list[UploadFile]
    date_text: str
    time_text: str

    @classmethod
    def read(cls, form: FormData) -> FormEntry:
        values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        values["health_symptoms"] = [
            v for v in form.getlist("health_symptoms") if isinstance(v, str)
        ]
        for flag in ("share_contact", "email_updates"):
            values[flag] = values.get(flag) == "true"
        if not values.get("linked_report_id"):
            values.pop("linked_report_id", None)  # the form's field, left empty
        uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile) and u.filename]
        date_text = str(values.pop("observed_date", ""))
        time_text = str(values.pop("observed_time", ""))
        return cls(values, uploads, date_text, time_text)

    def typed(self) -> dict[str, Any]:
        return {**self.values, "observed_date": self.date_text, "observed_time": self.time_text}


@dataclass
class Checked:
    """A form entry checked: the submission (when it validates), its photos, and the errors
    per field in the order the form shows them."""

    submission: ReportSubmission | None
    photos: list[CleanPhoto]
    errors: dict[str, str]


async def _check(entry: FormEntry, language: Language, now: datetime) -> Checked:
    errors: dict[str, str] = {}
    observed_at = observed_at_from_form(entry.date_text, entry.time_text)
    if observed_at is None:
        errors["observed_at"] = message_for("datetime_from_date_parsing", language)
    else:
        entry.values["observed_at"] = observed_at
    for name, value in entry.values.items():
        if isinstance(value, str) and "\ufffd" in value:
            # the form parser replaced bytes that are not UTF-8; publishing them would corrupt
            # what the resident wrote (the app API refuses the same bytes)
            errors[name] = message_for("unicode_invalid", language)
    photos: list[CleanPhoto] = []
    try:
        photos = clean_photos([await upload.read(MAX_BYTES + 1) for upload in entry.uploads])
    except PhotoError as error:
        errors["photos"] = message_for(error.code, language)
    submission = None
    try:
        submission = validate_submission(entry.values, now)
    except ValidationError as error:
        for item in field_problems(error, language):
            errors.setdefault(item["name"], item["reason"])
        if not any(entry.values.get(k) for k in PLACE_FIELDS):
            # the model checks the place only once the fields are valid
            errors.setdefault("location", message_for("location_missing", language))
    return Checked(submission, photos, errors)


def _recipient_items(recipients: list[RecipientTrack], language: Language) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "role": r.role,
            "role_text": pick(ROLES, r.role, language),
            "reason": r.reason(language),
            "status_text": pick(STATUSES, r.status, language),
            "deadline": local_time(r.deadline_at, language) if r.deadline_at else None,
            "history": [
                {
                    "when": local_time(s.occurred_at, language),
                    "status": pick(STATUSES, s.status, language),
                    "explanation": s.explanation,
                }
                for s in r.history
            ],
        }
        for r in recipients
    ]


class PhotoLink(BaseModel):
    """Whoever may see a photo: the reporter (tracking token) or an authority (a signed link
    not yet expired)."""

    token: str | None = None
    expires: int | None = None
    sig: str | None = None

    def opens(self, record: PhotoRecord, intake: Intake) -> bool:
        if self.token:
            return self.token == tracking_token(intake.secret, record.report_id)
        if self.expires is not None and self.sig:
            now = intake.clock.now()
            return photo_signature_valid(intake.secret, record.id, self.expires, self.sig, now)
        return False


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def form(intake: IntakeDep, pages: PagesDep, linked: str | None = None) -> HTMLResponse:
    linked_report = await intake.report(linked) if linked else None
    values: dict[str, Any] = {}
    if linked_report is not None:
        values = {"category": linked_report.category, "subtype": linked_report.subtype}
    return await _form_page(pages, intake, values, {}, linked_report)


@router.post("/", response_class=HTMLResponse)
async def submit(request: Request, intake: IntakeDep, pages: PagesDep) -> Response:
    entry = FormEntry.read(await request.form(max_part_size=MAX_BYTES + 1024))
    if chosen := entry.values.get("language"):
        pages = replace(pages, language=language_from(None, chosen))
    language = pages.language
    checked = await _check(entry, language, intake.clock.now())
    errors = checked.errors
    if checked.submission is not None and not errors:
        filing = Filing(Channel.WEB, client_ip(request))
        filed = await file_report(intake, checked.submission, filing, checked.photos)
        if isinstance(filed, Accepted):
            return RedirectResponse(
                f"/received/{filed.tracking_token}?lang={language}", status_code=303
            )
        errors.update(_filing_errors(filed, language))
    else:
        for name in errors:
            REPORTS_REJECTED.labels("web", name).inc()
    linked_id = entry.values.get("linked_report_id")
    linked = await intake.report(linked_id) if linked_id else None
    return await _form_page(pages, intake, entry.typed(), errors, linked, status=400)


@router.get("/received/{token}", response_class=HTMLResponse)
async def received(
    request: Request, token: str, intake: IntakeDep, pages: PagesDep
) -> HTMLResponse:
    report = await intake.report_for_token(token)
    if report is None:
        return pages.not_found()
    base = str(request.base_url).rstrip("/")
    return pages.render(
        "received.html",
        report=report,
        tracking_url=f"{base}/track/{token}?lang={pages.language}",
        nearby=await _nearby_items(intake, report, pages.language),
    )


@router.get("/nearby", response_class=HTMLResponse)
async def nearby_fragment(
    spot: Annotated[Spot, Query()], intake: IntakeDep, pages: PagesDep
) -> HTMLResponse:
    """The form's "already reported nearby" list, as HTML the form's script puts in place
    once a kind of nuisance and a pin are chosen (the same list the confirmation shows)."""
    point = await spot.point(intake)
    if point is None:
        return HTMLResponse("")  # no place yet (or the address not found): nothing to show
    items = await _nearby_at(intake, spot.category, point, pages.language)
    return pages.render("nearby.html", nearby=items, in_form=True)


def _coarse_place(report: ReportRecord, language: Language) -> dict[str, str] | None:
    """The report's place on the public 500 m grid (as Open311 shows it), for the map."""
    if report.lat is None or report.lon is None:
        return None
    lat = round(round(report.lat / GRID_LAT) * GRID_LAT, 4)
    lon = round(round(report.lon / GRID_LON) * GRID_LON, 4)
    shown = {"lat": decimal(lat, language, 4), "lon": decimal(lon, language, 4)}
    text = translator(language)["track_place_text"].format(**shown)
    points = json.dumps([{"lat": lat, "lon": lon, "radius_m": 250}])
    return {"text": text, "points": points}


@router.get("/track/{token}", response_class=HTMLResponse)
async def tracking_page(token: str, intake: IntakeDep, pages: PagesDep) -> HTMLResponse:
    view = await intake.tracked(token, with_photos=True)
    if view is None:
        return pages.not_found()
    report, language = view.report, pages.language
    return pages.render(
        "track.html",
        report=report,
        category_name=pick(CATEGORIES, Category(report.category), language),
        observed_local=local_time(report.observed_at, language),
        status_note=view.status_note(language),
        recipients=_recipient_items(view.recipients, language),
        place=_coarse_place(report, language),
        photos=[f"/photos/{pid}?token={token}" for pid in view.photo_ids],
    )


@router.get("/photos/{photo_id}")
async def photo(photo_id: str, link: Annotated[PhotoLink, Query()], intake: IntakeDep) -> Response:
    """Only the reporter (tracking token) or an authority (signed link) sees a photo."""
    record = await intake.photo(photo_id)
    if record is None or not link.opens(record, intake):
        return Response(status_code=404)
    return Response(
        record.data, media_type=record.content_type, headers={"Cache-Control": "private, no-store"}
    )


def signed_photo_path(secret: str, photo_id: str, now: datetime, ttl: timedelta) -> str:
    """A link for an authority, valid until ``now + ttl``."""
    expires = int((now + ttl).timestamp())
    return f"/photos/{photo_id}?expires={expires}&sig={sign_photo(secret, photo_id, expires)}"
