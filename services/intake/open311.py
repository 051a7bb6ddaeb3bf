"""Open311 GeoReport v2 under ``/open311/v2/``: JSON and XML, the spec's error format.

Service codes are the six categories; their attributes are the report fields (intensity,
symptoms, observed time, ...). POST needs a registered client's ``api_key``. GET is public, so
it shows no description and locations coarsened to a 500 m grid (docs/intake.md).
"""

from __future__ import annotations

import hashlib
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from schemas.report import Category, Channel, HealthSymptom
from services.intake.actions import Intake
from services.intake.filing import Filing, RateLimited, Refused, file_report
from services.intake.metrics import REPORTS_REJECTED
from services.intake.models import Open311Client, ReportRecord
from services.intake.problems import Language, field_problems, message_for
from services.intake.submission import SUBTYPES, WITH_INTENSITY, validate_submission
from services.intake.texts import CATEGORIES
from services.intake.tracking import track
from services.runtime.database import SessionFactory, write_transaction
from services.runtime.errors import RefusedError

SERVICE_NAMES = CATEGORIES  # (Dutch, English) per category, as on the web form
GRID_LAT = 0.0045  # ~500 m
GRID_LON = 0.0075  # ~500 m at 52°N
MAX_LISTED = 1000


class Open311Error(RefusedError):
    def __init__(self, status: int, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def register_client(
    sessions: SessionFactory, client_id: str, name: str, now: datetime
) -> str:
    """Register an app; returns its api_key (shown once, stored only as a digest)."""
    api_key = secrets.token_urlsafe(24)
    async with write_transaction(sessions) as session:
        session.add(
            Open311Client(
                client_id=client_id, name=name, key_digest=key_digest(api_key), created_at=now
            )
        )
    return api_key


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


def error_response(fmt: str, error: Open311Error) -> Response:
    return respond(
        fmt,
        "errors",
        "error",
        [{"code": error.code, "description": error.description}],
        error.status,
    )


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, 404, f"unknown format {fmt!r}: use .json or .xml")
    return fmt


def _category(code: str) -> Category:
    try:
        return Category(code)
    except ValueError:
        raise Open311Error(404, 404, f"service_code {code!r} not found") from None


def _coarse(value: float | None, step: float) -> float | None:
    return None if value is None else round(round(value / step) * step, 5)


async def _request_json(record: ReportRecord, intake: Intake) -> dict[str, Any]:
    async with intake.sessions() as session:
        view = await track(session, record)
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
        "updated_datetime": None,
        "expected_datetime": expected.isoformat() if expected else None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": _coarse(record.lat, GRID_LAT),
        "long": _coarse(record.lon, GRID_LON),
        "media_url": None,
    }


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


