"""From a report to its recipients, each with a role, the rule that chose it and a reason.

A pure function of the report, the reference registry, the wind and the rule table, so that
every decision can be replayed and tested without a broker.
"""

from __future__ import annotations

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
from services.router.sources import DEFAULT_RADII_M, WIND_CATEGORIES, SourceWeigher, Weighed
from services.router.targets import Targets, od_recipient_id
from services.router.texts import kilometres, notes_text, said
from services.router.wind import WindObservation, WindProvider
from services.runtime.outline import load_waters

MEMO_SIZE = 50_000  # recipient lists kept; cleared when full
ACUTE_SYMPTOMS = frozenset({HealthSymptom.BREATHING, HealthSymptom.NAUSEA, HealthSymptom.DIZZINESS})
ROLE_RANK = {
    Role.COMPETENT_AUTHORITY: 0,
    Role.EXECUTING_BODY: 1,
    Role.ADVISOR: 2,
    Role.INFORMED: 3,
}
FACT_NAMES = (
    "state_water",
    "on_state_water",
    "facility_seveso",
    "facility_ippc",
    "health_symptoms",
    "acute",
)


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
    notes: list[LocalizedText] = field(default_factory=list)  # what the reason goes on to say


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
        self.sources = SourceWeigher(self._active, self.radii_m)
        self._water_words = [
            *((word, word) for word in rules.state_waters),
            *(
                (word, water.name)
                for water in load_waters()
                if water.national
                for word in water.words
            ),
        ]
        self._place_memo: dict[PlaceMatch, Place] = {}
        self._wind_memo: dict[WindObservation, Wind] = {}
        self._rules_memo: dict[tuple[object, ...], tuple[Rule, ...]] = {}
        self._recipient_memo: dict[tuple[object, ...], tuple[tuple[Recipient, ...], bool]] = {}

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
            return Resolution("triage", said("router.reason.no_place"))
        match = self.places.locate(lat, lon)
        if match.municipality is None:
            return Resolution("unroutable", said("router.reason.outside_nl"))
        place = self._place(match)
        resolution = Resolution("routed", place=place)
        if not match.exact:
            resolution.confidence = "low"
        if match.on_water:
            self._on_water(resolution, match)
        referral = self._out_of_scope(report)
        if referral is not None:
            resolution.referral = referral
            return resolution
        self._address(resolution, report, (lat, lon), match, excluded, water_board)
        return resolution

    def _on_water(self, resolution: Resolution, match: PlaceMatch) -> None:
        """A point in no municipality: the nearest one takes it, with low confidence."""
        resolution.confidence = "low"
        name = self.registry.municipalities[match.municipality or ""].name
        water = match.water.name if match.water else None
        resolution.notes.append(
            said(
                "router.reason.on_water",
                water=f" ({water})" if water else "",
                distance=kilometres(match.distance_m),
                municipality=name,
            )
        )
        resolution.reason = notes_text(resolution.notes)

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
        observation = (
            self.wind.wind_at(*point, report.observed_at)
            if report.category in WIND_CATEGORIES
            else None
        )
        if observation is not None:
            resolution.wind = self._wind_model(observation)
        shown, plausible = self.sources.weigh(report, point, observation, self._named(report))
        resolution.candidates = [w.candidate for w in shown]
        self._explain_sources(resolution, report, observation, shown, plausible)
        context = self._context(report, match, observation, possible=len(plausible) > 1)
        if water_board in self.registry.water_boards:
            context["water_board"] = water_board
            resolution.place = resolution.place.model_copy(update={"water_board_code": water_board})
        resolution.call_112 = context["acute"] is True
        sources: list[Facility | None] = [w.facility for w in plausible] or [None]
        chosen = [
            (source, self._rules_for(report, with_source(context, source))) for source in sources
        ]
        recipients, complete = self._recipients(chosen, match, context)
        resolution.needs_water_board = "water_board" not in context and any(
            r.target == "water_board"
            for _, rules in chosen
            for rule in rules
            for r in rule.recipients
        )
        if not complete:
            resolution.confidence = "low"
        resolution.recipients = [r for r in recipients if r.recipient_id not in excluded]
        if not any(r.role is Role.COMPETENT_AUTHORITY for r in resolution.recipients):
            resolution.outcome = "triage"
            resolution.notes.insert(0, said("router.reason.no_competent"))
            resolution.reason = notes_text(resolution.notes)

    def _wind_model(self, observation: WindObservation) -> Wind:
        """The decision's wind (frozen, so one model per observation serves every report)."""
        wind = self._wind_memo.get(observation)
        if wind is None:
            if len(self._wind_memo) >= MEMO_SIZE:
                self._wind_memo.clear()
            wind = self._wind_memo[observation] = Wind(
                direction_deg=observation.direction_deg,
                speed_ms=observation.speed_ms,
                station_id=observation.station_id,
                hour_ending=observation.hour_ending,
            )
        return wind

    @staticmethod
    def _explain_sources(
        resolution: Resolution,
        report: Report,
        wind: WindObservation | None,
        shown: list[Weighed],
        plausible: list[Weighed],
    ) -> None:
        """Notes on the sources: several possible ones (low confidence), or no wind to go by."""
        if (
            report.category in WIND_CATEGORIES
            and shown
            and (wind is None or wind.direction_deg is None)
        ):
            resolution.notes.append(said("router.reason.no_wind"))
            resolution.reason = notes_text(resolution.notes)
        if len(plausible) > 1:
            resolution.confidence = "low"
            names = ", ".join(w.facility.name for w in plausible)
            resolution.notes.append(said("router.reason.several_sources", names=names))
            resolution.reason = notes_text(resolution.notes)

    def _rules_for(self, report: Report, facts: dict[str, object]) -> tuple[Rule, ...]:
        """The first matching competent-authority rule and every matching extra rule
        (memoised: they depend on the category, the subtype and the facts alone)."""
        key = (report.category, report.subtype, *(bool(facts[name]) for name in FACT_NAMES))
        chosen = self._rules_memo.get(key)
        if chosen is None:
            rule = next(r for r in self.rules.competent if self._matches(r.when, report, facts))
            also = (r for r in self.rules.also if self._matches(r.when, report, facts))
            if len(self._rules_memo) >= MEMO_SIZE:
                self._rules_memo.clear()
            chosen = self._rules_memo[key] = (rule, *also)
        return chosen

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
        chosen: list[tuple[Facility | None, tuple[Rule, ...]]],
        match: PlaceMatch,
        context: dict[str, object],
    ) -> tuple[tuple[Recipient, ...], bool]:
        """The recipients of the rules chosen for each possible source, once each (reasons of
        several sources joined); False when one could not be found.

        Memoised: the answer depends only on the key below, and most reports share one.
        """
        wind = context.get("wind")
        key = (
            tuple(
                (s.facility_id if s else None, tuple(r.id for r in rules)) for s, rules in chosen
            ),
            (match.municipality, match.ggd_region, match.safety_region, match.on_water),
            (match.distance_m, match.water),  # not the border candidates: no recipient uses them
            isinstance(wind, WindObservation) and wind.direction_deg is not None,
            context["wind_category"],
            context["water"],
            context.get("water_board"),
        )
        cached = self._recipient_memo.get(key)
        if cached is not None:
            return cached
        merged = Merged()
        complete = True
        for source, rules in chosen:
            around = self.targets.surroundings(match, source, with_source(context, source))
            for_source: dict[str, Recipient] = {}
            for rule in rules:
                for recipient_rule in rule.recipients:
                    recipient = self.targets.recipient(recipient_rule, rule, around)
                    if recipient is None:
                        complete = complete and self.targets.optional(recipient_rule.target)
                    else:
                        for_source.setdefault(recipient.recipient_id, recipient)
            for recipient in for_source.values():
                merged.add(recipient, source)
        if len(self._recipient_memo) >= MEMO_SIZE:
            self._recipient_memo.clear()
        answer = self._recipient_memo[key] = (merged.recipients(), complete)
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
            on_water=match.on_water,
            distance_m=match.distance_m if match.on_water else None,
            water_name=match.water.name if match.water else None,
            national_water=bool(match.water and match.water.national),
        )

    def _out_of_scope(self, report: Report) -> Referral | None:
        text = " ".join(filter(None, (report.subtype, report.suspected_source))).lower()
        if not text:
            return None
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

    def _context(
        self,
        report: Report,
        match: PlaceMatch,
        wind: WindObservation | None,
        *,
        possible: bool,
    ) -> dict[str, object]:
        """The facts of a report that do not depend on which facility is its source."""
        text = " ".join(filter(None, (report.suspected_source, report.description))).lower()
        mentioned = (
            next((name for word, name in self._water_words if word in text), None) if text else None
        )
        on_state_water = match.water is not None and match.water.national
        water = match.water.name if on_state_water and match.water else mentioned
        acute = bool(report.still_noticeable) and (
            report.intensity == 5 or bool(ACUTE_SYMPTOMS & set(report.health_symptoms))
        )
        return {
            "state_water": water is not None,
            "on_state_water": on_state_water,
            "water": water or "",
            "health_symptoms": bool(report.health_symptoms or report.symptoms_other),
            "acute": acute,
            "wind": wind,
            "wind_category": report.category in WIND_CATEGORIES,
            "possible": possible,
        }

    @staticmethod
    def _matches(condition: Condition, report: Report, facts: dict[str, object]) -> bool:
        if condition.category is not None and report.category not in condition.category:
            return False
        if condition.subtype is not None and report.subtype not in condition.subtype:
            return False
        for name in FACT_NAMES:
            wanted = getattr(condition, name)
            if wanted is not None and bool(facts[name]) is not wanted:
                return False
        return True


