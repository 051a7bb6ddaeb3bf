"""``buursignaal kafka up|down|status`` on a broker of its own (not the session's broker)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import SINGLE_BROKER_REPLICATION, TopicSpec
from services.runtime.broker import ensure_topics
from tests.support.kafka import wait_until
from tests.support.processes import cli
from tools.local import kafka
from tools.local.errors import LocalInfraError
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka


@pytest.fixture
def config(tmp_path: Path) -> Iterator[kafka.BrokerConfig]:
    broker = kafka.BrokerConfig(
        data_dir=tmp_path / "kafka", port=free_port(), controller_port=free_port()
    )
    yield broker
    kafka.down(broker, wipe=True)


def java_processes_using(data_dir: Path, settle_s: float = 5.0) -> list[int]:
    """Live processes whose command line names ``data_dir`` (after the kernel settles)."""
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not _live_processes_using(data_dir), timeout_s=settle_s, interval_s=0.1)
    return _live_processes_using(data_dir)


def _live_processes_using(data_dir: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if str(data_dir).encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def broker_args(config: kafka.BrokerConfig) -> list[str]:
    return [
        "--data-dir",
        str(config.data_dir),
        "--port",
        str(config.port),
        "--controller-port",
        str(config.controller_port),
    ]


def test_up_is_idempotent_and_down_leaves_no_process(config: kafka.BrokerConfig) -> None:
    first = kafka.up(config)
    assert first.running
    assert not first.already_running
    assert first.startup_seconds is not None
    assert "Kafka Server started" in config.broker_log.read_text()

    second = kafka.up(config)
    assert second.already_running
    assert second.pid == first.pid
    assert kafka.status(config).running

    assert kafka.down(config)
    assert not kafka.status(config).running
    assert java_processes_using(config.data_dir) == []
    assert not kafka.down(config), "a second down finds nothing to stop"


def test_a_single_broker_gives_topics_one_replica(config: kafka.BrokerConfig) -> None:
    """The default stays one broker: one replica, min.insync.replicas=1 (a cluster: 3 and 2)."""
    status = kafka.up(config)
    assert status.pids == (status.pid,)
    assert config.bootstrap_servers == f"127.0.0.1:{config.port}"
    spec = TopicSpec("test.single.v1", None, "report_id", 2, None, (), ())
    replicas, min_insync = asyncio.run(_replication_of(config.bootstrap_servers, spec))
    assert replicas == [SINGLE_BROKER_REPLICATION.factor] * 2 == [1, 1]
    assert min_insync == str(SINGLE_BROKER_REPLICATION.min_insync) == "1"


async def _replication_of(bootstrap: str, spec: TopicSpec) -> tuple[list[int], str]:
    await ensure_topics(bootstrap, [spec])
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([spec.name])
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name)]
        )
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
    return [len(p["replicas"]) for p in described["partitions"]], configs["min.insync.replicas"]


def test_cluster_nodes_have_ports_and_directories_of_their_own(tmp_path: Path) -> None:
    cluster = kafka.BrokerConfig(data_dir=tmp_path, port=9092, controller_port=9093, brokers=3)
    assert [(n.node_id, n.port, n.controller_port) for n in cluster.nodes] == [
        (1, 9092, 9093),
        (2, 9094, 9095),
        (3, 9096, 9097),
    ]
    assert cluster.bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert {n.data_dir for n in cluster.nodes} == {tmp_path / f"node-{i}" for i in (1, 2, 3)}
    with pytest.raises(LocalInfraError, match="peer port pairs"):
        kafka.BrokerConfig(data_dir=tmp_path, brokers=3, peer_ports=((1, 2),))


def test_restart_keeps_the_data_directory(config: kafka.BrokerConfig) -> None:
    kafka.up(config)
    kafka.down(config)
    assert (config.log_dirs / "meta.properties").exists()
    again = kafka.up(config)
    assert again.running
    assert not again.already_running


def test_cli_up_twice_then_down(config: kafka.BrokerConfig) -> None:
    args = broker_args(config)
    first = cli("kafka", "up", *args)
    assert first.returncode == 0, first.stderr
    assert "started" in first.stdout
    second = cli("kafka", "up", *args)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    assert cli("kafka", "status", *args).returncode == 0
    down = cli("kafka", "down", *args)
    assert down.returncode == 0
    assert "stopped" in down.stdout
    assert cli("kafka", "status", *args).returncode == 3
    assert java_processes_using(config.data_dir) == []


def test_port_in_use_is_one_clear_sentence(config: kafka.BrokerConfig) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", config.port))
        squatter.listen()
        with pytest.raises(LocalInfraError, match=rf"Port {config.port} .* already in use"):
            kafka.up(config)
        result = cli(
            "kafka",
            "up",
            *broker_args(config),
        )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, "one sentence, no traceback"
    assert "already in use" in result.stderr


def test_corrupt_data_directory_is_refused(config: kafka.BrokerConfig) -> None:
    config.log_dirs.mkdir(parents=True)
    (config.log_dirs / "garbage.log").write_text("not a kafka log")
    with pytest.raises(LocalInfraError, match="corrupt"):
        kafka.up(config)
    (config.log_dirs / "meta.properties").write_text("version=1\nnode.id=7\n")
    with pytest.raises(LocalInfraError, match="corrupt"):
        kafka.up(config)
    assert java_processes_using(config.data_dir) == []


def test_missing_java_is_one_clear_sentence(config: kafka.BrokerConfig, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    result = cli(
        "kafka",
        "up",
        *broker_args(config),
        env=env,
    )
    assert result.returncode != 0
    assert "Java is not installed" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_missing_maven_when_jars_are_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "kafka-home"
    home.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    config = kafka.BrokerConfig(data_dir=tmp_path / "data", kafka_home=home)
    with pytest.raises(LocalInfraError, match="Maven is not installed"):
        kafka.fetch_jars(config)


def test_cluster_ids_never_look_like_options() -> None:
    ids = [kafka._cluster_id() for _ in range(2000)]
    assert all(not cid.startswith("-") and len(cid) == 22 for cid in ids)
    assert len(set(ids)) == len(ids)
