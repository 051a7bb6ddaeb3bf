"""The whole local stack on one machine: the broker plus the three services as processes."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from services.runtime.settings import PROJECT_ROOT
from tools.local import kafka
from tools.local.errors import LocalInfraError

SERVICES = ("intake", "router", "notifier")
LOCAL_WEATHER_DIR = PROJECT_ROOT / "var" / "weather"
"""The local router's KNMI wind files (``buursignaal demo`` writes its wind series here)."""


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def stack_environment(bootstrap_servers: str, base_port: int) -> dict[str, str]:
    """What the services need to find each other; explicit settings in the environment win."""
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
    return {**wiring, **os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers}


def start_services(bootstrap_servers: str, base_port: int) -> list[RunningService]:
    env = stack_environment(bootstrap_servers, base_port)
    running = []
    for offset, name in enumerate(SERVICES):
        port = base_port + offset
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "serve", name, "--port", str(port)],
            env=env,
            start_new_session=True,
        )
        running.append(RunningService(name, port, process))
    return running


def wait_ready(services: list[RunningService], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    pending = {service.name: service for service in services}
    while pending and time.monotonic() < deadline:
        for name, service in list(pending.items()):
            if service.process.poll() is not None:
                raise LocalInfraError(
                    f"The {name} service exited during start-up: see its log above."
                )
            try:
                if httpx.get(f"{service.url}/ready", timeout=1.0).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        raise LocalInfraError(f"Not ready within {timeout_s:.0f} s: {', '.join(pending)}.")


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


def run(config: kafka.BrokerConfig, *, base_port: int = 8000) -> None:
    """Start broker and services, print where to go, and run until interrupted."""
    status = kafka.up(config)
    print(status.describe(), flush=True)
    services = start_services(config.bootstrap_servers, base_port)
    stop = False

    def _interrupt(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        wait_ready(services)
        intake = services[0]
        print(f"Resident web form: {intake.url}/", flush=True)
        for service in services:
            print(f"  {service.name:<9} {service.url}/health  {service.url}/metrics", flush=True)
        print("Press Ctrl-C to stop the stack.", flush=True)
        while not stop and all(service.process.poll() is None for service in services):
            time.sleep(0.5)
    finally:
        stop_services(services)
        if not status.already_running:
            kafka.down(config)
        print("Stack stopped.", flush=True)
