"""End-to-end latency: HTTP submit at intake -> the delivery on the authority's topic.

    .venv/bin/python -m benchmarks.end_to_end_latency [--rate 100 --seconds 600]

A fresh local broker; intake, router and notifier as their own processes (SQLite), fixed wind.
Reports are posted at a steady ``--rate`` per second (spread over the Netherlands' land, a
third near facilities) with aiohttp; a listener thread notes when each report first appears on
the intake topic and on an omgevingsdienst's delivery topic. Then the ceiling of the whole
stack: as many reports as `hey` with 32 workers can submit for 20 s, and how many per second
reach an omgevingsdienst's topic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import uvloop
from aiokafka import AIOKafkaConsumer

from benchmarks.support import hey, local_broker, server
from schemas.topics import REPORT_RECEIVED
from services.runtime.migrations import upgrade
from tools.local.postgres import ThrowawayPostgres, free_port, install

SERVICES = ("router", "notifier", "intake")
OMGEVINGSDIENST_DELIVERIES = r"buursignaal\.delivery\.od-.*\.v1"
"""Every report routed in the Netherlands has an omgevingsdienst among its recipients; the
benchmark follows their topics, as each omgevingsdienst follows its own."""
FACILITY_POINTS = [(52.4766, 4.6022), (51.8133, 4.6667), (51.4433, 3.7106), (53.3228, 6.9403)]


def body(rng: random.Random, n: int) -> dict[str, object]:
    if n % 3 == 0:
        lat, lon = rng.choice(FACILITY_POINTS)
        lat, lon = lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.03, 0.03)
    else:
        lat, lon = rng.uniform(51.6, 52.9), rng.uniform(4.6, 6.4)
    return {
        "category": rng.choice(["odour", "noise", "air"]),
        "lat": lat,
        "lon": lon,
        "description": "benchmark",
        "device_id": f"bench-{n:08d}",
        "observed_at": datetime.now(UTC).isoformat(),
    }


async def first_arrivals(
    bootstrap: str, pattern: str, arrived: dict[str, float], stop: asyncio.Event
) -> None:
    """Note when each report id (the record key) first appears on a topic matching ``pattern``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        metadata_max_age_ms=2000,
    )
    consumer.subscribe(pattern=pattern)
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    arrived.setdefault((record.key or b"").decode(), now)
    finally:
        await consumer.stop()


class Listener:
    """First arrivals on the intake topic and on every delivery topic, in a thread of its own
    (its own event loop), so that the load generator's work does not delay the timestamps."""

    def __init__(self, bootstrap: str) -> None:
        self.received: dict[str, float] = {}
        self.delivered: dict[str, float] = {}
        self._bootstrap = bootstrap
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def both() -> None:
            await asyncio.gather(
                first_arrivals(self._bootstrap, REPORT_RECEIVED.name, self.received, self._stop),
                first_arrivals(
                    self._bootstrap, OMGEVINGSDIENST_DELIVERIES, self.delivered, self._stop
                ),
            )

        self._loop.run_until_complete(both())

    def __enter__(self) -> Listener:
        self._thread.start()
        time.sleep(5)  # both consumers join and see their topics
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


def percentiles(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none"
    ordered = sorted(values)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"{label}: p50 {p50:.0f} ms, p99 {p99:.0f} ms"


async def steady(base: str, rate: float, seconds: float, listener: Listener) -> None:
    rng = random.Random(5)
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}

    async def submit(session: aiohttp.ClientSession, payload: dict[str, object]) -> None:
        started = time.perf_counter()
        async with session.post("/api/v1/reports", json=payload) as response:
            if response.status == 202:
                report_id = (await response.json())["report_id"]
                sent[report_id] = started
                answered[report_id] = time.perf_counter()

    # aiohttp rather than httpx: at 100 requests/s httpx alone takes half a core of this
    # two-core machine from the system under test
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(base, connector=connector) as session:
        tasks = []
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(session, body(rng, n))))
            n += 1
        await asyncio.gather(*tasks)
    await asyncio.sleep(5)
    delivered = [listener.delivered[k] - sent[k] for k in sent if k in listener.delivered]
    print(
        f"steady {rate:.0f}/s for {seconds:.0f} s: {n} posted, {len(sent)} accepted, "
        f"{len(delivered)} delivered, {len(sent) - len(delivered)} on no authority topic"
    )
    print(percentiles("  submit -> 202", [answered[k] - sent[k] for k in sent]))
    on_kafka = [listener.received[k] - sent[k] for k in sent if k in listener.received]
    print(percentiles("  submit -> report on Kafka", on_kafka))
    print(percentiles("  submit -> delivery on the authority's topic", delivered))


