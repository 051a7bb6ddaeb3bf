"""Shared pieces of the benchmarks: a broker, processes on free ports, and `hey` runs."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.runtime.settings import PROJECT_ROOT
from tools.local import kafka
from tools.local.postgres import free_port


@contextmanager
def local_broker(data_dir: Path, brokers: int = 1) -> Iterator[str]:
    """A fresh local broker, or a cluster of ``brokers`` (topics with 3 replicas on three)."""
    peers = tuple((free_port(), free_port()) for _ in range(brokers - 1))
    config = kafka.BrokerConfig(
        data_dir=data_dir,
        port=free_port(),
        controller_port=free_port(),
        brokers=brokers,
        peer_ports=peers,
    )
    kafka.up(config)
    try:
        yield config.bootstrap_servers
    finally:
        kafka.down(config, wipe=True)


@contextmanager
def server(
    argv: list[str], env: dict[str, str], ready_path: str, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(
        argv, env={**os.environ, **env}, stdout=quiet, stderr=quiet, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv} exited during start-up")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv} not ready")
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def uvicorn_argv(app: str, port: int) -> list[str]:
    argv = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
    return [*argv, "--no-access-log", "--log-level", "warning"]


@dataclass
class HeyResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]


TOOLS_BIN = PROJECT_ROOT / ".cache" / "bin"
"""Where the benchmarks install the load generator they need (``go install``)."""


def hey_binary() -> str:
    """`hey` from the PATH, or installed once with ``go install`` into ``.cache/bin``."""
    found = shutil.which("hey") or shutil.which("hey", path=str(TOOLS_BIN))
    if found:
        return found
    go = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if go is None:
        raise RuntimeError("the load generator 'hey' needs Go to install: install Go (go.dev)")
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    print(f"benchmarks: installing hey into {TOOLS_BIN}", file=sys.stderr, flush=True)
    subprocess.run(
        [go, "install", "github.com/rakyll/hey@latest"],
        env={**os.environ, "GOBIN": str(TOOLS_BIN)},
        check=True,
        capture_output=True,
    )
    return str(TOOLS_BIN / "hey")


def _seconds_after(label: str, output: str) -> float:
    found = re.search(label + r"\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"hey printed no '{label}': {output[-500:]}")
    return float(found.group(1))


def hey(
    url: str, body_file: Path, *, seconds: int, workers: int, qps: float | None = None
) -> HeyResult:
    argv = [hey_binary(), "-z", f"{seconds}s", "-c", str(workers), "-m", "POST"]
    argv += ["-T", "application/json", "-D", str(body_file)]
    if qps is not None:
        argv += ["-q", str(qps)]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rate = _seconds_after("Requests/sec:", output)
    p50 = _seconds_after("50%+ in", output) * 1000
    p99 = _seconds_after("99%+ in", output) * 1000
    statuses = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", output)}
    return HeyResult(rate, p50, p99, statuses)


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def passthrough(
    bootstrap: str, source: str, target: str, count: int, *, idempotent: bool
) -> float:
    """The ceiling: a bare aiokafka loop that consumes ``count`` records from ``source`` and
    produces each to ``target`` (acks=all), committing offsets per batch; records per second."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id="bench-passthrough",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=idempotent, acks="all", linger_ms=2
    )
    await consumer.start()
    await producer.start()
    seen = 0
    started = time.perf_counter()
    while seen < count:
        batch = await consumer.getmany(timeout_ms=500)
        futures = []
        for records in batch.values():
            for record in records:
                headers = list(record.headers)
                sent = await producer.send(target, record.value, key=record.key, headers=headers)
                futures.append(sent)
                seen += 1
        await asyncio.gather(*futures)
        await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return count / elapsed


async def count_arrivals(
    bootstrap: str, topics: list[str], count: int, timeout_s: float
) -> tuple[int, float]:
    """Records seen on ``topics``, and the seconds from the first to the last (steady state)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen, first, last = 0, 0.0, 0.0
    started = time.perf_counter()
    try:
        while seen < count and time.perf_counter() - started < timeout_s:
            batch = await consumer.getmany(timeout_ms=500)
            arrived = sum(len(records) for records in batch.values())
            if arrived:
                first, last = first or time.perf_counter(), time.perf_counter()
            seen += arrived
    finally:
        await consumer.stop()
    return seen, last - first


@dataclass
class ServiceRun:
    """What ``run_service`` measured."""

    arrived: int
    steady_s: float
    """Seconds from the first record that arrived to the last."""
    elapsed_s: float
    """Seconds from starting the process to the last record (including the start)."""
    peak_rss_mb: float
    cpu_s: float = 0.0
    """User + system CPU seconds of the service process, its start included."""


def run_service(
    factory: str, env: dict[str, str], bootstrap: str, topics: list[str], count: int
) -> ServiceRun:
    """One service process (``uvicorn --factory`` on a free port) on the broker at
    ``bootstrap``, until ``count`` records arrived on ``topics`` (or ten minutes passed)."""
    port = free_port()
    argv = [*uvicorn_argv(factory, port), "--factory"]
    started = time.perf_counter()
    with server(argv, {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, **env}, "/ready", port) as process:
        arrived, steady_s = asyncio.run(count_arrivals(bootstrap, topics, count, 600))
        elapsed_s = time.perf_counter() - started
        rss_mb = peak_rss_mb(process.pid)
        cpu_s = cpu_seconds(process.pid)
    return ServiceRun(arrived, steady_s, elapsed_s, rss_mb, cpu_s)
