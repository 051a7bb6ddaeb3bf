"""The shared geo module: known points, and the approximations the router relies on."""

from __future__ import annotations

import pytest

from services.runtime.geo import (
    bearing_deg,
    distance_m,
    flat_distance_m,
    from_plane,
    rd_to_wgs84,
    to_plane,
    wgs84_to_rd,
)

AMERSFOORT_RD = (155_000.0, 463_000.0)  # the RD New origin, Onze Lieve Vrouwetoren
AMERSFOORT = (52.15517, 5.38721)


def test_rd_new_origin_is_amersfoort_and_back() -> None:
    lat, lon = rd_to_wgs84(*AMERSFOORT_RD)
    assert (lat, lon) == pytest.approx(AMERSFOORT, abs=1e-4)
    assert wgs84_to_rd(lat, lon) == pytest.approx(AMERSFOORT_RD, abs=0.01)


def test_a_degree_of_latitude_is_about_111_km() -> None:
    assert distance_m(52.0, 5.0, 53.0, 5.0) == pytest.approx(111_195, abs=1)


def test_the_flat_distance_is_close_to_the_great_circle_over_a_few_km() -> None:
    here, there = (52.46, 4.60), (52.49, 4.65)
    assert flat_distance_m(*here, *there) == pytest.approx(distance_m(*here, *there), rel=1e-4)


@pytest.mark.parametrize(
    ("to", "expected"), [((53.0, 5.0), 0.0), ((52.0, 6.0), 89.6), ((51.0, 5.0), 180.0)]
)
def test_bearing_is_clockwise_from_north(to: tuple[float, float], expected: float) -> None:
    assert bearing_deg(52.0, 5.0, *to) == pytest.approx(expected, abs=0.1)


def test_the_plane_round_trips() -> None:
    assert from_plane(*to_plane(52.37, 4.89)) == pytest.approx((52.37, 4.89))
