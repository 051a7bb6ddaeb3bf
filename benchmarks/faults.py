"""The fault campaign: nothing accepted is lost, and no effect happens twice (issue 14).

    .venv/bin/python -m benchmarks.faults --reports 10000 --seed 1
    .venv/bin/python -m benchmarks.faults --reports 6000 --seed 1 --database postgresql --intakes 2
    .venv/bin/python -m benchmarks.faults --reports 2000 --seed 1 --brokers 3   # on a cluster
    .venv/bin/python -m benchmarks.faults --notifier-backlog 10000     # the recovery benchmark

A fresh local broker and the three services as their own processes (SQLite, or a throwaway
PostgreSQL with durable settings and ``--intakes`` intake processes). N reports are submitted
at a steady rate through the app API, each with its own ``Idempotency-Key``; a client retries
(on another intake when there are two) until it has its 202. Meanwhile a seeded schedule of
faults is injected, one after the other: SIGKILL of each service (restarted at once), a SIGSTOP
stall longer than the consumer session timeout, a broker SIGKILL and restart, and on PostgreSQL
an immediate database stop and restart. After each fault the campaign measures the recovery:
the time until every service answers ``/ready`` and every consumer group has committed past
what was on its topics when the fault ended. Then it drains and reconciles what the client was
promised with the topics and the databases (``Findings``), prints one summary line and exits
non-zero on any loss, duplicate effect or dead letter (all input is valid, so every dead letter
would be a transient fault turned into a loss).

``--notifier-backlog N``: the notifier is killed, reports are submitted until N deliveries wait
on the delivery topics, the notifier is started again; the figure is the time until it has
caught up (issue 14's target: ≤ 60 s for 10,000).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
import sqlalchemy
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from benchmarks.end_to_end_latency import body
from schemas.cloudevents import decode
from schemas.routing import ReportDelivered, ReportUnroutable, RoutingDecided, TriageRequested
from schemas.topics import (
    DELIVERY_PATTERN,
    REPORT_RECEIVED,
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
)
from services.intake.location import Netherlands
from services.intake.settings import IntakeSettings
from services.runtime.migrations import upgrade
from services.runtime.settings import PROJECT_ROOT
from tools.deadletters import DeadLetter, dead_letter_topic_names
from tools.deadletters import read as read_topics
from tools.local import kafka
from tools.local.postgres import ThrowawayPostgres, free_port, install
from tools.local.stack import RunningService, start_service, wait_ready
from tools.local.topics import prepare_topics

LOG_DIR = PROJECT_ROOT / "var" / "log" / "faults"
"""Each service's log of the last run: ``<label>.log`` (kept after the run, for diagnosis)."""
BROKER_START_S = 240.0
"""After a SIGKILL the broker recovers every partition's log before it starts (a minute and
more on this busy machine)."""
PROBE_TIMEOUT_S = 30.0
"""How long one look at the broker (end offsets, committed offsets) may take before it is
retried; aiokafka's own requests can wait on metadata of a restarting broker without end."""
T = TypeVar("T")
SESSION_TIMEOUT_S = 10.0
"""aiokafka's default consumer session timeout, which the services keep."""
DELIVERY_TOPICS = re.compile(r"^buursignaal\.delivery\.(?!deadletter).+\.v1$")
TRANSIENT = re.compile(r"OperationalError|InterfaceError|Connection|Timeout|failed \d+ times")
SERVICE_GROUPS = ("intake.", "router.", "notifier.")
NOTIFIER_DELIVERIES = "notifier." + re.sub(r"[{}]", "", DELIVERY_PATTERN)
"""The notifier's consumer group on every delivery topic (as ``ServiceRuntime`` names it)."""


@dataclass
class Options:
    reports: int
    seed: int
    database: str = "sqlite"
    intakes: int = 1
    rate: float = 40.0
    stall_s: float = SESSION_TIMEOUT_S + 5
    outage_s: float = 5.0
    drain_timeout_s: float = 600.0
    log_dir: Path = LOG_DIR
    brokers: int = 1
    """1, or a local cluster of 3 (replication 3, ``min.insync.replicas`` 2; ADR 0012): then the
    broker fault kills one node, and the others take over its partitions."""
    deadline_s: float | None = None
    """The whole campaign's bound (start to reconciliation), so that a stuck stage ends in an
    error that names it rather than in a hang; None: unbounded (the benchmark)."""


