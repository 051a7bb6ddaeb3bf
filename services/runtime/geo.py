"""Distances, bearings and coordinate systems over the Netherlands, in one place.

- ``distance_m``: great-circle distance (haversine), good to a few metres at these scales.
- ``flat_distance_m``: the equirectangular approximation at the pair's mean latitude; cheaper,
  and within a fraction of a per mille of ``distance_m`` over a few kilometres (the router
  scores facilities with it).
- ``bearing_deg``: the initial bearing from one point to another, clockwise from north.
- ``to_plane`` / ``from_plane``: a flat metric plane (equirectangular at 52.2°N), so that
  "within 250 m" is a plain distance; over the Netherlands its scale error is at most ~3 %.
- ``rd_to_wgs84`` / ``wgs84_to_rd``: RD New (EPSG:28992) metres and WGS84 degrees, through
  pyproj with one transformer per direction, made (and pyproj imported) on first use.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyproj import Transformer

EARTH_RADIUS_M = 6_371_000
REFERENCE_LAT = 52.2
METRES_PER_DEG_LON = 111_320 * math.cos(math.radians(REFERENCE_LAT))
METRES_PER_DEG_LAT = 110_540
RD_NEW = "EPSG:28992"
WGS84 = "EPSG:4326"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return EARTH_RADIUS_M * 2 * math.asin(math.sqrt(a))


def flat_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance in metres, at the mean latitude of the two points."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return EARTH_RADIUS_M * math.hypot(x, y)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_lon = math.radians(lon2 - lon1)
    x = math.sin(d_lon) * math.cos(phi2)
    y = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(d_lon)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def to_plane(lat: float, lon: float) -> tuple[float, float]:
    """(x, y) in metres in the equirectangular plane at 52.2°N."""
    return lon * METRES_PER_DEG_LON, lat * METRES_PER_DEG_LAT


def from_plane(x: float, y: float) -> tuple[float, float]:
    """(lat, lon) of a point in the plane of ``to_plane``."""
    return y / METRES_PER_DEG_LAT, x / METRES_PER_DEG_LON


@cache
def _transformer(source: str, target: str) -> Transformer:
    from pyproj import Transformer  # imported on first use: the router never loads PROJ

    return Transformer.from_crs(source, target, always_xy=True)


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """RD New metres to (lat, lon)."""
    lon, lat = _transformer(RD_NEW, WGS84).transform(x, y)
    return float(lat), float(lon)


def wgs84_to_rd(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) to RD New metres (x, y)."""
    x, y = _transformer(WGS84, RD_NEW).transform(lon, lat)
    return float(x), float(y)
