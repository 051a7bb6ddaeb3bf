"""A real local Apache Kafka broker, or a cluster of them (KRaft, combined broker + controller),
without Docker.

The brokers run from Apache Kafka's official jars, fetched from Maven Central by the Maven project
in ``deploy/kafka/``, on the machine's Java.  ``up`` is idempotent: a second call finds the brokers
that are already running (and starts any node of a cluster that is not).  Readiness is each
broker's own log line "Kafka Server started", not a TCP connect, because the port opens before
the controller quorum has elected a leader.

One broker (the default) keeps everything in ``data_dir``; a cluster (``brokers=3``) keeps node
``n`` in ``data_dir/node-n``, every node a voter of the controller quorum, so the cluster survives
the loss of any one node (ADR 0012).

With ``authentication`` (``buursignaal stack up``, ADR 0018) clients sign in with
SASL/SCRAM-SHA-512 and ``StandardAuthorizer`` allows only what the ACLs say
(``allow.everyone.if.no.acl.found=false``): every principal of ``tools.kafka_principals`` gets a
random password, kept in ``data_dir/credentials.json`` (mode 0600, under the git-ignored
``var/``), bootstrapped into the metadata when the storage is formatted
(``kafka-storage format --add-scram``), and its ACLs once the broker runs.  The tooling
principal ``buursignaal-admin`` is the super user; the controller listener takes SASL/PLAIN
with the admin's password only.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.local.errors import LocalInfraError
from tools.local.processes import port_free, running_pid, stop_groups, wait_gone, wait_started

if TYPE_CHECKING:
    from services.runtime.broker import KafkaCredentials

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KAFKA_HOME = PROJECT_ROOT / "deploy" / "kafka"
STARTED_LINE = re.compile(r"Kafka Server started")
KAFKA_MARKER = b"kafka.Kafka"  # in a broker's command line: a reused pid is not ours
NODE_ID = 1  # the single broker's node id; a cluster's nodes are 1..brokers


@dataclass(frozen=True)
class Node:
    """One broker + controller process of the local cluster, with its own ports and directory."""

    node_id: int
    port: int
    controller_port: int
    data_dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

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
class BrokerConfig:
    """Where and how the local broker (or cluster) runs; every path and port can be chosen.

    ``port`` and ``controller_port`` are node 1's; the other nodes of a cluster use
    ``peer_ports`` ((port, controller port) of nodes 2, 3, …), by default the next free pairs
    after node 1's (9094/9095, 9096/9097 for the defaults)."""

    data_dir: Path = PROJECT_ROOT / "var" / "kafka"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    start_timeout_s: float = 60.0
    kafka_home: Path = KAFKA_HOME
    brokers: int = 1
    peer_ports: tuple[tuple[int, int], ...] = ()
    authentication: bool = False
    """SASL/SCRAM and ACLs (ADR 0018); off: one plaintext listener anyone may use (fast tests)."""
    authorities: tuple[str, ...] = ()
    """The recipient ids that get a principal of their own (with ``authentication``)."""
    extra_properties: tuple[tuple[str, str], ...] = ()
    """Broker properties set last, over the ones above (a test runs compose's security)."""

    def __post_init__(self) -> None:
        if self.brokers < 1:
            raise LocalInfraError("A Kafka cluster needs at least one broker (--brokers 1 or 3).")
        if self.peer_ports and len(self.peer_ports) != self.brokers - 1:
            raise LocalInfraError(
                f"A cluster of {self.brokers} brokers needs {self.brokers - 1} peer port pairs."
            )

    @property
    def nodes(self) -> tuple[Node, ...]:
        if self.brokers == 1:
            return (Node(NODE_ID, self.port, self.controller_port, self.data_dir),)
        step = max(self.port, self.controller_port) - min(self.port, self.controller_port) + 1
        peers = self.peer_ports or tuple(
            (self.port + step * k, self.controller_port + step * k) for k in range(1, self.brokers)
        )
        pairs = ((self.port, self.controller_port), *peers)
        return tuple(
            Node(n, port, controller, self.data_dir / f"node-{n}")
            for n, (port, controller) in enumerate(pairs, start=1)
        )

    def node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise LocalInfraError(f"The local Kafka cluster has no node {node_id}.")

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes)

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def lib_dir(self) -> Path:
        return self.kafka_home / "lib"

    # Node 1's files (the single broker's, where they have always been).
    @property
    def log_dirs(self) -> Path:
        return self.nodes[0].log_dirs

    @property
    def properties_file(self) -> Path:
        return self.nodes[0].properties_file

    @property
    def log4j_file(self) -> Path:
        return self.nodes[0].log4j_file

    @property
    def pid_file(self) -> Path:
        return self.nodes[0].pid_file

    @property
    def broker_log(self) -> Path:
        return self.nodes[0].broker_log