@dataclass
class Fault:
    kind: str
    """kill, stall, broker or database"""
    target: str
    at_s: float
    """Seconds after the load started at which it is due."""
    injected_s: float | None = None
    lasted_s: float | None = None
    """From the fault to the restart (or SIGCONT) being done."""
    recovery_s: float | None = None
    """From then until every service is ready and has caught up (``caught_up``)."""

    def describe(self) -> str:
        took = "not recovered" if self.recovery_s is None else f"{self.recovery_s:.1f} s"
        return (
            f"{self.kind} {self.target} at {self.injected_s or 0:.0f} s, "
            f"{self.lasted_s or 0:.1f} s until restarted: recovered in {took}"
        )


def schedule(options: Options, labels: Sequence[str]) -> list[Fault]:
    """Each kind of fault once, in a seeded order, spread over the load: a kill of every
    service (of the first intake), a stall (of the second intake when there are two, which then
    loses its partitions to the first), the broker, the database on PostgreSQL."""
    rng = random.Random(options.seed)
    killed = [label for label in labels if label != "intake-2"]
    stalled = "intake-2" if "intake-2" in labels else None  # its partitions go to intake-1
    faults = [Fault("kill", label, 0) for label in killed]
    faults.append(Fault("stall", stalled or rng.choice(["router", "notifier"]), 0))
    faults.append(Fault("broker", "kafka", 0))
    if options.database == "postgresql":
        faults.append(Fault("database", "postgresql", 0))
    rng.shuffle(faults)
    load_s = options.reports / options.rate
    for n, fault in enumerate(faults):
        slot = load_s * 0.8 / len(faults)
        fault.at_s = load_s * 0.05 + slot * n + rng.uniform(0, slot * 0.3)
    return faults


