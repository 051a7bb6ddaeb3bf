"""The meldkamer workspace's rows: what the inbox list, the incident page and the exports show.

The pages translate: rows carry values (a status, a category, a subtype code, a place name
taken from the delivery), the templates put the catalogue's words on them. No row carries a
reporter key or a description; points are the delivery's, coarsened to ``COARSE_DEGREES``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.incident import IncidentState
from schemas.leg import LegStatus
from services.notifier.models import Incident, Leg
from services.notifier.transitions import CLOSED
from services.notifier.worktime import AMSTERDAM

PAGE_SIZE = 50
COARSE_DEGREES = 0.005  # ~500 m, the grid the tracking page and the digest show


@dataclass(frozen=True)
class Row:
    """One line of the inbox: an incident or a single leg."""

    kind: str  # "incident" or "leg"
    id: str
    href: str
    category: str
    status: str  # a LegStatus value (leg) or an IncidentState value (incident)
    places: list[str]
    subtype: str | None
    intensity: int | None
    reporters: int
    reports: int
    due_at: datetime | None
    overdue: bool
    acute: bool
    observed_at: datetime | None
    source: str | None = None  # the likely source's name (incident)
    ref: str = ""  # a single report's reference: the first characters of its id
    points: list[tuple[float, float]] = field(default_factory=list)  # coarsened lat, lon


def coarse(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None or lon is None:
        return None
    step = COARSE_DEGREES
    return round(round(lat / step) * step, 4), round(round(lon / step) * step, 4)


def _delivery(leg: Leg) -> dict[str, Any]:
    return leg.delivery or {}


def _place(leg: Leg) -> str | None:
    place = _delivery(leg).get("place") or {}
    name = place.get("municipality_name") or place.get("municipality_code")
    return str(name) if name else None


def _point(leg: Leg) -> tuple[float, float] | None:
    location = _delivery(leg).get("location") or {}
    return coarse(location.get("lat"), location.get("lon"))


def _observed(leg: Leg) -> datetime | None:
    if leg.observed_at is not None:
        return _utc(leg.observed_at)
    observed = _delivery(leg).get("observed_at")
    return datetime.fromisoformat(observed).astimezone(UTC) if observed else None


def leg_row(leg: Leg) -> Row:
    delivery = _delivery(leg)
    point = _point(leg)
    return Row(
        kind="leg", id=leg.id, href=f"/inbox/legs/{leg.id}", category=leg.category,
        status=leg.status, places=[p for p in [_place(leg)] if p],
        subtype=delivery.get("subtype"), intensity=delivery.get("intensity"), reporters=1,
        reports=1, due_at=_utc(leg.next_due_at) if leg.next_due_at else None,
        overdue=leg.next_step > 1 and leg.status not in CLOSED,
        acute=bool(delivery.get("acute")), observed_at=_observed(leg),
        points=[point] if point else [], ref=leg.report_id[:8],
    )  # fmt: skip


def source_name(incident: Incident, legs: list[Leg]) -> str | None:
    """The likely source's name from the legs' candidate facilities (none for a cell)."""
    kind, _, facility_id = incident.source_key.partition(":")
    if kind != "facility":
        return None
    for leg in legs:
        for candidate in _delivery(leg).get("candidate_facilities") or []:
            if candidate.get("facility_id") == facility_id:
                return str(candidate.get("name") or facility_id)
    return facility_id


def incident_row(incident: Incident, legs: list[Leg]) -> Row:
    open_legs = [leg for leg in legs if leg.status not in CLOSED]
    dues = [_utc(leg.next_due_at) for leg in open_legs if leg.next_due_at is not None]
    subtypes = Counter(s for leg in legs if (s := _delivery(leg).get("subtype")))
    intensities = [i for leg in legs if (i := _delivery(leg).get("intensity"))]
    places = sorted({p for leg in legs if (p := _place(leg))})
    return Row(
        kind="incident", id=incident.id, href=f"/inbox/incidents/{incident.id}",
        category=incident.category, status=incident.state, places=places,
        subtype=subtypes.most_common(1)[0][0] if subtypes else None,
        intensity=max(intensities) if intensities else None,
        reporters=incident.unique_reporters, reports=incident.report_count,
        due_at=min(dues) if dues else None,
        overdue=any(leg.next_step > 1 for leg in open_legs),
        acute=any(_delivery(leg).get("acute") for leg in legs),
        observed_at=_utc(incident.window_end), source=source_name(incident, legs),
        points=sorted({pt for leg in legs if (pt := _point(leg))}),
    )  # fmt: skip


def urgency(row: Row) -> tuple[bool, bool, bool, float, float]:
    """Most urgent first: overdue, acute, the soonest deadline, then the newest."""
    due = row.due_at.timestamp() if row.due_at else float("inf")
    newest = -row.observed_at.timestamp() if row.observed_at else 0.0
    return (not row.overdue, not row.acute, row.due_at is None, due, newest)


@dataclass(frozen=True)
class Wanted:
    """The inbox's filters, read from the query string (unknown values: no filter)."""

    status: str = ""
    category: str = ""
    overdue: bool = False
    page: int = 1

    def incident_matches(self, row: Row, legs: list[Leg]) -> bool:
        if self.category and row.category != self.category:
            return False
        if self.overdue and not row.overdue:
            return False
        if self.status:
            return any(leg.status == self.status for leg in legs)
        return row.status == IncidentState.OPEN.value

    def query(self, page: int | None = None) -> str:
        parts = [f"status={self.status}" if self.status else "",
                 f"category={self.category}" if self.category else "",
                 "overdue=1" if self.overdue else "",
                 f"page={page}" if page and page > 1 else ""]  # fmt: skip
        joined = "&".join(p for p in parts if p)
        return f"?{joined}" if joined else ""


