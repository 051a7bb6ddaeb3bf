"""An intake service per test, on SQLite and PostgreSQL, against the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from services.intake.actions import Intake
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.runtime.clock import FixedClock
from services.runtime.migrations import upgrade
from services.runtime.service import ServiceRuntime
from tests.support.apps import in_process
from tests.support.factories import NOW
from tests.support.pdok import locatieserver

SECRET = "test-secret-for-intake-0123456789abcdef"


@dataclass
class IntakeUnderTest:
    client: httpx.AsyncClient
    intake: Intake
    runtime: ServiceRuntime
    clock: FixedClock
    settings: IntakeSettings


@pytest.fixture(scope="session")
def pdok_url() -> Iterator[str]:
    with locatieserver() as url:
        yield url


def intake_settings(
    database_url: str, bootstrap: str, pdok: str, **overrides: object
) -> IntakeSettings:
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": SECRET,
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "pdok_locatieserver_url": pdok,
        "pdok_timeout_s": 1.0,
        "public_base_url": "http://intake.test",
        "internal_api_token": "internal-token-for-tests",
        **overrides,
    }
    return IntakeSettings.model_validate(values)


@pytest.fixture
async def intake_service(
    database_url: str, kafka_bootstrap_servers: str, pdok_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[IntakeUnderTest]:
    overrides = getattr(request, "param", {})
    settings = intake_settings(database_url, kafka_bootstrap_servers, pdok_url, **overrides)
    upgrade("intake", database_url)
    clock = FixedClock(NOW)
    app = create_app(settings, clock)
    async with in_process(app, "http://intake.test") as client:
        yield IntakeUnderTest(client, app.state.intake, app.state.runtime, clock, settings)
