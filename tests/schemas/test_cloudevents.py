from __future__ import annotations

import pytest

from schemas.cloudevents import EVENT_TYPES, InvalidCloudEventError, decode, headers_for
from tests.support.factories import report_received


def test_headers_name_the_event_and_its_subject() -> None:
    event = report_received()
    headers = headers_for(event, source="/buursignaal/intake")
    assert headers["ce_type"] == "nl.buursignaal.report.received.v1"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == str(event.report_id)
    attributes, decoded = decode(headers, event.model_dump_json().encode())
    assert decoded == event
    assert str(attributes.id) == headers["ce_id"]


def test_every_event_type_is_versioned_and_unique() -> None:
    for ce_type, model in EVENT_TYPES.items():
        assert ce_type.startswith("nl.buursignaal.")
        assert ce_type.rsplit(".", 1)[-1].startswith("v")
        assert model.ce_type == ce_type


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: h.pop("ce_id"), "ce_id"),
        (lambda h: h.update(ce_id="not-a-uuid"), "ce_id"),
        (lambda h: h.update(ce_specversion="0.3"), "specversion"),
        (lambda h: h.update(ce_type="nl.buursignaal.unknown.v9"), "unknown ce_type"),
        (lambda h: h.update(ce_time="yesterday"), "ce_time"),
    ],
)
def test_bad_headers_are_refused_with_the_reason(mutate: object, message: str) -> None:
    event = report_received()
    headers = headers_for(event, source="/test")
    mutate(headers)  # type: ignore[operator]
    with pytest.raises(InvalidCloudEventError, match=message):
        decode(headers, event.model_dump_json().encode())


def test_bad_body_names_the_field() -> None:
    event = report_received()
    headers = headers_for(event, source="/test")
    body = event.model_dump_json().replace('"intensity":4', '"intensity":9').encode()
    with pytest.raises(InvalidCloudEventError, match="intensity"):
        decode(headers, body)


def test_unknown_fields_are_tolerated_for_forward_compatibility() -> None:
    event = report_received()
    headers = headers_for(event, source="/test")
    body = event.model_dump_json()[:-1] + ',"added_in_a_later_minor":true}'
    _, decoded = decode(headers, body.encode())
    assert decoded == event
