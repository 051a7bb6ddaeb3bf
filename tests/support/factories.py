"""Valid example events for tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from schemas._base import LocalizedText
from schemas.report import Category, Channel, Location, LocationSource, Report, ReportReceived
from schemas.routing import (
    FacilityCandidate,
    Place,
    Recipient,
    RecipientKind,
    ReportDelivered,
    Role,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def reporter_key(seed: str = "device-1") -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def report_received(**changes: object) -> ReportReceived:
    values: dict[str, object] = {
        "report_id": uuid4(),
        "reporter_key": reporter_key(),
        "channel": Channel.WEB,
        "category": Category.ODOUR,
        "location": Location(lat=52.4806, lon=4.6064, source=LocationSource.WGS84),
        "observed_at": NOW - timedelta(minutes=20),
        "received_at": NOW,
        "intensity": 4,
        "description": "Sterke zwavellucht, ramen dicht.",
    }
    values.update(changes)
    return ReportReceived.model_validate(values)


def recipient(recipient_id: str, role: Role = Role.COMPETENT_AUTHORITY) -> Recipient:
    kinds = {
        "pv": RecipientKind.PROVINCE,
        "od": RecipientKind.OMGEVINGSDIENST,
        "gm": RecipientKind.MUNICIPALITY,
        "gg": RecipientKind.GGD,
    }
    return Recipient(
        recipient_id=recipient_id,
        name=f"Instantie {recipient_id}",
        kind=kinds.get(recipient_id[:2], RecipientKind.MUNICIPALITY),
        role=role,
        rule_id="test",
        reason=LocalizedText(nl=f"{recipient_id} is bevoegd.", en=f"{recipient_id} is competent."),
    )


def delivered(
    report: ReportReceived,
    to: Recipient,
    *,
    routing_round: int = 1,
    acute: bool = False,
    place: Place | None = None,
    candidates: list[FacilityCandidate] | None = None,
) -> ReportDelivered:
    """The router's delivery of ``report`` to ``to`` (what the notifier opens a leg from)."""
    return ReportDelivered(
        report_id=report.report_id,
        round=routing_round,
        recipient=to,
        report=Report.model_validate(report.model_dump()),
        place=place or Place(municipality_code="GM0453", province_code="PV27"),
        candidate_facilities=candidates or [],
        acute=acute,
    )


def steelworks(downwind: bool | None = True) -> FacilityCandidate:
    return FacilityCandidate(
        facility_id="tata_steel_ijmuiden",
        name="Tata Steel IJmuiden",
        distance_m=2100.0,
        bearing_deg=20.0,
        downwind=downwind,
        score=0.6,
        sector="steel",
    )