class Stack:
    """The broker, the databases and the services as processes, with the faults they suffer."""

    def __init__(self, work: Path, options: Options) -> None:
        self.work = work
        self.options = options
        self.broker = kafka.BrokerConfig(
            data_dir=work / "kafka",
            port=free_port(),
            controller_port=free_port(),
            start_timeout_s=BROKER_START_S,
            brokers=options.brokers,
            peer_ports=tuple((free_port(), free_port()) for _ in range(options.brokers - 1)),
        )
        self.rng = random.Random(options.seed)
        self.postgres: ThrowawayPostgres | None = None
        labels = [f"intake-{n + 1}" for n in range(options.intakes)] + ["router", "notifier"]
        self.ports = {label: free_port() for label in labels}
        self.services: dict[str, RunningService] = {}
        self.env: dict[str, str] = {}
        self.loading = False
        """Whether reports are still being submitted."""
        self.stage = "starting"
        """What the campaign does now (named when its deadline passes)."""

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap_servers

    @property
    def intake_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for k, p in self.ports.items() if k.startswith("intake")]

    def database_urls(self) -> dict[str, str]:
        urls = {}
        for name in ("intake", "router", "notifier"):
            if self.postgres is not None:
                urls[name] = self.postgres.create_database(name)
            else:
                urls[name] = f"sqlite+aiosqlite:///{self.work / f'{name}.sqlite'}"
        return urls

    def start(self) -> None:
        shutil.rmtree(self.options.log_dir, ignore_errors=True)
        self.options.log_dir.mkdir(parents=True)
        if self.options.database == "postgresql":
            # durable: fsync and synchronous_commit on, as in production (ThrowawayPostgres)
            self.postgres = ThrowawayPostgres(install(), durable=True).start()
        kafka.up(self.broker)
        prepare_topics(self.bootstrap)
        self.env = {**os.environ, **self._wiring()}
        for name, url in self.database_urls().items():
            upgrade(name, url)
            self.env[f"BUURSIGNAAL_{name.upper()}_DATABASE_URL"] = url
        for label in self.ports:
            self._start(label)
        wait_ready(list(self.services.values()), timeout_s=120)

    def _wiring(self) -> dict[str, str]:
        token = "fault-campaign-internal-token"
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "BUURSIGNAAL_INTAKE_RATE_LIMIT_DEVICE_SECONDS": "0",
            "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",
            "BUURSIGNAAL_INTAKE_PDOK_LOCATIESERVER_URL": "http://127.0.0.1:9/",
            "BUURSIGNAAL_ROUTER_PDOK_LOCATIESERVER_URL": "",
            "BUURSIGNAAL_ROUTER_FIXED_WIND_FROM_DEG": "225",
            "BUURSIGNAAL_INTAKE_INTERNAL_API_TOKEN": token,
            "BUURSIGNAAL_NOTIFIER_INTERNAL_API_TOKEN": token,
            "BUURSIGNAAL_NOTIFIER_INTAKE_URL": self.intake_urls[0],
            "BUURSIGNAAL_NOTIFIER_SMTP_PORT": str(free_port()),  # reports carry no addresses
        }

    def _start(self, label: str) -> None:
        name = label.split("-")[0]
        log = self.options.log_dir / f"{label}.log"
        self.services[label] = start_service(name, self.ports[label], self.env, log)
        self.services[label].name = label

    def restart(self, label: str) -> None:
        self._start(label)

    def kill(self, label: str) -> None:
        """SIGKILL the service's process group and start it again at once."""
        process = self.services[label].process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._start(label)

    def stall(self, label: str, seconds: float) -> None:
        """SIGSTOP the service for ``seconds`` (its consumers miss their heartbeats), SIGCONT."""
        pid = self.services[label].process.pid
        os.killpg(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.killpg(pid, signal.SIGCONT)

    def broker_kill(self) -> None:
        """SIGKILL the broker (on a cluster one seeded node), then start it again on its data."""
        if self.options.brokers > 1:
            node = self.rng.randint(1, self.options.brokers)
            kafka.kill(self.broker, node)
            time.sleep(1)
            kafka.up(self.broker)  # only the node that is not running
            return
        pid = kafka.status(self.broker).pid
        if pid is None:
            raise RuntimeError("the broker is not running")
        os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        time.sleep(1)
        kafka.up(self.broker)

    def database_restart(self, seconds: float) -> None:
        """Stop PostgreSQL at once (``immediate``, as a crash), start it again after a while."""
        assert self.postgres is not None
        self.postgres.outage()
        time.sleep(seconds)
        self.postgres.recover()

    def inject(self, fault: Fault) -> None:
        if fault.kind == "kill":
            self.kill(fault.target)
        elif fault.kind == "stall":
            self.stall(fault.target, self.options.stall_s)
        elif fault.kind == "broker":
            self.broker_kill()
        else:
            self.database_restart(self.options.outage_s)

    def all_ready(self) -> bool:
        for service in self.services.values():
            try:
                if httpx.get(f"{service.url}/ready", timeout=2).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
        return True

    def stop(self) -> None:
        for service in self.services.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGCONT)
                os.killpg(service.process.pid, signal.SIGTERM)
        for service in self.services.values():
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()
        kafka.down(self.broker, wipe=True)
        if self.postgres is not None:
            self.postgres.stop()


# --- the broker's view: end offsets and what the consumer groups committed --------------------


async def bounded(awaitable: Awaitable[T], what: str, seconds: float = PROBE_TIMEOUT_S) -> T:
    """``awaitable`` within ``seconds``: a probe of a broker that is just coming back may wait
    for metadata without end; the campaign retries it instead (``TimeoutError`` names it)."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError as error:
        raise TimeoutError(f"{what}: no answer within {seconds:.0f} s") from error


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """The end offset of every partition of the services' topics (dead letters aside)."""
    return await bounded(_end_offsets(bootstrap), "end offsets")


async def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith("buursignaal.")]
        described = await admin.describe_topics([t for t in names if ".deadletter" not in t])
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)  # so that its metadata knows every one of them
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return ends
    finally:
        await consumer.stop()


@dataclass
class Progress:
    behind: int
    """Records of the end offsets the services' groups have not committed yet: for each topic
    a group has committed on, every partition of it counts."""
    beyond: int
    """Deliveries the notifier has committed past the end offsets: the flow moves again."""


async def progress(bootstrap: str, ends: dict[TopicPartition, int]) -> Progress:
    return await bounded(_progress(bootstrap, ends), "committed offsets")


async def _progress(bootstrap: str, ends: dict[TopicPartition, int]) -> Progress:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        listed = {g[0] for g in await admin.list_consumer_groups()}
        groups = {g for g in listed if g.startswith(SERVICE_GROUPS)} | {NOTIFIER_DELIVERIES}
        found = Progress(0, 0)
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            topics = {tp.topic for tp in committed}
            for tp, end in ends.items():
                ours = tp.topic in topics or (
                    group == NOTIFIER_DELIVERIES and DELIVERY_TOPICS.match(tp.topic)
                )
                if ours:
                    done = committed.get(tp)
                    offset = done.offset if done is not None else 0
                    found.behind += max(0, end - offset)
                    if group == NOTIFIER_DELIVERIES:
                        found.beyond += max(0, offset - end)
        return found
    finally:
        await admin.close()


