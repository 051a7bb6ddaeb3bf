"""What every service's pages share: the NL Design System CSS and Leaflet from npm, the house
style and map script, and the map's data (ADR 0017).

- ``/vendor/<name>/…`` serves the published files of the npm packages in ``package.json``,
  installed by ``npm ci`` (``deploy/local/bootstrap.sh``) into ``node_modules``: nothing is
  fetched from elsewhere at run time.
- ``/assets/…`` is the project's own CSS and JavaScript on top (``services/runtime/assets``).
- ``/map/settings.json`` says which background tiles the maps load (``BUURSIGNAAL_MAP_TILES_URL``,
  PDOK's BRT-Achtergrondkaart in production; empty: none), and
  ``/map/municipalities.geojson`` is the municipal boundaries of the reference data,
  simplified, which the maps draw when there are no tiles or they cannot be reached.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from shapely.geometry import mapping, shape

from services.runtime.settings import PROJECT_ROOT, ServiceSettings

# the npm packages: the checkout's (npm ci), or where an image put them
NODE_MODULES = Path(os.environ.get("BUURSIGNAAL_NODE_MODULES", PROJECT_ROOT / "node_modules"))
VENDOR = {
    "utrecht": "@utrecht/component-library-css/dist",
    "tokens": "@utrecht/design-tokens/dist",
    "noto-sans": "@fontsource-variable/noto-sans",
    "leaflet": "leaflet/dist",
}
ASSETS = Path(__file__).with_name("assets")
BOUNDARIES = "boundaries/gemeente_2025.geojson"
# ~200 m: enough to recognise a municipality at the zoom levels the maps open with
SIMPLIFY_DEG = 0.002
CACHED = {"Cache-Control": "public, max-age=86400"}


class MissingAssetsError(RuntimeError):
    """``node_modules`` lacks a package the pages need: the install step did not run."""


def install_pages(app: FastAPI, settings: ServiceSettings, reference_dir: Path | None) -> None:
    """Mounts the npm packages and the house assets, and adds the map's two answers."""
    for name, folder in VENDOR.items():
        directory = NODE_MODULES / folder
        if not directory.is_dir():
            raise MissingAssetsError(
                f"{directory} is missing: run `npm ci` (deploy/local/bootstrap.sh does)"
            )
        app.mount(f"/vendor/{name}", StaticFiles(directory=directory), name=f"vendor-{name}")
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")
    app.include_router(map_router(settings.map_tiles_url, reference_dir))


def origin_of(url: str) -> tuple[str, ...]:
    """The origin of an absolute URL, for the Content-Security-Policy (none for a path)."""
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()


def map_router(tiles_url: str, reference_dir: Path | None) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/map/settings.json")
    async def map_settings() -> JSONResponse:
        return JSONResponse(
            {"tiles": tiles_url, "attribution": "Kaartgegevens © Kadaster" if tiles_url else ""},
            headers=CACHED,
        )

    @router.get("/map/municipalities.geojson")
    async def municipalities() -> Response:
        if reference_dir is None:
            return Response(status_code=404)
        body = simplified_boundaries(reference_dir / BOUNDARIES)
        return Response(body, media_type="application/geo+json", headers=CACHED)

    return router


@cache
def simplified_boundaries(path: Path) -> bytes:
    """The boundary file with each shape simplified and only its code and name kept."""
    collection = json.loads(path.read_text(encoding="utf-8"))
    features = []
    for feature in collection["features"]:
        geometry = shape(feature["geometry"]).simplify(SIMPLIFY_DEG, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": feature["properties"]["statcode"],
                    "name": feature["properties"]["statnaam"],
                },
                "geometry": _rounded(mapping(geometry)),
            }
        )
    return json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()


def _rounded(geometry: object) -> object:
    """Coordinates to 3 decimals (~100 m, as the source file is)."""
    if isinstance(geometry, float):
        return round(geometry, 3)
    if isinstance(geometry, list | tuple):
        return [_rounded(item) for item in geometry]
    if isinstance(geometry, dict):
        return {key: _rounded(value) for key, value in geometry.items()}
    return geometry
