"""A throwaway PostgreSQL cluster for tests and local runs (Debian's ``postgresql`` package).

``initdb`` runs in a temporary directory and the server listens on a free port on 127.0.0.1 only.
PostgreSQL refuses to run as root, so as root the cluster is owned by the ``postgres`` system
user that the Debian package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.local.errors import LocalInfraError

DEBIAN_PREFIX = Path("/usr/lib/postgresql")


def find_bindir() -> Path | None:
    """The newest installed server's ``bin`` directory, or None."""
    candidates = sorted(
        (p for p in DEBIAN_PREFIX.glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


def install() -> Path:
    """Install Debian's PostgreSQL server when missing and return its ``bin`` directory."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise LocalInfraError(
            "PostgreSQL is not installed and cannot be installed from here: run "
            "'apt-get install postgresql' as root and try again."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LocalInfraError(
                f"'{' '.join(command)}' failed ({result.stderr.strip()[-200:]}): "
                "install PostgreSQL by hand and try again."
            )
    bindir = find_bindir()
    if bindir is None:
        raise LocalInfraError("PostgreSQL was installed but no server binary was found.")
    return bindir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server in a temporary directory; ``stop`` removes every trace of it."""

    bindir: Path
    port: int = field(default_factory=free_port)
    user: str = "buursignaal"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="buursignaal-pg-")))
    durable: bool = False
    """Tests run with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off for speed: a
    crash may lose the last commits. The fault campaign (``benchmarks/faults.py``) asks for
    ``durable=True``, PostgreSQL's own defaults (all three on), as every deployment file has."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        argv = list(command)
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def start(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        initdb = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if initdb.returncode != 0:
            raise LocalInfraError(f"initdb failed: {initdb.stderr.strip()[-300:]}")
        return self._serve()

    def _serve(self) -> ThrowawayPostgres:
        durability = "on" if self.durable else "off"
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            f"-c fsync={durability} -c synchronous_commit={durability} "
            f"-c full_page_writes={durability} -c max_connections=200"
        )
        started = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if started.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-300:]
            raise LocalInfraError(f"PostgreSQL did not start: {log.strip()}")
        return self

    def outage(self) -> None:
        """Stop the server at once, as a crash would (``immediate``), keeping its data."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop")

    def recover(self) -> ThrowawayPostgres:
        """Start the server again after ``outage``, on the same port and data."""
        return self._serve()

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.url(driver="postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop")
        deadline = time.monotonic() + 10
        while (self.data_dir / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
