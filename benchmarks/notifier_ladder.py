"""The notifier's ladder tick over 1,000,000 open legs, and status events per second.

    .venv/bin/python -m benchmarks.notifier_ladder [--legs 1000000] [--postgres]
    .venv/bin/python -m benchmarks.notifier_ladder --events 20000 --legs 0

(1) Tick: stores ``--legs`` open legs (deadlines spread over the next 30 days, 1,000 already
due) with multi-row inserts, then times one tick that fires the due rungs, and a tick with
nothing due. (2) Status events: ``--events`` legs and as many "acknowledged" reports on the
status-reported topic of a fresh local broker; a bare consume->produce passthrough on the same
broker, then one notifier process until every change is out on the status topic.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import insert

from benchmarks.support import local_broker, passthrough, run_service
from schemas.cloudevents import headers_for
from schemas.leg import Actor, ActorKind, LegStatus, LegStatusReported
from schemas.topics import LEG_STATUS, LEG_STATUS_REPORTED, TopicSpec, all_static_topics
from services.notifier.actions import Legs, leg_id_for
from services.notifier.models import CaseFile, Leg
from services.notifier.norms import Norms
from services.notifier.worktime import WorkingCalendar
from services.runtime.broker import ensure_topics
from services.runtime.clock import FixedClock
from services.runtime.database import make_engine, session_factory
from services.runtime.migrations import upgrade
from tools.local.postgres import ThrowawayPostgres, install

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
CHUNK = 5000
PASSTHROUGH = TopicSpec("bench.status-passthrough.v1", None, "report_id", 6, None, (), ())


@contextmanager
def database(postgres: bool, directory: Path) -> Iterator[str]:
    if not postgres:
        yield f"sqlite+aiosqlite:///{directory / 'notifier.sqlite'}"
        return
    server = ThrowawayPostgres(install()).start()
    try:
        yield server.create_database("bench")
    finally:
        server.stop()


def leg_rows(
    count: int, due_now: int
) -> Iterator[tuple[list[dict[str, object]], list[dict[str, object]]]]:
    rng = random.Random(3)
    for start in range(0, count, CHUNK):
        legs, cases = [], []
        for n in range(start, min(count, start + CHUNK)):
            report_id = str(uuid.UUID(int=n + 1))
            due = (
                NOW - timedelta(minutes=1)
                if n < due_now
                else NOW + timedelta(minutes=rng.randint(1, 30 * 24 * 60))
            )
            cases.append(
                {
                    "report_id": report_id,
                    "reporter_key": "0" * 64,
                    "category": "odour",
                    "language": "nl",
                    "urgent": False,
                    "received_at": NOW,
                }
            )
            legs.append(
                {
                    "id": leg_id_for(report_id, "gm0453"),
                    "report_id": report_id,
                    "recipient_id": "gm0453",
                    "recipient_name": "Gemeente Velsen",
                    "role": "competent_authority",
                    "category": "odour",
                    "routing_round": 1,
                    "status": "delivered",
                    "delivered_at": NOW - timedelta(days=1),
                    "cycle": 0,
                    "deadline_kind": "acknowledge",
                    "clock_origin": NOW - timedelta(days=1),
                    "paused_hours": 0.0,
                    "norm_hours": 8.5,
                    "next_step": 1,
                    "next_due_at": due,
                }
            )
        yield legs, cases


async def store_legs(url: str, count: int, due_now: int) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    async with engine.begin() as connection:
        for legs, cases in leg_rows(count, due_now):
            await connection.execute(insert(CaseFile.__table__), cases)  # type: ignore[attr-defined]
            await connection.execute(insert(Leg.__table__), legs)  # type: ignore[attr-defined]
    await engine.dispose()
    return time.perf_counter() - started


async def time_ticks(url: str) -> tuple[float, int, float]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    legs = Legs(WorkingCalendar(), Norms(), FixedClock(NOW))
    try:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            fired = await legs.tick(session, limit=1000)
        busy = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            await legs.tick(session, limit=1000)
        idle = time.perf_counter() - started
    finally:
        await engine.dispose()
    return busy, fired, idle


async def fill_reports(bootstrap: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    actor = Actor(kind=ActorKind.AUTHORITY, actor_id="gm0453")
    futures = []
    for n in range(count):
        event = LegStatusReported(
            report_id=uuid.UUID(int=n + 1),
            recipient_id="gm0453",
            status=LegStatus.ACKNOWLEDGED,
            actor=actor,
            occurred_at=NOW,
        )
        headers = headers_for(event, source="/bench")
        futures.append(
            await producer.send(
                LEG_STATUS_REPORTED.name,
                event.model_dump_json().encode(),
                key=str(event.report_id).encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        )
    await asyncio.gather(*futures)
    await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--legs", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if args.legs:
            with database(args.postgres, tmp) as url:
                upgrade("notifier", url)
                stored = asyncio.run(store_legs(url, args.legs, due_now=1000))
                busy, fired, idle = asyncio.run(time_ticks(url))
            kind = "PostgreSQL" if args.postgres else "SQLite"
            print(f"{args.legs:,} open legs stored in {stored:.1f} s ({kind})")
            print(f"tick with 1,000 due: {busy * 1000:.0f} ms ({fired} rungs fired)")
            print(f"tick with none due:  {idle * 1000:.1f} ms")
        if args.events:
            url = f"sqlite+aiosqlite:///{tmp / 'events.sqlite'}"
            upgrade("notifier", url)
            asyncio.run(store_legs(url, args.events, due_now=0))
            with local_broker(tmp / "kafka") as bootstrap:
                asyncio.run(ensure_topics(bootstrap, [*all_static_topics(), PASSTHROUGH]))
                asyncio.run(fill_reports(bootstrap, args.events))
                ceiling = asyncio.run(
                    passthrough(
                        bootstrap,
                        LEG_STATUS_REPORTED.name,
                        PASSTHROUGH.name,
                        args.events,
                        idempotent=True,
                    )
                )
                env = {
                    "BUURSIGNAAL_NOTIFIER_DATABASE_URL": url,
                    "BUURSIGNAAL_NOTIFIER_TICK_INTERVAL_S": "3600",
                    "BUURSIGNAAL_NOTIFIER_MAIL_INTERVAL_S": "3600",
                }
                run = run_service(
                    "services.notifier.app:create_app",
                    env,
                    bootstrap,
                    [LEG_STATUS.name],
                    args.events,
                )
            changed, steady_s, rss = run.arrived, run.steady_s, run.peak_rss_mb
            rate = changed / steady_s if steady_s else 0.0
            print(f"bare passthrough:   {ceiling:8.0f} records/s")
            print(f"notifier:           {rate:8.0f} status events/s ({changed} changes)")
            print(f"ratio:              {rate / ceiling:8.1%}")
            print(f"notifier peak RSS:  {rss:8.0f} MB")


if __name__ == "__main__":
    main()
