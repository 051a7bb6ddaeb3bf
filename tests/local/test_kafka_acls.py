"""Kafka with authentication (ADR 0018), through a real broker with SASL/SCRAM-SHA-512 and the
KRaft ``StandardAuthorizer``: each principal does only what the topic registry gives it, a
client without credentials gets nowhere, and a status report the authority it names did not
sign is dead-lettered with the reason."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from schemas.cloudevents import decode, headers_for
from schemas.leg import Actor, ActorKind, LegStatus, LegStatusChanged, LegStatusReported
from schemas.routing import Role
from schemas.topics import (
    LEG_STATUS,
    LEG_STATUS_REPORTED,
    REPORT_RECEIVED,
    all_static_topics,
    delivery_topic,
)
from services.runtime.broker import KafkaCredentials, client_options, ensure_topics
from services.runtime.status_signature import SIGNATURE_HEADER, signature, status_key
from tests.support.deliveries import publish_delivery
from tests.support.factories import NOW
from tests.support.kafka import Record, consume_until, headers_of, throwaway_cluster
from tests.support.processes import cli, service_process
from tools.kafka_principals import ADMIN, authority_user, service_user
from tools.local import kafka
from tools.local.postgres import free_port
from tools.local.topics import prepare

pytestmark = pytest.mark.kafka
A, B = "od-alfa", "od-beta"
SECRET = "kafka-acl-test-secret-0123456789abcdef"
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "authority" / "consumer.py"
DEAD_LETTERS = str(LEG_STATUS_REPORTED.dead_letter)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kafka.BrokerConfig]:
    """One broker with authentication, principals for the services and authorities A and B,
    the registry's topics made by the admin."""
    with throwaway_cluster(
        tmp_path_factory.mktemp("secured"), 1, authentication=True, authorities=(A, B)
    ) as config:
        asyncio.run(prepare(config.bootstrap_servers, credentials=as_(config, ADMIN)))
        yield config


def as_(config: kafka.BrokerConfig, principal: str) -> KafkaCredentials:
    return kafka.credentials(config, principal)


async def first_record(config: kafka.BrokerConfig, principal: str, topic: str) -> object:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=config.bootstrap_servers,
        group_id=f"{principal.removeprefix('buursignaal-')}.test",  # a group of its own
        auto_offset_reset="earliest",
        **client_options(as_(config, principal)),
    )
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), timeout=20)
    finally:
        await consumer.stop()


async def send(config: kafka.BrokerConfig, principal: str | None, topic: str) -> None:
    credentials = None if principal is None else as_(config, principal)
    await produce_as(config.bootstrap_servers, credentials, topic)


async def test_an_authority_reads_its_own_delivery_topic_and_not_another(
    secured: kafka.BrokerConfig,
) -> None:
    router = as_(secured, service_user("router"))
    for recipient in (A, B):
        await publish_delivery(
            secured.bootstrap_servers, recipient, Role.EXECUTING_BODY, source="/router",
            credentials=router,
        )  # fmt: skip
    own = await first_record(secured, authority_user(A), delivery_topic(A).name)
    assert own is not None
    with pytest.raises(TopicAuthorizationFailedError):
        await first_record(secured, authority_user(A), delivery_topic(B).name)


async def test_an_authority_writes_status_reports_and_not_reports(
    secured: kafka.BrokerConfig,
) -> None:
    await send(secured, authority_user(A), LEG_STATUS_REPORTED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured, authority_user(A), REPORT_RECEIVED.name)


