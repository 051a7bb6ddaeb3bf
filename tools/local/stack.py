"""The whole local stack on one machine: the broker plus the three services as processes.

The terminal shows one line per component as it becomes ready, the addresses and errors; each
service's JSON log goes to ``var/log/<service>.log`` (``buursignaal stack logs`` follows them).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.runtime.settings import PROJECT_ROOT
from tools.local import kafka, keycloak
from tools.local.errors import LocalInfraError
from tools.local.topics import prepare_topics

SERVICES = ("intake", "router", "notifier")
LOCAL_WEATHER_DIR = PROJECT_ROOT / "var" / "weather"
"""The local router's KNMI wind files (``buursignaal demo`` writes its wind series here)."""
LOG_DIR = PROJECT_ROOT / "var" / "log"
"""One JSON log per service: ``var/log/<service>.log``."""


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def shown(path: Path) -> str:
    """``path`` as a newcomer reads it: relative to the project when it lies inside."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def say(line: str) -> None:
    print(line, flush=True)


def kafka_credentials_environment(config: kafka.BrokerConfig) -> dict[str, str]:
    """Each service's own Kafka principal (ADR 0018) when the broker has authentication."""
    if not config.authentication:
        return {}
    from tools.kafka_principals import service_user

    wiring = {}
    for name in SERVICES:
        credentials = kafka.credentials(config, service_user(name))
        wiring[f"BUURSIGNAAL_{name.upper()}_KAFKA_USERNAME"] = credentials.username
        wiring[f"BUURSIGNAAL_{name.upper()}_KAFKA_PASSWORD"] = credentials.password
    return wiring


def stack_environment(
    bootstrap_servers: str,
    base_port: int,
    oidc_issuer: str = "",
    kafka_credentials: dict[str, str] | None = None,
) -> dict[str, str]:
    """What the services need to find each other; explicit settings in the environment win,
    but for the broker's address and its credentials (``kafka_credentials_environment``)."""
    token = secrets.token_urlsafe(24)  # intake <-> notifier, for this run only
    wiring = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "BUURSIGNAAL_INTAKE_INTERNAL_API_TOKEN": token,
        "BUURSIGNAAL_NOTIFIER_INTERNAL_API_TOKEN": token,
        "BUURSIGNAAL_INTAKE_PUBLIC_BASE_URL": f"http://127.0.0.1:{base_port}",
        "BUURSIGNAAL_NOTIFIER_INTAKE_URL": f"http://127.0.0.1:{base_port}",
        "BUURSIGNAAL_NOTIFIER_PUBLIC_BASE_URL": f"http://127.0.0.1:{base_port + 2}",
        # `buursignaal demo` posts every simulated resident from this one machine
        "BUURSIGNAAL_INTAKE_RATE_LIMIT_IP_PER_HOUR": "0",
        # and writes its wind series here, which the router reads again when it changes
        "BUURSIGNAAL_ROUTER_WEATHER_DIR": str(LOCAL_WEATHER_DIR),
    }
    if oidc_issuer:  # the realm export's client (deploy/keycloak), for this machine only
        wiring["BUURSIGNAAL_NOTIFIER_OIDC_ISSUER"] = oidc_issuer
        wiring["BUURSIGNAAL_NOTIFIER_OIDC_CLIENT_SECRET"] = keycloak.LOCAL_CLIENT_SECRET
    json_logs = {f"BUURSIGNAAL_{name.upper()}_LOG_FORMAT": "json" for name in SERVICES}
    return {
        **wiring,
        **json_logs,
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        **(kafka_credentials or {}),
    }


def start_services(
    bootstrap_servers: str,
    base_port: int,
    log_dir: Path = LOG_DIR,
    oidc_issuer: str = "",
    kafka_credentials: dict[str, str] | None = None,
) -> list[RunningService]:
    env = stack_environment(bootstrap_servers, base_port, oidc_issuer, kafka_credentials)
    log_dir.mkdir(parents=True, exist_ok=True)
    return [
        start_service(name, base_port + offset, env, log_dir / f"{name}.log")
        for offset, name in enumerate(SERVICES)
    ]


def start_service(name: str, port: int, env: dict[str, str], log_file: Path) -> RunningService:
    """``buursignaal serve <name>`` as a process of its own session, its output appended to
    ``log_file`` (the fault campaign starts, kills and restarts services one by one)."""
    argv = [sys.executable, "-m", "tools.cli", "serve", name, "--port", str(port)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)
    return RunningService(name, port, process, log_file)


