"""Router end to end through the real broker, against a bare consume→produce passthrough.

    .venv/bin/python -m benchmarks.router_throughput [--reports 5000] [--brokers 3]

Fills `buursignaal.report.received.v1` on a fresh local broker, then measures (1) a bare
aiokafka loop that consumes each record and produces it to another topic, committing offsets,
and (2) one router process (SQLite, fixed wind) until every report has its outcome (a routing
decision, unroutable, or triage; a triage request can come with a decision, so the count is
an upper bound on reports done).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from aiokafka import AIOKafkaProducer

from benchmarks.support import local_broker, passthrough, run_service
from schemas.cloudevents import headers_for
from schemas.report import Category, Location, LocationSource, ReportReceived
from schemas.topics import (
    REPORT_RECEIVED,
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
    TopicSpec,
    all_static_topics,
)
from services.runtime.broker import ensure_topics
from services.runtime.migrations import upgrade

PASSTHROUGH = TopicSpec("bench.passthrough.v1", None, "report_id", 6, None, (), ())
IDEMPOTENT = TopicSpec("bench.idempotent.v1", None, "report_id", 6, None, (), ())
AGAIN = TopicSpec("bench.again.v1", None, "report_id", 6, None, (), ())


async def ceilings(bootstrap: str, count: int) -> tuple[float, float]:
    """The bare passthrough with a plain and with an idempotent producer, after a warm-up copy
    (the first run on a fresh broker is up to twice as slow); each reads a topic of its own."""
    await passthrough(bootstrap, REPORT_RECEIVED.name, PASSTHROUGH.name, count, idempotent=False)
    idempotent = await passthrough(
        bootstrap, PASSTHROUGH.name, IDEMPOTENT.name, count, idempotent=True
    )
    plain = await passthrough(bootstrap, IDEMPOTENT.name, AGAIN.name, count, idempotent=False)
    return plain, idempotent


async def fill(bootstrap: str, count: int) -> None:
    rng = random.Random(11)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=True)
    await producer.start()
    now = datetime.now(UTC)
    futures = []
    for _ in range(count):
        event = ReportReceived(
            report_id=uuid4(),
            reporter_key="0" * 64,
            channel="app",
            category=rng.choice([Category.ODOUR, Category.NOISE, Category.AIR]),
            location=Location(
                lat=rng.uniform(51.4, 52.9), lon=rng.uniform(4.2, 6.5), source=LocationSource.WGS84
            ),
            observed_at=now,
            received_at=now,
        )
        headers = headers_for(event, source="/bench")
        sent = await producer.send(
            REPORT_RECEIVED.name,
            event.model_dump_json().encode(),
            key=str(event.report_id).encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
        futures.append(sent)
    await asyncio.gather(*futures)
    await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--brokers", type=int, default=1, help="1, or a local cluster of 3")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp_dir,
        local_broker(Path(tmp_dir) / "kafka", args.brokers) as bootstrap,
    ):
        bench_topics = [PASSTHROUGH, IDEMPOTENT, AGAIN]
        asyncio.run(ensure_topics(bootstrap, [*all_static_topics(), *bench_topics]))
        asyncio.run(fill(bootstrap, args.reports))
        ceiling, idempotent = asyncio.run(ceilings(bootstrap, args.reports))
        print(f"passthrough measured: {ceiling:.0f} records/s", flush=True)
        print(f"idempotent passthrough measured: {idempotent:.0f} records/s", flush=True)
        database_url = f"sqlite+aiosqlite:///{Path(tmp_dir) / 'router.sqlite'}"
        upgrade("router", database_url)
        env = {
            "BUURSIGNAAL_ROUTER_DATABASE_URL": database_url,
            "BUURSIGNAAL_ROUTER_FIXED_WIND_FROM_DEG": "225",
        }
        outcomes = [ROUTING_DECIDED.name, REPORT_UNROUTABLE.name, ROUTING_TRIAGE.name]
        run = run_service("services.router.app:create_app", env, bootstrap, outcomes, args.reports)
    decided, elapsed, rss_mb = run.arrived, run.elapsed_s, run.peak_rss_mb
    rate = decided / elapsed
    steady = decided / run.steady_s
    print(f"brokers:          {args.brokers:8d}")
    print(f"bare passthrough: {ceiling:8.0f} records/s (idempotent producer: {idempotent:.0f})")
    print(f"router:           {steady:8.0f} reports/s from first to last outcome")
    print(
        f"                  {rate:8.0f} reports/s ({decided:.0f} outcomes in {elapsed:.1f} s,"
        " including the process start)"
    )
    print(f"ratio:            {steady / ceiling:8.1%} (steady) / {rate / ceiling:.1%} (with start)")
    print(f"router peak RSS:  {rss_mb:8.0f} MB")
    print(f"router CPU:       {run.cpu_s / decided * 1e6:8.0f} µs per report (start included)")


if __name__ == "__main__":
    main()
