"""The outline of the Netherlands, one for intake and router alike, and its large waters.

The outline is the union of the province boundaries of the reference directory with their
holes filled (the generalised CBS boundaries leave out the large inland waters: IJsselmeer,
Markermeer, the Delta waters and others), the waters that open to the sea (Waddenzee,
Westerschelde, Eems-Dollard, as rings in ``national_waters.yaml``), and a 1 km buffer for the
generalised coastline. Intake accepts a point inside it; the router routes every such point
(to the nearest municipality when it lies on the water). Only points outside it (open sea
beyond the coast, abroad) are "not in the Netherlands".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from shapely import Point, Polygon, prepared, unary_union
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

WATERS_FILE = Path(__file__).with_name("national_waters.yaml")
PROVINCES = "provincie_{year}.geojson"
# A generous box around the Netherlands, used only when no boundary file is available.
NL_BOUNDS = (3.2, 50.7, 7.3, 53.7)
OUTLINE_BUFFER_DEG = 0.01  # about 1 km


@dataclass(frozen=True)
class NationalWater:
    """A large water (``national_waters.yaml``); ``national``: managed by Rijkswaterstaat."""

    name: str
    national: bool
    words: tuple[str, ...]
    point: tuple[float, float] | None = None  # (lat, lon) inside a hole of the land boundaries
    area: tuple[tuple[float, float], ...] = ()  # (lat, lon) ring, hand-drawn, approximate
    sea: bool = False  # the sea side of the coast

    def __hash__(self) -> int:  # by name: the router's memo keys hold waters (not their rings)
        return hash(self.name)


def load_waters(path: Path = WATERS_FILE) -> tuple[NationalWater, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    waters = []
    for entry in data["waters"]:
        point = entry.get("point")
        waters.append(
            NationalWater(
                name=str(entry["name"]),
                national=bool(entry["national"]),
                words=tuple(str(w).lower() for w in entry.get("words", ())),
                point=(float(point[0]), float(point[1])) if point else None,
                area=tuple((float(lat), float(lon)) for lat, lon in entry.get("area", ())),
                sea=bool(entry.get("sea", False)),
            )
        )
    return tuple(waters)


def filled(geometry: BaseGeometry) -> BaseGeometry:
    """``geometry`` with the holes of its polygons filled."""
    parts = getattr(geometry, "geoms", [geometry])
    return unary_union([Polygon(part.exterior) for part in parts if isinstance(part, Polygon)])


def water_rings(waters: tuple[NationalWater, ...]) -> list[BaseGeometry]:
    """The hand-drawn waters as polygons in (lon, lat) degrees."""
    return [Polygon([(lon, lat) for lat, lon in w.area]) for w in waters if w.area]


@lru_cache(maxsize=4)
def outline_of(provinces_path: str, waters_path: str = str(WATERS_FILE)) -> BaseGeometry:
    """The outline (see the module text) in (lon, lat) degrees."""
    features = json.loads(Path(provinces_path).read_text())["features"]
    land = filled(unary_union([shape(f["geometry"]) for f in features]))
    rings = water_rings(load_waters(Path(waters_path)))
    return unary_union([land, *rings]).buffer(OUTLINE_BUFFER_DEG)


class Netherlands:
    """Answers "is this point in the Netherlands?" from the outline (see the module text)."""

    def __init__(self, outline: BaseGeometry | None) -> None:
        self.outline = outline
        self._prepared = prepared.prep(outline) if outline is not None else None

    @classmethod
    def from_reference_dir(cls, reference_dir: Path, *, year: int = 2025) -> Netherlands:
        path = reference_dir / "boundaries" / PROVINCES.format(year=year)
        if not path.exists():
            log.warning("no province boundaries at %s: using a bounding box for NL", path)
            return cls(None)
        return cls(outline_of(str(path)))

    def contains(self, lat: float, lon: float) -> bool:
        if self._prepared is None:
            west, south, east, north = NL_BOUNDS
            return west <= lon <= east and south <= lat <= north
        return bool(self._prepared.contains(Point(lon, lat)))
