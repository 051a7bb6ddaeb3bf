"""``buursignaal stack up`` (what ``make up`` runs): the broker and three services, clean stop."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.local.test_kafka_broker import java_processes_using
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka


def test_stack_up_serves_all_services_and_stops_cleanly(tmp_path: Path) -> None:
    broker_port, controller_port = free_port(), free_port()
    base_port = free_port()
    while any(
        _busy(port) or port in (broker_port, controller_port)
        for port in range(base_port, base_port + 3)
    ):
        base_port = free_port()
    env = {
        **os.environ,
        "BUURSIGNAAL_INTAKE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'intake.sqlite'}",
        "BUURSIGNAAL_ROUTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'router.sqlite'}",
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'notif.sqlite'}",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    data_dir = tmp_path / "kafka"
    stderr_file = tmp_path / "stack.stderr"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.cli",
            "stack",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(broker_port),
            "--controller-port",
            str(controller_port),
            "--base-port",
            str(base_port),
        ],
        stdout=subprocess.PIPE,
        stderr=stderr_file.open("w"),
        env=env,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any("Resident web form" in line for line in lines):
            assert time.monotonic() < deadline, f"stack not up: {lines}"
            assert process.poll() is None, f"stack exited: {stderr_file.read_text()[-3000:]}"
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                lines.append(process.stdout.readline())
        assert f"http://127.0.0.1:{base_port}/" in "".join(lines)
        form = httpx.get(f"http://127.0.0.1:{base_port}/", timeout=5)
        assert form.status_code == 200
        assert "Overlast van industrie melden" in form.text
        for offset, name in enumerate(("intake", "router", "notifier")):
            ready_response = httpx.get(f"http://127.0.0.1:{base_port + offset}/ready", timeout=5)
            assert ready_response.status_code == 200
            assert ready_response.json()["service"] == name
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    for offset in range(3):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{base_port + offset}/health", timeout=2)
    assert java_processes_using(data_dir) == []


def _busy(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
