"""Open311 GeoReport v2 in JSON and XML, with the spec's error format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event

from schemas.leg import LegStatus
from schemas.routing import Role
from services.intake.models import RecipientView, StatusView
from services.runtime.database import write_transaction
from tests.intake.conftest import IntakeUnderTest

pytestmark = pytest.mark.kafka


def form(api_key: str | None, **changes: str) -> dict[str, str]:
    values = {
        "service_code": "odour",
        "lat": "52.49325",
        "long": "4.59954",
        "description": "Brandlucht",
        "email": "app-user@example.nl",
        "first_name": "Anna",
        "attribute[intensity]": "3",
        "attribute[observed_at]": "2026-11-23T12:30:00+01:00",
        **changes,
    }
    if api_key is not None:
        values["api_key"] = api_key
    return values


async def client_key(service: IntakeUnderTest) -> str:
    return await service.intake.register_client("meldapp", "Meld-app")


async def test_discovery_and_services_in_json_and_xml(intake_service: IntakeUnderTest) -> None:
    discovery = await intake_service.client.get("/open311/v2/discovery.json")
    assert (
        discovery.json()["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    )
    services = await intake_service.client.get("/open311/v2/services.json")
    assert {s["service_code"] for s in services.json()} == {
        "odour",
        "noise",
        "vibration",
        "soil",
        "water",
        "air",
    }
    xml = await intake_service.client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services"
    assert len(root.findall("service")) == 6
    definition = await intake_service.client.get("/open311/v2/services/odour.json")
    codes = [a["code"] for a in definition.json()["attributes"]]
    assert {"intensity", "symptoms", "observed_at"} <= set(codes)
    soil = await intake_service.client.get("/open311/v2/services/soil.xml")
    assert "intensity" not in soil.text
    assert ET.fromstring(soil.content).findtext("service_code") == "soil"


async def test_unknown_service_and_format(intake_service: IntakeUnderTest) -> None:
    missing = await intake_service.client.get("/open311/v2/services/traffic.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404
    assert "traffic" in missing.json()[0]["description"]
    missing_xml = await intake_service.client.get("/open311/v2/services/traffic.xml")
    assert ET.fromstring(missing_xml.content).find("error/code").text == "404"  # type: ignore[union-attr]
    bad_format = await intake_service.client.get("/open311/v2/services.csv")
    assert bad_format.status_code == 404


async def test_post_needs_a_valid_api_key(intake_service: IntakeUnderTest) -> None:
    without = await intake_service.client.post("/open311/v2/requests.json", data=form(None))
    assert without.status_code == 403
    assert without.json() == [{"code": 403, "description": "api_key is required"}]
    wrong = await intake_service.client.post("/open311/v2/requests.xml", data=form("wrong"))
    assert wrong.status_code == 403
    assert ET.fromstring(wrong.content).findtext("error/description") == "api_key is not valid"


async def test_post_then_get_in_both_formats(intake_service: IntakeUnderTest) -> None:
    key = await client_key(intake_service)
    created = await intake_service.client.post("/open311/v2/requests.json", data=form(key))
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]

    one = await intake_service.client.get(f"/open311/v2/requests/{request_id}.json")
    [item] = one.json()
    assert item["status"] == "open"
    assert item["service_code"] == "odour"
    assert item["description"] is None, "public listing never shows a resident's words"
    assert item["lat"] == pytest.approx(52.49325, abs=0.005)
    assert item["lat"] != 52.49325, "locations are coarsened to 500 m"

    xml = await intake_service.client.get(f"/open311/v2/requests/{request_id}.xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == request_id
    assert root.findtext("request/status") == "open"

    xml_post = await intake_service.client.post(
        "/open311/v2/requests.xml",
        data=form(
            key,
            service_code="noise",
            **{"attribute[intensity]": "2", "device_id": "open311-device-2"},
        ),
    )
    assert xml_post.status_code == 201
    assert ET.fromstring(xml_post.content).findtext("request/service_request_id")

    listed = await intake_service.client.get(
        "/open311/v2/requests.json", params={"service_code": "noise"}
    )
    assert [r["service_code"] for r in listed.json()] == ["noise"]
    by_ids = await intake_service.client.get(
        "/open311/v2/requests.json", params={"service_request_id": request_id}
    )
    assert [r["service_request_id"] for r in by_ids.json()] == [request_id]
    closed = await intake_service.client.get(
        "/open311/v2/requests.json", params={"status": "closed"}
    )
    assert closed.json() == []
    window = await intake_service.client.get(
        "/open311/v2/requests.xml",
        params={"start_date": "2026-11-24T00:00:00Z", "end_date": "2026-11-25T00:00:00Z"},
    )
    assert ET.fromstring(window.content).findall("request") == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"service_code": "smell"}, "service_code"),
        ({"lat": "north"}, "lat"),
        ({"attribute[intensity]": "11"}, "attribute[intensity]"),
        ({"attribute[observed_at]": "2030-01-01T00:00:00+01:00"}, "attribute[observed_at]"),
        ({"lat": "52.6", "long": "4.2"}, "lat/long"),
    ],
)
async def test_malformed_posts_are_400_in_spec_format(
    intake_service: IntakeUnderTest, changes: dict[str, str], fragment: str
) -> None:
    key = await client_key(intake_service)
    response = await intake_service.client.post(
        "/open311/v2/requests.json", data=form(key, **changes)
    )
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400
    assert fragment in error["description"]


async def test_bad_filters_and_unknown_request(intake_service: IntakeUnderTest) -> None:
    bad_date = await intake_service.client.get(
        "/open311/v2/requests.json", params={"start_date": "monday"}
    )
    assert bad_date.status_code == 400
    bad_status = await intake_service.client.get(
        "/open311/v2/requests.json", params={"status": "done"}
    )
    assert bad_status.status_code == 400
    unknown = await intake_service.client.get("/open311/v2/requests/nope.xml")
    assert unknown.status_code == 404
    assert ET.fromstring(unknown.content).findtext("error/code") == "404"


@contextmanager
def statements(service: IntakeUnderTest) -> Iterator[list[str]]:
    """The SQL statements the service's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = service.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def answered(
    service: IntakeUnderTest, report_id: str, at: datetime, explanation: str
) -> None:
    """The competent authority acknowledged the report at ``at`` (the read model as the
    routing and leg-status consumers leave it)."""
    async with write_transaction(service.intake.sessions) as session:
        session.add(
            RecipientView(
                report_id=report_id,
                recipient_id="ca-omgevingsdienst",
                name="Omgevingsdienst",
                role=Role.COMPETENT_AUTHORITY,
                reason_nl="bevoegd gezag",
                reason_en="competent authority",
                status=LegStatus.ACKNOWLEDGED,
            )
        )
        session.add(
            StatusView(
                report_id=report_id,
                recipient_id="ca-omgevingsdienst",
                status=LegStatus.ACKNOWLEDGED,
                occurred_at=at,
                explanation=explanation,
            )
        )


