"""Where a report was noticed: WGS84, RD New (EPSG:28992) or a Dutch address, always in NL.

The outline of the Netherlands is ``services.runtime.outline.Netherlands``, the one the router
routes by too (provinces with their large waters, buffered by 1 km for the coastline). Address
lookup uses PDOK's Locatieserver; when it cannot be reached the report is still accepted with
the address kept and the location marked unverified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from schemas.report import LocationSource
from services.runtime.errors import RefusedError
from services.runtime.outline import Netherlands

__all__ = ["Geocoder", "Netherlands", "OutsideNetherlandsError", "ResolvedLocation", "parse_point"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedLocation:
    lat: float | None
    lon: float | None
    source: LocationSource
    verified: bool
    address: str | None = None


class OutsideNetherlandsError(RefusedError, ValueError):
    """The point is not in the Netherlands."""


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
