"""A real single-node Apache Kafka broker (KRaft, combined broker + controller) without Docker.

The broker runs from Apache Kafka's official jars, fetched from Maven Central by the Maven project
in ``deploy/kafka/``, on the machine's Java.  ``up`` is idempotent: a second call finds the broker
that is already running.  Readiness is the broker's own log line "Kafka Server started", not a
TCP connect, because the port opens before the controller has elected itself.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tools.local.errors import LocalInfraError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KAFKA_HOME = PROJECT_ROOT / "deploy" / "kafka"
STARTED_LINE = re.compile(r"Kafka Server started")
NODE_ID = 1


@dataclass(frozen=True)
class BrokerConfig:
    """Where and how the local broker runs; every path and port can be chosen."""

    data_dir: Path = PROJECT_ROOT / "var" / "kafka"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    start_timeout_s: float = 60.0
    kafka_home: Path = KAFKA_HOME

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def lib_dir(self) -> Path:
        return self.kafka_home / "lib"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "kraft-combined-logs"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker.log"


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap_servers: str
    already_running: bool = False
    startup_seconds: float | None = None

    def describe(self) -> str:
        if not self.running:
            return f"Kafka broker is not running (would listen on {self.bootstrap_servers})."
        how = "already running" if self.already_running else "started"
        took = f" in {self.startup_seconds:.1f} s" if self.startup_seconds is not None else ""
        return f"Kafka broker {how}{took}: {self.bootstrap_servers} (pid {self.pid})."


def _require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise LocalInfraError(
            "Java is not installed: install a Java 17 runtime "
            "(apt-get install openjdk-17-jre-headless) and run the command again."
        )
    return java


def jars_present(config: BrokerConfig) -> bool:
    return config.lib_dir.is_dir() and any(config.lib_dir.glob("kafka_2.13-*.jar"))


def fetch_jars(config: BrokerConfig) -> None:
    """Fetch the broker jars with Maven into ``deploy/kafka/lib`` (a no-op when present)."""
    if jars_present(config):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalInfraError(
            "Maven is not installed, so the Kafka jars cannot be fetched: install it "
            "(apt-get install maven) and run the command again."
        )
    _require_java()
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(config.kafka_home / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={config.lib_dir}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not jars_present(config):
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise LocalInfraError(
            "Maven could not fetch the Kafka jars from Maven Central "
            f"({' / '.join(tail) or 'no output'}): check the network and try again."
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"kafka.Kafka" in cmdline.read_bytes()
    except OSError:
        return False


def _running_pid(config: BrokerConfig) -> int | None:
    try:
        pid = int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_id() -> str:
    """A KRaft cluster id (base64url of a UUID) that cannot be mistaken for a command option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _write_config(config: BrokerConfig) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{config.controller_port}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{config.port},CONTROLLER://127.0.0.1:{config.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{config.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(config.log_dirs),
        # Topics come from the topic registry (schemas.topics), never by accident.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    config.properties_file.write_text(
        "".join(f"{key}={value}\n" for key, value in properties.items())
    )
    config.log4j_file.write_text(
        "rootLogger.level=INFO\n"
        "rootLogger.appenderRef.stdout.ref=STDOUT\n"
        "appender.stdout.type=Console\n"
        "appender.stdout.name=STDOUT\n"
        "appender.stdout.layout.type=PatternLayout\n"
        "appender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
        "logger.kafka.name=kafka\n"
        "logger.kafka.level=INFO\n"
        "logger.apache.name=org.apache.kafka\n"
        "logger.apache.level=WARN\n"
    )


def _java_command(config: BrokerConfig, main_class: str, *args: str) -> list[str]:
    return [
        _require_java(),
        f"-Xms{config.heap}",
        f"-Xmx{config.heap}",
        "-XX:+UseG1GC",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config.log4j_file}",
        "-cp",
        f"{config.lib_dir}/*",
        main_class,
        *args,
    ]


