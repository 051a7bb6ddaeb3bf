"""CloudEvents 1.0 in Kafka binary mode: attributes as ``ce_*`` headers, the event as the value.

The id (``ce_id``) is what consumers deduplicate on; ``ce_type`` names event and version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from schemas._base import Event
from schemas.case import CaseUpdated
from schemas.incident import ComplaintWave, IncidentUpdated
from schemas.leg import EscalationRaised, LegStatusChanged, LegStatusReported
from schemas.pattern import DigestPublished, PatternDetected
from schemas.process import ProcessFigures
from schemas.report import ReportCorrected, ReportReceived
from schemas.routing import ReportDelivered, ReportUnroutable, RoutingDecided, TriageRequested

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

EVENT_TYPES: dict[str, type[Event]] = {
    cls.ce_type: cls
    for cls in (
        ReportReceived,
        ReportCorrected,
        RoutingDecided,
        ReportDelivered,
        ReportUnroutable,
        TriageRequested,
        LegStatusChanged,
        LegStatusReported,
        EscalationRaised,
        PatternDetected,
        DigestPublished,
        ProcessFigures,
        CaseUpdated,
        IncidentUpdated,
        ComplaintWave,
    )
}


class InvalidCloudEventError(ValueError):
    """Headers or body do not form a valid event of a known type (goes to the dead letters)."""


class CloudEventAttributes(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str
    time: AwareDatetime
    subject: str | None = None


def headers_for(
    event: Event,
    *,
    source: str,
    event_id: UUID | None = None,
    time: datetime | None = None,
) -> dict[str, str]:
    """The binary-mode headers for one event."""
    return {
        "ce_id": str(event_id or uuid4()),
        "ce_source": source,
        "ce_type": event.ce_type,
        "ce_specversion": SPECVERSION,
        "ce_time": (time or datetime.now(UTC)).isoformat(),
        "ce_subject": event.ce_subject(),
        "content-type": CONTENT_TYPE,
    }


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read_attributes(
    headers: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]],
) -> CloudEventAttributes:
    items = headers.items() if isinstance(headers, Mapping) else headers
    ce = {key[3:]: _text(value) for key, value in items if key.startswith("ce_")}
    try:
        attributes = CloudEventAttributes.model_validate(ce)
    except ValidationError as error:
        fields = ", ".join(f"ce_{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidCloudEventError(f"invalid CloudEvents headers ({fields})") from error
    if attributes.specversion != SPECVERSION:
        raise InvalidCloudEventError(f"unsupported ce_specversion {attributes.specversion!r}")
    return attributes


def decode(
    headers: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]], body: bytes
) -> tuple[CloudEventAttributes, Event]:
    """Validate headers and body together; raise ``InvalidCloudEventError`` with the reason."""
    attributes = read_attributes(headers)
    event_type = EVENT_TYPES.get(attributes.type)
    if event_type is None:
        raise InvalidCloudEventError(f"unknown ce_type {attributes.type!r}")
    try:
        event = event_type.model_validate_json(body)
    except ValidationError as error:
        fields = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5]
        )
        raise InvalidCloudEventError(f"invalid {attributes.type} body ({fields})") from error
    return attributes, event
