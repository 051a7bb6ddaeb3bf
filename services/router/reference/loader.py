"""Read a reference directory (``boundaries/*.geojson`` + ``registry/*.csv``) into a Registry.

Uncertain facts stay marked as such: a municipality's omgevingsdienst keeps its
``confidence``; a facility's Seveso tier noted from memory is ``seveso_uncertain``, and its
coordinates from memory are ``coordinates_approximate``.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

from services.router.reference.registry import (
    Facility,
    Municipality,
    Omgevingsdienst,
    Region,
    Registry,
    Validity,
)

SOURCE = "CBS/Kadaster gebiedsindelingen 2025 via PDOK (CC BY 4.0); registry tables in shared/data"


class ReferenceDataError(ValueError):
    """The reference directory cannot be read; the message says which file and what is wrong."""


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise ReferenceDataError(f"{path} is missing")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _tier(text: str) -> tuple[str, bool]:
    word = text.split(" ", 1)[0].strip().lower() or "unknown"
    uncertain = word == "unknown" or bool(re.search(r"memory|possibly|assumed", text))
    return (word if word in {"high", "low", "none"} else "unknown"), uncertain


def _ippc(text: str) -> bool | None:
    word = text.split(" ", 1)[0].strip().lower()
    return {"true": True, "false": False}.get(word)


def load_registry(directory: Path, *, year: int = 2025) -> Registry:
    registry_dir = directory / "registry"
    municipality_rows = _rows(registry_dir / f"gemeenten_{year}.csv")
    od_rows = _rows(registry_dir / f"omgevingsdiensten_{year}.csv")
    membership = {
        r["gemeente_code"]: r for r in _rows(registry_dir / f"gemeente_omgevingsdienst_{year}.csv")
    }
    regions = _Regions()
    municipalities = {
        row["gemeente_code"]: regions.municipality(row, membership.get(row["gemeente_code"]))
        for row in municipality_rows
    }
    omgevingsdiensten = {r["od_code"]: _omgevingsdienst(r) for r in od_rows}
    seveso = {
        r["provincie"]: r["seveso_od_code"]
        for r in _rows(registry_dir / f"provincie_seveso_od_{year}.csv")
    }
    water_boards = {
        r["bronhouder_code"]: r["naam"] for r in _rows(registry_dir / f"waterschappen_{year}.csv")
    }
    facilities = {r["facility_id"]: _facility(r) for r in _rows(registry_dir / "facilities_nl.csv")}
    return Registry(
        version=f"{year}.1",
        validity=Validity(SOURCE, date(year, 1, 1)),
        municipalities=municipalities,
        provinces=regions.provinces,
        safety_regions=regions.safety,
        ggd_regions=regions.ggd,
        omgevingsdiensten=omgevingsdiensten,
        seveso_od_by_province=seveso,
        water_boards=water_boards,
        facilities=facilities,
    )


class _Regions:
    """The provinces, safety regions and GGD regions named by the municipality table's rows."""

    def __init__(self) -> None:
        self.provinces: dict[str, Region] = {}
        self.safety: dict[str, Region] = {}
        self.ggd: dict[str, Region] = {}

    def municipality(self, row: dict[str, str], member: dict[str, str] | None) -> Municipality:
        """The row's municipality (``member``: its omgevingsdienst row); notes its regions."""
        self.provinces[row["provincie_code"]] = Region(row["provincie_code"], row["provincie_naam"])
        self.safety[row["veiligheidsregio_code"]] = Region(
            row["veiligheidsregio_code"], row["veiligheidsregio_naam"]
        )
        self.ggd[row["ggdregio_code"]] = Region(row["ggdregio_code"], row["ggdregio_naam"])
        return Municipality(
            code=row["gemeente_code"],
            name=row["gemeente_naam"],
            province_code=row["provincie_code"],
            safety_region_code=row["veiligheidsregio_code"],
            ggd_region_code=row["ggdregio_code"],
            centroid=(float(row["centroid_lat"]), float(row["centroid_lon"])),
            omgevingsdienst_code=member["od_code"] if member else None,
            omgevingsdienst_confidence=member["confidence"] if member else "missing",
        )


