"""Open311 GeoReport v2, checked from the specification (http://wiki.open311.org/GeoReport_v2)
for every endpoint in JSON and XML, through the real intake app.

What the spec asks, as written down here: JSON answers are arrays (discovery and a service
definition are objects); XML answers have the root and item elements ``services/service``,
``service_definition`` with ``attributes/attribute``, ``service_requests/request`` and
``errors/error``; every date-time carries ``Z`` or an offset; the fields below are present.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.intake.conftest import IntakeUnderTest
from tests.intake.test_open311 import answered, client_key, form

pytestmark = pytest.mark.kafka

FORMATS = ("json", "xml")
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
ATTRIBUTE_FIELDS = {
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
}
DATATYPES = {
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
POSTED_FIELDS = {"service_request_id", "service_notice", "account_id"}


def items(response: httpx.Response, fmt: str, root: str, item: str) -> list[dict[str, Any]]:
    """The answer's items in one shape whatever the format: JSON's array, or XML's root with
    its item elements (their children's text; nested lists are left to the caller)."""
    assert response.headers["content-type"].startswith(
        "application/json" if fmt == "json" else "text/xml"
    )
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list), "the spec's JSON answers are arrays"
        return body
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    element = ET.fromstring(response.content)
    assert element.tag == root
    assert all(child.tag == item for child in element)
    return [{child.tag: child.text for child in entry} for entry in element]


def the_error(response: httpx.Response, fmt: str, status: int) -> str:
    assert response.status_code == status, response.text
    [error] = items(response, fmt, "errors", "error")
    assert set(error) == {"code", "description"}
    assert str(error["code"]) == str(status)
    description = error["description"]
    assert isinstance(description, str)
    assert description
    return description


async def fetched(service: IntakeUnderTest, path: str) -> httpx.Response:
    response = await service.client.get(path)
    assert response.status_code == 200, response.text
    return response


def root_of(response: httpx.Response, tag: str) -> ET.Element:
    root = ET.fromstring(response.content)
    assert root.tag == tag
    return root


def rfc3339(value: str | None) -> datetime:
    assert value is not None
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"{value} has no offset"
    return moment


@pytest.mark.parametrize("fmt", FORMATS)
async def test_discovery(intake_service: IntakeUnderTest, fmt: str) -> None:
    response = await fetched(intake_service, f"/open311/v2/discovery.{fmt}")
    if fmt == "json":
        body = response.json()
        [endpoint] = body["endpoints"]
        formats = endpoint["formats"]
    else:
        root = root_of(response, "discovery")
        body = {child.tag: child.text for child in root}
        [element] = root.findall("endpoints/endpoint")
        endpoint = {child.tag: child.text for child in element}
        formats = [f.text for f in element.findall("formats/format")]
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert str(endpoint["url"]).endswith("/open311/v2/")
    assert {"text/xml", "application/json"} <= set(formats)
    rfc3339(endpoint["changeset"])


@pytest.mark.parametrize("fmt", FORMATS)
async def test_service_list(intake_service: IntakeUnderTest, fmt: str) -> None:
    response = await fetched(intake_service, f"/open311/v2/services.{fmt}")
    services = items(response, fmt, "services", "service")
    assert len(services) == 6
    for service in services:
        assert set(service) >= SERVICE_FIELDS
        assert str(service["metadata"]).lower() in ("true", "false")
        assert service["type"] in ("realtime", "batch", "blackbox")


