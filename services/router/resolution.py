"""From a report to its recipients, each with a role, the rule that chose it and a reason.

A pure function of the report, the reference registry, the wind and the rule table, so that
every decision can be replayed and tested without a broker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from schemas._base import LocalizedText
from schemas.report import Category, HealthSymptom, Report
from schemas.routing import (
    FacilityCandidate,
    Place,
    Recipient,
    Referral,
    Role,
    Wind,
)
from services.router.reference.places import PlaceIndex, PlaceMatch
from services.router.reference.registry import Facility, Registry
from services.router.rules import Condition, Rule, RuleTable
from services.router.targets import Targets, od_recipient_id
from services.router.wind import WindObservation, WindProvider, downwind
from services.runtime.geo import bearing_deg, flat_distance_m

DEFAULT_RADII_M: dict[Category, float] = {
    Category.ODOUR: 5000,
    Category.AIR: 5000,
    Category.NOISE: 2000,
    Category.VIBRATION: 1000,
    Category.SOIL: 1000,
    Category.WATER: 5000,
}
MEMO_SIZE = 50_000  # recipient lists kept; cleared when full
BUCKETS_PER_DEG = 10  # facility index cells of 0.1°
WIND_CATEGORIES = frozenset({Category.ODOUR, Category.AIR})
OUTSIDE_NL_NL = (
    "Deze plek ligt niet in Nederland, dus geen Nederlandse instantie kan de melding oppakken."
)
OUTSIDE_NL_EN = "This place is not in the Netherlands, so no Dutch authority can take the report."
ACUTE_SYMPTOMS = frozenset({HealthSymptom.BREATHING, HealthSymptom.NAUSEA, HealthSymptom.DIZZINESS})


@dataclass
class Resolution:
    outcome: Literal["routed", "unroutable", "triage"]
    reason: LocalizedText | None = None
    place: Place = field(default_factory=Place)
    recipients: list[Recipient] = field(default_factory=list)
    candidates: list[FacilityCandidate] = field(default_factory=list)
    wind: Wind | None = None
    confidence: Literal["high", "low"] = "high"
    call_112: bool = False
    referral: Referral | None = None
    registry_version: str = ""
    needs_water_board: bool = False  # a rule wants the water board and none was given


class Resolver:
    """Holds the reference data and rules; ``resolve`` decides one report."""

    def __init__(
        self,
        registry: Registry,
        places: PlaceIndex,
        rules: RuleTable,
        wind: WindProvider,
        *,
        radii_m: dict[Category, float] | None = None,
    ) -> None:
        self.registry = registry
        self.places = places
        self.rules = rules
        self.wind = wind
        self.radii_m = radii_m or DEFAULT_RADII_M
        self.targets = Targets(registry)
        self._active = [f for f in registry.facilities.values() if f.active]
        self._buckets: dict[tuple[int, int], list[Facility]] = {}
        self._place_memo: dict[PlaceMatch, Place] = {}
        self._recipient_memo: dict[tuple[object, ...], tuple[tuple[Recipient, ...], bool]] = {}
        for facility in self._active:
            key = (
                math.floor(facility.lat * BUCKETS_PER_DEG),
                math.floor(facility.lon * BUCKETS_PER_DEG),
            )
            self._buckets.setdefault(key, []).append(facility)

    def _nearby(self, lat: float, lon: float, d_lat: float, d_lon: float) -> list[Facility]:
        """Active facilities in the buckets that the box around (lat, lon) touches."""
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

    def resolve(
        self,
        report: Report,
        excluded: frozenset[str] = frozenset(),
        *,
        water_board: str | None = None,
    ) -> Resolution:
        """Decide ``report``; ``water_board`` is the registry code found for its point, if any."""
        resolution = self._resolve(report, excluded, water_board)
        resolution.registry_version = self.registry.version
        return resolution

    def _resolve(
        self, report: Report, excluded: frozenset[str], water_board: str | None
    ) -> Resolution:
        lat, lon = report.location.lat, report.location.lon
        if lat is None or lon is None:
            return Resolution(
                "triage",
                LocalizedText(
                    nl="De plek kon niet worden vastgesteld; een medewerker kijkt ernaar.",
                    en="The place could not be determined; a person will look at it.",
                ),
            )
        match = self.places.locate(lat, lon)
        if match.municipality is None:
            return Resolution(
                "unroutable",
                LocalizedText(nl=OUTSIDE_NL_NL, en=OUTSIDE_NL_EN),
            )
        place = self._place(match)
        resolution = Resolution("routed", place=place)
        if not match.exact:
            resolution.confidence = "low"
        referral = self._out_of_scope(report)
        if referral is not None:
            resolution.referral = referral
            return resolution
        self._address(resolution, report, (lat, lon), match, excluded, water_board)
        return resolution

    def _address(
        self,
        resolution: Resolution,
        report: Report,
        point: tuple[float, float],
        match: PlaceMatch,
        excluded: frozenset[str],
        water_board: str | None,
    ) -> None:
        """The wind, the candidates, the rules that apply and their recipients."""
        lat, lon = point
        observation = (
            self.wind.wind_at(lat, lon, report.observed_at)
            if report.category in WIND_CATEGORIES
            else None
        )
        if observation is not None:
            resolution.wind = Wind(
                direction_deg=observation.direction_deg,
                speed_ms=observation.speed_ms,
                station_id=observation.station_id,
                hour_ending=observation.hour_ending,
            )
        resolution.candidates, source = self._candidates(report, lat, lon, observation)
        facts = self._facts(report, match, source, observation)
        if water_board in self.registry.water_boards:
            facts["water_board"] = water_board
            resolution.place = resolution.place.model_copy(update={"water_board_code": water_board})
        resolution.call_112 = facts["acute"] is True
        rule = next(r for r in self.rules.competent if self._matches(r.when, report, facts))
        chosen = (rule, *(r for r in self.rules.also if self._matches(r.when, report, facts)))
        recipients, complete = self._recipients(chosen, match, source, facts)
        resolution.needs_water_board = "water_board" not in facts and any(
            r.target == "water_board" for rule in chosen for r in rule.recipients
        )
        if not complete:
            resolution.confidence = "low"
        resolution.recipients = [r for r in recipients if r.recipient_id not in excluded]
        if not any(r.role is Role.COMPETENT_AUTHORITY for r in resolution.recipients):
            resolution.outcome = "triage"
            resolution.reason = LocalizedText(
                nl="Geen bevoegde instantie gevonden; een medewerker beslist wie het krijgt.",
                en="No competent authority found; a person decides who gets the report.",
            )

    def possible_recipient_ids(self) -> list[str]:
        """Every recipient id this registry can produce (each has its own delivery topic)."""
        registry = self.registry
        return [
            *(code.lower() for code in registry.municipalities),
            *(code.lower() for code in registry.provinces),
            *(od_recipient_id(code) for code in registry.omgevingsdiensten),
            *(code.lower() for code in registry.ggd_regions),
            *(code.lower() for code in registry.safety_regions),
            *(code.lower() for code in registry.water_boards),
            "rijkswaterstaat",
            "sodm",
        ]

    def _recipients(
        self,
        chosen: tuple[Rule, ...],
        match: PlaceMatch,
        source: Facility | None,
        facts: dict[str, object],
    ) -> tuple[tuple[Recipient, ...], bool]:
        """The recipients of the chosen rules, once each; False when one could not be found.

        Memoised: the answer depends only on the key below, and most reports share one.
        """
        wind = facts.get("wind")
        key = (
            tuple(r.id for r in chosen),
            match.municipality,
            match.ggd_region,
            match.safety_region,
            source.facility_id if source else None,
            isinstance(wind, WindObservation) and wind.direction_deg is not None,
            facts.get("water", ""),
            facts.get("water_board"),
        )
        cached = self._recipient_memo.get(key)
        if cached is not None:
            return cached
        recipients: list[Recipient] = []
        complete = True
        around = self.targets.surroundings(match, source, facts)
        for chosen_rule in chosen:
            for recipient_rule in chosen_rule.recipients:
                recipient = self.targets.recipient(recipient_rule, chosen_rule, around)
                if recipient is None:
                    complete = False
                elif all(r.recipient_id != recipient.recipient_id for r in recipients):
                    recipients.append(recipient)
        if len(self._recipient_memo) >= MEMO_SIZE:
            self._recipient_memo.clear()
        answer = self._recipient_memo[key] = (tuple(recipients), complete)
        return answer

    def _place(self, match: PlaceMatch) -> Place:
        place = self._place_memo.get(match)
        if place is None:
            if len(self._place_memo) >= MEMO_SIZE:
                self._place_memo.clear()
            place = self._place_memo[match] = self._new_place(match)
        return place

    def _new_place(self, match: PlaceMatch) -> Place:
        municipality = self.registry.municipalities[match.municipality or ""]
        return Place(
            municipality_code=municipality.code,
            municipality_name=municipality.name,
            province_code=match.province or municipality.province_code,
            safety_region_code=match.safety_region or municipality.safety_region_code,
            ggd_region_code=match.ggd_region or municipality.ggd_region_code,
            border_candidates=list(match.border_candidates),
        )

    def _out_of_scope(self, report: Report) -> Referral | None:
        text = " ".join(filter(None, (report.subtype, report.suspected_source))).lower()
        for scope in self.rules.out_of_scope:
            if any(word in text for word in scope.words):
                nl = (
                    f"Dit lijkt niet van een industrieel bedrijf te komen ({scope.id}). "
                    f"Neem contact op met {scope.contact}."
                )
                en = (
                    f"This does not seem to come from an industrial company ({scope.id}). "
                    f"Please contact {scope.contact}."
                )
                return Referral(reason=LocalizedText(nl=nl, en=en), contact=scope.contact)
        return None

    def _candidates(
        self, report: Report, lat: float, lon: float, wind: WindObservation | None
    ) -> tuple[list[FacilityCandidate], Facility | None]:
        radius = self.radii_m[report.category]
        named = self._named(report)
        scored: list[tuple[float, Facility, FacilityCandidate]] = []
        d_lat = radius / 110_000
        d_lon = radius / (111_320 * math.cos(math.radians(lat)))
        nearby = self._nearby(lat, lon, d_lat, d_lon)
        if named is not None and named not in nearby:
            nearby.append(named)
        for facility in nearby:
            distance = flat_distance_m(facility.lat, facility.lon, lat, lon)
            if distance > radius and facility is not named:
                continue
            bearing = bearing_deg(facility.lat, facility.lon, lat, lon)
            is_downwind: bool | None = None
            if (
                report.category in WIND_CATEGORIES
                and wind is not None
                and wind.direction_deg is not None
            ):
                is_downwind = downwind(wind.direction_deg, bearing)
            score = max(0.0, 1 - distance / radius) * (0.2 if is_downwind is False else 1.0)
            if facility is named:
                score = 1.0
            candidate = FacilityCandidate(
                facility_id=facility.facility_id,
                name=facility.name,
                distance_m=round(distance, 1),
                bearing_deg=round(bearing, 1) % 360,
                downwind=is_downwind,
                score=round(score, 3),
                sector=facility.sector or None,
            )
            scored.append((score, facility, candidate))
        scored.sort(key=lambda item: -item[0])
        plausible = [f for _, f, c in scored if c.downwind is not False]
        source = named or (plausible[0] if plausible else None)
        return [c for _, _, c in scored[:10]], source

    def _named(self, report: Report) -> Facility | None:
        if report.suspected_facility_id in self.registry.facilities:
            return self.registry.facilities[report.suspected_facility_id]
        if not report.suspected_source:
            return None
        words = {w for w in report.suspected_source.lower().replace(",", " ").split() if len(w) > 3}
        for facility in self._active:
            if words & set(facility.name.lower().replace("(", " ").split()):
                return facility
        return None

    def _facts(
        self,
        report: Report,
        match: PlaceMatch,
        source: Facility | None,
        wind: WindObservation | None,
    ) -> dict[str, object]:
        text = " ".join(filter(None, (report.suspected_source, report.description))).lower()
        water = next((w for w in self.rules.state_waters if w in text), None)
        acute = bool(report.still_noticeable) and (
            report.intensity == 5 or bool(ACUTE_SYMPTOMS & set(report.health_symptoms))
        )
        return {
            "facility": source,
            "state_water": water is not None,
            "water": water or "",
            "facility_seveso": source is not None and source.seveso_tier in ("high", "low"),
            "facility_ippc": source is not None and source.ippc is True,
            "health_symptoms": bool(report.health_symptoms or report.symptoms_other),
            "acute": acute,
            "wind": wind,
        }

    @staticmethod
    def _matches(condition: Condition, report: Report, facts: dict[str, object]) -> bool:
        if condition.category is not None and report.category not in condition.category:
            return False
        if condition.subtype is not None and report.subtype not in condition.subtype:
            return False
        for name in ("state_water", "facility_seveso", "facility_ippc", "health_symptoms", "acute"):
            wanted = getattr(condition, name)
            if wanted is not None and bool(facts[name]) is not wanted:
                return False
        return True


def observed_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