@dataclass(frozen=True)
class BrokerStatus:
    """``running`` when every node runs; ``pid`` is node 1's, ``pids`` every node's (or None)."""

    running: bool
    pid: int | None
    bootstrap_servers: str
    already_running: bool = False
    startup_seconds: float | None = None
    pids: tuple[int | None, ...] = ()

    def describe(self) -> str:
        if len(self.pids) > 1:
            return self._describe_cluster()
        if not self.running:
            return f"Kafka broker is not running (would listen on {self.bootstrap_servers})."
        how = "already running" if self.already_running else "started"
        took = f" in {self.startup_seconds:.1f} s" if self.startup_seconds is not None else ""
        return f"Kafka broker {how}{took}: {self.bootstrap_servers} (pid {self.pid})."

    def _describe_cluster(self) -> str:
        live = [pid for pid in self.pids if pid is not None]
        size = len(self.pids)
        if not self.running:
            return (
                f"Kafka cluster: {len(live)} of {size} brokers running ({self.bootstrap_servers})."
            )
        how = "already running" if self.already_running else "started"
        if not self.already_running and self.startup_seconds is None:
            how = "running"
        took = f" in {self.startup_seconds:.1f} s" if self.startup_seconds is not None else ""
        pids = ", ".join(str(pid) for pid in live)
        servers = self.bootstrap_servers
        return f"Kafka cluster of {size} brokers {how}{took}: {servers} (pids {pids})."


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


def _running_pid(node: Node) -> int | None:
    return running_pid(node.pid_file, KAFKA_MARKER)


def _cluster_id() -> str:
    """A KRaft cluster id (base64url of a UUID) that cannot be mistaken for a command option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _properties(config: BrokerConfig, node: Node) -> dict[str, str]:
    from schemas.topics import replication_for

    replication = replication_for(config.brokers)
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in config.nodes)
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(node.log_dirs),
        # Topics come from the topic registry (schemas.topics), never by accident.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        # The registry's replication (schemas.topics.replication_for) for what the broker creates.
        "default.replication.factor": str(replication.factor),
        "min.insync.replicas": str(replication.min_insync),
        "offsets.topic.replication.factor": str(replication.factor),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replication.factor),
        "transaction.state.log.min.isr": str(replication.min_insync),
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": str(replication.factor),
        "share.coordinator.state.topic.min.isr": str(replication.min_insync),
        "group.initial.rebalance.delay.ms": "0",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    if config.authentication:
        properties.update(_sasl_properties(config, node))
    properties.update(dict(config.extra_properties))
    if config.brokers > 1:
        # A killed node is fenced (and its partitions get new leaders) after 6 s, not 9 s.
        properties["broker.session.timeout.ms"] = "6000"
        properties["broker.heartbeat.interval.ms"] = "1000"
    return properties


def _sasl_properties(config: BrokerConfig, node: Node) -> dict[str, str]:
    """SCRAM-SHA-512 for clients and between brokers, PLAIN (the admin only) to the controllers,
    the KRaft authorizer with no access but what an ACL allows."""
    from tools.kafka_principals import ADMIN

    password = load_credentials(config)[ADMIN]
    scram = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{password}";'
    )
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
    )
    return {
        "listeners": (
            f"SASL_PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{node.port}",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def local_principals(config: BrokerConfig) -> list[str]:
    """The principals of the local broker: the admin, the services, the configured authorities."""
    from tools.kafka_principals import ADMIN, principals

    return [ADMIN, *(principal.name for principal in principals(config.authorities))]


def load_credentials(config: BrokerConfig) -> dict[str, str]:
    """Principal -> SCRAM password of the local broker ({} before it was first set up)."""
    try:
        loaded: dict[str, str] = json.loads(config.credentials_file.read_text())
    except FileNotFoundError:
        return {}
    return loaded


def credentials(config: BrokerConfig, principal: str) -> KafkaCredentials:
    """The credentials one principal of the local broker signs in with."""
    from services.runtime.broker import KafkaCredentials

    password = load_credentials(config).get(principal)
    if password is None:
        raise LocalInfraError(
            f"The local Kafka broker has no principal {principal!r}: see {config.credentials_file}."
        )
    return KafkaCredentials(principal, password)


def _ensure_credentials(config: BrokerConfig, *, formatted: bool) -> list[str]:
    """A password for every local principal; return the new ones.  ``format`` bootstraps them
    into the metadata; a broker formatted earlier gets them once it runs (``_provision``), but
    only if it has the admin (it was formatted with authentication)."""
    from tools.kafka_principals import ADMIN

    known = load_credentials(config)
    missing = [name for name in local_principals(config) if name not in known]
    if formatted and ADMIN not in known:
        raise LocalInfraError(
            f"The Kafka data in {config.data_dir} was formatted without authentication: "
            "start afresh (buursignaal kafka down --wipe), choose another --data-dir, "
            "or run it with --no-authentication."
        )
    if missing:
        known.update({name: secrets.token_urlsafe(24) for name in missing})
        config.data_dir.mkdir(parents=True, exist_ok=True)
        config.credentials_file.touch(mode=0o600)
        config.credentials_file.chmod(0o600)
        config.credentials_file.write_text(json.dumps(known, indent=1, sort_keys=True))
    return missing


def _provision(config: BrokerConfig, new_users: list[str]) -> None:
    """Give the running broker the users it lacks and every principal's ACLs."""
    from tools.kafka_principals import ADMIN
    from tools.local.acls import add_users, grant

    admin = credentials(config, ADMIN)
    passwords = load_credentials(config)
    if new_users:
        add_users(config.bootstrap_servers, admin, {name: passwords[name] for name in new_users})
    grant(config.bootstrap_servers, admin, config.authorities)


