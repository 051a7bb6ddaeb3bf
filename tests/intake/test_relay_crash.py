"""Nothing accepted is lost: the intake process is killed (SIGKILL) between commit and publish,
and while it is publishing; after a restart every report that got a 202 is on the topic."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from schemas.topics import REPORT_RECEIVED
from tests.intake.conftest import SECRET
from tests.intake.test_api import body
from tests.support.kafka import consume_until
from tests.support.processes import service_process
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka


def intake_env(bootstrap: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of an intake process under test."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": SECRET,
        "BUURSIGNAAL_INTAKE_DATABASE_URL": database_url,
        **{f"BUURSIGNAAL_INTAKE_{name.upper()}": value for name, value in extra.items()},
    }


@contextmanager
def intake_process(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with service_process("intake", env, port, log) as process:
        yield process


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def submit(port: int, count: int, offset: int) -> list[str]:
    """Send ``count`` reports at once; return the ids of those answered 202."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

        async def one(i: int) -> str | None:
            try:
                response = await client.post(
                    "/api/v1/reports",
                    json=body(device_id=f"crash-device-{offset + i:06d}", observed_at=None)
                    | {"observed_at": _now()},
                )
            except httpx.HTTPError:
                return None  # the process died before answering: not accepted
            return response.json()["report_id"] if response.status_code == 202 else None

        results = await asyncio.gather(*(one(i) for i in range(count)))
    return [r for r in results if r]


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


async def test_killed_relay_loses_nothing(
    database_url: str, kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    port = free_port()
    env = intake_env(kafka_bootstrap_servers, database_url, rate_limit_ip_per_hour="0")
    log = tmp_path / "intake.log"

    # 1. Committed but never published: the relay is off, then the process is killed.
    with intake_process({**env, "BUURSIGNAAL_INTAKE_RELAY_ENABLED": "false"}, port, log) as process:
        unpublished = await submit(port, 20, offset=0)
        assert len(unpublished) == 20
        kill_hard(process)

    # 2. Killed while accepting and publishing under load.
    with intake_process(env, port, log) as process:
        task = asyncio.create_task(submit(port, 150, offset=100))
        await asyncio.sleep(0.4)
        kill_hard(process)
        during_crash = await task

    # 3. Restarted: the relay resumes from the outbox.
    print(f"accepted before the kill under load: {len(during_crash)} of 150")
    accepted = set(unpublished) | set(during_crash)
    with intake_process(env, port, log):
        records = await consume_until(
            kafka_bootstrap_servers,
            REPORT_RECEIVED.name,
            lambda rs: accepted <= {r.key.decode() for r in rs},
            timeout_s=60,
        )
    published = {r.key.decode() for r in records}
    assert accepted <= published, f"lost {len(accepted - published)} accepted reports"
