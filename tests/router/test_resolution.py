"""Golden routing cases over the full 2025 registry (no broker needed: resolution is pure)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import uuid4

import pytest

from schemas._base import LocalizedText
from schemas.report import Category, HealthSymptom, Location, LocationSource, Report
from schemas.routing import Role
from services.router.resolution import Resolution, Resolver
from services.router.rules import load_rules
from services.router.targets import od_recipient_id
from services.router.wind import FixedWind, WindObservation
from tests.router.test_reference import reference
from tests.support.factories import reporter_key

OBSERVED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@cache
def router(wind_from: float | None) -> Resolver:
    registry, places = reference()
    return Resolver(registry, places, load_rules(), FixedWind(wind_from))


def report(lat: float, lon: float, category: Category = Category.ODOUR, **changes: Any) -> Report:
    values: dict[str, Any] = {
        "report_id": uuid4(),
        "reporter_key": reporter_key(),
        "channel": "web",
        "category": category,
        "location": Location(lat=lat, lon=lon, source=LocationSource.WGS84),
        "observed_at": OBSERVED,
        "received_at": OBSERVED,
        **changes,
    }
    return Report.model_validate(values)


def roles(resolution: Resolution) -> dict[str, tuple[str, str]]:
    return {r.recipient_id: (r.role.value, r.rule_id) for r in resolution.recipients}


def reason(resolution: Resolution, recipient_id: str) -> LocalizedText:
    return next(r.reason for r in resolution.recipients if r.recipient_id == recipient_id)


def test_wijk_aan_zee_with_southerly_wind_goes_to_the_seveso_od() -> None:
    resolution = router(180.0).resolve(report(52.49325, 4.59954))
    assert resolution.outcome == "routed"
    got = roles(resolution)
    assert got["pv27"] == ("competent_authority", "seveso")
    assert got["od-odnzkg"] == ("executing_body", "seveso")
    od = next(r for r in resolution.recipients if r.recipient_id == "od-odnzkg")
    assert "Tata Steel" in od.reason.nl
    assert "benedenwinds" in od.reason.nl
    assert "downwind" in od.reason.en
    top = resolution.candidates[0]
    assert top.facility_id.startswith("tata_steel") or top.downwind
    assert resolution.wind is not None
    assert resolution.wind.direction_deg == 180.0


def test_two_sources_side_by_side_both_get_their_authorities() -> None:
    """Tata Steel (Seveso: the province and its Seveso-OD) and Harsco on its site (no
    provincial permit known: Velsen and its OD) are both upwind of Wijk aan Zee and about as
    near: both are possible sources, each authority is told so, and the decision is low."""
    resolution = router(180.0).resolve(report(52.49325, 4.59954))
    got = roles(resolution)
    assert got["pv27"] == ("competent_authority", "seveso")
    assert got["od-odnzkg"] == ("executing_body", "seveso")
    assert got["gm0453"] == ("competent_authority", "municipal")
    assert got["od-odijmond"] == ("executing_body", "municipal")
    assert resolution.confidence == "low"
    plausible = [c.facility_id for c in resolution.candidates if c.plausible]
    assert plausible == ["tata_steel_ijmuiden", "harsco_ijmuiden"]
    scores = [c.score for c in resolution.candidates]
    assert scores == sorted(scores, reverse=True), "ranked, best first"
    province = reason(resolution, "pv27")
    assert "mogelijke bron" in province.nl
    assert "possible source" in province.en
    assert "Harsco" in reason(resolution, "gm0453").en
    assert resolution.reason is not None
    assert "Several companies" in resolution.reason.en


def test_a_plausible_seveso_site_is_never_left_out() -> None:
    """Next to Renewi ATM in Moerdijk, Shell Moerdijk scores far below it (4 km away, no wind):
    by rank alone it would not be a source, but a Seveso site that may be one always is."""
    resolution = router(None).resolve(report(51.675, 4.62))
    by_id = {c.facility_id: c for c in resolution.candidates}
    assert resolution.candidates[0].facility_id == "renewi_atm_moerdijk"
    shell = by_id["shell_moerdijk"]
    assert shell.seveso
    assert shell.plausible
    assert shell.score < 0.5 * resolution.candidates[0].score
    registry = router(None).registry
    seveso_od = od_recipient_id(registry.seveso_od_by_province["Noord-Brabant"])
    got = roles(resolution)
    assert got["pv30"][0] == "competent_authority"
    assert got[seveso_od][0] == "executing_body"
    assert (
        "Shell Moerdijk (petrochemicals) (a possible source), a Seveso"
        in reason(resolution, "pv30").en
    )
    assert "Shell" in reason(resolution, seveso_od).en


def test_approximate_coordinates_widen_the_radius_and_the_cone() -> None:
    """AVR Duiven's point is from memory (±0.02°, about 2.2 km). Noise 3.5 km from it is
    beyond the 2 km radius of an exact point but within reach of the approximate one; and a
    reporter 55° off the downwind line at 2 km is inside the cone widened by that margin."""
    avr = router(None).registry.facilities["avr_duiven"]
    assert avr.coordinates_approximate
    assert round(avr.coordinate_uncertainty_m) == 2220
    north = report(avr.lat + 3500 / 111_000, avr.lon, Category.NOISE)
    [candidate] = [
        c for c in router(None).resolve(north).candidates if c.facility_id == avr.facility_id
    ]
    assert candidate.coordinate_uncertainty_m == 2220
    assert candidate.plausible

    off = math.radians(55)
    lat = avr.lat + 2000 * math.cos(off) / 111_000
    lon = avr.lon + 2000 * math.sin(off) / (111_320 * math.cos(math.radians(avr.lat)))
    resolution = router(180.0).resolve(report(lat, lon))  # the wind blows due north
    [weighed] = [c for c in resolution.candidates if c.facility_id == avr.facility_id]
    assert weighed.downwind is True
    assert weighed.plausible


class NoWind:
    def wind_at(self, lat: float, lon: float, moment: datetime) -> WindObservation | None:
        return None


@pytest.mark.parametrize("wind", ["no observation", "calm"])
def test_no_wind_says_so_and_weighs_every_direction(wind: str) -> None:
    """Near Chemours and HVC in Dordrecht with no wind direction: nobody is guessed upwind;
    both are possible sources, and the reasons say why."""
    registry, places = reference()
    provider = NoWind() if wind == "no observation" else FixedWind(None)
    resolver = Resolver(registry, places, load_rules(), provider)
    resolution = resolver.resolve(report(51.8200, 4.7280))
    got = roles(resolution)
    assert got["pv28"] == ("competent_authority", "seveso")
    assert got["od-dcmr"] == ("executing_body", "seveso")
    assert got["od-ozhz"] == ("executing_body", "ippc"), "HVC's own OD, for the incinerator"
    assert all(c.downwind is None for c in resolution.candidates)
    assert resolution.reason is not None
    assert "No wind direction was known" in resolution.reason.en
    assert "geen windrichting" in reason(resolution, "od-dcmr").nl
    assert resolution.confidence == "low"


def test_the_municipality_across_the_river_is_informed_with_its_own_reason() -> None:
    """A resident in Sliedrecht smells Chemours across the Beneden-Merwede in Dordrecht:
    Sliedrecht is informed because it happens in its area, Dordrecht because the possible
    source lies in its area."""
    resolution = router(230.0).resolve(report(51.827, 4.745))
    assert resolution.place.municipality_code == "GM0610"
    got = roles(resolution)
    assert got["gm0610"][0] == "informed"
    assert got["gm0505"][0] == "informed"
    assert "happens in its area" in reason(resolution, "gm0610").en
    assert "in haar gebied gebeurt" in reason(resolution, "gm0610").nl
    dordrecht = reason(resolution, "gm0505")
    assert "Chemours" in dordrecht.en
    assert "possible source, lies in its area" in dordrecht.en
    assert "happens" not in dordrecht.en


def test_a_water_report_on_the_ijsselmeer_goes_to_rijkswaterstaat_and_the_nearest_town() -> None:
    resolution = router(None).resolve(report(52.80, 5.37, Category.WATER, subtype="discharge"))
    assert resolution.outcome == "routed"
    assert resolution.confidence == "low"
    place = resolution.place
    assert (place.municipality_code, place.on_water, place.water_name) == (
        "GM1900",
        True,
        "IJsselmeer",
    )
    assert place.national_water
    assert place.distance_m is not None
    assert place.distance_m > 1000
    got = roles(resolution)
    assert got["rijkswaterstaat"] == ("competent_authority", "state_water")
    assert got["gm1900"][0] == "informed"
    assert "on the water near its area" in reason(resolution, "gm1900").en
    assert resolution.reason is not None
    assert "IJsselmeer" in resolution.reason.en
    assert "km" in resolution.reason.en


def test_odour_at_a_quay_of_the_westerschelde_also_informs_rijkswaterstaat() -> None:
    resolution = router(None).resolve(report(51.385, 3.59, Category.NOISE))  # Breskens
    got = roles(resolution)
    assert resolution.place.water_name == "Westerschelde"
    assert not resolution.place.on_water
    assert got["rijkswaterstaat"] == ("informed", "national_water")


def test_northerly_wind_makes_the_steelworks_implausible() -> None:
    resolution = router(0.0).resolve(report(52.49325, 4.59954))
    tata = next(c for c in resolution.candidates if c.facility_id == "tata_steel_ijmuiden")
    assert tata.downwind is False


def test_odour_near_chemours_goes_to_zuid_holland_and_dcmr() -> None:
    resolution = router(None).resolve(report(51.8200, 4.7280))
    got = roles(resolution)
    assert got["pv28"] == ("competent_authority", "seveso")
    assert got["od-dcmr"] == ("executing_body", "seveso")


def test_noise_in_central_utrecht_goes_to_the_municipality() -> None:
    resolution = router(None).resolve(report(52.0907, 5.1214, Category.NOISE))
    got = roles(resolution)
    assert got["gm0344"] == ("competent_authority", "municipal")
    assert got["od-rudu"] == ("executing_body", "municipal")
    assert resolution.candidates == []


def test_north_sea_is_unroutable() -> None:
    resolution = router(None).resolve(report(52.6, 4.2))
    assert resolution.outcome == "unroutable"
    assert resolution.reason is not None
    assert resolution.recipients == []


def test_mining_tremor_goes_to_state_supervision_of_mines() -> None:
    resolution = router(None).resolve(report(53.33, 6.75, Category.VIBRATION, subtype="tremor"))
    got = roles(resolution)
    assert got["sodm"] == ("competent_authority", "mining")
    assert any(role == Role.INFORMED.value for role, _ in got.values())


def test_health_symptoms_add_the_ggd_and_acute_signs_the_safety_region() -> None:
    resolution = router(None).resolve(
        report(
            52.0907,
            5.1214,
            Category.AIR,
            health_symptoms=[HealthSymptom.BREATHING],
            still_noticeable=True,
        )
    )
    got = roles(resolution)
    assert got["gg2514"] == ("advisor", "health")
    assert got["vr09"] == ("informed", "acute")
    assert resolution.call_112


def test_out_of_scope_gets_a_referral_and_no_authority() -> None:
    resolution = router(None).resolve(
        report(52.0907, 5.1214, Category.NOISE, suspected_source="vliegtuigen van Schiphol")
    )
    assert resolution.referral is not None
    assert resolution.recipients == []


def test_excluded_recipient_is_left_out() -> None:
    resolution = router(None).resolve(
        report(52.0907, 5.1214, Category.NOISE), excluded=frozenset({"od-rudu"})
    )
    assert "od-rudu" not in roles(resolution)
    assert "gm0344" in roles(resolution)


def test_no_coordinates_goes_to_triage() -> None:
    unverified = report(52.0, 5.0).model_copy(
        update={"location": Location(source=LocationSource.ADDRESS, verified=False)}
    )
    assert router(None).resolve(unverified).outcome == "triage"


@pytest.mark.parametrize("broken", ["duplicate", "no_fallback", "placeholder"])
def test_rule_table_is_validated_on_load(broken: str, tmp_path: Any) -> None:
    import yaml

    from services.router.rules import RULES_FILE
    from services.router.rules import load_rules as load

    data = yaml.safe_load(RULES_FILE.read_text())
    if broken == "duplicate":
        data["also"][0]["id"] = "seveso"
    elif broken == "no_fallback":
        data["competent"].pop()
    else:
        data["also"][0]["recipients"][0]["nl"] = "{nonsense} adviseert over gezondheid."
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match=r"unique|fallback|placeholders"):
        load(path)