@pytest.mark.parametrize("fmt", FORMATS)
async def test_service_definition(intake_service: IntakeUnderTest, fmt: str) -> None:
    response = await fetched(intake_service, f"/open311/v2/services/odour.{fmt}")
    if fmt == "json":
        definition = response.json()
        attributes = definition["attributes"]
        values = {a["code"]: [v["key"] for v in a.get("values", [])] for a in attributes}
    else:
        root = root_of(response, "service_definition")
        definition = {"service_code": root.findtext("service_code")}
        elements = root.findall("attributes/attribute")
        attributes = [{child.tag: child.text for child in a} for a in elements]
        values = {
            a.findtext("code"): [v.findtext("key") for v in a.findall("values/value")]
            for a in elements
        }
    assert definition["service_code"] == "odour"
    assert attributes
    for attribute in attributes:
        assert set(attribute) >= ATTRIBUTE_FIELDS
        assert attribute["datatype"] in DATATYPES
        if attribute["datatype"] in ("singlevaluelist", "multivaluelist"):
            assert values[attribute["code"]], "a list attribute names its values (key, name)"
    unknown = await intake_service.client.get(f"/open311/v2/services/traffic.{fmt}")
    assert "traffic" in the_error(unknown, fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_post_then_get_requests(intake_service: IntakeUnderTest, fmt: str) -> None:
    key = await client_key(intake_service)
    created = await intake_service.client.post(f"/open311/v2/requests.{fmt}", data=form(key))
    assert created.status_code == 201, created.text
    [posted] = items(created, fmt, "service_requests", "request")
    assert set(posted) == POSTED_FIELDS
    request_id = posted["service_request_id"]
    assert request_id

    one = await intake_service.client.get(f"/open311/v2/requests/{request_id}.{fmt}")
    assert one.status_code == 200
    [request] = items(one, fmt, "service_requests", "request")
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == request_id
    assert request["status"] == "open"
    received = rfc3339(request["requested_datetime"])
    assert received == intake_service.clock.now()
    assert rfc3339(request["updated_datetime"]) == received, "nothing happened since receipt"

    acknowledged = intake_service.clock.now() + timedelta(hours=2)
    await answered(intake_service, request_id, acknowledged, "In behandeling")
    listed = await intake_service.client.get(f"/open311/v2/requests.{fmt}")
    assert listed.status_code == 200
    [request] = items(listed, fmt, "service_requests", "request")
    assert set(request) == REQUEST_FIELDS
    assert rfc3339(request["updated_datetime"]) == acknowledged
    assert request["status_notes"] == "In behandeling"
    assert request["agency_responsible"] == "Omgevingsdienst"

    missing = await intake_service.client.get(f"/open311/v2/requests/nope.{fmt}")
    assert "nope" in the_error(missing, fmt, 404)


@pytest.mark.parametrize(
    ("start", "end", "listed"),
    [
        # the report was received at 12:00Z
        ("2026-11-23T12:30:00+01:00", "2026-11-23T13:30:00+01:00", True),
        ("2026-11-23T13:30:00+02:00", "2026-11-23T14:30:00+02:00", True),
        ("2026-11-23T11:30:00Z", "2026-11-23T12:30:00Z", True),
        ("2026-11-23T12:30:00+01:00", "2026-11-23T12:59:00+01:00", False),
        ("2026-11-23T14:01:00+02:00", "2026-11-23T15:00:00+02:00", False),
    ],
)
async def test_start_and_end_date_honour_their_offset(
    intake_service: IntakeUnderTest, start: str, end: str, listed: bool
) -> None:
    key = await client_key(intake_service)
    created = await intake_service.client.post("/open311/v2/requests.json", data=form(key))
    assert created.status_code == 201, created.text
    window = {"start_date": start, "end_date": end}
    for fmt in FORMATS:
        response = await intake_service.client.get(f"/open311/v2/requests.{fmt}", params=window)
        assert response.status_code == 200
        assert len(items(response, fmt, "service_requests", "request")) == int(listed)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_dates_without_offset_or_unreadable_are_refused(
    intake_service: IntakeUnderTest, fmt: str
) -> None:
    path = f"/open311/v2/requests.{fmt}"
    naive = await intake_service.client.get(path, params={"start_date": "2026-11-23T12:00:00"})
    assert "start_date" in the_error(naive, fmt, 400)
    monday = await intake_service.client.get(path, params={"end_date": "monday"})
    assert "end_date" in the_error(monday, fmt, 400)
    status = await intake_service.client.get(path, params={"status": "done"})
    assert "status" in the_error(status, fmt, 400)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_media_url_is_refused_not_dropped(intake_service: IntakeUnderTest, fmt: str) -> None:
    key = await client_key(intake_service)
    photo = {"media_url": "https://example.org/photo.jpg"}
    refused = await intake_service.client.post(
        f"/open311/v2/requests.{fmt}", data=form(key, **photo)
    )
    assert "media_url is not supported" in the_error(refused, fmt, 400)
    listed = await intake_service.client.get("/open311/v2/requests.json")
    assert listed.json() == [], "nothing was filed"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_oversized_fields_answer_in_the_spec_shape(
    intake_service: IntakeUnderTest, fmt: str
) -> None:
    key = await client_key(intake_service)
    path = f"/open311/v2/requests.{fmt}"
    long = await intake_service.client.post(path, data=form(key, description="x" * 5000))
    assert the_error(long, fmt, 400) == "description: Use at most 4000 characters."
    huge = await intake_service.client.post(path, data=form(key, description="x" * 200_000))
    assert "form" in the_error(huge, fmt, 400)
    many = {f"attribute[extra_{n}]": "1" for n in range(500)}
    crowded = await intake_service.client.post(path, data=form(key, **many))
    assert "form" in the_error(crowded, fmt, 400)
    with_file = await intake_service.client.post(
        path, data=form(key), files={"media": ("photo.jpg", b"\xff\xd8\xff", "image/jpeg")}
    )
    assert "form" in the_error(with_file, fmt, 400)


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"service_code": "smell"}, "service_code: Choose one of:"),
        ({"lat": "north"}, "lat: Enter a number."),
        ({"long": "east"}, "long: Enter a number."),
        ({"lat": "52.6", "long": "4.2"}, "lat/long: This place is not in the Netherlands."),
        ({"description": "a\x00b"}, "description: The text contains invisible control"),
        ({"attribute[intensity]": "11"}, "attribute[intensity]: Enter 5 or less."),
        ({"attribute[observed_at]": "gisteren"}, "attribute[observed_at]: Enter a date"),
        ({"attribute[symptoms][]": "hiccups"}, "attribute[symptoms]: Choose one of:"),
        ({"email": "not-an-address"}, "email: "),
    ],
)
async def test_error_descriptions_are_english_and_name_the_open311_field(
    intake_service: IntakeUnderTest, changes: dict[str, str], description: str
) -> None:
    key = await client_key(intake_service)
    for fmt in FORMATS:
        response = await intake_service.client.post(
            f"/open311/v2/requests.{fmt}", data=form(key, locale="nl_NL", **changes)
        )
        assert the_error(response, fmt, 400).startswith(description)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_api_key_errors(intake_service: IntakeUnderTest, fmt: str) -> None:
    path = f"/open311/v2/requests.{fmt}"
    assert the_error(await intake_service.client.post(path, data=form(None)), fmt, 403)
    assert the_error(await intake_service.client.post(path, data=form("wrong")), fmt, 403)
