"""The whole system as processes: intake, router and notifier on the test broker, PostgreSQL,
the SMTP server and a local PDOK-shaped location server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.pdok import locatieserver
from tests.support.processes import add_authority, service_process
from tests.support.smtp import SmtpServer
from tools.local.postgres import ThrowawayPostgres, free_port


@dataclass
class System:
    urls: dict[str, str]
    env: dict[str, str]
    key: str
    smtp: SmtpServer
    bootstrap: str


@contextmanager
def running_system(
    kafka_bootstrap_servers: str,
    postgres_server: ThrowawayPostgres,
    smtp_server: SmtpServer,
    tmp_path: Path,
    topic_suffix: str,
) -> Iterator[System]:
    """Intake, router and notifier as processes on the test broker and PostgreSQL."""
    ports = {name: free_port() for name in ("intake", "router", "notifier")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    token = "system-test-internal-token"
    with ExitStack() as stack:
        pdok = stack.enter_context(locatieserver())
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "BUURSIGNAAL_ENVIRONMENT": "test",
            "BUURSIGNAAL_SECRET_KEY": "system-test-secret-0123456789abcdef",
            "BUURSIGNAAL_INTAKE_INTERNAL_API_TOKEN": token,
            "BUURSIGNAAL_INTAKE_PUBLIC_BASE_URL": urls["intake"],
            "BUURSIGNAAL_INTAKE_PDOK_LOCATIESERVER_URL": pdok,
            "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",  # the demo posts from one address
            "BUURSIGNAAL_ROUTER_FIXED_WIND_FROM_DEG": "180",
            "BUURSIGNAAL_ROUTER_PDOK_LOCATIESERVER_URL": pdok,
            "BUURSIGNAAL_NOTIFIER_INTAKE_URL": urls["intake"],
            "BUURSIGNAAL_NOTIFIER_INTERNAL_API_TOKEN": token,
            "BUURSIGNAAL_NOTIFIER_PUBLIC_BASE_URL": urls["notifier"],
            "BUURSIGNAAL_NOTIFIER_SMTP_PORT": str(smtp_server.port),
            "BUURSIGNAAL_NOTIFIER_MAIL_INTERVAL_S": "1",
        }
        for name in ports:
            database = postgres_server.create_database(f"{name}_{topic_suffix}")
            env[f"BUURSIGNAAL_{name.upper()}_DATABASE_URL"] = database
        key = add_authority(env, "od-odnzkg", "OD Noordzeekanaalgebied")
        for name, port in ports.items():
            stack.enter_context(service_process(name, env, port, tmp_path / f"{name}.log"))
        yield System(urls, env, key, smtp_server, kafka_bootstrap_servers)


@pytest.fixture
def system(
    kafka_bootstrap_servers: str,
    postgres_server: ThrowawayPostgres,
    smtp_server: SmtpServer,
    tmp_path: Path,
    topic_suffix: str,
) -> Iterator[System]:
    with running_system(
        kafka_bootstrap_servers, postgres_server, smtp_server, tmp_path, topic_suffix
    ) as system:
        yield system


@pytest.fixture(scope="module")
def conformance_system(
    kafka_bootstrap_servers: str,
    postgres_server: ThrowawayPostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    """One system for a module of read-mostly checks (the OpenAPI conformance)."""
    smtp_server = SmtpServer()
    smtp_server.start()
    with running_system(
        kafka_bootstrap_servers,
        postgres_server,
        smtp_server,
        tmp_path_factory.mktemp("system"),
        uuid.uuid4().hex[:8],
    ) as system:
        try:
            yield system
        finally:
            smtp_server.stop()
