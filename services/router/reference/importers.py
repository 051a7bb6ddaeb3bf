"""Importers from the official sources into the reference directory's own format.

- Boundaries: PDOK's CBS gebiedsindelingen WFS (``typeName=<layer>_gegeneraliseerd``, JSON in
  WGS84, paged with ``STARTINDEX``/``COUNT``) -> ``boundaries/<layer>_<year>.geojson`` with
  ``statcode``/``statnaam`` properties, the shape ``PlaceIndex`` reads.
- Boundaries with water (``with_water``): CBS's Wijk- en Buurtkaart WFS (layer ``gemeenten``,
  one feature per land part and per water part, ``gemeentecode``/``gemeentenaam``/``water``)
  -> the parts of each municipality merged into ``boundaries/gemeente_<year>.geojson``, so
  the large waters belong to their municipality; the router's nearest-municipality fallback
  still answers for the sea side of the coast.
- Facilities: the EEA industrial emissions (IED / E-PRTR) facility table as CSV, Dutch rows
  -> ``registry/facilities_nl.csv``. EEA data has no Seveso tier and no competent authority:
  those stay ``unknown`` and empty, marked for verification, never guessed.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from shapely import unary_union
from shapely.geometry import mapping, shape

from services.router.reference.loader import ReferenceDataError
from services.router.reference.places import PlaceIndex
from services.router.reference.registry import Registry

PDOK_WFS = "https://service.pdok.nl/cbs/gebiedsindelingen/{year}/wfs/v1_0"
PDOK_WIJKENBUURTEN_WFS = "https://service.pdok.nl/cbs/wijkenbuurten/{year}/wfs/v1_0"
WITH_WATER_TYPE_NAME = "gemeenten"
WFS_GET_FEATURE = {"service": "WFS", "version": "2.0.0", "request": "GetFeature"}
JSON_IN_WGS84 = {"outputFormat": "json", "srsName": "urn:ogc:def:crs:EPSG::4326"}


@dataclass(frozen=True)
class BoundaryLayer:
    name: str  # file name stem: gemeente, provincie, veiligheidsregio, ggdregio
    code_pattern: str

    @property
    def type_name(self) -> str:
        return f"{self.name}_gegeneraliseerd"


BOUNDARY_LAYERS = (
    BoundaryLayer("gemeente", r"^GM\d{4}$"),
    BoundaryLayer("provincie", r"^PV\d{2}$"),
    BoundaryLayer("veiligheidsregio", r"^VR\d{2}$"),
    BoundaryLayer("ggdregio", r"^GG\d{4}$"),
)


def fetch_wfs_features(
    client: httpx.Client, url: str, type_name: str, *, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every feature of ``type_name``, page by page, until a page comes back short."""
    start = 0
    while True:
        response = client.get(
            url,
            params={
                **WFS_GET_FEATURE,
                "typeName": type_name,
                **JSON_IN_WGS84,
                "STARTINDEX": start,
                "COUNT": page_size,
            },
        )
        response.raise_for_status()
        features = response.json().get("features", [])
        yield from features
        if len(features) < page_size:
            return
        start += page_size


def _rounded(value: Any, decimals: int) -> Any:
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list | tuple):
        return [_rounded(v, decimals) for v in value]
    return value


def boundary_collection(
    features: Iterable[dict[str, Any]], layer: BoundaryLayer, *, decimals: int = 5
) -> dict[str, Any]:
    """Features in the reference format; raises ``ReferenceDataError`` on bad codes or shapes."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for feature in features:
        properties = feature.get("properties") or {}
        code = str(properties.get("statcode", "")).strip()
        if not re.match(layer.code_pattern, code):
            raise ReferenceDataError(f"{layer.name}: statcode {code!r} is not a {layer.name} code")
        if code in seen:
            raise ReferenceDataError(f"{layer.name}: statcode {code} appears twice")
        seen.add(code)
        geometry = shape(feature["geometry"])
        if geometry.is_empty or not geometry.is_valid:
            raise ReferenceDataError(f"{layer.name}: geometry of {code} is empty or invalid")
        out.append(
            {
                "type": "Feature",
                "properties": {"statcode": code, "statnaam": str(properties.get("statnaam", ""))},
                "geometry": _rounded(mapping(geometry), decimals),
            }
        )
    if not out:
        raise ReferenceDataError(f"{layer.name}: no features")
    return {"type": "FeatureCollection", "features": out}


def merged_with_water(features: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Wijk- en Buurtkaart municipality parts (land and water, ``gemeentecode``) as one
    feature per municipality with ``statcode``/``statnaam``."""
    parts: dict[str, list[Any]] = {}
    names: dict[str, str] = {}
    for feature in features:
        properties = feature.get("properties") or {}
        code = str(properties.get("gemeentecode") or properties.get("statcode") or "").strip()
        parts.setdefault(code, []).append(shape(feature["geometry"]))
        names[code] = str(properties.get("gemeentenaam") or properties.get("statnaam") or "")
    for code, geometries in parts.items():
        merged = unary_union(geometries).buffer(0)  # land and water parts share their edges
        yield {
            "type": "Feature",
            "properties": {"statcode": code, "statnaam": names[code]},
            "geometry": mapping(merged),
        }


