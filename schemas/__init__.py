"""The contract between Buursignaal's services: events, CloudEvents envelope, topic registry.

Everything a service or an authority system needs to produce or consume events is importable
from here; the modules behind it are grouped by who owns the fact (report, routing, leg,
pattern).
"""

from schemas._base import Contract, Event, LocalizedText
from schemas.case import CaseAnswer, CaseLeg, CaseUpdated
from schemas.cloudevents import (
    EVENT_TYPES,
    CloudEventAttributes,
    InvalidCloudEventError,
    decode,
    headers_for,
)
from schemas.incident import ComplaintWave, IncidentState, IncidentUpdated
from schemas.leg import (
    Actor,
    ActorKind,
    DeadlineKind,
    EscalationRaised,
    EscalationStep,
    LegStatus,
    LegStatusChanged,
    LegStatusReported,
)
from schemas.pattern import CoarsePoint, DetectionMethod, DigestPublished, PatternDetected, Scope
from schemas.process import BodyFigures, ProcessFigures
from schemas.report import (
    Category,
    Channel,
    HealthSymptom,
    Location,
    LocationSource,
    Report,
    ReportCorrected,
    ReportReceived,
)
from schemas.routing import (
    FacilityCandidate,
    Place,
    Recipient,
    RecipientKind,
    Referral,
    ReportDelivered,
    ReportUnroutable,
    Role,
    RoutingDecided,
    TriageRequested,
    Wind,
)
from schemas.topics import TOPICS, TopicSpec, delivery_topic

__all__ = [
    "EVENT_TYPES",
    "TOPICS",
    "Actor",
    "ActorKind",
    "BodyFigures",
    "CaseAnswer",
    "CaseLeg",
    "CaseUpdated",
    "Category",
    "Channel",
    "CloudEventAttributes",
    "CoarsePoint",
    "ComplaintWave",
    "Contract",
    "DeadlineKind",
    "DetectionMethod",
    "DigestPublished",
    "EscalationRaised",
    "EscalationStep",
    "Event",
    "FacilityCandidate",
    "HealthSymptom",
    "IncidentState",
    "IncidentUpdated",
    "InvalidCloudEventError",
    "LegStatus",
    "LegStatusChanged",
    "LegStatusReported",
    "LocalizedText",
    "Location",
    "LocationSource",
    "PatternDetected",
    "Place",
    "ProcessFigures",
    "Recipient",
    "RecipientKind",
    "Referral",
    "Report",
    "ReportCorrected",
    "ReportDelivered",
    "ReportReceived",
    "ReportUnroutable",
    "Role",
    "RoutingDecided",
    "Scope",
    "TopicSpec",
    "TriageRequested",
    "Wind",
    "decode",
    "delivery_topic",
    "headers_for",
]