def open311_router() -> APIRouter:
    router = APIRouter(prefix="/open311/v2", tags=["open311"])

    @router.get("/discovery.{fmt}")
    async def discovery(request: Request, fmt: str) -> Response:
        try:
            fmt = _format(fmt)
        except Open311Error as error:
            return error_response("json", error)
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
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
    async def services(fmt: str) -> Response:
        try:
            fmt = _format(fmt)
        except Open311Error as error:
            return error_response("json", error)
        return respond(fmt, "services", "service", [_service(c) for c in Category])

    @router.get("/services/{code}.{fmt}")
    async def service_definition(code: str, fmt: str) -> Response:
        try:
            fmt = _format(fmt)
            category = _category(code)
        except Open311Error as error:
            return error_response(fmt if fmt in ("json", "xml") else "json", error)
        definition = {"service_code": category.value, "attributes": _attributes(category)}
        return respond(fmt, "service_definition", "service_definition", definition)

    @router.post("/requests.{fmt}")
    async def post_request(request: Request, fmt: str) -> Response:
        intake: Intake = request.app.state.intake
        try:
            fmt = _format(fmt)
            form_data = await request.form()
            form = {k: v for k, v in form_data.items() if isinstance(v, str)}
            multi = {k: [v for v in form_data.getlist(k) if isinstance(v, str)] for k in form_data}
            client_id = await _authorise(intake, form.get("api_key"))
            language: Language = "en" if form.get("locale", "").startswith("en") else "nl"
            try:
                submission = validate_submission(
                    _submission_from_form(form, multi, intake.clock.now()), intake.clock.now()
                )
            except ValidationError as error:
                REPORTS_REJECTED.labels("open311", "invalid").inc()
                problems = field_problems(error, language)
                raise Open311Error(
                    400, 400, "; ".join(f"{p['name']}: {p['reason']}" for p in problems)
                ) from None
            filing = Filing(
                Channel.OPEN311,
                request.client.host if request.client else None,
                request.headers.get("idempotency-key"),
                client_id,
            )
            accepted = await file_report(intake, submission, filing)
            if isinstance(accepted, Refused):
                reason = message_for(accepted.code, language)
                raise Open311Error(400, 400, f"{accepted.field}: {reason}")
            if isinstance(accepted, RateLimited):
                response = error_response(
                    fmt, Open311Error(429, 429, "too many requests; retry later")
                )
                response.headers["Retry-After"] = str(accepted.retry_after_s)
                return response
        except Open311Error as error:
            return error_response(fmt if fmt in ("json", "xml") else "json", error)
        notice = "Ontvangen; de melding gaat naar de bevoegde instantie."
        payload = [
            {
                "service_request_id": accepted.report_id,
                "service_notice": notice,
                "account_id": None,
            }
        ]
        return respond(fmt, "service_requests", "request", payload, status=201)

    @router.get("/requests.{fmt}")
    async def list_requests(request: Request, fmt: str) -> Response:
        intake: Intake = request.app.state.intake
        params = request.query_params
        try:
            fmt = _format(fmt)
            query = select(ReportRecord).order_by(col(ReportRecord.received_at).desc())
            if ids := params.get("service_request_id"):
                query = query.where(col(ReportRecord.id).in_([i.strip() for i in ids.split(",")]))
            else:
                end = _date(params.get("end_date"), "end_date") or intake.clock.now()
                start = _date(params.get("start_date"), "start_date") or end - timedelta(days=90)
                query = query.where(
                    col(ReportRecord.received_at) >= start, col(ReportRecord.received_at) <= end
                )
            if codes := params.get("service_code"):
                query = query.where(
                    col(ReportRecord.category).in_(
                        [_category(c.strip()).value for c in codes.split(",")]
                    )
                )
            wanted = params.get("status")
            if wanted not in (None, "open", "closed"):
                raise Open311Error(400, 400, "status must be open or closed")
            async with intake.sessions() as session:
                records = (await session.exec(query.limit(MAX_LISTED))).all()
            items = [await _request_json(record, intake) for record in records]
            items = [i for i in items if wanted is None or i["status"] == wanted]
        except Open311Error as error:
            return error_response(fmt if fmt in ("json", "xml") else "json", error)
        return respond(fmt, "service_requests", "request", items)

    @router.get("/requests/{request_id}.{fmt}")
    async def get_request(request: Request, request_id: str, fmt: str) -> Response:
        intake: Intake = request.app.state.intake
        try:
            fmt = _format(fmt)
            async with intake.sessions() as session:
                record = (
                    await session.exec(select(ReportRecord).where(ReportRecord.id == request_id))
                ).first()
            if record is None:
                raise Open311Error(404, 404, f"service_request_id {request_id!r} not found")
            item = await _request_json(record, intake)
        except Open311Error as error:
            return error_response(fmt if fmt in ("json", "xml") else "json", error)
        return respond(fmt, "service_requests", "request", [item])

    return router


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, 400, f"{name} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise Open311Error(400, 400, f"{name} needs a time zone (ISO 8601 with offset)")
    return moment


async def _authorise(intake: Intake, api_key: str | None) -> str:
    if not api_key:
        raise Open311Error(403, 403, "api_key is required")
    async with intake.sessions() as session:
        client = (
            await session.exec(
                select(Open311Client).where(Open311Client.key_digest == key_digest(api_key))
            )
        ).first()
    if client is None:
        raise Open311Error(403, 403, "api_key is not valid")
    return client.client_id
