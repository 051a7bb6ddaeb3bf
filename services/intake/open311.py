"""Open311 GeoReport v2 under ``/open311/v2/``: JSON and XML, the spec's error format.

Service codes are the six categories; their attributes are the report fields (intensity,
symptoms, observed time, ...). POST needs a registered client's ``api_key``. GET is public, so
it shows no description and locations coarsened to a 500 m grid (docs/intake.md).

The routes only translate: the response format (``.json``/``.xml``) and the client are
dependencies that raise ``Open311Error``, and ``install_open311_errors`` answers that error
(and a request that does not validate) in the spec's ``[{"code", "description"}]`` shape,
in the format the path asked for.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.report import Category, Channel, HealthSymptom
from services.intake.dependencies import IntakeDep, client_ip
from services.intake.filing import Filing, RateLimited, Refused, file_report
from services.intake.metrics import REPORTS_REJECTED
from services.intake.problems import field_problems, message_for
from services.intake.submission import SUBTYPES, WITH_INTENSITY, validate_submission
from services.intake.texts import CATEGORIES
from services.intake.tracking import ServiceRequestFilter, Track
from services.runtime.errors import RefusedError, TransientError
from services.runtime.problems import transient_problem

SERVICE_NAMES = CATEGORIES  # (Dutch, English) per category, as on the web form
GRID_LAT = 0.0045  # ~500 m
GRID_LON = 0.0075  # ~500 m at 52°N
MAX_LISTED = 1000
PREFIX = "/open311/v2"
MAX_FORM_FIELDS = 100
MAX_FORM_FIELD_BYTES = 64 * 1024  # the longest field, a description, is 4,000 characters
MEDIA_REFUSED = (
    "media_url is not supported: Buursignaal does not fetch photos from other servers; "
    "send photos with the report through the app API (POST /api/v1/reports)"
)
# What the shared submission calls a field, as Open311 names it in a POSTed form.
OPEN311_FIELDS = {
    "category": "service_code",
    "lon": "long",
    "location": "lat/long",
    "address": "address_string",
    "name": "first_name/last_name",
    "report": "request",
    **{
        field: f"attribute[{attribute}]"
        for field, attribute in (
            ("observed_at", "observed_at"),
            ("subtype", "subtype"),
            ("intensity", "intensity"),
            ("still_noticeable", "still_noticeable"),
            ("duration_minutes", "duration_minutes"),
            ("health_symptoms", "symptoms"),
            ("symptoms_other", "symptoms_other"),
            ("suspected_source", "suspected_source"),
        )
    },
}

Format = Literal["json", "xml"]


class Open311Error(RefusedError):
    def __init__(
        self, status: int, code: int, description: str, *, retry_after_s: int | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.retry_after_s = retry_after_s


def _attributes(category: Category) -> list[dict[str, Any]]:
    attributes: list[dict[str, Any]] = [
        _attr("observed_at", "datetime", "When did you notice it? (ISO 8601; default now)", 1),
        _attr("subtype", "singlevaluelist", "What exactly?", 2, values=SUBTYPES[category]),
        _attr(
            "still_noticeable",
            "singlevaluelist",
            "Still noticeable now?",
            4,
            values=("true", "false"),
        ),
        _attr("duration_minutes", "number", "How long did it last (minutes)?", 5),
        _attr(
            "symptoms",
            "multivaluelist",
            "Health symptoms",
            6,
            values=[s.value for s in HealthSymptom],
        ),
        _attr("symptoms_other", "text", "Other symptoms", 7),
        _attr("suspected_source", "text", "Which company do you suspect?", 8),
    ]
    if category in WITH_INTENSITY:
        attributes.insert(
            2,
            _attr(
                "intensity",
                "singlevaluelist",
                "How strong (1-5)?",
                3,
                values=("1", "2", "3", "4", "5"),
            ),
        )
    return attributes


def _attr(
    code: str, datatype: str, description: str, order: int, values: Sequence[str] = ()
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": False,
        "datatype_description": None,
        "order": order,
        "description": description,
    }
    if values:
        attribute["values"] = [{"key": v, "name": v} for v in values]
    return attribute


def _service(category: Category) -> dict[str, Any]:
    nl, en = SERVICE_NAMES[category]
    return {
        "service_code": category.value,
        "service_name": f"{nl} / {en}",
        "description": f"Overlast van industrie: {nl.lower()}",
        "metadata": True,
        "type": "realtime",
        "keywords": f"{category.value},industrie,omwonenden",
        "group": "industrie",
    }


def _xml(root_tag: str, item_tag: str, items: Sequence[dict[str, Any]]) -> bytes:
    root = ET.Element(root_tag)
    for item in items:
        _xml_into(ET.SubElement(root, item_tag), item)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>' + body


def _xml_into(element: ET.Element, item: dict[str, Any]) -> None:
    for key, value in item.items():
        if isinstance(value, list):
            container = ET.SubElement(element, key)
            for entry in value:
                child = ET.SubElement(container, key.rstrip("s") or key)
                if isinstance(entry, dict):
                    _xml_into(child, entry)
                else:
                    child.text = str(entry)
        elif isinstance(value, dict):
            _xml_into(ET.SubElement(element, key), value)
        else:
            child = ET.SubElement(element, key)
            if value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)


def respond(fmt: str, root: str, item: str, payload: Any, status: int = 200) -> Response:
    if fmt == "xml":
        items = payload if isinstance(payload, list) else [payload]
        if isinstance(payload, dict) and root == item:
            body = b'<?xml version="1.0" encoding="utf-8"?>' + _element(root, payload)
            return Response(body, status_code=status, media_type="text/xml; charset=utf-8")
        return Response(
            _xml(root, item, items), status_code=status, media_type="text/xml; charset=utf-8"
        )
    return JSONResponse(payload, status_code=status)


def _element(tag: str, payload: dict[str, Any]) -> bytes:
    element = ET.Element(tag)
    _xml_into(element, payload)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return body


def _path_format(request: Request) -> Format:
    """The format an answer takes: the path's ``.json`` or ``.xml``, JSON for anything else."""
    return "xml" if request.url.path.endswith(".xml") else "json"


