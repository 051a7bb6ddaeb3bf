"""Golden routing cases over the full 2025 registry (no broker needed: resolution is pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import uuid4

import pytest

from schemas.report import Category, HealthSymptom, Location, LocationSource, Report
from schemas.routing import Role
from services.router.resolution import Resolution, Resolver
from services.router.rules import load_rules
from services.router.wind import FixedWind
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


def test_wijk_aan_zee_with_southerly_wind_goes_to_the_seveso_od() -> None:
    resolution = router(180.0).resolve(report(52.49325, 4.59954))
    assert resolution.outcome == "routed"
    got = roles(resolution)
    assert got["pv27"] == ("competent_authority", "seveso")
    assert got["od-odnzkg"] == ("executing_body", "seveso")
    assert "od-odijmond" not in got, "not Velsen's own omgevingsdienst"
    od = next(r for r in resolution.recipients if r.recipient_id == "od-odnzkg")
    assert "Tata Steel" in od.reason.nl
    assert "benedenwinds" in od.reason.nl
    assert "downwind" in od.reason.en
    top = resolution.candidates[0]
    assert top.facility_id.startswith("tata_steel") or top.downwind
    assert resolution.wind is not None
    assert resolution.wind.direction_deg == 180.0


def test_northerly_wind_makes_the_steelworks_implausible() -> None:
    resolution = router(0.0).resolve(report(52.49325, 4.59954))
    tata = next(c for c in resolution.candidates if c.facility_id == "tata_steel_ijmuiden")
    assert tata.downwind is False


def test_odour_near_chemours_goes_to_zuid_holland_and_dcmr() -> None:
    resolution = router(None).resolve(report(51.8200, 4.7280))
    got = roles(resolution)
    assert got["pv28"] == ("competent_authority", "seveso")
    assert got["od-dcmr"] == ("executing_body", "seveso")
    assert "od-ozhz" not in got


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
