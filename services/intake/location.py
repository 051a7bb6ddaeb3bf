"""Where a report was noticed: WGS84, RD New (EPSG:28992) or a Dutch address, always in NL.

The outline of the Netherlands is the union of the province boundaries of the reference
directory (buffered by 1 km for the generalised coastline). Address lookup uses PDOK's
Locatieserver; when it cannot be reached the report is still accepted with the address kept
and the location marked unverified.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import httpx
from shapely import Point, prepared, unary_union
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from schemas.report import LocationSource
from services.runtime.errors import RefusedError

log = logging.getLogger(__name__)

# A generous box around the Netherlands, used only when no boundary file is available.
NL_BOUNDS = (3.2, 50.7, 7.3, 53.7)
OUTLINE_BUFFER_DEG = 0.01  # about 1 km


@dataclass(frozen=True)
class ResolvedLocation:
    lat: float | None
    lon: float | None
    source: LocationSource
    verified: bool
    address: str | None = None


class OutsideNetherlandsError(RefusedError, ValueError):
    """The point is not in the Netherlands."""


class Netherlands:
    """Answers "is this point in the Netherlands?" from the province boundaries."""

    def __init__(self, outline: BaseGeometry | None) -> None:
        self._outline = prepared.prep(outline) if outline is not None else None

    @classmethod
    def from_reference_dir(cls, reference_dir: Path) -> Netherlands:
        path = reference_dir / "boundaries" / "provincie_2025.geojson"
        if not path.exists():
            log.warning("no province boundaries at %s: using a bounding box for NL", path)
            return cls(None)
        return cls(_outline(str(path)))

    def contains(self, lat: float, lon: float) -> bool:
        if self._outline is None:
            west, south, east, north = NL_BOUNDS
            return west <= lon <= east and south <= lat <= north
        return bool(self._outline.contains(Point(lon, lat)))


@lru_cache(maxsize=4)
def _outline(path: str) -> BaseGeometry:
    features = json.loads(Path(path).read_text())["features"]
    return unary_union([shape(f["geometry"]) for f in features]).buffer(OUTLINE_BUFFER_DEG)


class Geocoder:
    """PDOK Locatieserver: a Dutch address or postcode + house number to a point."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    async def lookup(self, query: str) -> tuple[float, float] | None:
        """(lat, lon) of the best address match; None when not found or not reachable."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.get(
                    f"{self._base_url}/free",
                    params={"q": query, "fq": "type:adres", "rows": 1, "fl": "centroide_ll"},
                )
                response.raise_for_status()
                docs = response.json().get("response", {}).get("docs", [])
        except (httpx.HTTPError, ValueError) as error:
            log.warning("PDOK Locatieserver not usable (%s); location kept unverified", error)
            return None
        if not docs:
            return None
        return parse_point(str(docs[0].get("centroide_ll", "")))


def parse_point(wkt: str) -> tuple[float, float] | None:
    """``POINT(lon lat)`` -> (lat, lon)."""
    if not wkt.startswith("POINT(") or not wkt.endswith(")"):
        return None
    try:
        lon_text, lat_text = wkt[len("POINT(") : -1].split()
        return float(lat_text), float(lon_text)
    except ValueError:
        return None
