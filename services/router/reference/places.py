"""Point -> municipality, province, safety region and GGD region, with border uncertainty.

Geometries are kept in a flat metric plane (an equirectangular projection at 52.2°N), so that
"within 250 m of a border" is a plain distance; over the Netherlands its scale error is at most
~3 %, well inside the uncertainty of generalised boundaries.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shapely import Point, STRtree, transform
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from services.router.reference.registry import Registry

log = logging.getLogger(__name__)

REFERENCE_LAT = 52.2
METRES_PER_DEG_LON = 111_320 * math.cos(math.radians(REFERENCE_LAT))
METRES_PER_DEG_LAT = 110_540
BORDER_M = 250.0
LAYERS = {
    "municipality": "gemeente_{year}.geojson",
    "province": "provincie_{year}.geojson",
    "safety_region": "veiligheidsregio_{year}.geojson",
    "ggd_region": "ggdregio_{year}.geojson",
}


def to_plane(lat: float, lon: float) -> tuple[float, float]:
    return lon * METRES_PER_DEG_LON, lat * METRES_PER_DEG_LAT


def _planar(geometry: BaseGeometry) -> BaseGeometry:
    scale = np.array([METRES_PER_DEG_LON, METRES_PER_DEG_LAT])
    return transform(geometry, lambda coords: coords * scale)


class Layer:
    """One boundary layer with a spatial index."""

    def __init__(self, codes: list[str], geometries: list[BaseGeometry]) -> None:
        self.codes = codes
        self.geometries = geometries
        self.tree = STRtree(geometries)

    @classmethod
    def read(cls, path: Path) -> Layer:
        features = json.loads(path.read_text())["features"]
        return cls(
            [f["properties"]["statcode"] for f in features],
            [_planar(shape(f["geometry"])) for f in features],
        )

    def containing(self, point: Point) -> list[str]:
        return [self.codes[i] for i in self.tree.query(point, predicate="intersects")]

    def within(self, point: Point, distance_m: float) -> list[str]:
        return [
            self.codes[i] for i in self.tree.query(point, predicate="dwithin", distance=distance_m)
        ]


@dataclass(frozen=True)
class PlaceMatch:
    municipality: str | None
    province: str | None
    safety_region: str | None
    ggd_region: str | None
    border_candidates: tuple[str, ...]
    exact: bool  # False: no boundaries, nearest representative point used instead


class PlaceIndex:
    """Locates points; without boundary files it falls back to nearest representative points."""

    def __init__(self, layers: dict[str, Layer], centroids: dict[str, tuple[float, float]]) -> None:
        self.layers = layers
        self._centroid_codes = list(centroids)
        self._centroid_tree = STRtree([Point(*to_plane(*c)) for c in centroids.values()])
        self.degraded = "municipality" not in layers

    @classmethod
    def load(
        cls, directory: Path, centroids: dict[str, tuple[float, float]], *, year: int = 2025
    ) -> PlaceIndex:
        layers = {}
        for name, pattern in LAYERS.items():
            path = directory / "boundaries" / pattern.format(year=year)
            if path.exists():
                layers[name] = Layer.read(path)
        index = cls(layers, centroids)
        if index.degraded:
            log.error(
                "NO MUNICIPAL BOUNDARIES in %s: routing by nearest municipality centre, "
                "every decision marked low confidence",
                directory / "boundaries",
            )
        return index

    def check(self, registry: Registry) -> list[str]:
        """Boundary layers against the registry: codes unique and known, geometries valid."""
        problems = []
        known: dict[str, set[str]] = {
            "municipality": set(registry.municipalities),
            "province": set(registry.provinces),
            "safety_region": set(registry.safety_regions),
            "ggd_region": set(registry.ggd_regions),
        }
        for name, layer in self.layers.items():
            if len(set(layer.codes)) != len(layer.codes):
                problems.append(f"{name} boundaries: codes are not unique")
            missing = known[name] - set(layer.codes)
            unknown = set(layer.codes) - known[name]
            if missing:
                problems.append(f"{name} boundaries: no geometry for {sorted(missing)[:5]}")
            if unknown:
                problems.append(
                    f"{name} boundaries: codes not in the registry {sorted(unknown)[:5]}"
                )
            invalid = [
                c for c, g in zip(layer.codes, layer.geometries, strict=True) if not g.is_valid
            ]
            if invalid:
                problems.append(f"{name} boundaries: invalid geometry for {invalid[:5]}")
        return problems

    def locate(self, lat: float, lon: float) -> PlaceMatch:
        point = Point(*to_plane(lat, lon))
        if self.degraded:
            nearest = self._centroid_codes[int(self._centroid_tree.nearest(point))]
            return PlaceMatch(nearest, None, None, None, (), exact=False)
        # Provinces, safety regions and GGD regions nest whole municipalities, so the registry
        # answers those from the municipality; one spatial query instead of four.
        layer = self.layers["municipality"]
        inside = layer.containing(point)
        municipality = inside[0] if inside else None
        border = tuple(code for code in layer.within(point, BORDER_M) if code != municipality)
        return PlaceMatch(municipality, None, None, None, border, exact=True)
