"""Patterns end to end through the real broker: deliveries in, pattern events out with the
right method, scope and recipients (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import numpy as np
import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import select

from schemas.cloudevents import decode
from schemas.pattern import PatternDetected
from schemas.report import Category, Location, LocationSource, ReportReceived
from schemas.routing import Place, Role
from schemas.topics import PATTERN_DETECTED, delivery_topic
from services.notifier.models import PatternRecord, Signal
from services.runtime.broker import ensure_topics
from services.runtime.database import write_transaction
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_notifier_service import publish
from tests.support.factories import (
    NOW,
    delivered,
    recipient,
    report_received,
    reporter_key,
    steelworks,
)
from tests.support.kafka import Record, consume_until, headers_of, wait_async

pytestmark = pytest.mark.kafka
WIJK_AAN_ZEE = (52.4930, 4.6000)


async def send_reports(
    service: NotifierUnderTest, broker: KafkaBroker, reports: list[tuple[ReportReceived, Place]]
) -> None:
    specs = [delivery_topic("pv27"), delivery_topic("od-odnzkg")]
    await ensure_topics(service.settings.kafka_bootstrap_servers, specs)
    for report, place in reports:
        for to in (recipient("pv27"), recipient("od-odnzkg", Role.EXECUTING_BODY)):
            event = delivered(report, to, place=place, candidates=[steelworks()])
            await publish(broker, delivery_topic(to.recipient_id).name, event)
    ids = {str(r.report_id) for r, _ in reports}

    async def stored() -> bool:
        async with service.notifier.runtime.sessions() as session:
            found = [await session.get(Signal, i) for i in ids]
        return all(s is not None and len(s.recipients) == 2 for s in found)

    await wait_async(stored, timeout_s=60)


async def patterns_out(
    service: NotifierUnderTest, method: str, count: int
) -> list[PatternDetected]:
    """Pattern events of this test (the topic is shared: later than the service's start)."""
    since_ms = int(service.started_at * 1000)

    def mine(records: list[Record]) -> list[Record]:
        return [
            r for r in records if r.timestamp >= since_ms and method.encode() in (r.value or b"")
        ]

    records = await consume_until(
        service.settings.kafka_bootstrap_servers,
        PATTERN_DETECTED.name,
        lambda rs: len(mine(rs)) >= count,
    )
    events = [decode(headers_of(r), r.value or b"")[1] for r in mine(records)]
    return [e for e in events if isinstance(e, PatternDetected) and e.method.value == method]


def at(lat: float, lon: float) -> Location:
    return Location(lat=lat, lon=lon, source=LocationSource.WGS84)


async def test_ten_reporters_in_an_hour_near_the_steelworks_make_a_burst(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    place = Place(municipality_code="GM0375", province_code="PV27")
    reports = [
        (
            report_received(
                reporter_key=reporter_key(f"burst-{n}"),
                observed_at=NOW - timedelta(minutes=50 - 5 * n),
                location=at(WIJK_AAN_ZEE[0] + n * 0.0003, WIJK_AAN_ZEE[1]),
            ),
            place,
        )
        for n in range(10)
    ]
    await send_reports(notifier_service, producer, reports)
    found = await patterns_out(notifier_service, "burst", 1)
    assert len({p.pattern_id for p in found}) == 1, "one burst: its facility and cell together"
    first = found[0]
    assert first.facility_ids == ["tata_steel_ijmuiden"]
    assert first.unique_reporters == 10
    assert first.announcement == 1
    assert first.scope.value == "local"
    assert first.centre is not None
    assert first.centre.grid_m == 500, "locations are coarsened"
    # deliveries reach the two bodies one after the other: whoever was not told at the first
    # announcement gets the same pattern again, so in the end both have it
    seen: list[PatternDetected] = []

    async def both_told() -> bool:
        seen[:] = await patterns_out(notifier_service, "burst", 1)
        return seen[-1].recipients == ["od-odnzkg", "pv27"]

    await wait_async(both_told, timeout_s=60)
    assert {p.pattern_id for p in seen} == {first.pattern_id}


async def test_an_injected_cluster_is_announced_by_the_hourly_scan(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    rng = np.random.default_rng(11)
    reports = []
    for n in range(240):  # a year of scattered reports in Noord-Holland
        reports.append(
            (
                report_received(
                    reporter_key=reporter_key(f"bg-{n}"),
                    observed_at=NOW - timedelta(days=int(rng.integers(0, 360)), hours=3),
                    location=at(52.2 + rng.uniform(0, 0.6), 4.5 + rng.uniform(0, 0.6)),
                ),
                Place(municipality_code="GM0363", province_code="PV27"),
            )
        )
    for n in range(8):  # the last two days: eight residents of two municipalities, within 1 km
        reports.append(
            (
                report_received(
                    reporter_key=reporter_key(f"cluster-{n}"),
                    observed_at=NOW - timedelta(hours=2 + 5 * n),
                    location=at(
                        WIJK_AAN_ZEE[0] + rng.uniform(-0.004, 0.004),
                        WIJK_AAN_ZEE[1] + rng.uniform(-0.006, 0.006),
                    ),
                ),
                Place(municipality_code=("GM0375", "GM0453")[n % 2], province_code="PV27"),
            )
        )
    await send_reports(notifier_service, producer, reports)
    assert await notifier_service.notifier.scan([Category.ODOUR]) >= 1
    clusters = [
        p
        for p in await patterns_out(notifier_service, "space_time_scan", 1)
        if "GM0375" in p.municipality_codes
    ]
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.recurrence_interval_days is not None
    assert cluster.recurrence_interval_days >= 100
    assert cluster.unique_reporters >= 3
    assert cluster.scope.value == "local", "two municipalities, but one facility"
    assert "pv27" in cluster.recipients
    assert cluster.facility_ids == ["tata_steel_ijmuiden"]
    assert await notifier_service.notifier.scan([Category.ODOUR]) == 0, "no new reporter: quiet"
    assert UUID(str(cluster.pattern_id))


async def test_a_batch_that_announces_a_burst_twice_stores_it_once(
    notifier_service: NotifierUnderTest,
) -> None:
    """A backlog arrives as one batch: the burst is announced at its threshold and again as it
    grows within the same transaction. The second announcement updates the first record
    (it once inserted a second one, the batch failed on ``pattern_pkey`` and was redone one
    event at a time: slow enough to miss an authority's deadline)."""
    notifier = notifier_service.notifier
    place = Place(municipality_code="GM0375", province_code="PV27")
    to = recipient("od-odnzkg", Role.EXECUTING_BODY)
    async with write_transaction(notifier.runtime.sessions) as session:
        session.autoflush = False  # as the consumer applies a batch: one flush, at commit
        for n in range(15):
            report = report_received(
                reporter_key=reporter_key(f"batch-{n}"),
                observed_at=NOW - timedelta(minutes=57 - 3 * n),
                location=at(WIJK_AAN_ZEE[0] + n * 0.0003, WIJK_AAN_ZEE[1]),
            )
            event = delivered(report, to, place=place, candidates=[steelworks()])
            await notifier.patterns.on_delivery(session, event)
    async with notifier.runtime.sessions() as session:
        stored = (await session.exec(select(PatternRecord))).all()
    bursts = [r for r in stored if r.method == "burst"]
    assert len(bursts) == 1
    assert bursts[0].unique_reporters == 15
    assert bursts[0].announcement >= 2, "announced at the threshold and again as it grew"
