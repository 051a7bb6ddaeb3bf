"""Point -> municipality, province, safety region and GGD region, with border uncertainty.

Geometries are kept in a flat metric plane (an equirectangular projection at 52.2°N), so that
"within 250 m of a border" is a plain distance; over the Netherlands its scale error is at most
~3 %, well inside the uncertainty of generalised boundaries.

Most points are answered from a grid of 250 m cells computed at load: a cell whose whole area
lies more than 250 m inside one municipality answers with that municipality, a cell more than
250 m from every municipality answers "outside"; only cells near a border ask the geometries.
Both paths give the same answer (tests/router/test_places.py compares them).

Points inside the outline of the Netherlands (``services.runtime.outline``) that lie in no
municipality (the large waters the generalised land boundaries leave out, the coastal strip)
go to the nearest municipality, with the distance and the water they lie on (``Waters``).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
from shapely import Point, STRtree, transform
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from services.router.reference.registry import Registry
from services.runtime.geo import METRES_PER_DEG_LAT, METRES_PER_DEG_LON, to_plane
from services.runtime.outline import NationalWater, Netherlands, filled, load_waters

log = logging.getLogger(__name__)

BORDER_M = 250.0
AT_WATER_M = 250.0  # a quay, a dyke or a jetty: this close to a water is "at" it
WATER_TILE_M = 5000.0
MASK_ROWS = 64
GRID_CELL_M = 250.0
NEAR_BORDER = -2  # grid value: ask the geometries
OUTSIDE = -1  # grid value: more than BORDER_M from every municipality
LAYERS = {
    "municipality": "gemeente_{year}.geojson",
    "province": "provincie_{year}.geojson",
    "safety_region": "veiligheidsregio_{year}.geojson",
    "ggd_region": "ggdregio_{year}.geojson",
}


def _planar(geometry: BaseGeometry) -> BaseGeometry:
    scale = np.array([METRES_PER_DEG_LON, METRES_PER_DEG_LAT])
    return transform(geometry, lambda coords: coords * scale)


class CellGrid:
    """Precomputed answers for cells far from any municipal border (see the module text)."""

    def __init__(self, geometries: list[BaseGeometry], cell_m: float = GRID_CELL_M) -> None:
        shapes = np.array(geometries, dtype=object)
        self.cell_m = cell_m
        margin = BORDER_M + cell_m / 2 * math.sqrt(2)  # a cell centre that far in: whole cell in
        min_x, min_y, max_x, max_y = (float(v) for v in shapely.total_bounds(shapes))
        self.min_x, self.min_y = min_x - 2 * margin, min_y - 2 * margin
        self.nx = int((max_x + 2 * margin - self.min_x) // cell_m) + 2
        self.ny = int((max_y + 2 * margin - self.min_y) // cell_m) + 2
        self.cells = np.full((self.ny, self.nx), NEAR_BORDER, dtype=np.int16)
        near = np.zeros((self.ny, self.nx), dtype=bool)
        inner = shapely.buffer(shapes, -margin)
        outer = shapely.buffer(shapes, margin)
        for index, (core, reach) in enumerate(zip(inner, outer, strict=True)):
            (ix0, iy0), (ix1, iy1) = self._span(reach.bounds)
            xs = self.min_x + (np.arange(ix0, ix1 + 1) + 0.5) * cell_m
            ys = self.min_y + (np.arange(iy0, iy1 + 1) + 0.5) * cell_m
            grid_x, grid_y = np.meshgrid(xs, ys)
            shapely.prepare(reach)
            near[iy0 : iy1 + 1, ix0 : ix1 + 1] |= shapely.contains_xy(reach, grid_x, grid_y)
            if not core.is_empty:
                shapely.prepare(core)
                block = self.cells[iy0 : iy1 + 1, ix0 : ix1 + 1]
                block[shapely.contains_xy(core, grid_x, grid_y)] = index
        self.cells[~near] = OUTSIDE

    def _span(self, bounds: tuple[float, float, float, float]) -> tuple[tuple[int, int], ...]:
        x0, y0, x1, y1 = bounds
        (ix0, iy0), (ix1, iy1) = self._cell(x0, y0), self._cell(x1, y1)
        return (max(ix0, 0), max(iy0, 0)), (min(ix1 + 1, self.nx - 1), min(iy1 + 1, self.ny - 1))

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        return int((x - self.min_x) // self.cell_m), int((y - self.min_y) // self.cell_m)

    def mask(self, geometry: BaseGeometry | None) -> np.ndarray:
        """True for the cells that may touch ``geometry`` (their centre within half a cell
        diagonal of it); False cells lie wholly outside it."""
        found = np.zeros((self.ny, self.nx), dtype=bool)
        if geometry is None or geometry.is_empty:
            return found
        reach = geometry.buffer(self.cell_m / 2 * math.sqrt(2) + 1)
        shapely.prepare(reach)
        (ix0, iy0), (ix1, iy1) = self._span(reach.bounds)
        xs = self.min_x + (np.arange(ix0, ix1 + 1) + 0.5) * self.cell_m
        for row in range(iy0, iy1 + 1, MASK_ROWS):  # in bands: little memory at a time
            last = min(row + MASK_ROWS, iy1 + 1)
            ys = self.min_y + (np.arange(row, last) + 0.5) * self.cell_m
            grid_x, grid_y = np.meshgrid(xs, ys)
            found[row:last, ix0 : ix1 + 1] = shapely.contains_xy(reach, grid_x, grid_y)
        return found

    def flag(self, mask: np.ndarray, x: float, y: float) -> bool:
        """``mask``'s value for the cell of (x, y); True outside the grid (ask the geometry)."""
        ix = int((x - self.min_x) // self.cell_m)
        iy = int((y - self.min_y) // self.cell_m)
        if not (0 <= ix < self.nx and 0 <= iy < self.ny):
            return True
        return bool(mask[iy, ix])

    def lookup(self, x: float, y: float) -> int:
        """The municipality index, OUTSIDE, or NEAR_BORDER for a point in the plane."""
        ix = int((x - self.min_x) // self.cell_m)
        iy = int((y - self.min_y) // self.cell_m)
        if not (0 <= ix < self.nx and 0 <= iy < self.ny):
            return OUTSIDE
        return int(self.cells[iy, ix])


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
    on_water: bool = False  # in no municipality: ``municipality`` is the nearest one
    distance_m: float = 0.0  # from the point to ``municipality`` (0 inside it)
    water: NationalWater | None = None  # the large water the point lies on or at


OUTSIDE_MATCH = PlaceMatch(None, None, None, None, (), exact=True)


def _tiles(geometry: BaseGeometry, size_m: float = WATER_TILE_M) -> list[BaseGeometry]:
    """``geometry`` cut into the non-empty parts of a grid of ``size_m`` squares."""
    x0, y0, x1, y1 = geometry.bounds
    xs = np.arange(math.floor(x0 / size_m) * size_m, x1, size_m)
    ys = np.arange(math.floor(y0 / size_m) * size_m, y1, size_m)
    boxes = [shapely.box(x, y, x + size_m, y + size_m) for x in xs for y in ys]
    parts = shapely.intersection(geometry, np.array(boxes, dtype=object))
    return [part for part in parts if not part.is_empty]


class Waters:
    """The large waters in the plane: the holes of the land boundaries named by a point inside
    them, the hand-drawn rings of the waters open to the sea, and the sea beyond the coast."""

    def __init__(self, land: BaseGeometry, waters: tuple[NationalWater, ...]) -> None:
        holes = [
            shapely.Polygon(ring)
            for part in getattr(land, "geoms", [land])
            for ring in getattr(part, "interiors", ())
        ]
        self._land = filled(land)
        shapely.prepare(self._land)
        self.waters: list[NationalWater] = []
        shapes: list[BaseGeometry] = []
        for water in waters:
            if water.point is not None:
                point = Point(*to_plane(*water.point))
                hole = next((h for h in holes if h.contains(point)), None)
                if hole is None:
                    log.warning("water %s: its point lies in no hole of the boundaries", water.name)
                    continue
                shapes.append(hole)
            elif water.area:  # the hand-drawn ring's water: what lies beyond the land
                ring = shapely.Polygon([to_plane(lat, lon) for lat, lon in water.area])
                shapes.append(ring.difference(self._land))
            else:
                continue
            self.waters.append(water)
        self.sea = next((w for w in waters if w.sea), None)
        self.reach = shapely.unary_union(shapes).buffer(AT_WATER_M) if shapes else None
        if self.reach is not None:
            shapely.prepare(self.reach)
        # the distance query asks small pieces (tiles of the waters), not whole lakes
        self._piece_water: list[int] = []
        pieces: list[BaseGeometry] = []
        for index, shape_ in enumerate(shapes):
            for piece in _tiles(shape_):
                pieces.append(piece)
                self._piece_water.append(index)
        self.tree = STRtree(pieces)

    def at(self, point: Point, *, on_land: bool) -> NationalWater | None:
        """The water ``point`` lies on or within ``AT_WATER_M`` of (the nearest one)."""
        if self.reach is not None and self.reach.contains(point):
            near = [
                self.waters[self._piece_water[int(i)]]
                for i in self.tree.query_nearest(point, max_distance=AT_WATER_M)
            ]
            if near:  # ties: a hole of the boundaries (exact) before a hand-drawn ring
                return min(near, key=lambda water: water.point is None)
        if on_land or self.sea is None or self._land.contains(point):
            return None
        return self.sea


class Shores:
    """The municipal boundaries in small pieces, for "the nearest municipality" of a point on
    the water (outside every polygon its distance to one is the distance to its boundary)."""

    def __init__(self, layer: Layer) -> None:
        self.codes: list[str] = []
        pieces: list[BaseGeometry] = []
        for code, geometry in zip(layer.codes, layer.geometries, strict=True):
            for piece in _tiles(geometry.boundary):
                pieces.append(piece)
                self.codes.append(code)
        self.tree = STRtree(pieces)

    def nearest(self, point: Point) -> tuple[str, float]:
        indexes, distances = self.tree.query_nearest(point, return_distance=True)
        return self.codes[int(indexes[0])], float(distances[0])


class PlaceIndex:
    """Locates points; without boundary files it falls back to nearest representative points."""

    def __init__(
        self,
        layers: dict[str, Layer],
        centroids: dict[str, tuple[float, float]],
        *,
        netherlands: Netherlands | None = None,
        waters: tuple[NationalWater, ...] = (),
    ) -> None:
        self.layers = layers
        self.netherlands = netherlands or Netherlands(None)
        land = layers.get("province") or layers.get("municipality")
        self.waters = (
            Waters(shapely.unary_union(land.geometries), waters) if land is not None else None
        )
        self._centroid_codes = list(centroids)
        self._centroid_tree = STRtree([Point(*to_plane(*c)) for c in centroids.values()])
        self.degraded = "municipality" not in layers
        self.grid = None if self.degraded else CellGrid(layers["municipality"].geometries)
        self._shores: Shores | None = None  # made on the first point off the land
        # cells that may lie at a water, and cells that may lie inside the outline
        self._near_water = self._in_netherlands = np.zeros((0, 0), dtype=bool)
        if self.grid is not None and self.waters is not None:
            self._near_water = self.grid.mask(self.waters.reach)
            outline = self.netherlands.outline
            self._in_netherlands = self.grid.mask(_planar(outline) if outline is not None else None)

    @classmethod
    def load(
        cls, directory: Path, centroids: dict[str, tuple[float, float]], *, year: int = 2025
    ) -> PlaceIndex:
        layers = {}
        for name, pattern in LAYERS.items():
            path = directory / "boundaries" / pattern.format(year=year)
            if path.exists():
                layers[name] = Layer.read(path)
        index = cls(
            layers,
            centroids,
            netherlands=Netherlands.from_reference_dir(directory, year=year),
            waters=load_waters(),
        )
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
        """The municipality of a point; on the water, the nearest one; outside the outline of
        the Netherlands, none."""
        if self.grid is None:
            return self.locate_exactly(lat, lon)
        x, y = to_plane(lat, lon)
        found = self.grid.lookup(x, y)
        if found == NEAR_BORDER:
            return self.locate_exactly(lat, lon)
        if found == OUTSIDE:
            if not self.grid.flag(self._in_netherlands, x, y):
                return OUTSIDE_MATCH
            return self._with_water(OUTSIDE_MATCH, lat, lon, Point(x, y))
        match = PlaceMatch(
            self.layers["municipality"].codes[found], None, None, None, (), exact=True
        )
        if not self.grid.flag(self._near_water, x, y):
            return match
        return self._with_water(match, lat, lon, Point(x, y))

    def _with_water(self, match: PlaceMatch, lat: float, lon: float, point: Point) -> PlaceMatch:
        """``match`` with the water it lies on or at; off the land, the nearest municipality."""
        if self.waters is None:
            return match
        if match.municipality is not None:
            if self.grid is not None and not self.grid.flag(self._near_water, point.x, point.y):
                return match
            water = self.waters.at(point, on_land=True)
            return match if water is None else replace(match, water=water)
        if not self.netherlands.contains(lat, lon):
            return match
        layer = self.layers["municipality"]
        if self._shores is None:
            self._shores = Shores(layer)
        code, distance = self._shores.nearest(point)
        return PlaceMatch(
            code,
            None,
            None,
            None,
            (),
            exact=True,
            on_water=True,
            distance_m=round(distance, -2),  # about: also keeps the memo keys few
            water=self.waters.at(point, on_land=False),
        )

    def locate_exactly(self, lat: float, lon: float) -> PlaceMatch:
        """``locate`` by the geometries alone (the grid's reference answer)."""
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
        match = PlaceMatch(municipality, None, None, None, border, exact=True)
        return self._with_water(match, lat, lon, point)
