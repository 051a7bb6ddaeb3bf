"""The weigher's cell grid finds every facility a report can reach (compared with measuring
every active facility), on the real registry."""

from __future__ import annotations

import random

import pytest

from schemas.report import Category
from services.router.sources import DEFAULT_RADII_M, SourceWeigher
from services.runtime.geo import flat_distance_m
from tests.router.test_reference import reference


@pytest.mark.parametrize("radius", sorted(set(DEFAULT_RADII_M.values())))
def test_the_grid_finds_every_facility_within_reach(radius: float) -> None:
    registry, _ = reference()
    active = [f for f in registry.facilities.values() if f.active]
    weigher = SourceWeigher(active, {Category.ODOUR: radius})
    rng = random.Random(int(radius))
    found_some = 0
    for _ in range(5000):
        facility = rng.choice(active)
        lat = facility.lat + rng.uniform(-0.08, 0.08)
        lon = facility.lon + rng.uniform(-0.12, 0.12)
        within = {
            f.facility_id
            for f in active
            if flat_distance_m(f.lat, f.lon, lat, lon) <= radius + f.coordinate_uncertainty_m
        }
        listed = {site.facility.facility_id for site in weigher.nearby(lat, lon, radius)}
        assert within <= listed, (lat, lon, within - listed)
        found_some += bool(within)
    assert found_some > 500  # the points do reach facilities
