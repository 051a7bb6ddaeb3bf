"""Registry versions: a report is routed with the registry valid on the day it was observed.

The test makes a 2026 version next to the real 2025 data (linked, not copied) in which two
municipalities merged on 1 January 2026; the merger is made up for the test.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely import unary_union
from shapely.geometry import mapping, shape

from schemas.report import Category
from services.router.rules import load_rules
from services.router.versions import ResolverByYear, available_years
from services.router.wind import FixedWind
from tests.router.test_reference import SHARED
from tests.router.test_resolution import report
from tests.support.processes import cli

MERGED = ("GM0375", "GM0453")  # Beverwijk and Velsen
NEW_CODE = "GM9001"
VELSEN = (52.4606, 4.6300)


def _rewrite_csv(source: Path, target: Path, merge_row: dict[str, str] | None) -> None:
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = [row for row in reader if row.get("gemeente_code") not in MERGED]
    if merge_row is not None:
        rows.append(merge_row)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reference")
    (root / "registry").mkdir()
    (root / "boundaries").mkdir()
    for path in (SHARED / "registry").iterdir():
        (root / "registry" / path.name).symlink_to(path)
        if path.name.endswith("_2025.csv"):
            (root / "registry" / path.name.replace("2025", "2026")).symlink_to(path)
    for path in (SHARED / "boundaries").iterdir():
        (root / "boundaries" / path.name).symlink_to(path)
        if "gemeente" not in path.name:
            (root / "boundaries" / path.name.replace("2025", "2026")).symlink_to(path)
    for name in ("gemeenten_2026.csv", "gemeente_omgevingsdienst_2026.csv"):
        (root / "registry" / name).unlink()
    _rewrite_csv(
        SHARED / "registry" / "gemeenten_2025.csv",
        root / "registry" / "gemeenten_2026.csv",
        {
            "gemeente_code": NEW_CODE,
            "gemeente_naam": "IJmond (test)",
            "provincie_code": "PV27",
            "provincie_naam": "Noord-Holland",
            "veiligheidsregio_code": "VR12",
            "veiligheidsregio_naam": "Kennemerland",
            "ggdregio_code": "GG3109",
            "ggdregio_naam": "GGD Kennemerland",
            "centroid_lat": "52.447395",
            "centroid_lon": "4.625522",
        },
    )
    _rewrite_csv(
        SHARED / "registry" / "gemeente_omgevingsdienst_2025.csv",
        root / "registry" / "gemeente_omgevingsdienst_2026.csv",
        {
            "gemeente_code": NEW_CODE,
            "gemeente_naam": "IJmond (test)",
            "provincie": "Noord-Holland",
            "od_code": "ODIJMOND",
            "confidence": "verified",
            "source_url": "test",
        },
    )
    layer = json.loads((SHARED / "boundaries" / "gemeente_2025.geojson").read_text())
    merged = [f for f in layer["features"] if f["properties"]["statcode"] in MERGED]
    kept = [f for f in layer["features"] if f["properties"]["statcode"] not in MERGED]
    union = unary_union([shape(f["geometry"]) for f in merged])
    kept.append(
        {
            "type": "Feature",
            "properties": {"statcode": NEW_CODE, "statnaam": "IJmond (test)"},
            "geometry": mapping(union),
        }
    )
    layer["features"] = kept
    (root / "boundaries" / "gemeente_2026.geojson").write_text(json.dumps(layer))
    return root


def test_the_version_valid_on_the_observed_day_routes(two_versions: Path) -> None:
    assert available_years(two_versions) == [2025, 2026]
    router = ResolverByYear.load(two_versions, load_rules(), FixedWind(180.0))
    old, new = router.resolvers
    assert old.registry.validity.valid_until is not None
    assert old.registry.validity.valid_until.isoformat() == "2025-12-31"
    assert new.registry.validity.valid_until is None
    # 23:30 in Amsterdam on New Year's Eve is still 2025; 00:30 on 1 January is 2026
    before = report(*VELSEN, Category.NOISE, observed_at=datetime(2025, 12, 31, 22, 30, tzinfo=UTC))
    after = report(*VELSEN, Category.NOISE, observed_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    first = router.for_report(before).resolve(before)
    second = router.for_report(after).resolve(after)
    assert (first.place.municipality_code, first.registry_version) == ("GM0453", "2025.1")
    assert (second.place.municipality_code, second.registry_version) == (NEW_CODE, "2026.1")
    assert "gm0453" in {r.recipient_id for r in first.recipients}
    assert NEW_CODE.lower() in {r.recipient_id for r in second.recipients}
    assert NEW_CODE.lower() in router.possible_recipient_ids()
    assert "gm0453" in router.possible_recipient_ids(), "older versions' recipients keep topics"


def test_reference_check_reports_every_version(two_versions: Path) -> None:
    result = cli("reference", "check", str(two_versions))
    assert "reference 2025.1" in result.stdout
    assert "reference 2026.1" in result.stdout
    assert "341 municipalities" in result.stdout, result.stdout