async def _open311_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, Open311Error)
    payload = [{"code": error.code, "description": error.description}]
    response = respond(_path_format(request), "errors", "error", payload, error.status)
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def invalid_request(request: Request, error: RequestValidationError) -> Response:
    """A request on an Open311 path that does not validate, in the spec's error shape."""
    described = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
        for item in error.errors()
    )
    payload = [{"code": 400, "description": described}]
    return respond(_path_format(request), "errors", "error", payload, 400)


def on_open311(request: Request) -> bool:
    return request.url.path.startswith(PREFIX + "/")


async def _unavailable(request: Request, error: Exception) -> Response:
    if not on_open311(request):
        return await transient_problem(request, error)
    payload = [{"code": 503, "description": "a service this request needs is unavailable"}]
    response = respond(_path_format(request), "errors", "error", payload, 503)
    response.headers["Retry-After"] = str(getattr(error, "retry_after_s", 5))
    return response


def install_open311_errors(app: FastAPI) -> None:
    """Answer ``Open311Error`` and unavailability in the spec's error shape on its paths
    (validation errors on Open311 paths come here from the app's one validation handler,
    through ``invalid_request``)."""
    app.add_exception_handler(Open311Error, _open311_error)
    app.add_exception_handler(TransientError, _unavailable)


async def response_format(
    fmt: Annotated[
        str, Path(description="The answer's format", json_schema_extra={"enum": ["json", "xml"]})
    ],
) -> Format:
    """The path's format, checked once for every route: another one names no resource (404)."""
    if fmt == "json":
        return "json"
    if fmt == "xml":
        return "xml"
    raise Open311Error(404, 404, f"unknown format {fmt!r}: use .json or .xml")


FormatDep = Annotated[Format, Depends(response_format)]


@dataclass(frozen=True)
class Open311Form:
    """A POSTed form: its single values and, for repeated fields, every value."""

    values: dict[str, str]
    multi: dict[str, list[str]]


async def posted_form(request: Request) -> Open311Form:
    """The form, within bounds: too many fields, a field too long or a file is a 400 in the
    spec's error shape (Starlette's own answer would be problem+json)."""
    try:
        form_data = await request.form(
            max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_FIELD_BYTES
        )
    except StarletteHTTPException as error:
        raise Open311Error(400, 400, f"the form is not accepted: {error.detail}") from None
    return Open311Form(
        {k: v for k, v in form_data.items() if isinstance(v, str)},
        {k: [v for v in form_data.getlist(k) if isinstance(v, str)] for k in form_data},
    )


FormDep = Annotated[Open311Form, Depends(posted_form)]


async def open311_client(intake: IntakeDep, form: FormDep) -> str:
    """The registered client whose ``api_key`` came with the form (403 otherwise)."""
    api_key = form.values.get("api_key")
    if not api_key:
        raise Open311Error(403, 403, "api_key is required")
    client_id = await intake.client_for_key(api_key)
    if client_id is None:
        raise Open311Error(403, 403, "api_key is not valid")
    return client_id