def _write_config(config: BrokerConfig, node: Node) -> None:
    node.data_dir.mkdir(parents=True, exist_ok=True)
    properties = _properties(config, node)
    node.properties_file.write_text(
        "".join(f"{key}={value}\n" for key, value in properties.items())
    )
    node.log4j_file.write_text(
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


def _java_command(config: BrokerConfig, node: Node, main_class: str, *args: str) -> list[str]:
    return [
        _require_java(),
        f"-Xms{config.heap}",
        f"-Xmx{config.heap}",
        "-XX:+UseG1GC",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={node.log4j_file}",
        "-cp",
        f"{config.lib_dir}/*",
        main_class,
        *args,
    ]


def _formatted_cluster_id(node: Node) -> str | None:
    """The cluster id the node's log directory was formatted with (None: not formatted yet);
    a corrupt directory is refused."""
    meta = node.log_dirs / "meta.properties"
    if not node.log_dirs.exists() or not any(node.log_dirs.iterdir()):
        return None
    problem = None
    entries: dict[str, str] = {}
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
        elif entries.get("node.id") != str(node.node_id):
            problem = f"its meta.properties belongs to node {entries.get('node.id')!r}"
    if problem:
        raise LocalInfraError(
            f"The Kafka data directory {node.log_dirs} is corrupt ({problem}): "
            "remove it (buursignaal kafka down --wipe) or choose another --data-dir."
        )
    return entries["cluster.id"]


def _format_storage(config: BrokerConfig, node: Node, cluster_id: str) -> None:
    scram: list[str] = []
    if config.authentication:
        for name, password in load_credentials(config).items():
            scram += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
    result = subprocess.run(
        _java_command(
            config,
            node,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(node.properties_file),
            *scram,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()[-1:]
        raise LocalInfraError(
            f"Kafka could not format its data directory {node.log_dirs} "
            f"({' '.join(detail)}): remove it or choose another --data-dir."
        )


def _diagnose_failure(node: Node) -> str:
    log = node.broker_log.read_text(errors="replace") if node.broker_log.exists() else ""
    if "Address already in use" in log:
        return (
            f"A port the broker needs ({node.port} or {node.controller_port}) is already "
            "in use: stop the program using it or choose other ports with --port/--controller-port."
        )
    if re.search(r"InconsistentClusterIdException|meta\.properties|corrupt|CorruptRecord", log):
        return (
            f"The Kafka data directory {node.log_dirs} is corrupt or belongs to another "
            "cluster: remove it (buursignaal kafka down --wipe) or choose another --data-dir."
        )
    errors = [line for line in log.splitlines() if " ERROR " in line or "Exception" in line]
    last = errors[-1].strip() if errors else "no error in its log"
    return f"The Kafka broker stopped during start-up ({last[:300]}): see {node.broker_log}."


def _prepare_nodes(config: BrokerConfig, nodes: list[Node]) -> None:
    """Check the ports, write the configuration and format what is not formatted yet, with
    the cluster id the other nodes already have."""
    for node in nodes:
        for port in (node.port, node.controller_port):
            if not port_free(port):
                raise LocalInfraError(
                    f"Port {port} on 127.0.0.1 is already in use by another program: stop it "
                    "or choose other ports with --port/--controller-port."
                )
    known = {node.node_id: _formatted_cluster_id(node) for node in config.nodes}
    cluster_id = next((cid for cid in known.values() if cid), None) or _cluster_id()
    for node in nodes:
        _write_config(config, node)
        if known[node.node_id] is None:
            _format_storage(config, node, cluster_id)


def _start_node(config: BrokerConfig, node: Node) -> subprocess.Popen[bytes]:
    with node.broker_log.open("wb") as log:
        process = subprocess.Popen(
            _java_command(config, node, "kafka.Kafka", str(node.properties_file)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    node.pid_file.write_text(str(process.pid))
    return process


def _wait_started(
    config: BrokerConfig, started: dict[int, tuple[Node, subprocess.Popen[bytes]]], since: float
) -> None:
    """Wait for every started node's "Kafka Server started"; stop them all if one fails."""

    def ready(node_id: int) -> bool:
        log = started[node_id][0].broker_log
        return bool(STARTED_LINE.search(log.read_text(errors="replace")))

    processes = {node_id: process for node_id, (_, process) in started.items()}
    failed = wait_started(processes, ready, since=since, timeout_s=config.start_timeout_s)
    if failed is None:
        return
    node = started[failed.key][0]
    problem = (
        _diagnose_failure(node)
        if failed.exited
        else (
            f"The Kafka broker did not report 'Kafka Server started' within "
            f"{config.start_timeout_s:.0f} s: see {node.broker_log}."
        )
    )
    stop_groups([process.pid for process in processes.values()])
    for node, _ in started.values():
        node.pid_file.unlink(missing_ok=True)
    raise LocalInfraError(problem)


def up(config: BrokerConfig) -> BrokerStatus:
    """Start the broker (every node of a cluster), or find the ones already running; wait until
    each has started.  On a cluster, only the nodes that are not running are started."""
    running = {node.node_id: _running_pid(node) for node in config.nodes}
    formatted = any(_formatted_cluster_id(node) for node in config.nodes)
    new_users = _ensure_credentials(config, formatted=formatted) if config.authentication else []
    if all(pid is not None for pid in running.values()):
        if config.authentication:
            _provision(config, new_users)
        return _status(config, running, already_running=True)
    _require_java()
    fetch_jars(config)
    missing = [node for node in config.nodes if running[node.node_id] is None]
    _prepare_nodes(config, missing)
    since = time.monotonic()
    started = {node.node_id: (node, _start_node(config, node)) for node in missing}
    _wait_started(config, started, since)
    if config.authentication:
        from tools.local.acls import grant

        grant(
            config.bootstrap_servers, credentials(config, "buursignaal-admin"), config.authorities
        )
    running.update({node_id: process.pid for node_id, (_, process) in started.items()})
    return _status(config, running, startup_seconds=time.monotonic() - since)


def _status(
    config: BrokerConfig,
    pids: dict[int, int | None],
    *,
    already_running: bool = False,
    startup_seconds: float | None = None,
) -> BrokerStatus:
    ordered = tuple(pids[node.node_id] for node in config.nodes)
    return BrokerStatus(
        all(pid is not None for pid in ordered),
        ordered[0],
        config.bootstrap_servers,
        already_running=already_running,
        startup_seconds=startup_seconds,
        pids=ordered,
    )


def kill(config: BrokerConfig, node_id: int, sig: signal.Signals = signal.SIGKILL) -> int | None:
    """Send ``sig`` (SIGKILL: a crash) to one node's process group; return its pid (None when
    it was not running).  After SIGKILL it waits until the process is gone; ``up`` restarts
    it with its data."""
    node = config.node(node_id)
    pid = _running_pid(node)
    if pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    if sig == signal.SIGKILL:
        wait_gone({pid})
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return pid


def down(config: BrokerConfig, *, wipe: bool = False) -> bool:
    """Stop every node and its whole process group; return whether any was running.

    A cluster whose data is wiped anyway is killed at once: its nodes' controlled shutdown
    (moving leadership away, one node after the other) takes 10-20 s and keeps nothing."""
    pids = [pid for node in config.nodes if (pid := _running_pid(node)) is not None]
    if pids:
        stop_groups(pids, grace_s=0.0 if wipe and config.brokers > 1 else 30.0)
    for node in config.nodes:
        node.pid_file.unlink(missing_ok=True)
        if wipe and node.log_dirs.exists():
            shutil.rmtree(node.log_dirs)
    return bool(pids)


def status(config: BrokerConfig) -> BrokerStatus:
    return _status(config, {node.node_id: _running_pid(node) for node in config.nodes})
