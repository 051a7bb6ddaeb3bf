"""A new report delivered on a recipient's own topic, as the router publishes it."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.cloudevents import headers_for
from schemas.routing import ReportDelivered, Role
from schemas.topics import TopicSpec, delivery_topic
from services.runtime.broker import KafkaCredentials, ensure_topics, make_broker
from tests.support.factories import delivered, recipient, report_received


async def publish_delivery(
    bootstrap: str,
    recipient_id: str,
    role: Role,
    *,
    source: str,
    topics: Sequence[TopicSpec] = (),
    credentials: KafkaCredentials | None = None,
) -> ReportDelivered:
    """Deliver a new report to ``recipient_id``; its topic (and ``topics``) are created first
    (with ``credentials``: as that principal, the router's on a broker with authentication)."""
    event = delivered(report_received(), recipient(recipient_id, role))
    spec = delivery_topic(recipient_id)
    await ensure_topics(bootstrap, [*topics, spec], credentials=credentials)
    broker = make_broker(bootstrap, client_id=f"{recipient_id}-test", credentials=credentials)
    await broker.start()
    try:
        await broker.publish(
            event.model_dump_json().encode(),
            spec.name,
            key=str(event.report_id).encode(),
            headers=headers_for(event, source=source),
        )
    finally:
        await broker.stop()
    return event
