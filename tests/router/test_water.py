"""Water is the Netherlands too: one outline for intake and router, and every point inside it
routes (on the real 2025 reference data)."""

from __future__ import annotations

from functools import cache

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point

from schemas.report import Category
from services.intake.location import Netherlands as IntakeNetherlands
from services.router.reference.places import Waters
from services.runtime.geo import from_plane, to_plane
from services.runtime.outline import Netherlands, load_waters
from tests.router.test_reference import SHARED, reference
from tests.router.test_resolution import report, roles, router

HOLE_KM2 = 3.0  # every hole of the land boundaries larger than this is a named water
ABROAD_OR_OPEN_SEA = [
    (52.6, 4.2),  # the North Sea, 25 km off Egmond
    (51.22, 4.40),  # Antwerp
    (53.37, 7.21),  # Emden
    (53.59, 6.68),  # Borkum
    (50.78, 6.08),  # Aachen
    (51.30, 4.30),  # the Scheldt in Belgium
    (53.70, 5.50),  # the Waddenzee's open sea side, north of the islands
]


@cache
def intake_outline() -> Netherlands:
    return IntakeNetherlands.from_reference_dir(SHARED)


@cache
def holes() -> list[shapely.Polygon]:
    _, places = reference()
    land = shapely.unary_union(places.layers["province"].geometries)
    parts = [p for p in shapely.get_parts(land) if isinstance(p, shapely.Polygon)]
    found = [shapely.Polygon(ring) for part in parts for ring in part.interiors]
    return [hole for hole in found if hole.area / 1e6 > HOLE_KM2]


def test_intake_and_router_use_one_outline() -> None:
    _, places = reference()
    assert IntakeNetherlands is Netherlands
    assert intake_outline().outline is places.netherlands.outline


def test_every_large_hole_is_a_named_water() -> None:
    _, places = reference()
    assert places.waters is not None
    waters = places.waters
    assert len(holes()) >= 14
    for hole in holes():
        inside = hole.representative_point()
        named = waters.at(inside, on_land=False)
        assert named is not None, from_plane(inside.x, inside.y)
        assert named.point is not None, f"{named.name} is a hole, named by its point"


def test_every_water_point_lies_in_no_municipality() -> None:
    _, places = reference()
    for water in load_waters():
        if water.point is not None:
            assert places.locate_exactly(*water.point).on_water, water.name


def test_points_in_each_large_water_route_with_low_confidence() -> None:
    for hole in holes():
        lat, lon = from_plane(*hole.representative_point().coords[0])
        resolution = router(None).resolve(report(lat, lon, Category.ODOUR))
        place = resolution.place
        assert resolution.outcome == "routed", (lat, lon)
        assert resolution.confidence == "low"
        assert place.on_water
        assert place.municipality_code is not None
        assert place.distance_m is not None
        assert resolution.reason is not None
        assert str(place.municipality_name) in resolution.reason.en
        assert "on the water" in resolution.reason.en
        if place.national_water:
            assert roles(resolution)["rijkswaterstaat"] == ("informed", "national_water")
        else:
            assert place.water_name == "Lauwersmeer"
            assert "rijkswaterstaat" not in roles(resolution)


def test_waters_open_to_the_sea_route_too() -> None:
    for lat, lon, water in [
        (53.25, 5.20, "Waddenzee"),
        (51.40, 3.60, "Westerschelde"),
        (53.30, 7.05, "Eems-Dollard"),
        (52.10, 4.25, "Noordzee"),  # the coastal strip off The Hague
    ]:
        resolution = router(None).resolve(report(lat, lon, Category.WATER))
        assert resolution.outcome == "routed", water
        assert resolution.place.water_name == water
        assert roles(resolution)["rijkswaterstaat"] == ("competent_authority", "state_water")


def test_only_points_outside_the_outline_are_unroutable() -> None:
    for lat, lon in ABROAD_OR_OPEN_SEA:
        assert not intake_outline().contains(lat, lon), (lat, lon)
        assert router(None).resolve(report(lat, lon)).outcome == "unroutable", (lat, lon)


@settings(max_examples=400, deadline=None)
@given(st.floats(50.70, 53.70), st.floats(3.20, 7.30))
def test_every_point_intake_accepts_is_routed_or_triaged(lat: float, lon: float) -> None:
    """Never "not in the Netherlands" for a point intake accepted; and inside the outline,
    exactly one municipality."""
    registry, places = reference()
    resolution = router(None).resolve(report(lat, lon, Category.NOISE))
    if not intake_outline().contains(lat, lon):
        assert resolution.outcome == "unroutable"
        return
    assert resolution.outcome in ("routed", "triage")
    code = resolution.place.municipality_code
    assert code in registry.municipalities
    match = places.locate_exactly(lat, lon)
    containing = places.layers["municipality"].containing(Point(*to_plane(lat, lon)))
    assert containing == ([] if match.on_water else [code])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.floats(0, 1))
def test_points_on_the_coastal_strip_route(seed: int, fraction: float) -> None:
    """Points just off the coast (inside the 1 km strip) go to the nearest municipality."""
    _, places = reference()
    assert places.waters is not None
    coast = shapely.unary_union(places.layers["province"].geometries).boundary
    along = coast.interpolate(fraction, normalized=True)
    offset = Point(along.x + (seed % 7 - 3) * 100, along.y + (seed % 5 - 2) * 100)
    lat, lon = from_plane(offset.x, offset.y)
    if intake_outline().contains(lat, lon):
        assert router(None).resolve(report(lat, lon)).outcome != "unroutable", (lat, lon)


def test_waters_without_boundaries_are_skipped_with_a_warning() -> None:
    land = shapely.box(0, 0, 10, 10)
    lonely = Waters(land, load_waters())
    assert [w.name for w in lonely.waters] == [w.name for w in load_waters() if w.area]
