"""Which facilities may be the source of a report: every candidate weighed, the plausible ones
kept (ADR 0013).

A candidate is an active facility within the category's radius of the reporter, widened by
the facility's coordinate uncertainty (its site may lie that much closer). Its score is

    proximity × wind × nuisance

- proximity: 1 - distance / (radius + coordinate uncertainty): 1 at the facility's point, 0
  where it can no longer be within the radius (an approximate point is neither favoured nor
  left out);
- wind (odour and air only): 1 when the reporter lies inside the downwind cone, 0.1 outside.
  The cone's half-width is 30° plus the wind's direction uncertainty (10°, 30° below 2 m/s)
  plus the angle the facility's coordinate uncertainty spans at that distance. Without a
  wind direction (no observation, calm, variable) the cone is the whole circle;
- nuisance: 1 when the facility's typical nuisances include the report's category (or its
  subtype), 0.7 when the facility lists none, 0.4 otherwise.

A facility the resident names scores 1. Plausible: not upwind, a score of at least 0.05, and
within a factor 2 of the best score (at most four such, best first); a Seveso establishment
that passes the first two is plausible whatever its rank, and so is a named facility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from schemas.report import Category, Report
from schemas.routing import FacilityCandidate
from services.router.reference.registry import Facility
from services.router.wind import WindObservation, direction_uncertainty_deg, off_downwind_deg
from services.runtime.geo import bearing_deg, flat_distance_m

DEFAULT_RADII_M: dict[Category, float] = {
    Category.ODOUR: 5000,
    Category.AIR: 5000,
    Category.NOISE: 2000,
    Category.VIBRATION: 1000,
    Category.SOIL: 1000,
    Category.WATER: 5000,
}
WIND_CATEGORIES = frozenset({Category.ODOUR, Category.AIR})
NUISANCES: dict[Category, frozenset[str]] = {
    Category.ODOUR: frozenset({"odour"}),
    Category.AIR: frozenset({"air", "dust"}),
    Category.NOISE: frozenset({"noise"}),
    Category.VIBRATION: frozenset({"vibration"}),
    Category.SOIL: frozenset({"soil"}),
    Category.WATER: frozenset({"water"}),
}
BUCKETS_PER_DEG = 10  # facility index cells of 0.1°
CONE_HALF_WIDTH_DEG = 30.0
OUTSIDE_CONE = 0.1
NUISANCE_UNKNOWN = 0.7
NUISANCE_OTHER = 0.4
PLAUSIBLE_FACTOR = 0.5  # plausible: at least half the best score
MIN_PLAUSIBLE_SCORE = 0.05
MAX_SOURCES = 4  # plausible by rank; Seveso and named facilities come on top
MAX_CANDIDATES = 10  # listed in the decision (every plausible one is, whatever its rank)


@dataclass(frozen=True, eq=False)
class Weighed:
    """One candidate: the facility and its line in the decision (``candidate.plausible``)."""

    facility: Facility
    candidate: FacilityCandidate


@dataclass(eq=False, slots=True)
class Score:
    """A candidate while it is weighed (no model built yet: most are never shown)."""

    facility: Facility
    distance_m: float
    bearing_deg: float
    downwind: bool | None
    nuisance_match: bool | None
    score: float
    seveso: bool
    named: bool
    plausible: bool = False

    def line(self) -> FacilityCandidate:
        facility = self.facility
        return FacilityCandidate(
            facility_id=facility.facility_id,
            name=facility.name,
            distance_m=round(self.distance_m, 1),
            bearing_deg=round(self.bearing_deg, 1) % 360,
            downwind=self.downwind,
            score=round(self.score, 3),
            sector=facility.sector[:64] or None,
            plausible=self.plausible,
            coordinate_uncertainty_m=float(round(facility.coordinate_uncertainty_m)),
            nuisance_match=self.nuisance_match,
            seveso=self.seveso,
        )


@dataclass(frozen=True)
class Cone:
    """Where the wind comes from and how wide the downwind cone is (None: no wind direction)."""

    wind_from_deg: float | None
    half_width_deg: float


def cone_of(report: Report, wind: WindObservation | None) -> Cone | None:
    """The downwind cone for ``report``; None when the wind does not matter for its category."""
    if report.category not in WIND_CATEGORIES:
        return None
    if wind is None or wind.direction_deg is None:
        return Cone(None, 180.0)
    return Cone(wind.direction_deg, CONE_HALF_WIDTH_DEG + direction_uncertainty_deg(wind))


def nuisance_match(facility: Facility, report: Report) -> bool | None:
    """Whether the facility typically causes this nuisance; None when it lists none."""
    if not facility.typical_nuisance:
        return None
    typical = set(facility.typical_nuisance)
    return bool(typical & NUISANCES[report.category]) or (report.subtype or "") in typical


class SourceWeigher:
    """The active facilities of one registry version in 0.1° buckets, weighed per report."""

    def __init__(self, facilities: list[Facility], radii_m: dict[Category, float]) -> None:
        self.facilities = facilities
        self.radii_m = radii_m
        self._largest_margin_m = max((f.coordinate_uncertainty_m for f in facilities), default=0)
        self._buckets: dict[tuple[int, int], list[Facility]] = {}
        for facility in facilities:
            key = (
                math.floor(facility.lat * BUCKETS_PER_DEG),
                math.floor(facility.lon * BUCKETS_PER_DEG),
            )
            self._buckets.setdefault(key, []).append(facility)

    def _nearby(self, lat: float, lon: float, reach_m: float) -> list[Facility]:
        """Active facilities in the buckets the box of ``reach_m`` around (lat, lon) touches."""
        d_lat = reach_m / 110_000
        d_lon = reach_m / (111_320 * math.cos(math.radians(lat)))
        found: list[Facility] = []
        for i in range(
            math.floor((lat - d_lat) * BUCKETS_PER_DEG),
            math.floor((lat + d_lat) * BUCKETS_PER_DEG) + 1,
        ):
            for j in range(
                math.floor((lon - d_lon) * BUCKETS_PER_DEG),
                math.floor((lon + d_lon) * BUCKETS_PER_DEG) + 1,
            ):
                found.extend(self._buckets.get((i, j), ()))
        return found

    def weigh(
        self,
        report: Report,
        point: tuple[float, float],
        wind: WindObservation | None,
        named: Facility | None,
    ) -> tuple[list[Weighed], list[Weighed]]:
        """(the candidates best first, the plausible ones best first)."""
        lat, lon = point
        radius = self.radii_m[report.category]
        cone = cone_of(report, wind)
        nearby = self._nearby(lat, lon, radius + self._largest_margin_m)
        if named is not None and all(f is not named for f in nearby):
            nearby.append(named)
        scores = [
            w
            for facility in nearby
            if (w := self._weigh(facility, report, point, radius, cone, facility is named))
            is not None
        ]
        scores.sort(key=lambda w: (-w.score, w.distance_m))
        self._mark_plausible(scores)
        shown = [
            Weighed(w.facility, w.line())
            for i, w in enumerate(scores)
            if i < MAX_CANDIDATES or w.plausible
        ]
        return shown, [w for w in shown if w.candidate.plausible]

    @staticmethod
    def _mark_plausible(scores: list[Score]) -> None:
        """Sets ``plausible`` by the rule in the module text (``scores`` best first)."""
        possible = [w for w in scores if w.downwind is not False and w.score >= MIN_PLAUSIBLE_SCORE]
        if not possible:
            return
        floor = PLAUSIBLE_FACTOR * possible[0].score
        ranked = 0
        for w in possible:
            if w.score >= floor and ranked < MAX_SOURCES:
                w.plausible = True
                ranked += 1
            elif w.seveso or w.named:
                w.plausible = True

    @staticmethod
    def _weigh(
        facility: Facility,
        report: Report,
        point: tuple[float, float],
        radius: float,
        cone: Cone | None,
        named: bool,
    ) -> Score | None:
        lat, lon = point
        distance = flat_distance_m(facility.lat, facility.lon, lat, lon)
        margin = facility.coordinate_uncertainty_m
        reach = radius + margin
        if distance > reach and not named:
            return None
        bearing = bearing_deg(facility.lat, facility.lon, lat, lon)
        is_downwind: bool | None = None
        wind_factor = 1.0
        if cone is not None and cone.wind_from_deg is not None:
            spread = math.degrees(math.atan2(margin, max(distance, 1.0)))
            off = off_downwind_deg(cone.wind_from_deg, bearing)
            is_downwind = off <= cone.half_width_deg + spread
            wind_factor = 1.0 if is_downwind else OUTSIDE_CONE
        matches = nuisance_match(facility, report)
        nuisance = {True: 1.0, None: NUISANCE_UNKNOWN, False: NUISANCE_OTHER}[matches]
        score = 1.0 if named else max(0.0, 1 - distance / reach) * wind_factor * nuisance
        seveso = facility.seveso_tier in ("high", "low")
        return Score(facility, distance, bearing, is_downwind, matches, score, seveso, named)
