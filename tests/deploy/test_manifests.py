"""The deployment files agree with the code: topics, partitions and replication with the
registry, every environment variable with a setting, the image's build context with the tree."""

from __future__ import annotations

import json
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
from tools.deployment import (
    KEYCLOAK_MANIFEST,
    PRODUCTION_REALM,
    REALM_EXPORT,
    production_realm,
    recipient_ids,
    render,
)
from tools.local.keycloak import CLIENT_ID, LOCAL_CLIENT_SECRET, REALM
from tools.local.keycloak import version as keycloak_version

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
    rendered = render(SHARED)
    assert set(rendered) >= {
        "kubernetes/kafka/topics.yaml",
        "kubernetes/kafka/users.yaml",
        PRODUCTION_REALM,
        KEYCLOAK_MANIFEST,
    }
    for name, text in rendered.items():
        path = DEPLOY / name
        assert path.exists(), f"{name} is missing: run `buursignaal deploy render`"
        assert path.read_text() == text, f"{name} is stale: run `buursignaal deploy render`"


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


def _env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def keycloak_in_kubernetes() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The Keycloak container of ``keycloak.yaml`` and its environment."""
    docs = documents(DEPLOY / KEYCLOAK_MANIFEST)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "keycloak"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container, _env_of(container)


def notifier_in_kubernetes() -> dict[str, dict[str, Any]]:
    (deployment,) = [
        d
        for d in documents(DEPLOY / "kubernetes" / "services.yaml")
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "notifier"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return _env_of(container)


def test_the_production_realm_is_the_local_one_without_people_or_local_addresses() -> None:
    local = json.loads(REALM_EXPORT.read_text())
    deployed = json.loads((DEPLOY / PRODUCTION_REALM).read_text())
    assert deployed == production_realm(local)
    assert "users" not in deployed, "no example people (nor their passwords)"
    text = json.dumps(deployed)
    for local_only in ("127.0.0.1", "localhost", LOCAL_CLIENT_SECRET, "local-password"):
        assert local_only not in text, local_only
    for same in ("realm", "roles", "groups", "sslRequired", "ssoSessionIdleTimeout"):
        assert deployed[same] == local[same], same
    (client,) = deployed["clients"]
    (local_client,) = local["clients"]
    assert client["clientId"] == CLIENT_ID
    assert client["secret"] == "${NOTIFIER_CLIENT_SECRET}", "from Keycloak's environment"
    assert client["redirectUris"] == ["${NOTIFIER_PUBLIC_URL}/inbox/auth"]
    assert client["attributes"]["backchannel.logout.url"] == (
        "${NOTIFIER_INTERNAL_URL}/inbox/backchannel-logout"
    )
    assert client["protocolMappers"] == local_client["protocolMappers"], "the same claims"
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"


def test_keycloak_runs_in_kubernetes_with_its_realm_and_secrets_from_references() -> None:
    docs = {d["kind"]: d for d in documents(DEPLOY / KEYCLOAK_MANIFEST)}
    assert set(docs) == {"ConfigMap", "Deployment", "Service"}
    realm = (DEPLOY / PRODUCTION_REALM).read_text()
    assert docs["ConfigMap"]["data"] == {"buursignaal-realm.json": realm}
    container, env = keycloak_in_kubernetes()
    assert container["image"] == f"quay.io/keycloak/keycloak:{keycloak_version()}"
    assert container["args"] == ["start", "--import-realm"], "production mode, realm once"
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/opt/keycloak/data/import"
    volumes = docs["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": mount["name"], "configMap": {"name": "keycloak-realm"}}]
    assert env["KC_DB"]["value"] == "postgres"
    assert env["KC_DB_URL"]["value"].endswith("/keycloak")
    for secret in ("KC_DB_USERNAME", "KC_DB_PASSWORD", "KC_BOOTSTRAP_ADMIN_PASSWORD",
                   "NOTIFIER_CLIENT_SECRET"):  # fmt: skip
        assert "value" not in env[secret], f"{secret} is a secret reference"
        assert env[secret]["valueFrom"]["secretKeyRef"]["name"], secret
    assert env["KC_HOSTNAME"]["value"].startswith("https://")
    assert env["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"]["value"] == "true"
    for probe, path in (("startupProbe", "/health/started"), ("readinessProbe", "/health/ready"),
                        ("livenessProbe", "/health/live")):  # fmt: skip
        assert container[probe]["httpGet"] == {"path": path, "port": "management"}
    assert env["KC_HEALTH_ENABLED"]["value"] == "true"
    assert container["resources"]["requests"]["memory"]
    postgres = (DEPLOY / "kubernetes" / "postgres.yaml").read_text()
    assert "CREATE DATABASE keycloak OWNER buursignaal" in postgres
    service = docs["Service"]["spec"]
    assert service["selector"] == {"app": "keycloak"}
    assert [p["port"] for p in service["ports"]] == [int(env["KC_HTTP_PORT"]["value"])]


def test_the_notifier_in_kubernetes_signs_in_with_that_keycloak() -> None:
    _, keycloak = keycloak_in_kubernetes()
    notifier = notifier_in_kubernetes()
    public = keycloak["KC_HOSTNAME"]["value"]
    assert notifier["BUURSIGNAAL_NOTIFIER_OIDC_ISSUER"]["value"] == f"{public}/realms/{REALM}"
    port = keycloak["KC_HTTP_PORT"]["value"]
    assert notifier["BUURSIGNAAL_NOTIFIER_OIDC_METADATA_URL"]["value"] == (
        f"http://keycloak:{port}/realms/{REALM}/.well-known/openid-configuration"
    ), "inside the cluster, through the Service"
    assert notifier["BUURSIGNAAL_NOTIFIER_OIDC_CLIENT_ID"]["value"] == CLIENT_ID
    secret = notifier["BUURSIGNAAL_NOTIFIER_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert secret == keycloak["NOTIFIER_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"], (
        "the notifier and the realm import read the same secret"
    )
    assert (
        keycloak["NOTIFIER_PUBLIC_URL"]["value"]
        == (notifier["BUURSIGNAAL_NOTIFIER_PUBLIC_BASE_URL"]["value"])
    ), "the client's redirect URIs are the notifier's pages"
    notifier_port = NotifierSettings.model_fields["http_port"].default
    assert keycloak["NOTIFIER_INTERNAL_URL"]["value"] == f"http://notifier:{notifier_port}"
    template = next(
        d
        for d in documents(DEPLOY / "kubernetes" / "services.yaml")
        if d["kind"] == "Secret" and d["metadata"]["name"] == "buursignaal"
    )
    for ref in (secret, keycloak["KC_BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]):
        assert template["stringData"][ref["key"]] == "CHANGE-ME", ref


def test_compose_runs_keycloak_for_the_notifier() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    service = compose["services"]["keycloak"]
    assert service["image"] == f"quay.io/keycloak/keycloak:{keycloak_version()}"
    assert service["command"] == ["start", "--import-realm"]
    (volume,) = service["volumes"]
    source, target, mode = volume.split(":")
    assert (DEPLOY / "compose" / source).resolve() == (DEPLOY / PRODUCTION_REALM).parent
    assert (target, mode) == ("/opt/keycloak/data/import", "ro")
    env = service["environment"]
    assert env["KC_DB"] == "postgres"
    database = env["KC_DB_URL"].rsplit("/", 1)[1]
    assert database in compose["services"]["postgres"]["environment"][
        "POSTGRES_MULTIPLE_DATABASES"
    ].split(",")
    for secret in ("KC_DB_PASSWORD", "KC_BOOTSTRAP_ADMIN_PASSWORD", "NOTIFIER_CLIENT_SECRET"):
        written = re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]+)?\}", env[secret])
        assert written, f"{secret} comes from the environment, it is not written here"
    notifier = compose["services"]["notifier"]
    assert "keycloak" in notifier["depends_on"]
    notifier_env = notifier["environment"]
    issuer = notifier_env["BUURSIGNAAL_NOTIFIER_OIDC_ISSUER"]
    assert issuer == f"{env['KC_HOSTNAME']}/realms/{REALM}", "as browsers reach it"
    assert notifier_env["BUURSIGNAAL_NOTIFIER_OIDC_METADATA_URL"] == (
        f"http://keycloak:8080/realms/{REALM}/.well-known/openid-configuration"
    )
    assert env["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"] == "true", "so the notifier's calls stay inside"
    variable = re.compile(r"\$\{([A-Z_]+)")
    assert variable.findall(notifier_env["BUURSIGNAAL_NOTIFIER_OIDC_CLIENT_SECRET"]) == (
        variable.findall(env["NOTIFIER_CLIENT_SECRET"])
    ), "one secret for the realm and the notifier"
    assert variable.findall(env["NOTIFIER_PUBLIC_URL"]) == variable.findall(
        notifier_env["BUURSIGNAAL_NOTIFIER_PUBLIC_BASE_URL"]
    )
    port = NotifierSettings.model_fields["http_port"].default
    assert env["NOTIFIER_INTERNAL_URL"] == f"http://notifier:{port}"
