"""Who may do what on Kafka, from the topic registry (ADR 0018).

Every service and every authority is a principal of its own (SASL/SCRAM-SHA-512 user):

- a service (``buursignaal-intake``, ``-router``, ``-notifier``) writes the topics whose
  ``producers`` name it and reads those whose ``consumers`` name it (dead letter topics
  included: their producers are the consumers of the topic they serve), reads with its consumer
  groups (``<service>.<topic>``), and may see the metadata of every ``buursignaal.*`` topic (the
  registry is public; reading is not);
- an authority (``authority-<recipient id>``) reads only its own delivery topic with its own
  groups (``authority-<recipient id>*``) and writes only the status-reported topic;
- the tooling principal ``buursignaal-admin`` is the broker's super user (creates topics, sets
  ACLs and SCRAM credentials, replays dead letters).

The same list makes the local broker's ACLs (``tools.local.kafka``), compose's (`deploy/compose`)
and the Strimzi ``KafkaUser``s (``tools.deployment``), so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from schemas.topics import LEG_STATUS_REPORTED, PREFIX, all_static_topics, delivery_topic

ADMIN = "buursignaal-admin"
SERVICES = ("intake", "router", "notifier")
DELIVERY_PREFIX = f"{PREFIX}.delivery."

ResourceType = Literal["topic", "group", "cluster"]
PatternType = Literal["literal", "prefix"]


@dataclass(frozen=True)
class Acl:
    """Allow ``operations`` (Kafka's names: Read, Write, Describe, Create, IdempotentWrite) on
    one resource, named literally or by prefix."""

    resource_type: ResourceType
    name: str
    pattern: PatternType
    operations: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    name: str
    acls: tuple[Acl, ...]

    @property
    def user(self) -> str:
        return f"User:{self.name}"


def service_user(service: str) -> str:
    return f"buursignaal-{service}"


def authority_user(recipient_id: str) -> str:
    return f"authority-{recipient_id}"


def _topic(name: str, pattern: PatternType, *operations: str) -> Acl:
    return Acl("topic", name, pattern, operations)


def service_principal(service: str) -> Principal:
    if service not in SERVICES:
        raise ValueError(f"{service!r} is not a service ({', '.join(SERVICES)})")
    acls: list[Acl] = [_topic(f"{PREFIX}.", "prefix", "Describe")]
    for spec in all_static_topics():
        operations = []
        if service in spec.producers:
            operations += ["Write"]
        if service in spec.consumers:
            operations += ["Read"]
        if operations:
            acls.append(_topic(spec.name, "literal", *operations, "Create"))
    sample = delivery_topic("gm0000")  # every delivery topic has the same producers/consumers
    delivery = [
        *(["Write", "Create"] if service in sample.producers else []),
        *(["Read"] if service in sample.consumers else []),
    ]
    if delivery:
        acls.append(_topic(DELIVERY_PREFIX, "prefix", *delivery))
    acls.append(Acl("group", f"{service}.", "prefix", ("Read",)))
    acls.append(Acl("cluster", "kafka-cluster", "literal", ("IdempotentWrite",)))
    return Principal(service_user(service), tuple(acls))


def authority_principal(recipient_id: str) -> Principal:
    name = authority_user(recipient_id)
    return Principal(
        name,
        (
            _topic(delivery_topic(recipient_id).name, "literal", "Read", "Describe"),
            Acl("group", name, "prefix", ("Read",)),
            _topic(LEG_STATUS_REPORTED.name, "literal", "Write", "Describe"),
        ),
    )


def principals(recipient_ids: Iterable[str]) -> list[Principal]:
    """Every principal but the admin (a super user without ACLs): services, then authorities."""
    return [
        *(service_principal(service) for service in SERVICES),
        *(authority_principal(recipient) for recipient in recipient_ids),
    ]
