"""The precomputed cell grid answers exactly what the geometries answer."""

from __future__ import annotations

import random

import numpy as np
import shapely

from services.runtime.geo import METRES_PER_DEG_LAT, METRES_PER_DEG_LON
from tests.router.test_reference import reference


def test_grid_and_geometries_agree_everywhere() -> None:
    _, places = reference()
    assert places.grid is not None
    rng = random.Random(5)
    points = [(rng.uniform(50.7, 53.6), rng.uniform(3.3, 7.3)) for _ in range(20_000)]
    # and points close to every municipal border, where the two paths differ most easily
    for geometry in places.layers["municipality"].geometries:
        ring = np.asarray(shapely.get_coordinates(geometry.boundary))
        for x, y in ring[:: max(1, len(ring) // 12)]:
            for _ in range(3):
                dx, dy = rng.uniform(-900, 900), rng.uniform(-900, 900)
                points.append(((y + dy) / METRES_PER_DEG_LAT, (x + dx) / METRES_PER_DEG_LON))
    answered_by_grid = 0
    for lat, lon in points:
        fast, exact = places.locate(lat, lon), places.locate_exactly(lat, lon)
        assert (fast.municipality, set(fast.border_candidates), fast.water) == (
            exact.municipality,
            set(exact.border_candidates),
            exact.water,
        ), (lat, lon)
        assert fast.distance_m == exact.distance_m, (lat, lon)
        answered_by_grid += (
            places.grid.lookup(lon * METRES_PER_DEG_LON, lat * METRES_PER_DEG_LAT) != -2
        )
    assert answered_by_grid > len(points) / 2, "the grid answers most points"