ClientDep = Annotated[str, Depends(open311_client)]


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        raise Open311Error(404, 404, f"service_code {code!r} not found") from None


def _date(value: str | None, name: str) -> datetime | None:
    """A query's instant in UTC; the spec's dates carry ``Z`` or an offset, which counts."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(
            400, 400, f"{name} is not a date-time like 2026-11-23T12:30:00+01:00"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, 400, f"{name} needs a time zone: Z or an offset like +01:00")
    return moment.astimezone(UTC)


OPEN_CLOSED = ("open", "closed")


@dataclass(frozen=True)
class Listing:
    """What ``GET requests`` asked for: which reports, and which status (None: both)."""

    wanted: ServiceRequestFilter
    status: str | None


async def listing(
    intake: IntakeDep,
    service_request_id: Annotated[
        str | None, Query(description="Service request ids, separated by commas")
    ] = None,
    service_code: Annotated[
        str | None, Query(description="Service codes, separated by commas")
    ] = None,
    start_date: Annotated[
        str | None,
        Query(description="Received at or after (ISO 8601 with Z or an offset)"),
    ] = None,
    end_date: Annotated[
        str | None,
        Query(description="Received at or before (ISO 8601 with Z or an offset)"),
    ] = None,
    status: Annotated[
        str | None, Query(description="open or closed", json_schema_extra={"enum": OPEN_CLOSED})
    ] = None,
) -> Listing:
    """The query of ``GET requests``: ids, or a window of receipt (the last 90 days by
    default); service codes; open or closed."""
    ids = [i.strip() for i in service_request_id.split(",")] if service_request_id else []
    start = end = None
    if not ids:
        end = _date(end_date, "end_date") or intake.clock.now()
        start = _date(start_date, "start_date") or end - timedelta(days=90)
    codes = service_code
    categories = [_category(c.strip()).value for c in codes.split(",")] if codes else []
    if status not in (None, *OPEN_CLOSED):
        raise Open311Error(400, 400, "status must be open or closed")
    return Listing(ServiceRequestFilter(ids, start, end, categories), status)


def _coarse(value: float | None, step: float) -> float | None:
    return None if value is None else round(round(value / step) * step, 5)


def _request_json(view: Track) -> dict[str, Any]:
    record = view.report
    expected = view.expected_datetime
    nl, en = SERVICE_NAMES[Category(record.category)]
    return {
        "service_request_id": record.id,
        "status": view.open311_status,
        "status_notes": view.status_notes,
        "service_name": f"{nl} / {en}",
        "service_code": record.category,
        "description": None,
        "agency_responsible": view.agency_responsible,
        "service_notice": None,
        "requested_datetime": record.received_at.isoformat(),
        "updated_datetime": view.updated_datetime.isoformat(),
        "expected_datetime": expected.isoformat() if expected else None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": _coarse(record.lat, GRID_LAT),
        "long": _coarse(record.lon, GRID_LON),
        "media_url": None,
    }


ATTRIBUTE_CODES = (
    "observed_at",
    "subtype",
    "intensity",
    "still_noticeable",
    "duration_minutes",
    "symptoms_other",
    "suspected_source",
)


def _submission_from_form(
    form: dict[str, Any], multi: dict[str, list[str]], now: datetime
) -> dict[str, Any]:
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
    data: dict[str, Any] = {
        "category": form.get("service_code"),
        "lat": form.get("lat"),
        "lon": form.get("long"),
        "address": form.get("address_string"),
        "description": form.get("description", ""),
        "email": form.get("email"),
        "phone": form.get("phone"),
        "name": name,
        "device_id": form.get("device_id"),
        "observed_at": form.get("attribute[observed_at]") or now.isoformat(),
        "subtype": form.get("attribute[subtype]"),
        "intensity": form.get("attribute[intensity]"),
        "still_noticeable": form.get("attribute[still_noticeable]"),
        "duration_minutes": form.get("attribute[duration_minutes]"),
        "health_symptoms": multi.get("attribute[symptoms][]", [])
        or multi.get("attribute[symptoms]", []),
        "symptoms_other": form.get("attribute[symptoms_other]"),
        "suspected_source": form.get("attribute[suspected_source]"),
        "share_contact": bool(form.get("email") or form.get("phone")),
    }
    return {k: v for k, v in data.items() if v is not None}


def _open311_name(field: str) -> str:
    """The Open311 name of a submission's field (``service_code``, not ``category``)."""
    return OPEN311_FIELDS.get(field, field)


