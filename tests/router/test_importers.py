"""Importers from PDOK (boundaries, via a local WFS-shaped server) and EEA (facilities, CSV)
write files the router reads; the test makes the small source files itself."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from shapely import Point

from services.router.reference.importers import (
    BOUNDARY_LAYERS,
    boundary_collection,
    import_boundaries,
    import_facilities,
)
from services.router.reference.loader import ReferenceDataError, load_registry
from services.router.reference.places import Layer
from services.runtime.geo import METRES_PER_DEG_LAT, METRES_PER_DEG_LON
from tests.router.test_reference import SHARED, reference
from tests.support.http import JsonHandler, serving
from tests.support.processes import cli


def square(x: float, y: float, size: float = 0.1) -> dict[str, object]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


CODES = {
    "gemeente": "GM{:04d}",
    "provincie": "PV{:02d}",
    "veiligheidsregio": "VR{:02d}",
    "ggdregio": "GG{:04d}",
}
ASKED: list[dict[str, list[str]]] = []


def features_for(type_name: str) -> list[dict[str, object]]:
    if type_name == "gemeenten":  # the Wijk- en Buurtkaart: a land part and a water part each
        return [
            {
                "type": "Feature",
                "properties": {
                    "gemeentecode": f"GM{i + 20:04d}",
                    "gemeentenaam": f"gemeente {i}",
                    "water": water,
                },
                "geometry": square(5.0 + i * 0.1, 52.0 + (0.1 if water == "JA" else 0.0)),
            }
            for i in range(3)
            for water in ("NEE", "JA")
        ]
    layer = type_name.removesuffix("_gegeneraliseerd")
    return [
        {
            "type": "Feature",
            "properties": {
                "statcode": CODES[layer].format(i + 20),
                "statnaam": f"{layer} {i}",
                "extra": "dropped",
            },
            "geometry": square(5.0 + i * 0.1, 52.0),
        }
        for i in range(5)
    ]


class _Wfs(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        query = parse_qs(urlparse(self.path).query)
        ASKED.append(query)
        start, count = int(query["STARTINDEX"][0]), int(query["COUNT"][0])
        page = features_for(query["typeName"][0])[start : start + count]
        self.send_json({"type": "FeatureCollection", "features": page})


@contextmanager
def wfs() -> Iterator[str]:
    with serving(_Wfs, "/wfs") as url:
        yield url


def test_boundaries_are_fetched_page_by_page_and_written_in_the_reference_shape(
    tmp_path: Path,
) -> None:
    with wfs() as url:
        counts = import_boundaries(2031, tmp_path, url=url, page_size=2)
    assert counts == {"gemeente": 5, "provincie": 5, "veiligheidsregio": 5, "ggdregio": 5}
    pages = [q["STARTINDEX"][0] for q in ASKED if q["typeName"] == ["gemeente_gegeneraliseerd"]]
    assert pages == ["0", "2", "4"], "paged with STARTINDEX until a short page"
    written = json.loads((tmp_path / "boundaries" / "gemeente_2031.geojson").read_text())
    assert written["features"][0]["properties"] == {"statcode": "GM0020", "statnaam": "gemeente 0"}
    layer = Layer.read(tmp_path / "boundaries" / "gemeente_2031.geojson")
    assert layer.codes == ["GM0020", "GM0021", "GM0022", "GM0023", "GM0024"]


def test_boundaries_with_water_merge_each_municipalitys_land_and_water(tmp_path: Path) -> None:
    with wfs() as url:
        counts = import_boundaries(2031, tmp_path, url=url, with_water=True, water_url=url)
    assert counts["gemeente"] == 3
    layer = Layer.read(tmp_path / "boundaries" / "gemeente_2031.geojson")
    assert layer.codes == ["GM0020", "GM0021", "GM0022"]
    on_the_water = Point(5.05 * METRES_PER_DEG_LON, 52.15 * METRES_PER_DEG_LAT)
    assert layer.containing(on_the_water) == ["GM0020"], "the water part is the municipality's"
    written = json.loads((tmp_path / "boundaries" / "gemeente_2031.geojson").read_text())
    assert written["features"][0]["geometry"]["type"] == "Polygon", "land and water merged"
    assert counts["provincie"] == 5, "the other layers stay the generalised ones"


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        ({"properties": {"statcode": "XX1"}, "geometry": square(5, 52)}, "not a gemeente code"),
        (
            {
                "properties": {"statcode": "GM0001"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[5, 52], [6, 53], [6, 52], [5, 53], [5, 52]]],
                },
            },
            "invalid",
        ),
    ],
)
def test_bad_boundaries_are_refused(feature: dict[str, object], message: str) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        boundary_collection([feature], BOUNDARY_LAYERS[0])
    twice = {"properties": {"statcode": "GM0001"}, "geometry": square(5, 52)}
    with pytest.raises(ReferenceDataError, match="twice"):
        boundary_collection([twice, twice], BOUNDARY_LAYERS[0])


def write_eea(path: Path) -> None:
    rows = [
        {
            "FacilityInspireId": "NL.RIVM/000123.FACILITY",
            "FacilityName": "Staalfabriek Test",
            "ParentCompanyName": "Test BV",
            "Latitude": "52.4766",
            "Longitude": "4.5922",
            "CountryCode": "NL",
            "EPRTRAnnexIMainActivity": "2(b)",
            "IEDAnnexIActivity": "2.2",
        },
        {
            "FacilityInspireId": "BE.X/1",
            "FacilityName": "Elders",
            "ParentCompanyName": "",
            "Latitude": "50.85",
            "Longitude": "4.35",
            "CountryCode": "BE",
            "EPRTRAnnexIMainActivity": "",
            "IEDAnnexIActivity": "",
        },
        {
            "FacilityInspireId": "NL.RIVM/000456.FACILITY",
            "FacilityName": "Afvaloven Test",
            "ParentCompanyName": "",
            "Latitude": "51.8133",
            "Longitude": "4.6667",
            "CountryCode": "NL",
            "EPRTRAnnexIMainActivity": "5(b)",
            "IEDAnnexIActivity": "",
        },
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_eea_facilities_become_registry_rows_with_unknowns_kept(tmp_path: Path) -> None:
    registry, places = reference()
    source = tmp_path / "eea.csv"
    write_eea(source)
    out = tmp_path / "registry" / "facilities_nl.csv"
    assert import_facilities(source, out, registry, places) == 2, "Dutch rows only"
    with out.open(newline="", encoding="utf-8") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    steel = rows["Staalfabriek Test"]
    assert steel["gemeente_code"] == "GM0453"
    assert steel["provincie"] == "Noord-Holland"
    assert steel["ippc"] == "true"
    assert steel["seveso_tier"].startswith("unknown")
    assert "verify" in steel["notes"]
    assert rows["Afvaloven Test"]["ippc"] == "unknown"
    # the written file loads as the registry's facility table
    for path in (SHARED / "registry").iterdir():
        if path.name != "facilities_nl.csv":
            (tmp_path / "registry" / path.name).symlink_to(path)
    loaded = load_registry(tmp_path)
    facility = loaded.facilities["eea_nl_rivm_000123_facility"]
    assert facility.seveso_tier == "unknown"
    assert facility.seveso_uncertain


def test_eea_file_without_coordinates_is_refused(tmp_path: Path) -> None:
    registry, places = reference()
    source = tmp_path / "eea.csv"
    source.write_text("FacilityInspireId,FacilityName,CountryCode\nNL.1,X,NL\n")
    with pytest.raises(ReferenceDataError, match="lat, lon"):
        import_facilities(source, tmp_path / "out.csv", registry, places)


def test_cli_imports_facilities(tmp_path: Path) -> None:
    source = tmp_path / "eea.csv"
    write_eea(source)
    result = cli(
        "reference",
        "import-facilities",
        str(tmp_path),
        "--eea-csv",
        str(source),
        "--reference",
        str(SHARED),
    )
    assert result.returncode == 0, result.stderr
    assert "2 Dutch facilities" in result.stdout
    assert (tmp_path / "registry" / "facilities_nl.csv").exists()