def _check_data_dir(config: BrokerConfig) -> bool:
    """Return whether the log directory still needs formatting; refuse a corrupt one."""
    meta = config.log_dirs / "meta.properties"
    if not config.log_dirs.exists() or not any(config.log_dirs.iterdir()):
        return True
    problem = None
    if not meta.is_file():
        problem = "it holds data but no meta.properties"
    else:
        entries = dict(
            line.split("=", 1)
            for line in meta.read_text(errors="replace").splitlines()
            if "=" in line and not line.startswith("#")
        )
        if not entries.get("cluster.id"):
            problem = "its meta.properties has no cluster.id"
        elif entries.get("node.id") != str(NODE_ID):
            problem = f"its meta.properties belongs to node {entries.get('node.id')!r}"
    if problem:
        raise LocalInfraError(
            f"The Kafka data directory {config.log_dirs} is corrupt ({problem}): "
            "remove it (buursignaal kafka down --wipe) or choose another --data-dir."
        )
    return False


def _format_storage(config: BrokerConfig) -> None:
    result = subprocess.run(
        _java_command(
            config,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _cluster_id(),
            "-c",
            str(config.properties_file),
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        raise LocalInfraError(
            f"Kafka could not format its data directory {config.log_dirs} "
            f"({' '.join(detail)}): remove it or choose another --data-dir."
        )


def _diagnose_failure(config: BrokerConfig) -> str:
    log = config.broker_log.read_text(errors="replace") if config.broker_log.exists() else ""
    if "Address already in use" in log:
        return (
            f"A port the broker needs ({config.port} or {config.controller_port}) is already "
            "in use: stop the program using it or choose other ports with --port/--controller-port."
        )
    if re.search(r"InconsistentClusterIdException|meta\.properties|corrupt|CorruptRecord", log):
        return (
            f"The Kafka data directory {config.log_dirs} is corrupt or belongs to another "
            "cluster: remove it (buursignaal kafka down --wipe) or choose another --data-dir."
        )
    errors = [line for line in log.splitlines() if " ERROR " in line or "Exception" in line]
    last = errors[-1].strip() if errors else "no error in its log"
    return f"The Kafka broker stopped during start-up ({last[:300]}): see {config.broker_log}."


def up(config: BrokerConfig) -> BrokerStatus:
    """Start the broker, or find the one already running; wait until it has started."""
    pid = _running_pid(config)
    if pid is not None:
        return BrokerStatus(True, pid, config.bootstrap_servers, already_running=True)
    _require_java()
    fetch_jars(config)
    for port in (config.port, config.controller_port):
        if not _port_free(port):
            raise LocalInfraError(
                f"Port {port} on 127.0.0.1 is already in use by another program: stop it or "
                "choose other ports with --port/--controller-port."
            )
    _write_config(config)
    if _check_data_dir(config):
        _format_storage(config)
    started = time.monotonic()
    with config.broker_log.open("wb") as log:
        process = subprocess.Popen(
            _java_command(config, "kafka.Kafka", str(config.properties_file)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    config.pid_file.write_text(str(process.pid))
    deadline = started + config.start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            config.pid_file.unlink(missing_ok=True)
            raise LocalInfraError(_diagnose_failure(config))
        if STARTED_LINE.search(config.broker_log.read_text(errors="replace")):
            return BrokerStatus(
                True,
                process.pid,
                config.bootstrap_servers,
                startup_seconds=time.monotonic() - started,
            )
        time.sleep(0.1)
    _stop_pid(process.pid)
    config.pid_file.unlink(missing_ok=True)
    raise LocalInfraError(
        f"The Kafka broker did not report 'Kafka Server started' within "
        f"{config.start_timeout_s:.0f} s: see {config.broker_log}."
    )


def _stop_pid(pid: int, grace_s: float = 30.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            reaped = 0
        if reaped == pid or not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _is_zombie(pid: int) -> bool:
    """Exited: gone, or a zombie whose threads have all ended (only its leader is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z" and threads <= 1


def down(config: BrokerConfig, *, wipe: bool = False) -> bool:
    """Stop the broker and its whole process group; return whether one was running."""
    pid = _running_pid(config)
    if pid is not None:
        _stop_pid(pid)
    config.pid_file.unlink(missing_ok=True)
    if wipe and config.log_dirs.exists():
        shutil.rmtree(config.log_dirs)
    return pid is not None


def status(config: BrokerConfig) -> BrokerStatus:
    pid = _running_pid(config)
    return BrokerStatus(pid is not None, pid, config.bootstrap_servers)
