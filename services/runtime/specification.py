"""The AsyncAPI document of a service, generated from its FastStream broker.

Subscribers take the raw Kafka message (so that bad events can be dead-lettered with a reason
instead of failing inside the framework), so their payload schema is filled in from the topic
registry; every message also documents the CloudEvents headers it travels with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from schemas.topics import TopicSpec

CLOUDEVENTS_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka binary mode",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time"],
    "properties": {
        "ce_id": {"type": "string", "format": "uuid", "description": "deduplication key"},
        "ce_source": {"type": "string"},
        "ce_type": {"type": "string", "examples": ["nl.buursignaal.report.received.v1"]},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string"},
    },
}
# every event carries its CloudEvents id (FastStream's default points at a ``correlation_id``
# header that the outbox never sends)
CORRELATION_ID: dict[str, Any] = {
    "description": "the CloudEvents id: one per event, the same when the outbox sends it again",
    "location": "$message.header#/ce_id",
}


def asyncapi_document(
    broker: KafkaBroker, *, title: str, description: str, topics: list[TopicSpec]
) -> dict[str, Any]:
    app = FastStream(
        broker,
        specification=AsyncAPI(title=title, version="1.0.0", description=description),
    )
    document: dict[str, Any] = app.schema.to_specification().to_jsonable()
    by_address = {spec.name: spec for spec in topics}
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for channel in document.get("channels", {}).values():
        spec = by_address.get(channel.get("address", ""))
        for message_ref in channel.get("messages", {}).values():
            name = unquote(message_ref["$ref"].rsplit("/", 1)[-1])
            message = components["messages"][name]
            message["headers"] = CLOUDEVENTS_HEADERS
            message["correlationId"] = CORRELATION_ID
            if spec is None or spec.event is None:
                continue
            model = spec.event
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(model_schema.pop("$defs", {}))
            schemas[model.__name__] = model_schema
            message["payload"] = {"$ref": f"#/components/schemas/{model.__name__}"}
            message["contentType"] = "application/json"
            message["name"] = model.ce_type
    schemas.pop("EmptyPayload", None)
    return document
