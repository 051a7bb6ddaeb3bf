"""From a rule's target (``municipality``, ``ggd``, ``water_board``, ...) to the recipient it
names for one report, with the rule's reason filled in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas._base import LocalizedText
from schemas.routing import Recipient, RecipientKind
from services.router.reference.places import PlaceMatch
from services.router.reference.registry import Facility, Municipality, Region, Registry
from services.router.rules import RecipientRule, Rule, Target
from services.router.texts import kilometres, pair
from services.router.wind import WindObservation


@dataclass(frozen=True)
class Addressee:
    """Who a target names: the recipient id (its delivery topic), its name and kind."""

    recipient_id: str
    name: str
    kind: RecipientKind


RIJKSWATERSTAAT = Addressee("rijkswaterstaat", "Rijkswaterstaat", RecipientKind.RIJKSWATERSTAAT)
SODM = Addressee("sodm", "Staatstoezicht op de Mijnen", RecipientKind.STATE_SUPERVISION_OF_MINES)


@dataclass(frozen=True)
class Surroundings:
    """What a target is looked up from: the place, the suspected source and the facts."""

    match: PlaceMatch
    source: Facility | None
    facts: dict[str, object]
    place_municipality: Municipality  # where the report was made
    municipality: Municipality  # the source's home municipality, else the place's
    province: Region | None  # the province of ``municipality``


class Targets:
    """Finds the recipient a rule's target names in one registry version."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._finders: dict[Target, Callable[[Surroundings], Addressee | None]] = {
            "municipality": self._municipality,
            "place_municipality": self._place_municipality,
            "facility_municipality": self._facility_municipality,
            "province": self._province,
            "seveso_od_of_province": self._seveso_od,
            "od_of_municipality": self._od,
            "od_of_facility": self._od,
            "ggd": self._ggd,
            "safety_region": self._safety_region,
            "water_board": self._water_board,
            "rijkswaterstaat": lambda _: RIJKSWATERSTAAT,
            "sodm": lambda _: SODM,
        }

    def surroundings(
        self, match: PlaceMatch, source: Facility | None, facts: dict[str, object]
    ) -> Surroundings:
        registry = self.registry
        place_municipality = registry.municipalities[match.municipality or ""]
        home = registry.municipalities.get(source.municipality_code) if source else None
        municipality = home or place_municipality
        province = registry.provinces.get(municipality.province_code)
        return Surroundings(match, source, facts, place_municipality, municipality, province)

    @staticmethod
    def optional(target: Target) -> bool:
        """Whether ``target`` may name no one without the decision being incomplete."""
        return target in OPTIONAL_TARGETS

    def recipient(
        self, rule: RecipientRule, chosen: Rule, around: Surroundings
    ) -> Recipient | None:
        """The recipient ``rule`` names, or None when the registry has none for it."""
        addressee = self._finders[rule.target](around)
        if addressee is None:
            return None
        values = reason_values(addressee, around)
        return Recipient(
            recipient_id=addressee.recipient_id,
            name=addressee.name,
            kind=addressee.kind,
            role=rule.role,
            rule_id=chosen.id,
            reason=LocalizedText(nl=rule.nl.format(**values), en=rule.en.format(**values)),
        )

    @staticmethod
    def _municipality(around: Surroundings) -> Addressee:
        municipality = around.municipality
        return Addressee(
            municipality.code.lower(),
            f"Gemeente {municipality.name}",
            RecipientKind.MUNICIPALITY,
        )

    @staticmethod
    def _place_municipality(around: Surroundings) -> Addressee:
        """Where the resident notices it (on the water: the nearest municipality)."""
        municipality = around.place_municipality
        return Addressee(
            municipality.code.lower(), f"Gemeente {municipality.name}", RecipientKind.MUNICIPALITY
        )

    @staticmethod
    def _facility_municipality(around: Surroundings) -> Addressee | None:
        """The possible source's home municipality, when it is another than the place's."""
        if around.source is None or around.municipality is around.place_municipality:
            return None
        return Targets._municipality(around)

    @staticmethod
    def _province(around: Surroundings) -> Addressee | None:
        province = around.province
        if province is None:
            return None
        return Addressee(
            province.code.lower(), f"Provincie {province.name}", RecipientKind.PROVINCE
        )

    def _seveso_od(self, around: Surroundings) -> Addressee | None:
        province = around.province
        od_code = self.registry.seveso_od_by_province.get(province.name) if province else None
        return self._omgevingsdienst(od_code)

    def _od(self, around: Surroundings) -> Addressee | None:
        return self._omgevingsdienst(around.municipality.omgevingsdienst_code)

    def _omgevingsdienst(self, od_code: str | None) -> Addressee | None:
        od = self.registry.omgevingsdiensten.get(od_code or "")
        if od is None:
            return None
        return Addressee(od_recipient_id(od.code), od.name, RecipientKind.OMGEVINGSDIENST)

    def _ggd(self, around: Surroundings) -> Addressee | None:
        code = around.match.ggd_region or around.place_municipality.ggd_region_code
        region = self.registry.ggd_regions.get(code)
        if region is None:
            return None
        return Addressee(region.code.lower(), region.name, RecipientKind.GGD)

    def _safety_region(self, around: Surroundings) -> Addressee | None:
        code = around.match.safety_region or around.place_municipality.safety_region_code
        region = self.registry.safety_regions.get(code)
        if region is None:
            return None
        return Addressee(
            region.code.lower(), f"Veiligheidsregio {region.name}", RecipientKind.SAFETY_REGION
        )

    def _water_board(self, around: Surroundings) -> Addressee | None:
        code = str(around.facts.get("water_board", ""))
        board = self.registry.water_boards.get(code)
        if board is None:
            return None
        return Addressee(code.lower(), board, RecipientKind.WATER_BOARD)


