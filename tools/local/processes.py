"""What the local servers (``kafka.py``, ``keycloak.py``) share: a pid file, whether its process
still runs, whether a port is free, waiting until started processes are ready, and stopping
their process groups (SIGTERM, then SIGKILL after a grace time, every child reaped).

Each server is started with ``start_new_session=True``, so its pid is its process group's id
and stopping the group stops the launcher script and the JVM under it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

K = TypeVar("K")


def pid_alive(pid: int, marker: bytes | None = None) -> bool:
    """Whether ``pid`` runs (and, with ``marker``, its command line contains it: a pid the
    system gave to another program since is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if marker is None:
        return True
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def running_pid(pid_file: Path, marker: bytes | None = None) -> int | None:
    """The pid in ``pid_file`` when that process still runs; None otherwise."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid, marker) else None


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class NotStarted(Generic[K]):
    """Which process did not get ready, and whether it exited (or ran out of time)."""

    key: K
    exited: bool


def wait_started(
    started: Mapping[K, subprocess.Popen[bytes]],
    ready: Callable[[K], bool],
    *,
    since: float,
    timeout_s: float,
    poll_s: float = 0.1,
) -> NotStarted[K] | None:
    """Wait until ``ready(key)`` for every started process; the first that exits or is not
    ready ``timeout_s`` after ``since`` (``time.monotonic()``) is returned, None when all are."""
    waiting = dict(started)
    deadline = since + timeout_s
    while waiting:
        for key, process in list(waiting.items()):
            if process.poll() is not None:
                return NotStarted(key, exited=True)
            if ready(key):
                del waiting[key]
        if waiting and time.monotonic() > deadline:
            return NotStarted(next(iter(waiting)), exited=False)
        if waiting:
            time.sleep(poll_s)
    return None


def stop_groups(pids: list[int], grace_s: float = 30.0) -> None:
    """SIGTERM every process group at once, SIGKILL what is left after ``grace_s``."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        waiting = {pid for pid in waiting if not exited(pid)}
        if waiting:
            time.sleep(0.1)
    for pid in waiting:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    wait_gone(waiting)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def wait_gone(pids: set[int], timeout_s: float = 10.0) -> None:
    """Wait until killed processes are gone (ours reaped; others' no longer running)."""
    deadline = time.monotonic() + timeout_s
    while pids and time.monotonic() < deadline:
        pids = {pid for pid in pids if not exited(pid)}
        if pids:
            time.sleep(0.05)


def exited(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        reaped = 0
    return reaped == pid or not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Exited: gone, or a zombie whose threads have all ended (only its leader is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z" and threads <= 1
