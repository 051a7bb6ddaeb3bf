"""Patterns end to end through the real broker: deliveries in, pattern events out with the
right method, scope and recipients (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import numpy as np
import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import select

from schemas._base import LocalizedText
from schemas.cloudevents import decode
from schemas.pattern import DetectionMethod, PatternDetected, Scope
from schemas.report import Category, Location, LocationSource, ReportReceived
from schemas.routing import Place, Role
from schemas.topics import PATTERN_DETECTED, delivery_topic
from services.notifier.models import PatternRecord, Signal
from services.notifier.patterns.service import kind_of
from services.runtime import catalogue
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


def in_words(summary: LocalizedText, category: Category) -> None:
    """A pattern's summary names its category with the catalogue's word in each language
    (Geur, Odour), never its code (odour) (docs/texts.md)."""
    for language in catalogue.LANGUAGES:
        sentence = getattr(summary, language)
        assert catalogue.label(category, "Category", language) in sentence, sentence
        codes = [c.value for c in Category if re.search(rf"\b{re.escape(c.value)}\b", sentence)]
        assert not codes, (sentence, codes)


def test_every_category_has_a_word_that_is_not_its_code() -> None:
    for category in Category:
        for language in catalogue.LANGUAGES:
            assert kind_of(category, language) != category.value, (category, language)


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
    in_words(first.summary, Category.ODOUR)
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
    in_words(cluster.summary, Category.ODOUR)
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


def stored_signal(n: str, who: str, lat: float, lon: float, at: datetime, **changes: Any) -> Signal:
    values: dict[str, Any] = {
        "report_id": str(uuid5(NAMESPACE_URL, n)),
        "reporter_key": reporter_key(who),
        "category": Category.ODOUR,
        "lat": lat,
        "lon": lon,
        "observed_at": at,
        "municipality_code": "GM0375",
        "province_code": "PV27",
        "facility_ids": [],
        "sectors": [],
        "recipients": ["ca:pv27"],
    }
    return Signal(**(values | changes))


async def test_a_second_episode_at_the_same_place_is_a_new_pattern(
    notifier_service: NotifierUnderTest,
) -> None:
    """Issue 17 §4: six weeks after a cluster, a new one at the same street with no more
    reporters than the first is announced, as a new pattern; the first, continuing an hour
    later without growing, is not announced again."""
    patterns = notifier_service.notifier.patterns
    rng = np.random.default_rng(12)
    later = NOW + timedelta(days=42)
    rows = [
        stored_signal(
            f"bg-{n}",
            f"bg-{n}",
            52.2 + rng.uniform(0, 0.6),
            4.5 + rng.uniform(0, 0.6),
            later - timedelta(hours=float(rng.uniform(0, 8700))),
        )
        for n in range(240)
    ]
    for episode, end in enumerate((NOW, later)):
        rows += [
            stored_signal(
                f"ep{episode}-{n}",
                f"ep{episode}-{n}",
                WIJK_AAN_ZEE[0] + rng.uniform(-0.004, 0.004),
                WIJK_AAN_ZEE[1] + rng.uniform(-0.006, 0.006),
                end - timedelta(hours=2 + 4 * n),
            )
            for n in range(8)
        ]
    async with write_transaction(patterns_sessions(notifier_service)) as session:
        session.add_all([r for r in rows if r.observed_at <= NOW])
    found = []
    for now in (NOW, NOW + timedelta(hours=1)):
        async with write_transaction(patterns_sessions(notifier_service)) as session:
            found.append(await patterns.scan_category(session, Category.ODOUR, now))
    assert found == [1, 0], "announced once; an hour later it continues without growing"
    async with write_transaction(patterns_sessions(notifier_service)) as session:
        session.add_all([r for r in rows if r.observed_at > NOW])
    async with write_transaction(patterns_sessions(notifier_service)) as session:
        assert await patterns.scan_category(session, Category.ODOUR, later) == 1
    async with notifier_service.notifier.runtime.sessions() as session:
        stored = (await session.exec(select(PatternRecord))).all()
    scans = [r for r in stored if r.method == "space_time_scan"]
    assert len(scans) == 2, "two episodes, two patterns"
    assert all(r.unique_reporters <= 8 for r in scans)


async def test_a_facility_recurrence_goes_to_its_authority_once(
    notifier_service: NotifierUnderTest,
) -> None:
    """Issue 17 §1: a facility with a report every few days that gets three more residents a
    day for the last two weeks: one recurrence pattern to the competent authority (not the
    table), not announced again the next day without material growth."""
    patterns = notifier_service.notifier.patterns
    rng = np.random.default_rng(13)
    today = NOW.date()
    rows = []
    for days_ago in range(1, 280):
        extra = 3 if days_ago <= 14 else 0
        for k in range(int(rng.poisson(0.3)) + extra):
            rows.append(
                stored_signal(
                    f"rec-{days_ago}-{k}",
                    f"rec-{days_ago}-{k}",
                    WIJK_AAN_ZEE[0],
                    WIJK_AAN_ZEE[1],
                    NOW - timedelta(days=days_ago, hours=k),
                    facility_ids=["tata_steel_ijmuiden"],
                    sectors=["steel"],
                )
            )
    async with write_transaction(patterns_sessions(notifier_service)) as session:
        session.add_all(rows)
    counts = []
    for day in (today, today + timedelta(days=1)):
        async with write_transaction(patterns_sessions(notifier_service)) as session:
            counts.append(await patterns.facility_recurrence(session, day))
    assert counts == [1, 0]
    async with notifier_service.notifier.runtime.sessions() as session:
        stored = (await session.exec(select(PatternRecord))).all()
    recurrences = [r for r in stored if r.method == "facility_recurrence"]
    assert len(recurrences) == 1
    assert recurrences[0].recipients == ["pv27"], "the competent authority, not the table"
    assert recurrences[0].scope == "local"
    [announced] = await patterns_out(notifier_service, "facility_recurrence", 1)
    in_words(announced.summary, Category.ODOUR)


def patterns_sessions(service: NotifierUnderTest) -> Any:
    return service.notifier.runtime.sessions


async def test_bursts_at_incinerators_in_three_provinces_join_into_a_national_pattern(
    notifier_service: NotifierUnderTest,
) -> None:
    """Issue 17 §2: three local bursts at waste incinerators in three provinces at once become
    one national pattern for the table (joining them), announced once."""
    patterns = notifier_service.notifier.patterns
    plants = {"avr_rozenburg": "PV28", "aeb_amsterdam": "PV27", "arn_weurt": "PV25"}
    for plant, province in plants.items():
        patterns._sectors[plant] = "waste incineration"
        async with write_transaction(patterns_sessions(notifier_service)) as session:
            session.add(
                PatternRecord(
                    pattern_id=str(uuid5(NAMESPACE_URL, plant)),
                    key=f"burst/odour/{plant}",
                    method=DetectionMethod.BURST,
                    category=Category.ODOUR,
                    scope=Scope.LOCAL,
                    announcement=1,
                    unique_reporters=10,
                    report_count=10,
                    first_detected_at=NOW,
                    detected_at=NOW,
                    window_start=NOW - timedelta(hours=1),
                    window_end=NOW,
                    municipality_codes=[f"GM-{plant}"],
                    province_codes=[province],
                    facility_ids=[plant],
                    recipients=[province.lower()],
                    report_ids=[f"{plant}-{n}" for n in range(10)],
                )
            )
    counts = []
    for hours in (1, 2):
        async with write_transaction(patterns_sessions(notifier_service)) as session:
            counts.append(await patterns.national_join(session, NOW + timedelta(hours=hours)))
    assert counts == [1, 0]
    async with notifier_service.notifier.runtime.sessions() as session:
        stored = (await session.exec(select(PatternRecord))).all()
    national = [r for r in stored if r.scope == "national"]
    assert len(national) == 1
    assert national[0].province_codes == ["PV25", "PV27", "PV28"]
    assert "national-table" in national[0].recipients
    assert sorted(national[0].facility_ids) == sorted(plants)
    [announced] = [
        p
        for p in await patterns_out(notifier_service, "burst", 1)
        if str(p.pattern_id) == national[0].pattern_id
    ]
    in_words(announced.summary, Category.ODOUR)
