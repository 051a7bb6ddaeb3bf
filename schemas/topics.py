"""The topic registry: every Kafka topic, who writes it, who reads it, and where bad events go.

Topics are created from this registry (``services.runtime.broker.ensure_topics``) with explicit
partitions and retention; the broker never creates a topic by accident.  Each recipient has a
delivery topic of its own, named from its recipient id by ``delivery_topic``.

Replication follows the cluster (ADR 0012): on three or more brokers every topic has three
replicas and takes a write once two of them have it (``min.insync.replicas=2``, producers send
with ``acks=all``), so one broker can be lost without losing an acknowledged record or refusing
writes; a single local broker has one replica of everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from schemas._base import Event
from schemas.case import CaseUpdated
from schemas.incident import ComplaintWave, IncidentUpdated
from schemas.leg import EscalationRaised, LegStatusChanged, LegStatusReported
from schemas.pattern import DigestPublished, PatternDetected
from schemas.process import ProcessFigures
from schemas.report import ReportCorrected, ReportReceived
from schemas.routing import (
    RECIPIENT_ID_PATTERN,
    ReportDelivered,
    ReportUnroutable,
    RoutingDecided,
    TriageRequested,
)

PREFIX = "buursignaal"
DEAD_LETTER_RETENTION = timedelta(days=30)
_VERSIONED = re.compile(r"^[a-z0-9.-]+\.v\d+$")


@dataclass(frozen=True)
class Replication:
    """How many copies of each partition, and how many must have a record before it counts."""

    factor: int
    min_insync: int

    def topic_configs(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync)}


CLUSTER_REPLICATION = Replication(factor=3, min_insync=2)
"""Every deployment (Strimzi, compose) and the local three-broker cluster."""
SINGLE_BROKER_REPLICATION = Replication(factor=1, min_insync=1)
"""The local single broker of development and most tests."""


def replication_for(brokers: int) -> Replication:
    """The replication a cluster of ``brokers`` brokers gives its topics (and internal topics)."""
    if brokers >= CLUSTER_REPLICATION.factor:
        return CLUSTER_REPLICATION
    if brokers <= 1:
        return SINGLE_BROKER_REPLICATION
    return Replication(factor=brokers, min_insync=brokers - 1)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    event: type[Event] | None
    key: str
    partitions: int
    retention: timedelta | None
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    dead_letter: str | None = None
    description: str = ""
    configs: dict[str, str] = field(default_factory=dict)
    also_carries: tuple[type[Event], ...] = ()
    """Other event types on the topic (the notifier's ``case.updated`` on delivery topics)."""

    def __post_init__(self) -> None:
        if not _VERSIONED.match(self.name):
            raise ValueError(f"topic {self.name!r} must end with a version suffix like '.v1'")
        if self.partitions < 1:
            raise ValueError(f"topic {self.name!r} needs at least one partition")

    @property
    def retention_ms(self) -> int:
        return -1 if self.retention is None else int(self.retention.total_seconds() * 1000)

    def topic_configs(self, replication: Replication | None = None) -> dict[str, str]:
        """The topic's settings, with ``min.insync.replicas`` when a replication is given."""
        extra = replication.topic_configs() if replication is not None else {}
        return {"retention.ms": str(self.retention_ms), **self.configs, **extra}


def _dead_letter_name(topic: str) -> str:
    return topic.replace(f"{PREFIX}.", f"{PREFIX}.deadletter.", 1)


_SERVICES = frozenset({"intake", "router", "notifier"})
_YEAR = timedelta(days=365)


def _event_topic(
    name: str,
    event: type[Event],
    partitions: int,
    retention: timedelta | None,
    producer: str,
    consumers: tuple[str, ...],
    description: str,
    key: str = "report_id",
) -> TopicSpec:
    """A topic of the registry: ``buursignaal.<name>.v1``, written by one producer.

    A topic that one of the services consumes has a dead letter topic (its consumers put the
    events they cannot process there); a topic only others read has none.
    """
    full_name = f"{PREFIX}.{name}.v1"
    return TopicSpec(
        name=full_name,
        event=event,
        key=key,
        partitions=partitions,
        retention=retention,
        producers=(producer,),
        consumers=consumers,
        dead_letter=_dead_letter_name(full_name) if _SERVICES & set(consumers) else None,
        description=description,
    )


# name, event, partitions, retention, producer, consumers, description (and key if not the report)
REPORT_RECEIVED = _event_topic(
    "report.received",
    ReportReceived,
    6,
    _YEAR,
    "intake",
    ("router", "notifier"),
    "Reports accepted by intake (from its outbox).",
)
REPORT_CORRECTED = _event_topic(
    "report.corrected",
    ReportCorrected,
    6,
    _YEAR,
    "intake",
    ("router",),
    "Corrections of a report's location or category (the router decides again).",
)
ROUTING_DECIDED = _event_topic(
    "routing.decided",
    RoutingDecided,
    6,
    None,
    "router",
    ("intake", "notifier"),
    "Audit trail: every routing decision, complete, kept forever.",
)
REPORT_UNROUTABLE = _event_topic(
    "report.unroutable",
    ReportUnroutable,
    1,
    None,
    "router",
    ("intake",),
    "Reports no recipient can take (e.g. a point outside the Netherlands).",
)
ROUTING_TRIAGE = _event_topic(
    "routing.triage",
    TriageRequested,
    1,
    None,
    "router",
    ("triage desk",),
    "Reports a human must route: repeated 'not ours' or rules that cannot decide.",
)
LEG_STATUS_REPORTED = _event_topic(
    "leg.status-reported",
    LegStatusReported,
    6,
    _YEAR,
    "authority systems",
    ("notifier",),
    "Authorities' systems report the status of their legs here (Kafka route).",
)
LEG_STATUS = _event_topic(
    "leg.status",
    LegStatusChanged,
    6,
    _YEAR,
    "notifier",
    ("router", "intake"),
    "Status changes of legs as recorded by the notifier (after its checks).",
)
ESCALATION = _event_topic(
    "leg.escalated",
    EscalationRaised,
    3,
    None,
    "notifier",
    ("authority systems",),
    "Every rung of the escalation ladder that fired, with its reason (not for the national "
    "table: it reads per-body figures, never a single report).",
)
PATTERN_DETECTED = _event_topic(
    "pattern.detected",
    PatternDetected,
    1,
    None,
    "notifier",
    ("national table", "authority systems"),
    "Bursts, space-time clusters and recurring problems near facilities.",
    key="pattern_id",
)
DIGEST_PUBLISHED = _event_topic(
    "digest.published",
    DigestPublished,
    1,
    None,
    "notifier",
    ("national table",),
    "The national table's periodic digest.",
    key="digest_id",
)
PROCESS_FIGURES = _event_topic(
    "process.figures",
    ProcessFigures,
    1,
    None,
    "notifier",
    ("national table",),
    "Per body and period: answered on time, median times, overdue legs, rungs reached.",
    key="figures_id",
)
INCIDENT = _event_topic(
    "incident.updated",
    IncidentUpdated,
    3,
    _YEAR,
    "notifier",
    ("authority systems",),
    "Incidents (voorvallen) of executing bodies: counts, time line, wind; after every change.",
    key="incident_id",
)
COMPLAINT_WAVE = _event_topic(
    "incident.wave",
    ComplaintWave,
    1,
    None,
    "notifier",
    ("authority systems",),
    "A complaint wave in one incident, for the competent authority and the safety region.",
    key="incident_id",
)
NATIONAL_TABLE_READS = "national table"
"""The consumer name of the national table in the registry: its topics carry no report."""

TOPICS: tuple[TopicSpec, ...] = (
    REPORT_RECEIVED,
    ROUTING_DECIDED,
    REPORT_CORRECTED,
    REPORT_UNROUTABLE,
    ROUTING_TRIAGE,
    LEG_STATUS_REPORTED,
    LEG_STATUS,
    ESCALATION,
    PATTERN_DETECTED,
    DIGEST_PUBLISHED,
    PROCESS_FIGURES,
    INCIDENT,
    COMPLAINT_WAVE,
)

DELIVERY_PARTITIONS = 1  # one per recipient: low volume each, and hundreds of recipients
DELIVERY_RETENTION = _YEAR


DELIVERY_PATTERN = f"{PREFIX}.delivery.{{recipient_id}}.v1"  # FastStream's path syntax
DELIVERY_DEAD_LETTER = TopicSpec(
    name=f"{PREFIX}.deadletter.delivery.v1",
    event=None,
    key="report_id",
    partitions=1,
    retention=timedelta(days=30),
    producers=("notifier",),
    consumers=("operators",),
    description="Deliveries the notifier could not process, with the reason.",
)


@dataclass(frozen=True)
class TopicPattern:
    """Topics of one kind consumed with one subscription (the recipients' delivery topics)."""

    pattern: str
    """FastStream's path syntax: ``buursignaal.delivery.{recipient_id}.v1``."""
    event: type[Event]
    dead_letter: str

    @property
    def name(self) -> str:
        return self.pattern


DELIVERIES = TopicPattern(DELIVERY_PATTERN, ReportDelivered, DELIVERY_DEAD_LETTER.name)


def delivery_topic(recipient_id: str) -> TopicSpec:
    """The recipient's own delivery topic: ``buursignaal.delivery.<recipient_id>.v1``."""
    if not re.match(RECIPIENT_ID_PATTERN, recipient_id):
        raise ValueError(f"{recipient_id!r} is not a recipient id ({RECIPIENT_ID_PATTERN})")
    return TopicSpec(
        name=f"{PREFIX}.delivery.{recipient_id}.v1",
        event=ReportDelivered,
        key="report_id",
        partitions=DELIVERY_PARTITIONS,
        retention=DELIVERY_RETENTION,
        producers=("router",),
        consumers=(recipient_id, "notifier"),
        description=f"Reports delivered to {recipient_id}, and news of the other legs of its "
        "reports (case.updated, from the notifier).",
        also_carries=(CaseUpdated,),
    )


def dead_letter_topics() -> tuple[TopicSpec, ...]:
    return tuple(
        TopicSpec(
            name=spec.dead_letter,
            event=None,
            key=spec.key,
            partitions=1,
            retention=DEAD_LETTER_RETENTION,
            producers=spec.consumers,
            consumers=("operators",),
            description=f"Events from {spec.name} that could not be processed, with the reason.",
        )
        for spec in TOPICS
        if spec.dead_letter
    )


def all_static_topics() -> tuple[TopicSpec, ...]:
    return (*TOPICS, *dead_letter_topics(), DELIVERY_DEAD_LETTER)


def topic_for_event(event_type: type[Event]) -> TopicSpec:
    for spec in TOPICS:
        if spec.event is event_type:
            return spec
    raise KeyError(f"no topic carries {event_type.__name__}")
