"""Which water board (waterschap) manages the water at a point.

From a boundary layer when the reference directory has one (``boundaries/waterschap_<year>
.geojson``, ``statcode`` = the board's bronhouder code), otherwise from PDOK Locatieserver's
reverse lookup of the nearest address, whose answer names the water board. When neither
answers, the water board is unknown and the report goes to triage with that reason.

PDOK names a board by ``waterschapscode`` and ``waterschapsnaam``; the code is matched to the
registry's bronhouder code (``W0155``, or the bare number), then the name, case-insensitively.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Protocol

import httpx
from shapely import Point

from services.router.reference.places import Layer
from services.runtime.geo import to_plane

log = logging.getLogger(__name__)
CACHE_DECIMALS = 3  # about 100 m: neighbours share one lookup
PAUSE_AFTER_FAILURE_S = 60.0
REVERSE_QUERY: dict[str, str | int] = {
    "type": "adres",
    "rows": 1,
    "fl": "waterschapscode,waterschapsnaam",
}


class WaterBoardFinder(Protocol):
    async def find(self, lat: float, lon: float) -> str | None:
        """The registry code of the water board at the point, or None when unknown."""
        ...


class BoundaryWaterBoards:
    def __init__(self, layer: Layer) -> None:
        self._layer = layer

    @classmethod
    def load(cls, directory: Path, year: int) -> BoundaryWaterBoards | None:
        path = directory / "boundaries" / f"waterschap_{year}.geojson"
        if not path.exists():
            return None
        json.loads(path.read_text())  # fail early on a broken file, with its name in the error
        return cls(Layer.read(path))

    async def find(self, lat: float, lon: float) -> str | None:
        inside = self._layer.containing(Point(*to_plane(lat, lon)))
        return inside[0] if inside else None


class PdokWaterBoards:
    """PDOK Locatieserver ``/reverse``; cached per ~100 m, paused for a minute after a failure.

    The pause keeps a PDOK outage from adding a timeout to every water report in a batch.
    """

    def __init__(self, base_url: str, boards: dict[str, str], *, timeout_s: float = 2.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._by_code = {code.upper(): code for code in boards}
        self._by_number = {code.upper().lstrip("W").lstrip("0"): code for code in boards}
        self._by_name = {name.casefold(): code for code, name in boards.items()}
        self._cache: dict[tuple[float, float], str | None] = {}
        self._paused_until = 0.0

    def _match(self, code: str, name: str) -> str | None:
        code = code.strip().upper()
        return (
            self._by_code.get(code)
            or self._by_number.get(code.lstrip("W").lstrip("0"))
            or self._by_name.get(name.strip().casefold())
        )

    async def find(self, lat: float, lon: float) -> str | None:
        key = (round(lat, CACHE_DECIMALS), round(lon, CACHE_DECIMALS))
        if key in self._cache:
            return self._cache[key]
        if time.monotonic() < self._paused_until:
            return None
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as client:
                response = await client.get(
                    f"{self._base_url}/reverse",
                    params={"lat": lat, "lon": lon, **REVERSE_QUERY},
                )
                response.raise_for_status()
                docs = response.json().get("response", {}).get("docs", [])
        except (httpx.HTTPError, ValueError) as error:
            log.warning("PDOK reverse lookup not usable (%s); water board unknown", error)
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            return None
        found = None
        if docs:
            doc = docs[0]
            found = self._match(
                str(doc.get("waterschapscode", "")), str(doc.get("waterschapsnaam", ""))
            )
        self._cache[key] = found
        return found