def remaining(due_at: datetime | None, now: datetime) -> tuple[int, int, bool] | None:
    """Hours and minutes until the deadline (or past it), and whether it is past."""
    if due_at is None:
        return None
    seconds = int((due_at - now.astimezone(UTC)).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    return minutes // 60, minutes % 60, late


def answerable(status: str) -> bool:
    return LegStatus(status) not in CLOSED


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class Candidate:
    """A candidate source as the leg page shows it: where it is, how far, and why."""

    name: str
    distance_km: float
    reasons: list[str]  # catalogue keys
    lat: float | None
    lon: float | None


def candidates(delivery: dict[str, Any] | None) -> list[Candidate]:
    """The delivery's candidate facilities, best first, with their place on the map: from the
    report's point, the distance and the bearing (facility to reporter) the router gave."""
    content = delivery or {}
    location = content.get("location") or {}
    found = sorted(content.get("candidate_facilities") or [], key=lambda f: -f.get("score", 0))
    shown = []
    for facility in found:
        point = _back_along(location.get("lat"), location.get("lon"), facility)
        shown.append(
            Candidate(
                name=str(facility.get("name") or facility.get("facility_id")),
                distance_km=round(float(facility.get("distance_m", 0)) / 1000, 1),
                reasons=_reasons(facility),
                lat=point[0] if point else None,
                lon=point[1] if point else None,
            )
        )
    return shown


def _reasons(facility: dict[str, Any]) -> list[str]:
    flags = {
        "inbox.leg.downwind": facility.get("downwind") is True,
        "inbox.leg.not_downwind": facility.get("downwind") is False,
        "inbox.candidate.nuisance_match": facility.get("nuisance_match") is True,
        "inbox.candidate.plausible": bool(facility.get("plausible")),
        "inbox.candidate.seveso": bool(facility.get("seveso")),
    }
    return [key for key, holds in flags.items() if holds]


def _back_along(
    lat: float | None, lon: float | None, facility: dict[str, Any]
) -> tuple[float, float] | None:
    """The point ``distance_m`` from the report against ``bearing_deg`` (great circle)."""
    if lat is None or lon is None or facility.get("bearing_deg") is None:
        return None
    bearing = math.radians((float(facility["bearing_deg"]) + 180) % 360)
    angle = float(facility.get("distance_m", 0)) / EARTH_M
    phi, lam = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(bearing)
    )
    lam2 = lam + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(phi),
        math.cos(angle) - math.sin(phi) * math.sin(phi2),
    )
    return round(math.degrees(phi2), 4), round(math.degrees(lam2), 4)


EXPORT_COLUMNS = (
    "soort_regel", "id", "kenmerk", "categorie", "wat_precies", "plaats", "sterkte",
    "verschillende_melders", "meldingen", "termijn", "te_laat", "status", "waargenomen",
    "breedte", "lengte",
)  # fmt: skip


def export_record(row: Row, words: dict[str, str]) -> dict[str, Any]:
    """One row of the export: no reporter key, no description, points coarsened to 500 m.
    ``words``: the Dutch words of the row's category, subtype and status."""
    lat, lon = row.points[0] if len(row.points) == 1 else (None, None)
    return {
        "soort_regel": "voorval" if row.kind == "incident" else "melding",
        "id": row.id, "kenmerk": row.ref, "categorie": words["category"],
        "wat_precies": words.get("subtype", ""), "plaats": ", ".join(row.places),
        "sterkte": row.intensity, "verschillende_melders": row.reporters,
        "meldingen": row.reports, "termijn": _local(row.due_at), "te_laat": row.overdue,
        "status": words["status"], "waargenomen": _local(row.observed_at),
        "breedte": lat, "lengte": lon,
    }  # fmt: skip


def csv_text(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()


def geojson(rows: list[Row], records: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection: a point per report, a multipoint per incident (coarsened)."""
    features = []
    for row, record in zip(rows, records, strict=True):
        properties = {k: v for k, v in record.items() if k not in ("breedte", "lengte")}
        coordinates = [[lon, lat] for lat, lon in row.points]
        geometry: dict[str, Any] | None = None
        if row.kind == "leg" and coordinates:
            geometry = {"type": "Point", "coordinates": coordinates[0]}
        elif coordinates:
            geometry = {"type": "MultiPoint", "coordinates": coordinates}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def _local(moment: datetime | None) -> str:
    """RFC 3339 with the Amsterdam offset (empty when none)."""
    return moment.astimezone(AMSTERDAM).isoformat(timespec="seconds") if moment else ""
