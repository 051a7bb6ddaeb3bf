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
from services.runtime.geo import EARTH_RADIUS_M, bearing_deg

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
BUCKETS_PER_DEG = 10  # the 0.1° buckets that order candidates of equal score and distance
CELL_DEG = 0.02  # the weigher's grid cells (about 2.2 by 1.4 km)
CELL_SLACK_M = 100.0  # the flat distance's spread over a cell, and some
MIN_METRES_PER_DEG_LAT = 110_000.0
MIN_METRES_PER_DEG_LON = 111_000.0
NUISANCE_MEMO = 10_000
DEG = math.pi / 180  # what math.radians multiplies by
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
    """The active facilities of one registry version, weighed per report.

    For each radius in use, a grid of cells of ``CELL_DEG`` lists the facilities whose reach
    (the radius plus their coordinate uncertainty) touches the cell, in the order of the
    earlier 0.1° buckets (so that exact ties rank as before); a report looks up one cell and
    measures those few. A facility's fixed facts (its plane point, Seveso, its nuisance for a
    category and subtype) are worked out once.
    """

    def __init__(self, facilities: list[Facility], radii_m: dict[Category, float]) -> None:
        self.facilities = facilities
        self.radii_m = radii_m
        order = sorted(
            range(len(facilities)),
            key=lambda i: (
                math.floor(facilities[i].lat * BUCKETS_PER_DEG),
                math.floor(facilities[i].lon * BUCKETS_PER_DEG),
                i,
            ),
        )
        self._sites = [Site.of(facilities[i]) for i in order]
        self._cells: dict[float, dict[tuple[int, int], tuple[Site, ...]]] = {
            radius: self._grid(radius) for radius in set(radii_m.values())
        }
        self._nuisance: dict[tuple[str, Category, str | None], tuple[bool | None, float]] = {}

    def _grid(self, radius: float) -> dict[tuple[int, int], tuple[Site, ...]]:
        """Cell -> the sites whose reach may include a point of the cell."""
        cells: dict[tuple[int, int], list[Site]] = {}
        for site in self._sites:
            reach = radius + site.margin + CELL_SLACK_M
            d_lat = reach / MIN_METRES_PER_DEG_LAT
            d_lon = reach / (MIN_METRES_PER_DEG_LON * math.cos(math.radians(site.lat + d_lat)))
            for i in range(
                math.floor((site.lat - d_lat) / CELL_DEG),
                math.floor((site.lat + d_lat) / CELL_DEG) + 1,
            ):
                for j in range(
                    math.floor((site.lon - d_lon) / CELL_DEG),
                    math.floor((site.lon + d_lon) / CELL_DEG) + 1,
                ):
                    cells.setdefault((i, j), []).append(site)
        return {key: tuple(found) for key, found in cells.items()}

    def nearby(self, lat: float, lon: float, radius: float) -> tuple[Site, ...]:
        """The sites that may lie within ``radius`` (plus their uncertainty) of (lat, lon)."""
        cells = self._cells.get(radius)
        if cells is None:
            cells = self._cells[radius] = self._grid(radius)
        return cells.get((math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)), ())

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
        sites = self.nearby(lat, lon, radius)
        if named is not None and all(s.facility is not named for s in sites):
            sites = (*sites, Site.of(named))
        if not sites:
            return [], []
        cone = cone_of(report, wind)
        scores = []
        for site in sites:
            # flat_distance_m, written out (same operations, same result)
            x = (lon - site.lon) * DEG * math.cos((site.lat + lat) / 2 * DEG)
            distance = EARTH_RADIUS_M * math.hypot(x, (lat - site.lat) * DEG)
            is_named = site.facility is named
            if distance > radius + site.margin and not is_named:
                continue
            scores.append(self._weigh(site, report, point, distance, radius, cone, is_named))
        if not scores:
            return [], []
        scores.sort(key=lambda w: (-w.score, w.distance_m))
        self._mark_plausible(scores)
        shown = [
            Weighed(w.facility, w.line())
            for i, w in enumerate(scores)
            if i < MAX_CANDIDATES or w.plausible
        ]
        return shown, [w for w in shown if w.candidate.plausible]

    def nuisance_of(self, site: Site, report: Report) -> tuple[bool | None, float]:
        """``nuisance_match`` and its factor, once per facility, category and subtype."""
        key = (site.facility.facility_id, report.category, report.subtype)
        found = self._nuisance.get(key)
        if found is None:
            matches = nuisance_match(site.facility, report)
            factor = {True: 1.0, None: NUISANCE_UNKNOWN, False: NUISANCE_OTHER}[matches]
            if len(self._nuisance) >= NUISANCE_MEMO:
                self._nuisance.clear()
            found = self._nuisance[key] = (matches, factor)
        return found

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

    def _weigh(
        self,
        site: Site,
        report: Report,
        point: tuple[float, float],
        distance: float,
        radius: float,
        cone: Cone | None,
        named: bool,
    ) -> Score:
        facility = site.facility
        margin = site.margin
        reach = radius + margin
        bearing = bearing_deg(site.lat, site.lon, *point)
        is_downwind: bool | None = None
        wind_factor = 1.0
        if cone is not None and cone.wind_from_deg is not None:
            spread = math.degrees(math.atan2(margin, max(distance, 1.0)))
            off = off_downwind_deg(cone.wind_from_deg, bearing)
            is_downwind = off <= cone.half_width_deg + spread
            wind_factor = 1.0 if is_downwind else OUTSIDE_CONE
        matches, nuisance = self.nuisance_of(site, report)
        score = 1.0 if named else max(0.0, 1 - distance / reach) * wind_factor * nuisance
        return Score(facility, distance, bearing, is_downwind, matches, score, site.seveso, named)


@dataclass(frozen=True, slots=True)
class Site:
    """A facility's fixed facts for weighing."""

    facility: Facility
    lat: float
    lon: float
    margin: float
    seveso: bool

    @classmethod
    def of(cls, facility: Facility) -> Site:
        return cls(
            facility,
            facility.lat,
            facility.lon,
            facility.coordinate_uncertainty_m,
            facility.seveso_tier in ("high", "low"),
        )
