"""An authority without Kafka reads over HTTP what its delivery carried: the description, the
observed time (RFC 3339, in UTC), the place as delivered, the candidate facilities and why the
report came to it; never the reporter key; another authority's key gets a 404. Through the
real broker, on SQLite and PostgreSQL; and a leg kept from before the migration reads too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from faststream.kafka import KafkaBroker
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import create_async_engine

from schemas.report import HealthSymptom
from schemas.routing import Place, ReportDelivered, Wind
from schemas.topics import delivery_topic
from services.notifier.actions import leg_id_for
from services.notifier.app import create_app
from services.notifier.authorities import register_authority
from services.notifier.models import Leg
from services.runtime.broker import ensure_topics
from services.runtime.clock import FixedClock
from services.runtime.database import UTCDateTime
from services.runtime.migrations import upgrade
from tests.notifier.conftest import NotifierUnderTest, notifier_settings
from tests.notifier.test_notifier_service import publish
from tests.support.factories import NOW, delivered, recipient, report_received, steelworks
from tests.support.kafka import wait_async

AMSTERDAM_WINTER = timezone(timedelta(hours=1))
OBSERVED = datetime(2026, 11, 23, 10, 35, tzinfo=AMSTERDAM_WINTER)  # 09:35 UTC
DESCRIPTION = "Sterke zwavellucht sinds half elf.\nRamen dicht, kinderen binnen."
VELSEN = Place(municipality_code="GM0453", municipality_name="Velsen", province_code="PV27")


def rich_delivery(recipient_id: str) -> ReportDelivered:
    """A delivery with everything a report can carry, observed at a ``+01:00`` time."""
    report = report_received(
        observed_at=OBSERVED,
        description=DESCRIPTION,
        intensity=4,
        subtype="sulphur",
        health_symptoms=[HealthSymptom.HEADACHE, HealthSymptom.IRRITATED_EYES],
        symptoms_other="prikkende neus",
        duration_minutes=45,
        still_noticeable=True,
        photo_count=2,
        contact_available=True,
    )
    event = delivered(report, recipient(recipient_id), place=VELSEN, candidates=[steelworks()])
    wind = Wind(direction_deg=200.0, speed_ms=4.5, station_id="06225", hour_ending=NOW)
    return event.model_copy(update={"wind": wind})


async def deliver_rich(service: NotifierUnderTest, broker: KafkaBroker, recipient_id: str) -> str:
    """Publish the delivery as the router does; wait for the leg; return the leg id."""
    event = rich_delivery(recipient_id)
    spec = delivery_topic(recipient_id)
    await ensure_topics(service.settings.kafka_bootstrap_servers, [spec])
    await publish(broker, spec.name, event)
    leg_id = leg_id_for(event.report_id, recipient_id)

    async def opened() -> bool:
        async with service.notifier.runtime.sessions() as session:
            return await session.get(Leg, leg_id) is not None

    await wait_async(opened, timeout_s=60)
    return leg_id


async def bearer(service: NotifierUnderTest, recipient_id: str) -> dict[str, str]:
    key = await register_authority(service.notifier.runtime.sessions, recipient_id, recipient_id)
    return {"Authorization": f"Bearer {key}"}


def walk(value: Any) -> list[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in walk(v))]
    if isinstance(value, list):
        return [k for v in value for k in walk(v)]
    return []


@pytest.mark.kafka
async def test_the_leg_carries_what_was_delivered(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    own, other = await bearer(service, "gm0453"), await bearer(service, "gm0344")

    answer = await service.client.get(f"/api/v1/legs/{leg_id}", headers=own)
    assert answer.status_code == 200, answer.text
    leg = answer.json()
    report = leg["report"]
    assert report["description"] == DESCRIPTION
    assert report["observed_at"] == "2026-11-23T09:35:00Z", "the same instant, in UTC"
    assert leg["delivered_at"].endswith("Z")
    assert (report["intensity"], report["subtype"]) == (4, "sulphur")
    assert report["health_symptoms"] == ["headache", "irritated_eyes"]
    assert report["symptoms_other"] == "prikkende neus"
    assert report["place"]["municipality_name"] == "Velsen"
    assert (report["location"]["lat"], report["location"]["lon"]) == (52.4806, 4.6064)
    assert [f["name"] for f in report["candidate_facilities"]] == ["Tata Steel IJmuiden"]
    assert report["reason"] == {"nl": "gm0453 is bevoegd.", "en": "gm0453 is competent."}
    assert report["wind"]["hour_ending"] == "2026-11-23T12:00:00Z"
    assert (report["photo_count"], report["contact_available"]) == (2, True)
    assert "reporter_key" not in walk(leg), "the pseudonymous key stays in the notifier"

    listed = await service.client.get("/api/v1/legs", headers=own)
    assert [item["report"]["description"] for item in listed.json()] == [DESCRIPTION]
    hidden = await service.client.get(f"/api/v1/legs/{leg_id}", headers=other)
    assert hidden.status_code == 404, "another authority's leg does not exist for it"
    assert DESCRIPTION not in hidden.text
    assert (await service.client.get("/api/v1/legs", headers=other)).json() == []


def test_the_report_is_in_the_openapi_document() -> None:
    settings = notifier_settings("sqlite+aiosqlite:///unused.sqlite", "127.0.0.1:1")
    schemas = create_app(settings, FixedClock(NOW)).openapi()["components"]["schemas"]
    assert schemas["LegOut"]["properties"]["report"]["anyOf"][0] == {
        "$ref": "#/components/schemas/DeliveredReport"
    }
    delivered_report = schemas["DeliveredReport"]["properties"]
    assert {"description", "observed_at", "place", "candidate_facilities", "reason"} <= set(
        delivered_report
    )
    assert delivered_report["observed_at"]["format"] == "date-time"
    assert "reporter_key" not in delivered_report


OLD_LEG = sa.table(
    "leg",
    *(sa.column(name) for name in ["id", "report_id", "recipient_id", "recipient_name", "role"]),
    *(sa.column(name) for name in ["category", "routing_round", "status", "cycle"]),
    *(sa.column(name) for name in ["paused_hours", "norm_hours", "next_step"]),
    sa.column("delivered_at", UTCDateTime()),
    sa.column("clock_origin", UTCDateTime()),
)


@pytest.mark.kafka
async def test_a_leg_from_before_the_migration_reads_without_a_report(
    database_url: str, kafka_bootstrap_servers: str
) -> None:
    """The column is added to existing rows (nullable): their legs read, with no report."""
    upgrade("notifier", database_url, "notifier_0003")
    leg_id = leg_id_for(UUID(int=7), "gm0453")
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            OLD_LEG.insert().values(
                id=leg_id,
                report_id=str(UUID(int=7)),
                recipient_id="gm0453",
                recipient_name="Velsen",
                role="competent_authority",
                category="odour",
                routing_round=1,
                status="delivered",
                cycle=0,
                paused_hours=0.0,
                norm_hours=8.5,
                next_step=1,
                delivered_at=NOW,
                clock_origin=NOW,
            )
        )
    await engine.dispose()
    upgrade("notifier", database_url)
    app = create_app(notifier_settings(database_url, kafka_bootstrap_servers), FixedClock(NOW))
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://n.test") as client,
    ):
        key = await register_authority(app.state.notifier.runtime.sessions, "gm0453", "Velsen")
        own = {"Authorization": f"Bearer {key}"}
        answer = await client.get(f"/api/v1/legs/{leg_id}", headers=own)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["leg_id"], answer.json()["report"]) == (leg_id, None)


@pytest.mark.kafka
async def test_every_instant_of_a_leg_carries_its_offset_in_one_format(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    """``acknowledged_at`` once came as ``…Z`` from the status change and without an offset
    from the next read; ``delivered_at`` and ``respond_by`` had none (issue 13)."""
    service = notifier_service
    leg_id = await deliver_rich(service, producer, "gm0453")
    own = await bearer(service, "gm0453")
    changed = await service.client.post(
        f"/api/v1/legs/{leg_id}/status", json={"status": "acknowledged"}, headers=own
    )
    assert changed.status_code == 200, changed.text
    read = (await service.client.get(f"/api/v1/legs/{leg_id}", headers=own)).json()
    for leg in (changed.json(), read):
        for name in ("delivered_at", "acknowledged_at", "respond_by"):
            value = leg[name]
            assert value is not None, name
            assert value.endswith("Z"), (name, value)
            assert datetime.fromisoformat(value).utcoffset() == timedelta(0)
    assert changed.json()["acknowledged_at"] == read["acknowledged_at"]