async def lagging(bootstrap: str, ends: dict[TopicPartition, int]) -> int:
    return (await progress(bootstrap, ends)).behind


async def caught_up(stack: Stack, timeout_s: float) -> float | None:
    """Seconds until every service is ready, every group committed past the end offsets of
    now and (while reports still come in) new deliveries reached the notifier; None when that
    did not happen within ``timeout_s``."""
    started = time.monotonic()
    ends: dict[TopicPartition, int] | None = None
    state: object = "nothing yet"
    while time.monotonic() - started < timeout_s:
        try:
            if ends is None:
                ends = await end_offsets(stack.bootstrap)
            ready = await asyncio.to_thread(stack.all_ready)
            state = await progress(stack.bootstrap, ends)
            if ready and state.behind == 0 and (state.beyond > 0 or not stack.loading):
                return time.monotonic() - started
        except Exception as error:  # the broker may still be coming back
            state = error
        await asyncio.sleep(0.5)
    print(f"  not recovered within {timeout_s:.0f} s; last: {state!r}", flush=True)
    return None


# --- the load: a steady rate of reports, each retried until it has its 202 -------------------


@dataclass
class Client:
    urls: list[str]
    accepted: dict[str, str] = field(default_factory=dict)
    """Idempotency-Key -> report id, from the 202s."""
    refused: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    retries: int = 0
    give_up_s: float = 300.0

    async def submit(
        self, session: aiohttp.ClientSession, n: int, key: str, payload: dict[str, object]
    ) -> None:
        started = time.monotonic()
        attempt = 0
        while time.monotonic() - started < self.give_up_s:
            url = self.urls[(n + attempt) % len(self.urls)]
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.post(
                    f"{url}/api/v1/reports", json=payload, headers={"Idempotency-Key": key}
                ) as response:
                    if response.status == 202:
                        self.accepted[key] = (await response.json())["report_id"]
                        return
                    if response.status < 500 and response.status != 429:
                        problem = await response.text()
                        self.refused.append(f"{key}: {response.status} {problem[:300]}")
                        return
            attempt += 1
            self.retries += 1
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        self.unanswered.append(key)


def reports(count: int, seed: int) -> list[dict[str, object]]:
    """``count`` report bodies (seeded) at points intake accepts: on Dutch land."""
    netherlands = Netherlands.from_reference_dir(IntakeSettings().reference_dir)
    rng = random.Random(seed)
    found: list[dict[str, object]] = []
    while len(found) < count:
        candidate = body(rng, len(found))
        lat, lon = candidate["lat"], candidate["lon"]
        if isinstance(lat, float) and isinstance(lon, float) and netherlands.contains(lat, lon):
            found.append(candidate)
    return found


