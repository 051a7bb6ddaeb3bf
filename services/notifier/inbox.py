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
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.incident import IncidentState
from schemas.leg import LegStatus
from services.notifier.models import Incident, Leg, LegHistory
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
    """The inbox's filters, read from the query string (unknown values: no filter).

    ``facility``: the likely source (the best candidate of a report, the source of an
    incident); ``since``/``until``: the days (Amsterdam) the report was delivered, an incident's
    window overlapping them; ``text``: words in the residents' descriptions (only the body's
    own legs are searched, and the description itself is never listed or exported)."""

    status: str = ""
    category: str = ""
    facility: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    overdue: bool = False
    page: int = 1

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as UTC instants: from the start of ``since`` to the end of ``until``."""
        start = _day_start(self.since) if self.since else None
        end = _day_start(self.until + timedelta(days=1)) if self.until else None
        return start, end

    def incident_matches(self, row: Row, incident: Incident, legs: list[Leg]) -> bool:
        if self.category and row.category != self.category:
            return False
        if self.overdue and not row.overdue:
            return False
        if self.facility and incident.source_key != f"facility:{self.facility}":
            return False
        start, end = self.bounds()
        if (start and _utc(incident.window_end) < start) or (
            end and _utc(incident.window_start) >= end
        ):
            return False
        if self.text and not any(_mentions(leg, self.text) for leg in legs):
            return False
        if self.status:
            return any(leg.status == self.status for leg in legs)
        return row.status == IncidentState.OPEN.value

    def query(self, page: int | None = None, **changed: str) -> str:
        """The query string of these filters (``page``: that page, 1 is left out)."""
        values = {
            "status": self.status, "category": self.category, "facility": self.facility,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "", "q": self.text,
            "overdue": "1" if self.overdue else "",
            "page": str(page) if page and page > 1 else "",
        }  # fmt: skip
        values.update(changed)
        joined = urlencode({k: v for k, v in values.items() if v})
        return f"?{joined}" if joined else ""

    @property
    def filtered(self) -> bool:
        return self.query() != ""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=AMSTERDAM).astimezone(UTC)


def _mentions(leg: Leg, text: str) -> bool:
    return text.casefold() in str(_delivery(leg).get("description") or "").casefold()


def best_facility() -> Any:
    """The SQL expression of a leg's likely source: its delivery's best candidate's id."""
    return col(Leg.delivery)[("candidate_facilities", 0, "facility_id")].as_string()


def leg_query(recipient_id: str, wanted: Wanted) -> Any:
    """The single open legs the filters select, the soonest deadline first (none last)."""
    query = select(Leg).where(Leg.recipient_id == recipient_id, col(Leg.incident_id).is_(None))
    if wanted.status:
        query = query.where(Leg.status == wanted.status)
    else:
        query = query.where(col(Leg.status).not_in([s.value for s in CLOSED]))
    if wanted.category:
        query = query.where(Leg.category == wanted.category)
    if wanted.overdue:
        query = query.where(col(Leg.next_step) > 1)
    if wanted.facility:
        query = query.where(best_facility() == wanted.facility)
    start, end = wanted.bounds()
    if start:
        query = query.where(col(Leg.delivered_at) >= start)
    if end:
        query = query.where(col(Leg.delivered_at) < end)
    if wanted.text:
        words = col(Leg.delivery)["description"].as_string()
        query = query.where(words.ilike(f"%{_escaped(wanted.text)}%", escape="\\"))
    return query.order_by(col(Leg.next_due_at).is_(None), col(Leg.next_due_at), col(Leg.id))


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def single_legs(
    session: AsyncSession, recipient_id: str, wanted: Wanted, limit: int, offset: int
) -> list[Leg]:
    query = leg_query(recipient_id, wanted).offset(offset).limit(limit)
    return list((await session.exec(query)).all())


async def facilities(session: AsyncSession, recipient_id: str) -> list[tuple[str, str]]:
    """The likely sources of the body's open reports (id, name), by name: the facility filter's
    choices."""
    name = col(Leg.delivery)[("candidate_facilities", 0, "name")].as_string()
    query = (
        select(best_facility(), name)
        .where(
            Leg.recipient_id == recipient_id,
            col(Leg.status).not_in([s.value for s in CLOSED]),
            best_facility().is_not(None),
        )
        .distinct()
    )
    found = {str(i): str(n or i) for i, n in (await session.exec(query)).all()}
    return sorted(found.items(), key=lambda pair: pair[1].casefold())


async def version(session: AsyncSession, recipient_id: str) -> str:
    """A stamp that changes whenever one of the body's legs changes or a new one comes in
    (the last history row of its legs): what the pages poll to know they are stale."""
    query = (
        select(func.max(LegHistory.id), func.count(col(LegHistory.id)))
        .join(Leg, col(Leg.id) == col(LegHistory.leg_id))
        .where(Leg.recipient_id == recipient_id)
    )
    last, count = (await session.exec(query)).one()
    return f"{last or 0}-{count}"


NEARBY_KM = 3.0
NEARBY_HOURS = 6
NEARBY_LIMIT = 20


@dataclass(frozen=True)
class Nearby:
    """Another report of the body close by in space and time: its reference, category, place,
    time, status and (coarsened) distance; never who reported it or what they wrote."""

    row: Row
    distance_km: float
    hours: float  # signed: after (+) or before (-) the report or incident


async def nearby(
    session: AsyncSession, recipient_id: str, around: list[Leg], exclude: set[str]
) -> list[Nearby]:
    """The body's other reports within ``NEARBY_KM`` (between coarsened points) and
    ``NEARBY_HOURS`` of any of ``around``'s reports, the closest first."""
    points = [(p, t) for leg in around if (p := _point(leg)) and (t := _observed(leg))]
    if not points:
        return []
    times = [t for _p, t in points]
    slack = timedelta(hours=NEARBY_HOURS + 24)  # delivered up to a day after it was noticed
    query = (
        select(Leg)
        .where(
            Leg.recipient_id == recipient_id,
            col(Leg.delivered_at) >= min(times) - timedelta(hours=NEARBY_HOURS),
            col(Leg.delivered_at) <= max(times) + slack,
            col(Leg.id).not_in(exclude),
        )
        .order_by(col(Leg.delivered_at).desc())
        .limit(500)
    )
    found = []
    for leg in (await session.exec(query)).all():
        point, observed = _point(leg), _observed(leg)
        if point is None or observed is None:
            continue
        best = min(
            ((distance_km(point, p), (observed - t).total_seconds() / 3600) for p, t in points),
            key=lambda pair: (pair[0], abs(pair[1])),
        )
        if best[0] <= NEARBY_KM and abs(best[1]) <= NEARBY_HOURS:
            found.append(Nearby(leg_row(leg), round(best[0], 1), round(best[1], 1)))
    found.sort(key=lambda n: (n.distance_km, abs(n.hours)))
    return found[:NEARBY_LIMIT]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    d_phi, d_lam = phi2 - phi1, math.radians(b[1] - a[1])
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lam / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(h)) / 1000


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


utc = _utc


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
