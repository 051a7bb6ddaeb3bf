"""The notifier under test, a real SMTP server (aiosmtpd) and the real intake over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from faststream.kafka import KafkaBroker

from services.intake.app import create_app as create_intake
from services.notifier.app import Notifier, create_app
from services.notifier.settings import NotifierSettings
from services.runtime.broker import make_broker
from services.runtime.clock import FixedClock
from services.runtime.migrations import upgrade
from tests.intake.conftest import intake_settings
from tests.notifier.world import World, open_world
from tests.support.apps import in_process
from tests.support.factories import NOW
from tests.support.kafka import wait_for
from tests.support.pdok import locatieserver
from tools.local.postgres import free_port

TOKEN = "internal-token-for-tests"


@dataclass
class Intake:
    url: str
    client: httpx.AsyncClient


@pytest.fixture
async def intake_http(tmp_path: Path, kafka_bootstrap_servers: str) -> AsyncIterator[Intake]:
    """The real intake app, served over HTTP on 127.0.0.1 (the notifier asks it for addresses)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite'}"
    upgrade("intake", database_url)
    port = free_port()
    with locatieserver() as pdok:
        settings = intake_settings(
            database_url, kafka_bootstrap_servers, pdok, public_base_url=f"http://127.0.0.1:{port}",
            rate_limit_device_seconds=0, rate_limit_ip_per_hour=0,  # many residents, one test
        )  # fmt: skip
        app = create_intake(settings, FixedClock(NOW))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        task = asyncio.create_task(server.serve())
        try:
            await wait_for(lambda: server.started, timeout_s=30)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                yield Intake(f"http://127.0.0.1:{port}", client)
        finally:
            server.should_exit = True
            await task


async def resident_report(intake: Intake, email: str = "buur@example.nl") -> uuid.UUID:
    """A report through intake's API by a resident who wants mail; its id."""
    created = await intake.client.post(
        "/api/v1/reports",
        json={
            "category": "odour",
            "lat": 52.4806,
            "lon": 4.6064,
            "description": "Zwavellucht.",
            "observed_at": "2026-11-23T11:00:00+00:00",
            "email": email,
            "email_updates": True,
            "language": "nl",
        },
    )
    assert created.status_code == 202, created.text
    return uuid.UUID(created.json()["report_id"])


@asynccontextmanager
async def mailing_notifier(
    database_url: str, bootstrap: str, intake: Intake, smtp_port: int, **overrides: object
) -> AsyncIterator[NotifierUnderTest]:
    """The notifier app with its lifespan, mailing through ``smtp_port`` with intake's addresses."""
    settings = notifier_settings(
        database_url, bootstrap, intake_url=intake.url, smtp_port=smtp_port, **overrides
    )
    upgrade("notifier", database_url)
    clock = FixedClock(NOW)
    app = create_app(settings, clock)
    async with in_process(app, "http://notifier.test") as client:
        yield NotifierUnderTest(app.state.notifier, client, clock, settings)


@dataclass
class NotifierUnderTest:
    notifier: Notifier
    client: httpx.AsyncClient
    clock: FixedClock
    settings: NotifierSettings
    started_at: float = field(default_factory=time.time)  # wall clock, for Kafka timestamps


def notifier_settings(database_url: str, bootstrap: str, **overrides: object) -> NotifierSettings:
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": "notifier-secret-for-tests-0123456789",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "internal_api_token": TOKEN,
        "public_base_url": "http://notifier.test",
        "tick_interval_s": 3600,  # the tests tick by hand, with their own clock
        "mail_interval_s": 3600,
        "scan_at_start": False,  # the tests scan by hand: a scan at start would race theirs
        "scan_permutations": 199,  # enough for p <= 0.01 (RI >= 100 days)
        **overrides,
    }
    return NotifierSettings.model_validate(values)


@pytest.fixture
async def notifier_service(
    database_url: str, kafka_bootstrap_servers: str, request: pytest.FixtureRequest
) -> AsyncIterator[NotifierUnderTest]:
    overrides = getattr(request, "param", {})
    settings = notifier_settings(database_url, kafka_bootstrap_servers, **overrides)
    upgrade("notifier", database_url)
    clock = FixedClock(NOW)
    app = create_app(settings, clock)
    async with in_process(app, "http://notifier.test") as client:
        yield NotifierUnderTest(app.state.notifier, client, clock, settings)


@pytest.fixture
async def producer(kafka_bootstrap_servers: str) -> AsyncIterator[KafkaBroker]:
    """A FastStream broker that publishes as the router and authorities' systems do."""
    broker = make_broker(kafka_bootstrap_servers, client_id="notifier-test")
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """The notifier's actions on SQLite and PostgreSQL, no broker (tests/notifier/world.py)."""
    async for opened in open_world(database_url):
        yield opened
