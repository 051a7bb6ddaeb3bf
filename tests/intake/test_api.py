"""The app API: accepted reports are durable, published without personal data, and readable
by their tracking token; every bad input gets a problem+json answer with a message per field."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from schemas.cloudevents import decode
from schemas.topics import REPORT_RECEIVED
from tests.intake.conftest import SECRET, IntakeUnderTest
from tests.support.kafka import consume_until, headers_of, wait_async

pytestmark = pytest.mark.kafka

WIJK_AAN_ZEE = {"lat": 52.49325, "lon": 4.59954}


def body(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "category": "odour",
        "subtype": "sulphur",
        **WIJK_AAN_ZEE,
        "observed_at": "2026-11-23T12:40:00+01:00",
        "intensity": 4,
        "description": "Zwavellucht sinds de ochtend.",
        "still_noticeable": True,
    }
    values.update(changes)
    return values


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (52.0, 29.0, 35.0), 4: (4.0, 35.0, 58.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def post(service: IntakeUnderTest, payload: Any, **headers: str) -> Any:
    return await service.client.post("/api/v1/reports", json=payload, headers=headers)


async def test_accepted_report_is_published_and_readable(intake_service: IntakeUnderTest) -> None:
    response = await post(intake_service, body())
    assert response.status_code == 202, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/reports/{created['report_id']}"
    assert len(base64.urlsafe_b64decode(created["tracking_token"] + "==")) * 8 >= 128
    assert created["tracking_url"].startswith("http://intake.test/track/")

    records = await consume_until(
        intake_service.settings.kafka_bootstrap_servers,
        REPORT_RECEIVED.name,
        lambda rs: any(r.key == created["report_id"].encode() for r in rs),
    )
    record = next(r for r in records if r.key == created["report_id"].encode())
    headers = headers_of(record)
    assert headers["ce_type"] == "nl.buursignaal.report.received.v1"
    assert headers["ce_source"] == "/buursignaal/intake"
    _, event = decode(headers, record.value)
    assert str(event.report_id) == created["report_id"]  # type: ignore[attr-defined]

    read = await intake_service.client.get(
        f"/api/v1/reports/{created['report_id']}",
        headers={"X-Tracking-Token": created["tracking_token"]},
    )
    assert read.status_code == 200
    assert read.json()["number"] == created["number"]
    assert read.json()["category"] == "odour"
    wrong = await intake_service.client.get(
        f"/api/v1/reports/{created['report_id']}", headers={"X-Tracking-Token": "guess"}
    )
    assert wrong.status_code == 404
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_no_personal_data_reaches_the_topic(intake_service: IntakeUnderTest) -> None:
    personal = {
        "name": "Jantje Zwavelman",
        "email": "jantje.zwavelman@example.nl",
        "phone": "+31 6 12345678",
        "share_contact": True,
        "email_updates": True,
        "device_id": "device-of-jantje-0001",
    }
    response = await post(intake_service, body(**personal))
    assert response.status_code == 202
    report_id = response.json()["report_id"]
    records = await consume_until(
        intake_service.settings.kafka_bootstrap_servers,
        REPORT_RECEIVED.name,
        lambda rs: any(r.key == report_id.encode() for r in rs),
    )
    for record in records:
        raw = record.value + b"".join(k.encode() + v for k, v in record.headers)
        for value in (
            "Jantje",
            "Zwavelman",
            "example.nl",
            "12345678",
            "device-of-jantje",
            "127.0.0.1",
        ):
            assert value.encode() not in raw, f"{value} leaked onto {REPORT_RECEIVED.name}"
    event = json.loads(next(r for r in records if r.key == report_id.encode()).value)
    assert len(event["reporter_key"]) == 64
    assert event["contact_available"] is True


async def test_same_device_gets_the_same_pseudonym(intake_service: IntakeUnderTest) -> None:
    first = await post(intake_service, body(device_id="phone-abcdef-123"))
    second = await post(
        intake_service, body(device_id="phone-abcdef-123", category="noise", subtype=None)
    )
    other = await post(intake_service, body(device_id="phone-zzzzzz-999"))
    keys = []
    for response in (first, second, other):
        assert response.status_code == 202
        async with intake_service.intake.sessions() as session:
            from services.intake.tracking import report_by_id

            record = await report_by_id(session, response.json()["report_id"])
            assert record is not None
            keys.append(record.reporter_key)
    assert keys[0] == keys[1] != keys[2]


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        (body(colour="green"), "colour", "extra_forbidden"),
        (body(intensity="strong"), "intensity", "int_parsing"),
        (body(intensity=9), "intensity", "less_than_equal"),
        (body(description="x" * 4001), "description", "string_too_long"),
        (body(lat=95.0), "lat", "less_than_equal"),
        (body(lat=None), "location", "incomplete_point"),
        (body(observed_at="2026-11-24T12:00:00+01:00"), "observed_at", "future_time"),
        (body(observed_at="2026-10-01T12:00:00+01:00"), "observed_at", "too_old"),
        (body(observed_at="yesterday"), "observed_at", "datetime_from_date_parsing"),
        (body(category="smell"), "category", "enum"),
        (body(category="soil", subtype=None), "intensity", "intensity_not_applicable"),
        (body(email_updates=True), "email", "email_missing"),
        (body(email="not-an-address"), "email", "value_error"),
        (body(lat=None, lon=None), "location", "location_missing"),
        (body(postcode="12345"), "postcode", "postcode"),
        (body(description="bell\x07"), "description", "control_characters"),
        ([1, 2], "body", "dict_type"),
    ],
)
async def test_bad_input_gets_a_problem_per_field(
    intake_service: IntakeUnderTest, payload: Any, field: str, code: str
) -> None:
    response = await post(intake_service, payload)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["type"].endswith("/invalid-report")
    assert {"name": field, "code": code} == {
        k: v for k, v in problem["invalidParams"][0].items() if k != "reason"
    }, problem
    assert problem["invalidParams"][0]["reason"]


async def test_messages_follow_the_residents_language(intake_service: IntakeUnderTest) -> None:
    dutch = await post(intake_service, body(observed_at="2027-01-01T00:00:00+01:00"))
    english = await post(
        intake_service, body(observed_at="2027-01-01T00:00:00+01:00", language="en")
    )
    assert "toekomst" in dutch.json()["invalidParams"][0]["reason"]
    assert "future" in english.json()["invalidParams"][0]["reason"]
    by_header = await post(
        intake_service, body(intensity=0), **{"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert by_header.json()["invalidParams"][0]["reason"] == "Enter 1 or more."


async def test_malformed_json_is_a_clear_400(intake_service: IntakeUnderTest) -> None:
    response = await intake_service.client.post(
        "/api/v1/reports", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["invalidParams"][0]["code"] == "json_invalid"


async def test_points_outside_the_netherlands_are_refused(intake_service: IntakeUnderTest) -> None:
    north_sea = await post(intake_service, body(lat=52.6, lon=4.2))
    assert north_sea.status_code == 400
    assert north_sea.json()["invalidParams"][0]["code"] == "outside_netherlands"
    brussels = await post(intake_service, body(lat=50.85, lon=4.35))
    assert brussels.json()["invalidParams"][0]["code"] == "outside_netherlands"


async def test_rd_new_coordinates_are_converted(intake_service: IntakeUnderTest) -> None:
    # The origin of RD New, Onze Lieve Vrouwetoren in Amersfoort: (155 000, 463 000)
    response = await post(intake_service, body(lat=None, lon=None, rd_x=155000.0, rd_y=463000.0))
    assert response.status_code == 202
    async with intake_service.intake.sessions() as session:
        from services.intake.tracking import report_by_id

        record = await report_by_id(session, response.json()["report_id"])
    assert record is not None
    assert record.lat == pytest.approx(52.15517, abs=0.0001)
    assert record.lon == pytest.approx(5.38721, abs=0.0001)
    assert record.location_source == "rd_new"


async def test_address_lookup_and_unreachable_pdok(
    intake_service: IntakeUnderTest,
) -> None:
    found = await post(
        intake_service, body(lat=None, lon=None, postcode="1949 ab", house_number="10")
    )
    assert found.status_code == 202
    assert found.json()["location_verified"] is True
    intake_service.intake.geocoder._base_url = "http://127.0.0.1:9/unreachable"
    kept = await post(intake_service, body(lat=None, lon=None, address="Dorpsstraat 1, Ergens"))
    assert kept.status_code == 202, "an external service being down never rejects a report"
    assert kept.json()["location_verified"] is False


async def test_idempotency_key_returns_the_original(intake_service: IntakeUnderTest) -> None:
    first = await post(intake_service, body(), **{"Idempotency-Key": "retry-123"})
    again = await post(intake_service, body(), **{"Idempotency-Key": "retry-123"})
    assert first.status_code == again.status_code == 202
    assert again.json()["report_id"] == first.json()["report_id"]
    assert again.json()["tracking_token"] == first.json()["tracking_token"]
    assert again.json()["replayed"] is True
    other = await post(intake_service, body(), **{"Idempotency-Key": "retry-456"})
    assert other.json()["report_id"] != first.json()["report_id"]


async def test_rate_limit_per_device_and_category(intake_service: IntakeUnderTest) -> None:
    first = await post(intake_service, body(device_id="device-rate-0001"))
    assert first.status_code == 202
    second = await post(intake_service, body(device_id="device-rate-0001"))
    assert second.status_code == 429
    assert second.headers["content-type"] == "application/problem+json"
    assert 1 <= int(second.headers["retry-after"]) <= 120
    other_category = await post(
        intake_service, body(device_id="device-rate-0001", category="noise", subtype=None)
    )
    assert other_category.status_code == 202
    from datetime import timedelta

    intake_service.clock.advance(timedelta(minutes=2, seconds=1))
    later = await post(
        intake_service, body(device_id="device-rate-0001", observed_at="2026-11-23T12:41:00+01:00")
    )
    assert later.status_code == 202


@pytest.mark.parametrize("intake_service", [{"rate_limit_ip_per_hour": 3}], indirect=True)
async def test_rate_limit_per_ip(intake_service: IntakeUnderTest) -> None:
    statuses = [(await post(intake_service, body())).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


async def test_photos_are_stripped_and_limited(intake_service: IntakeUnderTest) -> None:
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original
    photo = {"data": base64.b64encode(original).decode()}
    response = await post(intake_service, body(photos=[photo]))
    assert response.status_code == 202
    created = response.json()
    page = await intake_service.client.get(f"/track/{created['tracking_token']}")
    photo_path = page.text.split('src="')[1].split('"')[0].replace("&amp;", "&")
    stored = await intake_service.client.get(photo_path)
    assert stored.status_code == 200
    assert stored.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in stored.content
    assert Image.open(io.BytesIO(stored.content)).getexif() == {}
    stranger = await intake_service.client.get(photo_path.split("?")[0] + "?token=nope")
    assert stranger.status_code == 404

    six = await post(intake_service, body(photos=[photo] * 6))
    assert six.json()["invalidParams"][0]["code"] == "photo_count"
    gif = await post(
        intake_service, body(photos=[{"data": base64.b64encode(b"GIF89a....").decode()}])
    )
    assert gif.json()["invalidParams"][0]["code"] == "photo_type"
    huge = await post(
        intake_service,
        body(photos=[{"data": base64.b64encode(b"\xff" * (10 * 1024 * 1024 + 1)).decode()}]),
    )
    assert huge.json()["invalidParams"][0]["code"] == "photo_size"


async def test_nearby_and_i_notice_it_too(intake_service: IntakeUnderTest) -> None:
    original = await post(intake_service, body())
    near = await intake_service.client.get(
        "/api/v1/reports/nearby", params={"category": "odour", "lat": 52.4960, "lon": 4.6000}
    )
    assert near.status_code == 200
    [item] = near.json()
    assert item["report_id"] == original.json()["report_id"]
    assert item["distance_m"] == 300  # rounded to 100 m, never an exact location
    far = await intake_service.client.get(
        "/api/v1/reports/nearby", params={"category": "odour", "lat": 52.52, "lon": 4.60}
    )
    assert far.json() == []
    other_kind = await intake_service.client.get(
        "/api/v1/reports/nearby", params={"category": "noise", "lat": 52.4960, "lon": 4.6000}
    )
    assert other_kind.json() == []

    joined = await post(
        intake_service, body(linked_report_id=item["report_id"], device_id="neighbour-0002")
    )
    assert joined.status_code == 202
    again = await intake_service.client.get(
        "/api/v1/reports/nearby", params={"category": "odour", "lat": 52.4960, "lon": 4.6000}
    )
    assert again.json()[0]["also_noticed"] == 1
    unknown = await post(
        intake_service, body(linked_report_id="7f3e4a4e-0000-4000-8000-000000000000")
    )
    assert unknown.json()["invalidParams"][0]["code"] == "linked_report_unknown"
    bad_query = await intake_service.client.get(
        "/api/v1/reports/nearby", params={"category": "odour", "lat": "x", "lon": 4}
    )
    assert bad_query.status_code == 400
    assert bad_query.headers["content-type"] == "application/problem+json"


async def test_internal_contact_lookup_needs_the_token(intake_service: IntakeUnderTest) -> None:
    created = await post(intake_service, body(email="r@example.nl", email_updates=True))
    no_opt_in = await post(intake_service, body(email="q@example.nl"))
    anonymous = await post(intake_service, body())
    opted_in, not_opted_in, without_address = (
        r.json()["report_id"] for r in (created, no_opt_in, anonymous)
    )
    asked = {"report_ids": [opted_in, not_opted_in, without_address]}
    token = {"Authorization": "Bearer internal-token-for-tests"}
    path = "/internal/v1/contacts"
    assert (await intake_service.client.post(path, json=asked)).status_code == 401
    contacts = (await intake_service.client.post(path, json=asked, headers=token)).json()
    assert list(contacts["contacts"]) == [opted_in], "only the resident who asked for mail"
    contact = contacts["contacts"][opted_in]
    assert (contact["email"], contact["language"]) == ("r@example.nl", "nl")
    # the unsubscribe link in every mail: a confirmation page, then no more mails
    unsubscribe = contact["unsubscribe_url"].removeprefix("http://intake.test")
    page = await intake_service.client.get(unsubscribe)
    assert page.status_code == 200
    assert "<form" in page.text
    assert (await intake_service.client.post(unsubscribe)).status_code == 200
    after = await intake_service.client.post(path, json=asked, headers=token)
    assert after.json() == {"contacts": {}}, "no address once unsubscribed"
    forged = await intake_service.client.post(unsubscribe[:-4] + "0000")
    assert forged.status_code == 404
    empty = await intake_service.client.post(path, json={"report_ids": []}, headers=token)
    assert empty.status_code == 400
    assert empty.headers["content-type"] == "application/problem+json"


def metric_value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


ACCEPTED_SAMPLE = 'buursignaal_intake_reports_accepted_total{category="odour",channel="app"}'
REJECTED_SAMPLE = 'buursignaal_intake_reports_rejected_total{channel="app",reason="invalid"}'


async def test_metrics_count_reports_and_outbox(intake_service: IntakeUnderTest) -> None:
    before = (await intake_service.client.get("/metrics")).text
    await post(intake_service, body())
    await post(intake_service, body(intensity=7))

    async def relayed() -> bool:
        text = (await intake_service.client.get("/metrics")).text
        return "buursignaal_outbox_backlog 0.0" in text and (
            'buursignaal_outbox_published_total{topic="buursignaal.report.received.v1"}' in text
        )

    await wait_async(relayed)
    text = (await intake_service.client.get("/metrics")).text
    for sample in (ACCEPTED_SAMPLE, REJECTED_SAMPLE):
        assert metric_value(text, sample) == metric_value(before, sample) + 1
    assert "buursignaal_outbox_oldest_unsent_age_seconds 0.0" in text


async def test_signed_photo_links_for_authorities(intake_service: IntakeUnderTest) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from services.intake.models import PhotoRecord
    from services.intake.web import signed_photo_path

    photo = {"data": base64.b64encode(jpeg_with_gps()).decode()}
    assert (await post(intake_service, body(photos=[photo]))).status_code == 202
    async with intake_service.intake.sessions() as session:
        photo_id = (await session.exec(select(PhotoRecord.id))).one()
    now = intake_service.clock.now()
    path = signed_photo_path(SECRET, photo_id, now, timedelta(hours=1))
    assert (await intake_service.client.get(path)).status_code == 200
    tampered = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert (await intake_service.client.get(tampered)).status_code == 404
    intake_service.clock.advance(timedelta(hours=2))
    assert (await intake_service.client.get(path)).status_code == 404, "links expire"
