"""Valid example events for tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from schemas.report import Category, Channel, Location, LocationSource, ReportReceived

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
