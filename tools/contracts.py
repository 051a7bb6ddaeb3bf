"""Exports of the contracts the services publish: one AsyncAPI document per service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from schemas.topics import all_static_topics
from services.runtime.clock import SystemClock
from services.runtime.specification import asyncapi_document

ASYNCAPI_DIR = Path(__file__).resolve().parents[1] / "schemas" / "asyncapi"
OPENAPI_DIR = Path(__file__).resolve().parents[1] / "schemas" / "openapi"


def asyncapi_documents() -> dict[str, dict[str, Any]]:
    from services.intake.app import build_runtime_for as intake
    from services.intake.settings import IntakeSettings
    from services.notifier.app import build_runtime_for as notifier
    from services.notifier.settings import NotifierSettings
    from services.router.app import build_runtime_for as router
    from services.router.settings import RouterSettings

    clock = SystemClock()
    runtimes = {
        "intake": (intake(IntakeSettings(), clock), "Residents' reports, accepted and published."),
        "router": (router(RouterSettings(), clock), "Routing decisions and deliveries."),
        "notifier": (notifier(NotifierSettings(), clock), "Legs, clocks, escalations, patterns."),
    }
    topics = list(all_static_topics())
    return {
        name: asyncapi_document(
            runtime.broker, title=f"Buursignaal {name}", description=text, topics=topics
        )
        for name, (runtime, text) in runtimes.items()
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _stale(documents: dict[str, dict[str, Any]], directory: Path) -> list[str]:
    """Committed exports that are missing or differ from ``documents``."""
    stale = []
    for name, document in documents.items():
        path = directory / f"{name}.json"
        if not path.exists() or path.read_text() != render(document):
            stale.append(str(path))
    return stale


def _write(documents: dict[str, dict[str, Any]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents.items():
        path = directory / f"{name}.json"
        path.write_text(render(document))
        written.append(path)
    return written


def openapi_documents() -> dict[str, dict[str, Any]]:
    """The HTTP API of each service, as FastAPI generates it (no broker or database is used)."""
    from services.intake.app import create_app as intake_app

    return {"intake": intake_app().openapi()}


def stale_asyncapi(directory: Path = ASYNCAPI_DIR) -> list[str]:
    return _stale(asyncapi_documents(), directory)


def write_asyncapi(directory: Path = ASYNCAPI_DIR) -> list[Path]:
    return _write(asyncapi_documents(), directory)


def stale_openapi(directory: Path = OPENAPI_DIR) -> list[str]:
    return _stale(openapi_documents(), directory)


def write_openapi(directory: Path = OPENAPI_DIR) -> list[Path]:
    return _write(openapi_documents(), directory)


TOPIC_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "topics.md"


def topic_reference(documents: dict[str, dict[str, Any]] | None = None) -> str:
    """docs/topics.md from the AsyncAPI documents: every topic, who writes and reads it, and
    the JSON Schema of its events."""
    from schemas.topics import TOPICS

    documents = documents or asyncapi_documents()
    senders: dict[str, set[str]] = {}
    receivers: dict[str, set[str]] = {}
    for service, document in documents.items():
        for operation in document.get("operations", {}).values():
            channel_ref = unquote(operation["channel"]["$ref"].rsplit("/", 1)[-1])
            address = document["channels"][channel_ref]["address"]
            side = senders if operation["action"] == "send" else receivers
            side.setdefault(address, set()).add(service)
    lines = [
        "# Topics and events (generated from schemas/asyncapi by `buursignaal schemas export`)",
        "",
        "Events travel as CloudEvents 1.0 in Kafka binary mode (`ce_*` headers, JSON body).",
        "The JSON Schema of each event is in `schemas/jsonschema/<ce_type>.json`.",
        "",
        "| topic | event (ce_type) | partitions | written by | read by | what |",
        "|---|---|---|---|---|---|",
    ]
    for spec in TOPICS:
        event = spec.event.ce_type if spec.event is not None else "—"
        writers = ", ".join(sorted(senders.get(spec.name, set()) | set(spec.producers)))
        readers = ", ".join(sorted(receivers.get(spec.name, set()) | set(spec.consumers)))
        lines.append(
            f"| `{spec.name}` | `{event}` | {spec.partitions} | {writers} | {readers} | "
            f"{spec.description} |"
        )
    lines += [
        "| `buursignaal.delivery.<recipient_id>.v1` | `nl.buursignaal.report.delivered.v1` | 1 "
        "| router | the recipient, notifier | one topic per recipient (its own, ACL'd) |",
        "",
        "Dead letters: `buursignaal.deadletter.<topic>` with the headers `x-deadletter-reason`, "
        "`x-original-topic`, `x-original-partition`, `x-original-offset`.",
        "",
    ]
    return "\n".join(lines)


def stale_topic_reference() -> bool:
    return not TOPIC_REFERENCE.exists() or TOPIC_REFERENCE.read_text() != topic_reference()


def write_topic_reference() -> Path:
    TOPIC_REFERENCE.write_text(topic_reference())
    return TOPIC_REFERENCE