async def load(client: Client, payloads: list[dict[str, object]], rate: float, seed: int) -> None:
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        tasks = []
        start = time.monotonic()
        for n in range(len(payloads)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            key = f"faults-{seed}-{n:06d}"
            submitted = client.submit(session, n, key, payloads[n])
            tasks.append(asyncio.create_task(submitted))
        await asyncio.gather(*tasks)


async def inject_all(stack: Stack, faults: list[Fault], started: float) -> None:
    """Each fault when it is due (and not before the last one has recovered)."""
    for fault in faults:
        await asyncio.sleep(max(0.0, started + fault.at_s - time.monotonic()))
        fault.injected_s = time.monotonic() - started
        stack.stage = f"injecting {fault.kind} {fault.target}"
        await asyncio.to_thread(stack.inject, fault)
        stack.stage = f"recovering from {fault.kind} {fault.target}"
        fault.lasted_s = time.monotonic() - started - fault.injected_s
        fault.recovery_s = await caught_up(stack, timeout_s=300)
        print(f"  fault: {fault.describe()}", flush=True)


async def drain(stack: Stack, timeout_s: float) -> None:
    """Until the groups have caught up and nothing new appears on the topics."""
    deadline = time.monotonic() + timeout_s
    previous: dict[TopicPartition, int] = {}
    state: object = "nothing yet"
    while time.monotonic() < deadline:
        try:
            ends = await end_offsets(stack.bootstrap)
            behind = await lagging(stack.bootstrap, ends)
            if ends == previous and behind == 0:
                return
            state = f"{behind} records not committed yet"
            previous = ends
        except (TimeoutError, KafkaError) as error:  # a probe of a busy broker: again
            state = error
        await asyncio.sleep(3)
    raise TimeoutError(f"the stack did not drain within {timeout_s:.0f} s; last: {state}")


# --- reconciliation ---------------------------------------------------------------------------


@dataclass
class Findings:
    accepted: int = 0
    published: int = 0
    topic_duplicates: int = 0
    """Records that repeat an event already on its topic (re-sends consumers absorb)."""
    problems: Counter[str] = field(default_factory=Counter)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    load_s: float = 0.0
    """Seconds from the first report submitted to the last one answered."""

    def count(self, problem: str, n: int = 1) -> None:
        if n:
            self.problems[problem] += n

    @property
    def transient_dead_letters(self) -> int:
        return sum(1 for letter in self.dead_letters if TRANSIENT.search(letter.reason))

    @property
    def ok(self) -> bool:
        injected = all(f.injected_s is not None for f in self.faults)
        return not self.problems and not self.dead_letters and injected

    def summary(self) -> str:
        lost = sum(n for p, n in self.problems.items() if p.startswith("lost"))
        duplicated = sum(n for p, n in self.problems.items() if p.startswith("duplicate"))
        recoveries = ", ".join(
            f"{f.kind} {f.target} {f.recovery_s:.0f}s"
            if f.recovery_s is not None
            else f"{f.kind} {f.target} never"
            for f in self.faults
        )
        return (
            f"faults: {'OK' if self.ok else 'FAILED'}: {self.accepted} accepted, "
            f"{self.published} published, {len(self.refusals)} refused (4xx), {lost} lost, "
            f"{duplicated} duplicate effects, "
            f"{len(self.dead_letters)} dead letters ({self.transient_dead_letters} transient), "
            f"{self.topic_duplicates} re-sent records absorbed; {len(self.faults)} faults "
            f"[{recoveries}]; problems {dict(self.problems) or 'none'}"
        )


@dataclass
class Topics:
    """What the topics hold, per report: the distinct event ids of each kind."""

    received: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    outcomes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    triage: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    recipients: dict[str, set[str]] = field(default_factory=dict)
    """report id -> the recipients of its first decision"""
    deliveries: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    records: int = 0
    distinct: set[str] = field(default_factory=set)

    def add(self, headers: dict[str, str], body_bytes: bytes) -> None:
        attributes, event = decode(headers, body_bytes)
        ce_id = str(attributes.id)
        self.records += 1
        self.distinct.add(ce_id)
        report_id = str(getattr(event, "report_id", ""))
        if isinstance(event, RoutingDecided):
            if event.round == 1:
                self.outcomes[report_id].add(ce_id)
                self.recipients[report_id] = {r.recipient_id for r in event.recipients}
        elif isinstance(event, ReportUnroutable):
            self.outcomes[report_id].add(ce_id)
        elif isinstance(event, TriageRequested):
            self.triage[report_id].add(ce_id)
        elif isinstance(event, ReportDelivered):
            self.deliveries[(report_id, event.recipient.recipient_id)].add(ce_id)
        else:
            self.received[report_id].add(ce_id)


async def read_stack_topics(bootstrap: str) -> Topics:
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await probe.start()
    try:
        deliveries = sorted(t for t in await probe.topics() if DELIVERY_TOPICS.match(t))
    finally:
        await probe.stop()
    names = [REPORT_RECEIVED.name, ROUTING_DECIDED.name, REPORT_UNROUTABLE.name]
    topics = Topics()
    # the dead-letter reader reads any topic to its end, without a consumer group
    for record in await read_topics(bootstrap, [*names, ROUTING_TRIAGE.name, *deliveries]):
        topics.add(record.headers, record.body)
    return topics


def rows(url: str, query: str) -> list[Sequence[Any]]:
    engine = sqlalchemy.create_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sqlalchemy.text(query))]
    finally:
        engine.dispose()


