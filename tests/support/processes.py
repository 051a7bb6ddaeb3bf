"""A service as its own process (``buursignaal serve <name>``), for tests that need one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.kafka import wait_until


def is_ready(process: subprocess.Popen[bytes], name: str, port: int, log: Path) -> bool:
    """Whether the service answers ``/ready``; a process that exited fails with its log."""
    assert process.poll() is None, f"{name} exited:\n" + log.read_text()[-3000:]
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def service_process(
    name: str, env: dict[str, str], port: int, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the service, wait until ``/ready``; SIGKILL it when the block ends."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "serve", name, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: is_ready(process, name, port, log), timeout_s=60)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the command line (``buursignaal <args>``) as its own process; what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=timeout_s,
    )


def add_authority(env: dict[str, str], recipient_id: str, name: str) -> str:
    """Register an authority with ``buursignaal notifier add-authority``; return its API key."""
    registered = cli("notifier", "add-authority", recipient_id, "--name", name, env=env, check=True)
    return registered.stdout.strip().rsplit(" ", 1)[-1]
