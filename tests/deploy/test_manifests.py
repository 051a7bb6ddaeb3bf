"""The deployment files agree with the code: topics, partitions and replication with the
registry, every environment variable with a setting, the image's build context with the tree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.topics import (
    CLUSTER_REPLICATION,
    LEG_STATUS_REPORTED,
    all_static_topics,
    delivery_topic,
)
from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.router.settings import RouterSettings
from services.runtime.broker import producer_options
from services.runtime.settings import ServiceSettings
from tests.router.test_reference import SHARED
from tools.deployment import recipient_ids, render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "router": RouterSettings,
    "notifier": NotifierSettings,
}
SHARED_VARIABLES = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "BUURSIGNAAL_ENVIRONMENT",
    "BUURSIGNAAL_SECRET_KEY",
    "BUURSIGNAAL_MAP_TILES_URL",  # the maps' background, the same for every service with pages
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_yaml_file_parses() -> None:
    files = [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]
    assert len(files) >= 8
    for path in files:
        assert documents(path) is not None, path


def test_generated_manifests_are_current() -> None:
    for name, text in render(SHARED).items():
        assert (DEPLOY / "kubernetes" / "kafka" / name).read_text() == text, (
            f"{name} is stale: run `buursignaal deploy render`"
        )


def test_every_registry_topic_is_a_kafka_topic_with_its_partitions() -> None:
    topics = {
        d["spec"]["topicName"]: d["spec"]
        for d in documents(DEPLOY / "kubernetes" / "kafka" / "topics.yaml")
    }
    expected = [*all_static_topics(), *(delivery_topic(r) for r in recipient_ids(SHARED))]
    assert len(expected) > 400
    for spec in expected:
        assert spec.name in topics, spec.name
        assert topics[spec.name]["partitions"] == spec.partitions, spec.name
        assert topics[spec.name]["config"]["retention.ms"] == str(spec.retention_ms)
        assert topics[spec.name]["replicas"] == CLUSTER_REPLICATION.factor, spec.name
        assert topics[spec.name]["config"]["min.insync.replicas"] == str(
            CLUSTER_REPLICATION.min_insync
        )


def test_strimzi_cluster_has_the_registry_replication() -> None:
    docs = {d["kind"]: d for d in documents(DEPLOY / "kubernetes" / "kafka" / "kafka.yaml")}
    assert docs["KafkaNodePool"]["spec"]["replicas"] == CLUSTER_REPLICATION.factor == 3
    assert set(docs["KafkaNodePool"]["spec"]["roles"]) == {"controller", "broker"}
    config = docs["Kafka"]["spec"]["kafka"]["config"]
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert config[key] == CLUSTER_REPLICATION.factor, key
    for key in ("min.insync.replicas", "transaction.state.log.min.isr"):
        assert config[key] == CLUSTER_REPLICATION.min_insync == 2, key
    assert config["unclean.leader.election.enable"] is False


def test_compose_runs_the_same_cluster() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    brokers = {
        name: service["environment"]
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("apache/kafka:")
    }
    assert len(brokers) == CLUSTER_REPLICATION.factor
    addresses = {f"{name}:9092" for name in brokers}
    voters = {f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in brokers.items()}
    for name, env in brokers.items():
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"BROKER://{name}:9092"
        protocols = dict(
            pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        assert set(protocols.values()) == {"SASL_PLAINTEXT"}, name
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert env["KAFKA_SUPER_USERS"] == "User:buursignaal-admin"
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == str(CLUSTER_REPLICATION.factor)
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == str(CLUSTER_REPLICATION.factor)
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == str(CLUSTER_REPLICATION.min_insync)
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == str(CLUSTER_REPLICATION.min_insync)
    assert len({env["CLUSTER_ID"] for env in brokers.values()}) == 1
    for service in SETTINGS:
        environment = compose["services"][service]["environment"]
        assert set(environment["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == addresses, service
        assert set(compose["services"][service]["depends_on"]) >= set(brokers), service


def test_producers_wait_for_the_in_sync_replicas_and_are_idempotent() -> None:
    """acks=all is what makes min.insync.replicas=2 mean "two brokers have it"."""
    assert producer_options()["acks"] == "all"
    assert producer_options()["enable_idempotence"] is True


def test_each_authority_reads_only_its_own_topic_and_writes_only_status() -> None:
    users = documents(DEPLOY / "kubernetes" / "kafka" / "users.yaml")
    assert {u["metadata"]["name"] for u in users} >= {"authority-gm0453", "authority-od-odnzkg"}
    for user in (u for u in users if u["metadata"]["name"].startswith("authority-")):
        recipient = user["metadata"]["name"].removeprefix("authority-")
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        acls = user["spec"]["authorization"]["acls"]
        topics = {
            (a["resource"]["name"], op)
            for a in acls
            if a["resource"]["type"] == "topic"
            for op in a["operations"]
        }
        reads = {name for name, op in topics if op == "Read"}
        writes = {name for name, op in topics if op == "Write"}
        assert reads == {delivery_topic(recipient).name}
        assert writes == {LEG_STATUS_REPORTED.name}


def environment_of(service: str) -> set[str]:
    """Every variable the deployment files give ``service``."""
    names: set[str] = set()
    for doc in documents(DEPLOY / "kubernetes" / "services.yaml"):
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == service:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                names |= {e["name"] for e in container["env"]}
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    names |= set(compose["services"][service]["environment"])
    return names


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_environment_variable_is_a_setting(service: str) -> None:
    fields = set(SETTINGS[service].model_fields)
    prefix = f"BUURSIGNAAL_{service.upper()}_"
    variables = environment_of(service)
    assert variables, service
    for name in variables - SHARED_VARIABLES:
        assert name.startswith(prefix), name
        assert name.removeprefix(prefix).lower() in fields, f"{name} is not a {service} setting"


def test_deployments_have_probes_resources_and_autoscaling() -> None:
    docs = documents(DEPLOY / "kubernetes" / "services.yaml")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    autoscaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert {d["metadata"]["name"] for d in deployments} == set(SETTINGS) == autoscaled
    for deployment in deployments:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["requests"]["cpu"]
        assert container["args"] == [deployment["metadata"]["name"]]
        secret_refs = [e for e in container["env"] if "valueFrom" in e]
        assert any(e["name"] == "BUURSIGNAAL_SECRET_KEY" for e in secret_refs)


def test_the_image_builds_from_files_that_exist() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not another stage's files
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
    assert re.search(r'ENTRYPOINT \["buursignaal", "serve"\]', dockerfile)


def test_prometheus_scrapes_every_service_and_the_broker() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) >= {*SETTINGS, "kafka"}
    for service, settings in SETTINGS.items():
        port = settings.model_fields["http_port"].default
        assert jobs[service]["static_configs"][0]["targets"] == [f"{service}:{port}"]


def _topic_operations(user: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (acl["resource"]["name"], acl["resource"]["patternType"], operation)
        for acl in user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic"
        for operation in acl["operations"]
    }


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_has_a_user_with_what_the_registry_gives_it(service: str) -> None:
    """Write where the registry names it a producer, Read where a consumer, nothing more."""
    users = {
        u["metadata"]["name"]: u for u in documents(DEPLOY / "kubernetes" / "kafka" / "users.yaml")
    }
    user = users[f"buursignaal-{service}"]
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    operations = _topic_operations(user)
    literal = {(name, op) for name, pattern, op in operations if pattern == "literal"}
    for spec in all_static_topics():
        assert ((spec.name, "Write") in literal) == (service in spec.producers), spec.name
        assert ((spec.name, "Read") in literal) == (service in spec.consumers), spec.name
    prefixed = {(name, op) for name, pattern, op in operations if pattern == "prefix"}
    delivery = delivery_topic("gm0453")
    assert (("buursignaal.delivery.", "Write") in prefixed) == (service in delivery.producers)
    assert (("buursignaal.delivery.", "Read") in prefixed) == (service in delivery.consumers)
    assert not any(op in {"Read", "Write"} and name == "buursignaal." for name, op in prefixed)
    groups = [a for a in user["spec"]["authorization"]["acls"] if a["resource"]["type"] == "group"]
    assert [g["resource"]["name"] for g in groups] == [f"{service}."]


def test_the_cluster_has_no_listener_without_authentication_and_one_super_user() -> None:
    docs = {d["kind"]: d for d in documents(DEPLOY / "kubernetes" / "kafka" / "kafka.yaml")}
    kafka_spec = docs["Kafka"]["spec"]["kafka"]
    for listener in kafka_spec["listeners"]:
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
    assert kafka_spec["authorization"]["superUsers"] == ["User:buursignaal-admin"]
    for service in SETTINGS:
        names = environment_of(service)
        prefix = f"BUURSIGNAAL_{service.upper()}_KAFKA_"
        assert {prefix + "USERNAME", prefix + "PASSWORD"} <= names, service
