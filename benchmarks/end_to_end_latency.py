"""End-to-end latency: HTTP submit at intake -> the delivery on the authority's topic.

    .venv/bin/python -m benchmarks.end_to_end_latency [--rate 100 --seconds 600]

A fresh local broker, intake and router as their own processes (SQLite), fixed wind. Reports
are posted at a steady ``--rate`` per second (spread over the Netherlands' land, a third near
facilities); a consumer on every delivery topic notes when each report's first delivery
arrives. Then the ceiling: as many reports as 32 concurrent clients can submit for 20 s, and
how many reach a delivery topic per second.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from benchmarks.support import local_broker, server
from services.local.postgres import free_port
from services.runtime.migrations import upgrade

FACILITY_POINTS = [(52.4766, 4.6022), (51.8133, 4.6667), (51.4433, 3.7106), (53.3228, 6.9403)]


def body(rng: random.Random, n: int) -> dict[str, object]:
    if n % 3 == 0:
        lat, lon = rng.choice(FACILITY_POINTS)
        lat, lon = lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.03, 0.03)
    else:
        lat, lon = rng.uniform(51.6, 52.9), rng.uniform(4.6, 6.4)
    return {
        "category": rng.choice(["odour", "noise", "air"]), "lat": lat, "lon": lon,
        "description": "benchmark", "device_id": f"bench-{n}",
        "observed_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


async def deliveries(bootstrap: str, arrived: dict[str, float], stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest",
        metadata_max_age_ms=2000,
    )  # fmt: skip
    consumer.subscribe(pattern=r"buursignaal\.delivery\..*\.v1")
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


async def submit(
    client: httpx.AsyncClient, payload: dict[str, object], sent: dict[str, float]
) -> None:
    started = time.perf_counter()
    response = await client.post("/api/v1/reports", json=payload)
    if response.status_code == 202:
        sent[response.json()["report_id"]] = started


async def run(base: str, bootstrap: str, rate: float, seconds: float) -> None:
    rng = random.Random(5)
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    stop = asyncio.Event()
    listener = asyncio.create_task(deliveries(bootstrap, arrived, stop))
    await asyncio.sleep(3)  # the consumer joins and sees the topics
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tasks = []
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(submit(client, body(rng, n), sent)))
            n += 1
        await asyncio.gather(*tasks)
        await asyncio.sleep(5)
        latencies = sorted(arrived[k] - sent[k] for k in sent if k in arrived)
        missing = len(sent) - len(latencies)
        print(f"steady {rate:.0f}/s for {seconds:.0f} s: {len(sent)} accepted, "
              f"{len(latencies)} delivered, {missing} not seen")  # fmt: skip
        if latencies:
            print(f"latency submit -> delivery: p50 {statistics.median(latencies) * 1000:.0f} ms, "
                  f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")  # fmt: skip
        # the ceiling: 32 clients as fast as they can for 20 s
        before = len(arrived)
        ceiling_start = time.perf_counter()

        async def client_loop(offset: int) -> None:
            k = 0
            while time.perf_counter() - ceiling_start < 20:
                await submit(client, body(rng, 1_000_000 + offset * 100_000 + k), sent)
                k += 1

        await asyncio.gather(*(client_loop(i) for i in range(32)))
        await asyncio.sleep(10)
        print(f"ceiling: {(len(arrived) - before) / 30:.0f} reports/s reached a delivery topic "
              "(20 s of 32 clients + 10 s to drain)")  # fmt: skip
    stop.set()
    await listener


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with local_broker(tmp / "kafka") as bootstrap:
            env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                   "BUURSIGNAAL_INTAKE_RATE_LIMIT_DEVICE_SECONDS": "0",
                   "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",
                   "BUURSIGNAAL_ROUTER_FIXED_WIND_FROM_DEG": "225",
                   "BUURSIGNAAL_ROUTER_PDOK_LOCATIESERVER_URL": "",
                   "BUURSIGNAAL_INTAKE_PDOK_LOCATIESERVER_URL": "http://127.0.0.1:9/"}  # fmt: skip
            ports = {}
            for name in ("intake", "router"):
                url = f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite'}"
                upgrade(name, url)
                env[f"BUURSIGNAAL_{name.upper()}_DATABASE_URL"] = url
                ports[name] = free_port()
            argv = {name: [sys.executable, "-m", "services.cli", "serve", name, "--port",
                           str(port)] for name, port in ports.items()}  # fmt: skip
            with (
                server(argv["router"], env, "/ready", ports["router"]),
                server(argv["intake"], env, "/ready", ports["intake"]),
            ):
                asyncio.run(run(f"http://127.0.0.1:{ports['intake']}", bootstrap,
                                args.rate, args.seconds))  # fmt: skip


if __name__ == "__main__":
    main()