def _ready(service: RunningService) -> bool:
    if service.process.poll() is not None:
        tail = "".join(service.log_file.read_text(errors="replace").splitlines(True)[-5:])
        raise LocalInfraError(
            f"The {service.name} service exited during start-up; the end of {service.log_file}:"
            f"\n{tail}"
        )
    try:
        return httpx.get(f"{service.url}/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(services: list[RunningService], timeout_s: float = 60.0) -> None:
    """Print one line per service as it answers ``/ready``."""
    deadline = time.monotonic() + timeout_s
    pending = list(services)
    while pending and time.monotonic() < deadline:
        for service in [service for service in pending if _ready(service)]:
            pending.remove(service)
            say(f"  {service.name:<9} ready      {service.url}  (log {shown(service.log_file)})")
        time.sleep(0.3)
    if pending:
        names = ", ".join(service.name for service in pending)
        raise LocalInfraError(f"Not ready within {timeout_s:.0f} s: {names}.")


def stop_services(services: list[RunningService]) -> None:
    for service in services:
        if service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    for service in services:
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


def _print_addresses(services: list[RunningService]) -> None:
    say(f"Resident web form: {services[0].url}/")
    for service in services:
        say(f"  {service.name:<9} {service.url}/health  {service.url}/metrics")
    say("Logs: buursignaal stack logs [service].  Press Ctrl-C to stop the stack.")


def _start_broker(config: kafka.BrokerConfig) -> kafka.BrokerStatus:
    for noisy in ("aiokafka", "httpx"):  # the terminal shows one line per component
        logging.getLogger(noisy).setLevel(logging.WARNING)
    status = kafka.up(config)
    say(f"  broker    ready      {config.bootstrap_servers}  (log {shown(config.broker_log)})")
    admin = None
    if config.authentication:  # kafka.up made the users and their ACLs
        from tools.kafka_principals import ADMIN

        admin = kafka.credentials(config, ADMIN)
        principals = len(kafka.load_credentials(config))
        say(
            f"  access    ready      SASL/SCRAM-SHA-512 and ACLs, {principals} principals"
            f"  (passwords {shown(config.credentials_file)})"
        )
    topics, partitions = prepare_topics(config.bootstrap_servers, admin)
    say(f"  topics    ready      {topics} topics, {partitions} partitions, each with a leader")
    return status


def _start_keycloak(config: keycloak.KeycloakConfig | None) -> keycloak.KeycloakStatus | None:
    if config is None:
        return None
    status = keycloak.up(config)
    say(f"  keycloak  ready      {config.issuer}  (log {shown(config.log_file)})")
    say("            people: anna, victor, ada, bram, cora, olaf (password <name>-local-password)")
    return status


def run(
    config: kafka.BrokerConfig,
    *,
    base_port: int = 8000,
    log_dir: Path = LOG_DIR,
    keycloak_config: keycloak.KeycloakConfig | None = None,
) -> None:
    """Start broker, topics, the OIDC provider (when asked) and services, print where to go,
    and run until interrupted."""
    stop = False

    def _interrupt(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    status = _start_broker(config)
    provider = _start_keycloak(keycloak_config)
    issuer = keycloak_config.issuer if keycloak_config else ""
    services = start_services(
        config.bootstrap_servers, base_port, log_dir, issuer, kafka_credentials_environment(config)
    )
    try:
        wait_ready(services)
        _print_addresses(services)
        while not stop and all(service.process.poll() is None for service in services):
            time.sleep(0.5)
        for service in services:
            if service.process.poll() is not None:
                say(f"The {service.name} service stopped: see {shown(service.log_file)}.")
    finally:
        stop_services(services)
        if not status.already_running:
            kafka.down(config)
        if keycloak_config and provider and not provider.already_running:
            keycloak.down(keycloak_config)
        say("Stack stopped.")


def follow(files: list[Path], *, poll_s: float = 0.3) -> Iterator[str]:
    """The lines added to ``files`` from now on, each prefixed with its service (tail -f)."""
    offsets = {path: path.stat().st_size if path.exists() else 0 for path in files}
    while True:
        for path in files:
            if not path.exists() or path.stat().st_size < offsets[path]:
                offsets[path] = 0  # not there yet, or started afresh
                continue
            with path.open("rb") as log:
                log.seek(offsets[path])
                for raw in log:
                    if not raw.endswith(b"\n"):
                        break  # the rest of this line is still being written
                    offsets[path] += len(raw)
                    yield f"{path.stem:<9} {raw.decode(errors='replace').rstrip()}"
        time.sleep(poll_s)


def log_files(service: str | None, log_dir: Path = LOG_DIR) -> list[Path]:
    return [log_dir / f"{name}.log" for name in SERVICES if service in (None, name)]