def check_intake(findings: Findings, client: Client, topics: Topics, url: str) -> None:
    findings.accepted = len(client.accepted)
    findings.refusals = client.refused  # answered 4xx: never accepted, so not a loss
    findings.count("lost: never answered 202", len(client.unanswered))
    stored = {row[0]: row[1] for row in rows(url, "SELECT id, status FROM report")}
    accepted = set(client.accepted.values())
    findings.count("duplicate: one key, several reports", len(client.accepted) - len(accepted))
    findings.count("duplicate: reports nobody was promised", len(set(stored) - accepted))
    findings.count("lost: accepted, not stored", len(accepted - set(stored)))
    findings.count("lost: accepted, not published", len(accepted - set(topics.received)))
    findings.count(
        "duplicate: report published as two events",
        sum(1 for ids in topics.received.values() if len(ids) > 1),
    )
    findings.published = len(accepted & set(topics.received))
    viewed = set(rows(url, "SELECT report_id, recipient_id FROM recipient_view"))
    expected = {(r, who) for r, recipients in topics.recipients.items() for who in recipients}
    findings.count("lost: recipient missing on the tracking page", len(expected - viewed))
    unroutable = {r for r, state in stored.items() if state == "unroutable"}
    decided = set(topics.recipients)
    findings.count(
        "lost: unroutable report shown open",
        len({r for r in topics.outcomes if r not in decided} - unroutable - set(topics.triage)),
    )


def check_routing(findings: Findings, topics: Topics, reports: set[str], url: str) -> None:
    for report_id in reports:
        outcomes = topics.outcomes.get(report_id, set()) or topics.triage.get(report_id, set())
        if not outcomes:
            findings.count("lost: no routing outcome")
        elif len(outcomes) > 1:
            findings.count("duplicate: several routing outcomes")
    routed = {row[0] for row in rows(url, "SELECT report_id FROM routed_report")}
    findings.count("lost: not in the router's store", len(reports - routed))
    twice = sum(1 for ids in topics.deliveries.values() if len(ids) > 1)
    findings.count("duplicate: a recipient got two different deliveries", twice)
    for report_id, recipients in topics.recipients.items():
        missing = [who for who in recipients if (report_id, who) not in topics.deliveries]
        findings.count("lost: recipient without a delivery", len(missing))


def check_notifier(findings: Findings, topics: Topics, url: str) -> None:
    legs = Counter(rows(url, "SELECT report_id, recipient_id FROM leg"))
    expected = set(topics.deliveries)
    findings.count("lost: delivery without a leg", len(expected - set(legs)))
    findings.count("duplicate: two legs for one recipient", sum(n - 1 for n in legs.values()))
    opened = rows(
        url,
        "SELECT leg_id, count(*) FROM leg_history WHERE from_status IS NULL "
        "GROUP BY leg_id HAVING count(*) > 1",
    )
    findings.count("duplicate: a leg opened twice in its history", len(opened))


def check_outboxes(findings: Findings, urls: dict[str, str]) -> None:
    for name, url in urls.items():
        [(unsent,)] = rows(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        findings.count(f"lost: {name} outbox not empty", int(unsent))


async def reconcile(stack: Stack, client: Client, faults: list[Fault]) -> Findings:
    findings = Findings(faults=faults)
    stack.stage = "reconciling"
    topics = await bounded(read_stack_topics(stack.bootstrap), "reading the topics", 300)
    findings.topic_duplicates = topics.records - len(topics.distinct)
    urls = {
        name: stack.env[f"BUURSIGNAAL_{name.upper()}_DATABASE_URL"]
        for name in ("intake", "router", "notifier")
    }
    check_intake(findings, client, topics, urls["intake"])
    check_routing(findings, topics, set(client.accepted.values()), urls["router"])
    check_notifier(findings, topics, urls["notifier"])
    check_outboxes(findings, urls)
    findings.dead_letters = await bounded(
        read_topics(stack.bootstrap, dead_letter_topic_names()), "reading the dead letters", 120
    )
    findings.count("fault not recovered from", sum(1 for f in faults if f.recovery_s is None))
    return findings


# --- the campaign and the recovery benchmark -------------------------------------------------


@contextlib.contextmanager
def running_stack(options: Options) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="buursignaal-faults-") as work:
        stack = Stack(Path(work), options)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


