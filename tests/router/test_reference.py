"""The reference registry from ../shared/data: consistent, and every Dutch point in one place."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely import Point, prepared, unary_union
from shapely.geometry.base import BaseGeometry

from services.router.reference.loader import check_registry, load_registry
from services.router.reference.places import PlaceIndex
from services.router.reference.registry import Registry
from services.runtime.geo import to_plane
from tests.support.processes import cli

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@cache
def reference() -> tuple[Registry, PlaceIndex]:
    registry = load_registry(SHARED)
    centroids = {code: m.centroid for code, m in registry.municipalities.items()}
    return registry, PlaceIndex.load(SHARED, centroids)


def test_counts_and_consistency() -> None:
    registry, places = reference()
    assert len(registry.municipalities) == 342
    assert len(registry.provinces) == 12
    assert len(registry.safety_regions) == 25
    assert len(registry.ggd_regions) == 25
    assert len(registry.omgevingsdiensten) == 28
    assert sum(od.is_seveso for od in registry.omgevingsdiensten.values()) == 6
    assert check_registry(registry) == []
    assert places.check(registry) == []
    inferred = [
        m for m in registry.municipalities.values() if m.omgevingsdienst_confidence != "verified"
    ]
    assert len(inferred) == 5, "uncertain memberships stay marked as such"


def test_uncertain_facility_facts_stay_marked() -> None:
    registry, _ = reference()
    tata = registry.facilities["tata_steel_ijmuiden"]
    assert tata.seveso_tier == "high"
    assert tata.seveso_uncertain, "the tier was noted from memory"
    assert not tata.coordinates_approximate
    assert any(not f.active for f in registry.facilities.values())


@pytest.mark.parametrize(
    ("lat", "lon", "municipality", "province"),
    [
        (52.49325, 4.59954, "GM0375", "PV27"),  # Wijk aan Zee (Beverwijk), Noord-Holland
        (52.4606, 4.6300, "GM0453", "PV27"),  # Velsen
        (51.8133, 4.6901, "GM0505", "PV28"),  # Dordrecht, Zuid-Holland
        (52.0907, 5.1214, "GM0344", "PV26"),  # Utrecht centre
    ],
)
def test_golden_places(lat: float, lon: float, municipality: str, province: str) -> None:
    registry, places = reference()
    match = places.locate(lat, lon)
    assert match.municipality == municipality
    assert registry.municipalities[municipality].province_code == province
    assert places.layers["province"].containing(Point(*to_plane(lat, lon))) == [province]
    assert match.exact


def test_north_sea_is_nowhere() -> None:
    _, places = reference()
    match = places.locate(52.6, 4.2)
    assert match.municipality is None


def test_points_near_a_border_name_both_sides() -> None:
    _, places = reference()
    match = places.locate(52.49325, 4.59954)  # Wijk aan Zee, near Heemskerk
    assert match.border_candidates == ("GM0396",)
    assert places.locate(52.0907, 5.1214).border_candidates == ()


@cache
def municipal_outline() -> prepared.PreparedGeometry[BaseGeometry]:
    _, places = reference()
    return prepared.prep(unary_union(places.layers["municipality"].geometries))


@settings(max_examples=300, deadline=None)
@given(st.floats(50.75, 53.55), st.floats(3.35, 7.22))
def test_every_point_in_the_netherlands_has_exactly_one_municipality(
    lat: float, lon: float
) -> None:
    _, places = reference()
    assume(municipal_outline().contains(Point(*to_plane(lat, lon))))
    assert len(places.layers["municipality"].containing(Point(*to_plane(lat, lon)))) == 1


def test_check_command_reports_problems(tmp_path: Path) -> None:
    ok = cli("reference", "check", str(SHARED))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "342 municipalities" in ok.stdout

    broken = tmp_path / "data"
    shutil.copytree(SHARED / "registry", broken / "registry")
    table = broken / "registry" / "gemeente_omgevingsdienst_2025.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join(line for line in lines if not line.startswith("GM0344,")) + "\n")
    result = cli("reference", "check", str(broken))
    assert result.returncode == 1
    assert "GM0344 Utrecht has no omgevingsdienst" in result.stdout
    assert "NONE (degraded mode)" in result.stdout


def test_without_boundaries_the_nearest_centre_is_used(tmp_path: Path) -> None:
    registry, _ = reference()
    centroids = {code: m.centroid for code, m in registry.municipalities.items()}
    degraded = PlaceIndex.load(tmp_path, centroids)
    assert degraded.degraded
    match = degraded.locate(52.0907, 5.1214)
    assert match.municipality == "GM0344"
    assert not match.exact, "marked low confidence, for confirmation"