async def test_services_have_only_what_the_registry_gives_them(
    secured: kafka.BrokerConfig,
) -> None:
    await send(secured, service_user("intake"), REPORT_RECEIVED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(secured, service_user("notifier"), REPORT_RECEIVED.name)
    with pytest.raises(TopicAuthorizationFailedError):
        await first_record(secured, service_user("intake"), delivery_topic(A).name)


async def test_a_new_authority_gets_its_principal_on_the_running_broker(
    secured: kafka.BrokerConfig,
) -> None:
    """``kafka up`` on a running broker adds the SCRAM users it lacks (AlterUserScramCredentials)
    and their ACLs."""
    gamma = "od-gamma"
    await asyncio.to_thread(kafka.up, replace(secured, authorities=(A, B, gamma)))
    await publish_delivery(
        secured.bootstrap_servers, gamma, Role.EXECUTING_BODY, source="/router",
        credentials=as_(secured, service_user("router")),
    )  # fmt: skip
    assert await first_record(secured, authority_user(gamma), delivery_topic(gamma).name)
    with pytest.raises(TopicAuthorizationFailedError):
        await first_record(secured, authority_user(gamma), delivery_topic(A).name)


async def test_a_client_without_credentials_cannot_connect(secured: kafka.BrokerConfig) -> None:
    with pytest.raises(KafkaError):
        await asyncio.wait_for(send(secured, None, LEG_STATUS_REPORTED.name), timeout=30)
    wrong = KafkaCredentials(service_user("intake"), "not-the-password")
    with pytest.raises(KafkaError):
        await ensure_topics(secured.bootstrap_servers, all_static_topics(), credentials=wrong)


def forged_status(
    report_id: uuid.UUID, recipient: str, key: bytes | None
) -> tuple[bytes, dict[str, str]]:
    event = LegStatusReported(
        report_id=report_id,
        recipient_id=recipient,
        status=LegStatus.ACKNOWLEDGED,
        actor=Actor(kind=ActorKind.AUTHORITY, actor_id=recipient),
        occurred_at=NOW,
    )
    headers = headers_for(event, source=f"/authority/{recipient}")
    body = event.model_dump_json().encode()
    if key is not None:
        headers[SIGNATURE_HEADER] = signature(key, headers["ce_id"], body)
    return body, headers


async def test_the_pipeline_with_authentication_refuses_a_status_not_signed_by_its_authority(
    secured: kafka.BrokerConfig, tmp_path: Path
) -> None:
    """The notifier (its own principal) opens B's leg from a delivery the router's principal
    wrote; B's own system (the example client, B's credentials and status key) acknowledges it
    and the notifier records that; A's answer for B's leg, signed with A's key, and an unsigned
    one are dead-lettered with the reason."""
    notifier = as_(secured, service_user("notifier"))
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": secured.bootstrap_servers,
        "BUURSIGNAAL_ENVIRONMENT": "test",
        "BUURSIGNAAL_SECRET_KEY": SECRET,
        "BUURSIGNAAL_NOTIFIER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite'}",
        "BUURSIGNAAL_NOTIFIER_INTERNAL_API_TOKEN": "acl-test-token",
        "BUURSIGNAAL_NOTIFIER_KAFKA_USERNAME": notifier.username,
        "BUURSIGNAAL_NOTIFIER_KAFKA_PASSWORD": notifier.password,
    }
    delivery = await publish_delivery(  # before the notifier: its pattern finds the topic
        secured.bootstrap_servers, B, Role.EXECUTING_BODY, source="/router",
        credentials=as_(secured, service_user("router")),
    )  # fmt: skip
    admin = as_(secured, ADMIN)

    def status_is(status: LegStatus) -> Callable[[list[Record]], bool]:
        def holds(records: list[Record]) -> bool:
            events = [decode(headers_of(record), record.value or b"")[1] for record in records]
            return any(
                isinstance(event, LegStatusChanged)
                and event.report_id == delivery.report_id
                and event.status is status
                for event in events
            )

        return holds

    with service_process("notifier", env, free_port(), tmp_path / "notifier.log"):
        await consume_until(secured.bootstrap_servers, LEG_STATUS.name,
                            status_is(LegStatus.DELIVERED), credentials=admin)  # fmt: skip
        b = as_(secured, authority_user(B))
        example = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLE), "--recipient", B,
            "--bootstrap", secured.bootstrap_servers, "--username", b.username,
            "--security-protocol", "SASL_PLAINTEXT", "--limit", "1",
            env={**os.environ, "KAFKA_PASSWORD": b.password,
                 "BUURSIGNAAL_STATUS_KEY": status_key(SECRET, B).hex()},
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, _ = await asyncio.wait_for(example.communicate(), timeout=60)
        assert example.returncode == 0
        assert str(delivery.report_id) in stdout.decode()
        await consume_until(secured.bootstrap_servers, LEG_STATUS.name,
                            status_is(LegStatus.ACKNOWLEDGED), credentials=admin)  # fmt: skip

        producer = AIOKafkaProducer(
            bootstrap_servers=secured.bootstrap_servers,
            **client_options(as_(secured, authority_user(A))),
        )
        await producer.start()
        try:
            for key in (status_key(SECRET, A), None):
                body, headers = forged_status(delivery.report_id, B, key)
                await producer.send_and_wait(
                    LEG_STATUS_REPORTED.name, body, key=str(delivery.report_id).encode(),
                    headers=[(k, v.encode()) for k, v in headers.items()],
                )  # fmt: skip
        finally:
            await producer.stop()
        mine = str(delivery.report_id).encode()
        dead = await consume_until(
            secured.bootstrap_servers, DEAD_LETTERS,
            lambda rs: len([r for r in rs if r.key == mine]) >= 2, credentials=admin,
        )  # fmt: skip
    reasons = sorted(headers_of(r)["x-deadletter-reason"] for r in dead if r.key == mine)
    assert reasons == [
        f"unprocessable: status report for {B} is not signed ({SIGNATURE_HEADER} missing)",
        f"unprocessable: status report for {B} is not signed with {B}'s key",
    ]


COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "compose.yaml"
SECURITY_KEYS = ("SASL", "LISTENER", "AUTHORIZER", "ALLOW_EVERYONE", "SUPER_USERS")


def compose_security(port: int, controller_port: int, admin_password: str) -> dict[str, str]:
    """Compose's broker security settings as properties (the apache/kafka image's names:
    ``KAFKA_`` dropped, ``___`` -> ``-``, ``__`` -> ``_``, ``_`` -> ``.``), on local ports."""
    environment = yaml.safe_load(COMPOSE.read_text())["services"]["kafka-1"]["environment"]
    properties = {}
    for name, value in environment.items():
        if name.startswith("KAFKA_") and any(key in name for key in SECURITY_KEYS):
            key = name.removeprefix("KAFKA_").replace("___", "-").replace("__", "\0")
            key = key.replace("_", ".").replace("\0", "_").lower()
            properties[key] = re.sub(r"\$\{KAFKA_ADMIN_PASSWORD[^}]*\}", admin_password, value)
    properties["listeners"] = f"BROKER://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
    properties["advertised.listeners"] = f"BROKER://127.0.0.1:{port}"
    return properties


def test_compose_brokers_with_kafka_provision_give_each_service_its_rights(
    tmp_path: Path,
) -> None:
    """Compose's broker settings on the local jars: nothing without the admin, then
    ``buursignaal kafka provision`` (as compose's one-shot runs it) gives the services their
    SCRAM users and ACLs."""
    port, controller_port, password = free_port(), free_port(), "compose-admin-password"
    config = kafka.BrokerConfig(
        data_dir=tmp_path / "kafka",
        port=port,
        controller_port=controller_port,
        extra_properties=tuple(compose_security(port, controller_port, password).items()),
    )
    kafka.up(config)
    try:
        intake = KafkaCredentials(service_user("intake"), "intake-password")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": config.bootstrap_servers,
            "BUURSIGNAAL_KAFKA_USERNAME": ADMIN,
            "BUURSIGNAAL_KAFKA_PASSWORD": password,
            "BUURSIGNAAL_KAFKA_SASL_MECHANISM": "PLAIN",
            "BUURSIGNAAL_INTAKE_KAFKA_PASSWORD": intake.password,
        }
        with pytest.raises(KafkaError):  # no SCRAM user yet
            asyncio.run(produce_as(config.bootstrap_servers, intake, REPORT_RECEIVED.name))
        provisioned = cli("kafka", "provision", env=env)
        assert provisioned.returncode == 0, provisioned.stderr
        admin = KafkaCredentials(ADMIN, password, mechanism="PLAIN")
        asyncio.run(prepare(config.bootstrap_servers, credentials=admin))
        asyncio.run(produce_as(config.bootstrap_servers, intake, REPORT_RECEIVED.name))
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(produce_as(config.bootstrap_servers, intake, LEG_STATUS.name))
    finally:
        kafka.down(config, wipe=True)


async def produce_as(bootstrap: str, credentials: KafkaCredentials | None, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **client_options(credentials)
    )
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"{}", key=b"k")
    finally:
        await producer.stop()


def test_a_cluster_of_three_replicates_with_authentication(tmp_path: Path) -> None:
    """Every node formatted with the same SCRAM users; followers fetch with the admin's SCRAM
    credentials, so a write with acks=all (two in sync of three) succeeds."""
    with throwaway_cluster(tmp_path, 3, authentication=True) as config:
        asyncio.run(prepare(config.bootstrap_servers, credentials=as_(config, ADMIN)))
        intake = as_(config, service_user("intake"))
        asyncio.run(produce_as(config.bootstrap_servers, intake, REPORT_RECEIVED.name))
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(produce_as(config.bootstrap_servers, intake, LEG_STATUS.name))
