"""A triage desk corrects a report's place or category; intake publishes the correction."""

from __future__ import annotations

from schemas.cloudevents import decode
from schemas.report import Category, ReportCorrected
from schemas.topics import REPORT_CORRECTED
from tests.intake.conftest import IntakeUnderTest
from tests.intake.test_api import body, post
from tests.support.kafka import consume_until, headers_of

AUTH = {"Authorization": "Bearer internal-token-for-tests"}


async def test_correction_is_stored_and_published(intake_service: IntakeUnderTest) -> None:
    created = (await post(intake_service, body())).json()
    path = f"/internal/v1/reports/{created['report_id']}/correction"
    correction = {
        "corrected_by": "triage desk",
        "reason": "The resident meant the harbour.",
        "lat": 52.4606,
        "lon": 4.6300,
        "category": "noise",
    }
    assert (await intake_service.client.post(path, json=correction)).status_code == 401
    answer = await intake_service.client.post(path, json=correction, headers=AUTH)
    assert answer.status_code == 202, answer.text

    records = await consume_until(
        intake_service.settings.kafka_bootstrap_servers,
        REPORT_CORRECTED.name,
        lambda rs: any(r.key == created["report_id"].encode() for r in rs),
    )
    record = next(r for r in records if r.key == created["report_id"].encode())
    _, event = decode(headers_of(record), record.value or b"")
    assert isinstance(event, ReportCorrected)
    assert event.category is Category.NOISE
    assert event.location is not None
    assert event.location.lat == 52.4606
    read = await intake_service.client.get(
        f"/api/v1/reports/{created['report_id']}",
        headers={"X-Tracking-Token": created["tracking_token"]},
    )
    assert read.json()["category"] == "noise"


async def test_bad_corrections_get_clear_errors(intake_service: IntakeUnderTest) -> None:
    created = (await post(intake_service, body())).json()
    path = f"/internal/v1/reports/{created['report_id']}/correction"
    nothing = await intake_service.client.post(
        path, json={"corrected_by": "triage desk", "reason": "x"}, headers=AUTH
    )
    assert nothing.status_code == 400
    assert nothing.headers["content-type"] == "application/problem+json"
    half = await intake_service.client.post(
        path, json={"corrected_by": "t", "reason": "x", "lat": 52.1}, headers=AUTH
    )
    assert half.status_code == 400
    abroad = await intake_service.client.post(
        path, json={"corrected_by": "t", "reason": "x", "lat": 50.85, "lon": 4.35}, headers=AUTH
    )
    assert abroad.status_code == 422
    assert abroad.json()["type"].endswith("outside-netherlands")
    unknown = await intake_service.client.post(
        "/internal/v1/reports/7f3e4a4e-0000-4000-8000-000000000000/correction",
        json={"corrected_by": "t", "reason": "x", "category": "noise"},
        headers=AUTH,
    )
    assert unknown.status_code == 404
