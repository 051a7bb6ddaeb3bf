"""The committed JSON Schema and AsyncAPI exports match the code; incompatible changes fail."""

from __future__ import annotations

import copy
import json

from schemas.cloudevents import headers_for
from schemas.compat import breaking_changes, check_exports, event_schemas
from tests.support.factories import report_received
from tools.contracts import ASYNCAPI_DIR, stale_asyncapi, stale_openapi, stale_topic_reference


def test_committed_json_schemas_are_current_and_compatible() -> None:
    breaking, stale = check_exports()
    assert breaking == [], "incompatible change: publish a new event version instead"
    assert stale == [], "run `buursignaal schemas export` and commit the result"


def test_committed_asyncapi_documents_are_current() -> None:
    assert stale_asyncapi() == [], "run `buursignaal schemas export` and commit the result"


def test_committed_openapi_documents_are_current() -> None:
    assert stale_openapi() == [], "run `buursignaal schemas export` and commit the result"


def received_schema() -> dict[str, object]:
    return copy.deepcopy(event_schemas()["nl.buursignaal.report.received.v1"])


def test_removing_a_field_is_breaking() -> None:
    old = received_schema()
    new = received_schema()
    del new["properties"]["description"]  # type: ignore[attr-defined]
    assert breaking_changes(old, new) == ["ReportReceived.description: field removed"]


def test_retyping_a_field_is_breaking() -> None:
    old = received_schema()
    new = received_schema()
    new["properties"]["photo_count"] = {"type": "string"}  # type: ignore[index]
    problems = breaking_changes(old, new)
    assert len(problems) == 1
    assert "photo_count: type changed" in problems[0]


def test_retyping_a_nested_field_is_breaking() -> None:
    old = received_schema()
    new = received_schema()
    new["$defs"]["Location"]["properties"]["verified"] = {"type": "string"}  # type: ignore[index]
    assert any("location.verified: type changed" in p for p in breaking_changes(old, new))


def test_removing_an_enum_value_is_breaking() -> None:
    old = received_schema()
    new = received_schema()
    new["$defs"]["Category"]["enum"].remove("soil")  # type: ignore[index]
    assert any("enum values removed: soil" in p for p in breaking_changes(old, new))


def test_adding_an_optional_field_or_widening_is_compatible() -> None:
    old = received_schema()
    new = received_schema()
    new["properties"]["odour_hedonic_tone"] = {  # type: ignore[index]
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    new["properties"]["photo_count"] = {  # type: ignore[index]
        "anyOf": [{"type": "integer"}, {"type": "null"}]
    }
    assert breaking_changes(old, new) == []


def test_making_a_field_required_is_breaking() -> None:
    old = received_schema()
    new = received_schema()
    new["required"].append("subtype")  # type: ignore[attr-defined]
    assert breaking_changes(old, new) == ["ReportReceived.subtype: field became required"]


def test_topic_reference_is_current() -> None:
    assert not stale_topic_reference(), "run `buursignaal schemas export` (docs/topics.md)"


def test_asyncapi_correlation_id_is_a_header_every_event_carries() -> None:
    sent = headers_for(report_received(), source="/buursignaal/intake")
    for path in sorted(ASYNCAPI_DIR.glob("*.json")):
        messages = json.loads(path.read_text())["components"]["messages"]
        for name, message in messages.items():
            location = message["correlationId"]["location"]
            assert location.startswith("$message.header#/"), (path.name, name)
            header = location.removeprefix("$message.header#/")
            assert header in sent, f"{path.name} {name}: {header} is not sent"
            assert header in message["headers"]["required"], (path.name, name)