def with_source(context: dict[str, object], source: Facility | None) -> dict[str, object]:
    """``context`` with the facts of one possible source."""
    return {
        **context,
        "facility": source,
        "facility_seveso": source is not None and source.seveso_tier in ("high", "low"),
        "facility_ippc": source is not None and source.ippc is True,
    }


class Merged:
    """The recipients of several possible sources, once each. A recipient chosen by several
    rules (say Seveso for one source, IPPC for another) keeps each rule's reason, the
    strongest role first; more sources under the same rule are named after its reason."""

    def __init__(self) -> None:
        self.entries: dict[str, list[tuple[Recipient, list[str]]]] = {}

    def add(self, recipient: Recipient, source: Facility | None) -> None:
        entries = self.entries.setdefault(recipient.recipient_id, [])
        if any(e[0].reason == recipient.reason for e in entries):
            return
        same_rule = next((e for e in entries if e[0].rule_id == recipient.rule_id), None)
        if same_rule is None:
            entries.append((recipient, []))
        elif source is not None:
            same_rule[1].append(source.name)

    def recipients(self) -> tuple[Recipient, ...]:
        found = []
        for entries in self.entries.values():
            ranked = sorted(entries, key=lambda e: ROLE_RANK[e[0].role])
            nl = " ".join(reason_with(r.reason.nl, "Ook een mogelijke bron", n) for r, n in ranked)
            en = " ".join(reason_with(r.reason.en, "Also a possible source", n) for r, n in ranked)
            first = ranked[0][0]
            found.append(
                first
                if len(ranked) == 1 and not ranked[0][1]
                else first.model_copy(update={"reason": LocalizedText(nl=nl, en=en)})
            )
        return tuple(found)


def reason_with(reason: str, also: str, names: list[str]) -> str:
    return f"{reason} {also}: {', '.join(names)}." if names else reason


def observed_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