def ceiling(url: str, listener: Listener, body_file: Path) -> None:
    """As many reports as `hey` with 32 workers can submit in 20 s; deliveries per second from
    the first to the last delivery of those reports."""
    probe = httpx.post(
        url,
        content=body_file.read_bytes(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    if probe.status_code != 202:
        raise RuntimeError(f"intake refuses the ceiling's report: {probe.text}")
    before = set(listener.delivered)
    result = hey(url, body_file, seconds=20, workers=32)
    settled, count = time.perf_counter(), -1
    while count != len(listener.delivered):  # wait until deliveries stop coming
        count = len(listener.delivered)
        time.sleep(3)
        settled = max(settled, time.perf_counter() - 3)
    times = sorted(t for k, t in listener.delivered.items() if k not in before)
    accepted = result.statuses.get(202, 0)
    print(
        f"ceiling: intake accepted {result.requests_per_s:.0f} req/s ({accepted} reports, "
        f"statuses {result.statuses})"
    )
    if len(times) > 1:
        span = times[-1] - times[0]
        print(
            f"  {len(times)} delivered at {len(times) / span:.0f} reports/s "
            f"(first to last delivery, {span:.0f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL instead of SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        postgres = None
        if args.postgres:
            postgres = ThrowawayPostgres(install()).start()
            stack.callback(postgres.stop)
        with local_broker(tmp / "kafka") as bootstrap:
            env = {
                "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "BUURSIGNAAL_INTAKE_RATE_LIMIT_DEVICE_SECONDS": "0",
                "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",
                "BUURSIGNAAL_ROUTER_FIXED_WIND_FROM_DEG": "225",
                "BUURSIGNAAL_ROUTER_PDOK_LOCATIESERVER_URL": "",
                "BUURSIGNAAL_INTAKE_PDOK_LOCATIESERVER_URL": "http://127.0.0.1:9/",
            }
            ports = {name: free_port() for name in SERVICES}
            for name in SERVICES:
                url = f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite'}"
                if postgres is not None:
                    url = postgres.create_database(name)
                upgrade(name, url)
                env[f"BUURSIGNAAL_{name.upper()}_DATABASE_URL"] = url
            env["BUURSIGNAAL_NOTIFIER_INTAKE_URL"] = f"http://127.0.0.1:{ports['intake']}"
            for name in ("INTAKE", "NOTIFIER"):
                env[f"BUURSIGNAAL_{name}_INTERNAL_API_TOKEN"] = "benchmark-internal-token"
            env["BUURSIGNAAL_NOTIFIER_SMTP_PORT"] = str(free_port())  # no mail: no addresses
            with ExitStack() as services:
                for name in SERVICES:
                    argv = [
                        sys.executable,
                        "-m",
                        "tools.cli",
                        "serve",
                        name,
                        "--port",
                        str(ports[name]),
                    ]
                    services.enter_context(server(argv, env, "/ready", ports[name]))
                base = f"http://127.0.0.1:{ports['intake']}"
                body_file = tmp / "report.json"
                body_file.write_text(json.dumps(body(random.Random(1), 0)))
                with Listener(bootstrap) as listener:
                    uvloop.run(steady(base, args.rate, args.seconds, listener))
                    ceiling(f"{base}/api/v1/reports", listener, body_file)


if __name__ == "__main__":
    main()