async def campaign(stack: Stack, options: Options) -> Findings:
    client = Client(stack.intake_urls)
    faults = schedule(options, list(stack.ports))
    payloads = reports(options.reports, options.seed)
    started = time.monotonic()

    async def submit_all() -> None:
        stack.loading = True
        try:
            await load(client, payloads, options.rate, options.seed)
        finally:
            stack.loading = False

    loop = asyncio.get_running_loop()
    injected: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if not injected.done():
            injected.set_exception(error) if error else injected.set_result(None)

    def injector() -> None:
        # an event loop of its own, in a thread: the client's thousands of requests in this
        # loop must not delay the faults or the recovery times. A daemon thread, so that a
        # campaign past its deadline does not wait for it.
        error: BaseException | None = None
        try:
            asyncio.run(inject_all(stack, faults, started))
        except BaseException as raised:  # handed to the campaign's loop
            error = raised
        with contextlib.suppress(RuntimeError):  # the campaign's loop is gone
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=injector, name="faults", daemon=True).start()
    await asyncio.gather(submit_all(), injected)
    load_s = time.monotonic() - started
    print(f"  load done in {load_s:.0f} s; draining", flush=True)
    stack.stage = "draining"
    await drain(stack, options.drain_timeout_s)
    findings = await reconcile(stack, client, faults)
    findings.load_s = load_s
    return findings


async def bounded_campaign(stack: Stack, options: Options) -> Findings:
    if options.deadline_s is None:
        return await campaign(stack, options)
    try:
        return await asyncio.wait_for(campaign(stack, options), options.deadline_s)
    except TimeoutError as error:
        raise TimeoutError(
            f"the campaign passed its deadline of {options.deadline_s:.0f} s while "
            f"{stack.stage} (service logs: {options.log_dir})"
        ) from error


def run_campaign(options: Options) -> Findings:
    with running_stack(options) as stack:
        findings = asyncio.run(bounded_campaign(stack, options))
    for refusal in findings.refusals[:5]:
        print(f"  refused: {refusal}")
    for letter in findings.dead_letters:
        print(f"  dead letter: {json.dumps(letter.summary(), ensure_ascii=False)}")
    print(findings.summary(), flush=True)
    return findings


async def delivery_backlog(stack: Stack) -> int:
    return await lagging(
        stack.bootstrap,
        {
            tp: end
            for tp, end in (await end_offsets(stack.bootstrap)).items()
            if DELIVERY_TOPICS.match(tp.topic)
        },
    )


async def notifier_recovery(stack: Stack, backlog: int, seed: int) -> float:
    """Kill the notifier, submit until ``backlog`` deliveries wait, start it; catch-up time."""
    process = stack.services["notifier"].process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    client = Client(stack.intake_urls)
    n = 0
    while (waiting := await delivery_backlog(stack)) < backlog:
        print(f"  {n} reports submitted, {waiting} deliveries waiting", flush=True)
        await load(client, reports(500, seed + n), 400.0, seed + n)
        n += 500
    await asyncio.sleep(5)  # the router's last deliveries
    waiting = await delivery_backlog(stack)
    started = time.monotonic()
    await asyncio.to_thread(stack.restart, "notifier")
    while await delivery_backlog(stack) > 0:  # noqa: ASYNC110 - polling the broker
        await asyncio.sleep(0.5)
    took = time.monotonic() - started
    print(
        f"notifier recovery: {waiting} deliveries waiting, caught up in {took:.1f} s "
        f"(process start included; target ≤ 60 s)",
        flush=True,
    )
    return took


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--intakes", type=int, default=None, help="2 by default on PostgreSQL")
    parser.add_argument("--rate", type=float, default=40.0, help="reports per second")
    parser.add_argument("--notifier-backlog", type=int, default=None)
    parser.add_argument(
        "--brokers", type=int, choices=[1, 3], default=1, help="3: a local cluster (ADR 0012)"
    )
    args = parser.parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # a fresh topic's first offsets
    intakes = args.intakes or (2 if args.database == "postgresql" else 1)
    if args.database == "sqlite" and intakes > 1:
        parser.error("SQLite has one writer process: --intakes 2 needs --database postgresql")
    options = Options(
        args.reports, args.seed, args.database, intakes, args.rate, brokers=args.brokers
    )
    if args.notifier_backlog is not None:
        with running_stack(options) as stack:
            took = asyncio.run(notifier_recovery(stack, args.notifier_backlog, args.seed))
        return 0 if took <= 60 else 1
    return 0 if run_campaign(options).ok else 1


if __name__ == "__main__":
    sys.exit(main())