async def file_answered_reports(service: IntakeUnderTest, key: str, numbers: range) -> None:
    """Reports over Open311 (one per number), each routed to an authority that answered."""
    for n in numbers:
        changes = {"device_id": f"listing-device-{n:04d}", "description": f"Melding {n}"}
        created = await service.client.post("/open311/v2/requests.json", data=form(key, **changes))
        assert created.status_code == 201, created.text
        report_id = created.json()[0]["service_request_id"]
        await answered(service, report_id, service.clock.now(), f"In behandeling ({n})")


@pytest.mark.parametrize(
    "intake_service", [{"relay_enabled": False, "rate_limit_ip_per_hour": 0}], indirect=True
)
async def test_listing_runs_as_many_queries_for_twenty_requests_as_for_two(
    intake_service: IntakeUnderTest,
) -> None:
    key = await client_key(intake_service)

    async def listed() -> tuple[list[dict[str, Any]], int]:
        with statements(intake_service) as seen:
            response = await intake_service.client.get("/open311/v2/requests.json")
        assert response.status_code == 200
        return response.json(), len(seen)

    await file_answered_reports(intake_service, key, range(2))
    two, queries_for_two = await listed()
    await file_answered_reports(intake_service, key, range(2, 20))
    twenty, queries_for_twenty = await listed()
    assert (len(two), len(twenty)) == (2, 20)
    assert {item["agency_responsible"] for item in twenty} == {"Omgevingsdienst"}
    assert {item["status_notes"] for item in twenty} == {f"In behandeling ({n})" for n in range(20)}
    assert queries_for_twenty == queries_for_two <= 3