def _omgevingsdienst(row: dict[str, str]) -> Omgevingsdienst:
    return Omgevingsdienst(
        code=row["od_code"],
        name=row["od_naam"],
        website=row["website"],
        is_seveso=row["is_seveso_od"].strip().lower() == "true",
        seveso_provinces=tuple(p.strip() for p in row["seveso_provinces"].split(";") if p.strip()),
    )


SITE_POINT_UNCERTAINTY_M = 100.0  # a registered site point: somewhere on a large site
ADDRESS_PROXY_UNCERTAINTY_M = 1000.0  # an address or a neighbouring site stands in for it
MEMORY_UNCERTAINTY_M = 3000.0  # from memory, no stated margin (the README says ±1–3 km)
METRES_PER_DEGREE = 111_000.0


def coordinate_uncertainty_m(coord_source: str) -> float:
    """How far a facility's true site may lie from its point, from its ``coord_source``:
    a stated margin (``+/-0.02 deg``), else by kind (MEMORY, ADDRESS PROXY, a site point)."""
    text = coord_source.strip().upper()
    stated = re.search(r"\+/-\s*([0-9.]+)\s*DEG", text)
    if stated:
        return max(SITE_POINT_UNCERTAINTY_M, float(stated.group(1)) * METRES_PER_DEGREE)
    if text.startswith("MEMORY"):
        return MEMORY_UNCERTAINTY_M
    if text.startswith("ADDRESS PROXY"):
        return ADDRESS_PROXY_UNCERTAINTY_M
    return SITE_POINT_UNCERTAINTY_M


def _facility(row: dict[str, str]) -> Facility:
    tier, uncertain = _tier(row["seveso_tier"])
    return Facility(
        facility_id=row["facility_id"],
        name=row["name"],
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        coordinates_approximate=row["coord_source"].upper().startswith(("MEMORY", "ADDRESS PROXY")),
        municipality_code=row["gemeente_code"],
        province_name=row["provincie"],
        seveso_tier=tier,
        seveso_uncertain=uncertain,
        ippc=_ippc(row["ippc"]),
        sector=row["sector"],
        competent_authority=row["competent_authority"],
        executing_od=row["executing_od"],
        typical_nuisance=tuple(n for n in row["typical_nuisance"].split(";") if n),
        active=row["status"].strip().lower().startswith("active"),
        coordinate_uncertainty_m=coordinate_uncertainty_m(row["coord_source"]),
    )


def check_registry(registry: Registry) -> list[str]:
    """Problems that make routing unreliable (empty when the registry is consistent)."""
    problems = []
    for municipality in registry.municipalities.values():
        if municipality.omgevingsdienst_code is None:
            problems.append(f"{municipality.code} {municipality.name} has no omgevingsdienst")
        elif municipality.omgevingsdienst_code not in registry.omgevingsdiensten:
            od = municipality.omgevingsdienst_code
            problems.append(f"{municipality.code} names unknown omgevingsdienst {od}")
        if municipality.province_code not in registry.provinces:
            problems.append(
                f"{municipality.code} is in unknown province {municipality.province_code}"
            )
    for province in registry.provinces.values():
        code = registry.seveso_od_by_province.get(province.name)
        if code is None:
            problems.append(f"province {province.name} has no Seveso-omgevingsdienst")
        elif not registry.omgevingsdiensten.get(
            code, Omgevingsdienst("", "", "", False, ())
        ).is_seveso:
            problems.append(f"province {province.name}: {code} is not a Seveso-omgevingsdienst")
    for facility in registry.facilities.values():
        if facility.municipality_code not in registry.municipalities:
            problems.append(
                f"facility {facility.facility_id} is in unknown {facility.municipality_code}"
            )
    return problems
