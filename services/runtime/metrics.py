"""Prometheus metrics shared by every service, and the ``/metrics`` endpoint.

Each service runs in its own process, so the default registry holds exactly one service's
metrics; service-specific metrics live in that service's own ``metrics`` module.
"""

from __future__ import annotations

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from prometheus_client.registry import REGISTRY

OUTBOX_BACKLOG = Gauge("buursignaal_outbox_backlog", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "buursignaal_outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox row."
)
OUTBOX_PUBLISHED = Counter(
    "buursignaal_outbox_published_total", "Outbox rows published to Kafka.", ["topic"]
)
RELAY_ERRORS = Counter(
    "buursignaal_outbox_relay_errors_total", "Relay rounds that failed and will be retried."
)
CONSUMER_WAITING = Gauge(
    "buursignaal_consumer_waiting",
    "1 while a consumer holds a record to wait out a transient failure (database, broker down).",
    ["consumer"],
)
EVENTS_CONSUMED = Counter(
    "buursignaal_events_consumed_total",
    "Events taken from Kafka, by consumer and outcome.",
    ["consumer", "outcome"],
)
DEAD_LETTERS = Counter(
    "buursignaal_dead_letters_total",
    "Events put on a dead-letter topic, by original topic and kind of reason (alert: any).",
    ["topic", "reason"],
)


def reason_kind(reason: str) -> str:
    """A dead letter's reason as one of a few labels (the full text is on the record)."""
    if reason.startswith("unprocessable"):
        return "unprocessable"
    if reason.startswith("failed"):
        return "failed"
    return "refused"


BROKER_CONNECTED = Gauge("buursignaal_broker_connected", "1 when the Kafka broker is connected.")


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