def import_boundaries(
    year: int,
    out_dir: Path,
    *,
    url: str | None = None,
    with_water: bool = False,
    water_url: str | None = None,
    timeout_s: float = 60.0,
    page_size: int = 1000,
) -> dict[str, int]:
    """Fetch the four layers for ``year`` into ``out_dir/boundaries``; feature counts by layer.

    ``with_water``: the municipalities come from the Wijk- en Buurtkaart (``water_url``) with
    their water parts; the other layers stay the generalised ones."""
    target = out_dir / "boundaries"
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    with httpx.Client(timeout=timeout_s) as client:
        for layer in BOUNDARY_LAYERS:
            if with_water and layer.name == "gemeente":
                features = merged_with_water(
                    fetch_wfs_features(
                        client,
                        water_url or PDOK_WIJKENBUURTEN_WFS.format(year=year),
                        WITH_WATER_TYPE_NAME,
                        page_size=page_size,
                    )
                )
            else:
                features = fetch_wfs_features(
                    client, url or PDOK_WFS.format(year=year), layer.type_name, page_size=page_size
                )
            collection = boundary_collection(features, layer)
            path = target / f"{layer.name}_{year}.geojson"
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(collection))
            temporary.replace(path)  # a reader never sees half a file
            counts[layer.name] = len(collection["features"])
    return counts


# EEA column names vary between releases; the first one present is used.
EEA_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("FacilityInspireId", "facilityInspireId", "Facility_INSPIRE_ID"),
    "name": ("FacilityName", "facilityName", "nameOfFeature"),
    "operator": ("ParentCompanyName", "parentCompanyName"),
    "lat": ("Latitude", "pointGeometryLat", "lat"),
    "lon": ("Longitude", "pointGeometryLon", "lon"),
    "country": ("CountryCode", "countryCode"),
    "activity": ("EPRTRAnnexIMainActivity", "eprtrAnnexIMainActivity", "MainActivity"),
    "ied_activity": ("IEDAnnexIActivity", "iedAnnexIActivity"),
}
FACILITY_FIELDS = (
    "facility_id",
    "name",
    "operator",
    "lat",
    "lon",
    "coord_source",
    "gemeente_code",
    "gemeente",
    "provincie",
    "seveso_tier",
    "ippc",
    "sector",
    "competent_authority",
    "executing_od",
    "typical_nuisance",
    "complaint_line",
    "status",
    "source_url",
    "notes",
)


def _column(header: list[str], field: str) -> str | None:
    return next((c for c in EEA_COLUMNS[field] if c in header), None)


def facility_rows(
    eea_csv: Path, registry: Registry, places: PlaceIndex
) -> Iterator[dict[str, str]]:
    """Dutch EEA facilities as rows of ``facilities_nl.csv``, placed in their municipality."""
    with eea_csv.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        columns = {field: _column(header, field) for field in EEA_COLUMNS}
        missing = [f for f in ("id", "name", "lat", "lon", "country") if columns[f] is None]
        if missing:
            raise ReferenceDataError(f"{eea_csv}: no column for {', '.join(missing)}")

        def value(row: dict[str, str], field: str) -> str:
            column = columns[field]
            return (row.get(column) or "").strip() if column else ""

        for number, row in enumerate(reader, start=2):
            if value(row, "country").upper() != "NL":
                continue
            try:
                lat, lon = float(value(row, "lat")), float(value(row, "lon"))
            except ValueError as error:
                raise ReferenceDataError(f"{eea_csv} line {number}: bad coordinates") from error
            match = places.locate(lat, lon)
            municipality = registry.municipalities.get(match.municipality or "")
            inspire_id = value(row, "id")
            slug = re.sub(r"[^a-z0-9]+", "_", inspire_id.lower()).strip("_")
            yield {
                "facility_id": f"eea_{slug}",
                "name": value(row, "name"),
                "operator": value(row, "operator"),
                "lat": f"{lat:.5f}",
                "lon": f"{lon:.5f}",
                "coord_source": f"EEA industrial emissions facility point {inspire_id}",
                "gemeente_code": municipality.code if municipality else "",
                "gemeente": municipality.name if municipality else "",
                "provincie": registry.provinces[municipality.province_code].name
                if municipality and municipality.province_code in registry.provinces
                else "",
                "seveso_tier": "unknown (not in EEA data)",
                "ippc": "true" if value(row, "ied_activity") else "unknown",
                "sector": value(row, "activity"),
                "competent_authority": "",
                "executing_od": "",
                "typical_nuisance": "",
                "complaint_line": "",
                "status": "active",
                "source_url": "https://www.eea.europa.eu/en/datahub (industrial emissions)",
                "notes": "imported from EEA; verify Seveso tier and competent authority"
                + ("" if municipality else "; point outside the municipal boundaries"),
            }


def import_facilities(eea_csv: Path, out_path: Path, registry: Registry, places: PlaceIndex) -> int:
    rows = list(facility_rows(eea_csv, registry, places))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_suffix(".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FACILITY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(out_path)
    return len(rows)