def _both_formats(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "text/xml": {"schema": {"type": "string"}},
        },
    }


OPEN311_ERROR_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
OPEN311_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: _both_formats("The answer, in the format the path names", {}),
    **{
        status: _both_formats(description, OPEN311_ERROR_SCHEMA)
        for status, description in (
            (400, "The request is not valid; the description names the Open311 field"),
            (403, "No valid api_key"),
            (404, "No such service or service request"),
            (429, "Too many requests from this sender"),
            (503, "A service this request needs is unavailable"),
        )
    },
}
_TEXT: dict[str, Any] = {"type": "string"}
POSTED_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {
        "api_key": _TEXT,
        "service_code": {"type": "string", "enum": [c.value for c in Category]},
        "lat": {"type": "number"},
        "long": {"type": "number"},
        "address_string": _TEXT,
        "description": {"type": "string", "maxLength": 4000},
        "email": _TEXT,
        "phone": _TEXT,
        "first_name": _TEXT,
        "last_name": _TEXT,
        "device_id": _TEXT,
        "media_url": {**_TEXT, "description": "Not supported: a non-empty value is a 400"},
        **{f"attribute[{a}]": _TEXT for a in ATTRIBUTE_CODES},
        "attribute[symptoms][]": {"type": "array", "items": _TEXT},
    },
}
router = APIRouter(prefix=PREFIX, tags=["open311"], responses=OPEN311_ANSWERS)


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: FormatDep) -> Response:
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    payload = {
        "changeset": "2026-11-23T00:00:00Z",
        "contact": "Buursignaal",
        "key_service": "Ask the operator for an api_key per client app.",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-23T00:00:00Z",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", "discovery", payload)


@router.get("/services.{fmt}")
async def services(fmt: FormatDep) -> Response:
    return respond(fmt, "services", "service", [_service(c) for c in Category])


@router.get("/services/{code}.{fmt}")
async def service_definition(code: str, fmt: FormatDep) -> Response:
    category = _category(code)
    definition = {"service_code": category.value, "attributes": _attributes(category)}
    return respond(fmt, "service_definition", "service_definition", definition)


@router.post(
    "/requests.{fmt}",
    status_code=201,
    responses={201: _both_formats("The service request was received", {})},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": POSTED_FORM}},
        }
    },
)
async def post_request(
    request: Request, fmt: FormatDep, intake: IntakeDep, client_id: ClientDep, form: FormDep
) -> Response:
    if form.values.get("media_url", "").strip():
        raise Open311Error(400, 400, MEDIA_REFUSED)
    now = intake.clock.now()
    try:
        submission = validate_submission(_submission_from_form(form.values, form.multi, now), now)
    except ValidationError as error:
        REPORTS_REJECTED.labels("open311", "invalid").inc()
        described = "; ".join(
            f"{_open311_name(p['name'])}: {p['reason']}" for p in field_problems(error, "en")
        )
        raise Open311Error(400, 400, described) from None
    filing = Filing(
        Channel.OPEN311, client_ip(request), request.headers.get("idempotency-key"), client_id
    )
    accepted = await file_report(intake, submission, filing)
    if isinstance(accepted, Refused):
        described = f"{_open311_name(accepted.field)}: {message_for(accepted.code, 'en')}"
        raise Open311Error(400, 400, described)
    if isinstance(accepted, RateLimited):
        raise Open311Error(
            429, 429, "too many requests; retry later", retry_after_s=accepted.retry_after_s
        )
    notice = "Ontvangen; de melding gaat naar de bevoegde instantie."
    payload = [
        {"service_request_id": accepted.report_id, "service_notice": notice, "account_id": None}
    ]
    return respond(fmt, "service_requests", "request", payload, status=201)


@router.get("/requests.{fmt}")
async def list_requests(
    fmt: FormatDep, intake: IntakeDep, asked: Annotated[Listing, Depends(listing)]
) -> Response:
    views = await intake.service_requests(asked.wanted, MAX_LISTED)
    items = [_request_json(view) for view in views]
    items = [i for i in items if asked.status is None or i["status"] == asked.status]
    return respond(fmt, "service_requests", "request", items)


@router.get("/requests/{request_id}.{fmt}")
async def get_request(request_id: str, fmt: FormatDep, intake: IntakeDep) -> Response:
    found = await intake.service_requests(ServiceRequestFilter(ids=[request_id]), 1)
    if not found:
        raise Open311Error(404, 404, f"service_request_id {request_id!r} not found")
    return respond(fmt, "service_requests", "request", [_request_json(found[0])])