OPTIONAL_TARGETS: frozenset[Target] = frozenset({"facility_municipality"})


def od_recipient_id(code: str) -> str:
    """An omgevingsdienst's recipient id: ``od-`` and its code (``od-odnzkg``)."""
    return f"od-{code.lower()}"


NOTHING = ("", "")  # a fragment that does not apply, in both languages


def reason_values(addressee: Addressee, around: Surroundings) -> dict[str, str]:
    """The placeholders of a rule's reason (``rules.PLACEHOLDERS``) for one recipient."""
    source, name = around.source, addressee.name
    possible = bool(around.facts.get("possible")) and source is not None
    downwind = _wind_values(around)
    where = pair("router.fragment.in_area")
    if around.match.on_water:
        where = pair("router.fragment.on_water", distance=kilometres(around.match.distance_m))
    facility = possibly = NOTHING
    if source is not None:
        shape = "facility_possible" if possible else "facility_concerned"
        facility = pair(f"router.fragment.{shape}", facility=source.name)
    if possible:
        possibly = pair("router.fragment.possible")
    return {
        "facility": source.name if source else "",
        "facility_nl": facility[0],
        "facility_en": facility[1],
        "possible_nl": possibly[0],
        "possible_en": possibly[1],
        "where_nl": where[0],
        "where_en": where[1],
        "place_municipality": around.place_municipality.name,
        "municipality": around.municipality.name,
        "province": around.province.name if around.province else "",
        "od": name,
        "ggd": name,
        "safety_region": name.removeprefix("Veiligheidsregio "),
        "water": str(around.facts.get("water", "")),
        "water_board": name,
        "wind_nl": downwind[0],
        "wind_en": downwind[1],
    }


def _wind_values(around: Surroundings) -> tuple[str, str]:
    """The ``wind_nl``/``wind_en`` placeholders: downwind of the source, or no wind known."""
    source, wind = around.source, around.facts.get("wind")
    if source is None or not around.facts.get("wind_category"):
        return NOTHING
    if isinstance(wind, WindObservation) and wind.direction_deg is not None:
        return pair("router.fragment.downwind", facility=source.name)
    return pair("router.fragment.no_wind")
