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
    municipalities_rows = _rows(registry_dir / f"gemeenten_{year}.csv")
    od_rows = _rows(registry_dir / f"omgevingsdiensten_{year}.csv")
    membership = {
        r["gemeente_code"]: r for r in _rows(registry_dir / f"gemeente_omgevingsdienst_{year}.csv")
    }
    provinces: dict[str, Region] = {}
    safety: dict[str, Region] = {}
    ggd: dict[str, Region] = {}
    municipalities: dict[str, Municipality] = {}
    for row in municipalities_rows:
        provinces[row["provincie_code"]] = Region(row["provincie_code"], row["provincie_naam"])
        safety[row["veiligheidsregio_code"]] = Region(
            row["veiligheidsregio_code"], row["veiligheidsregio_naam"]
        )
        ggd[row["ggdregio_code"]] = Region(row["ggdregio_code"], row["ggdregio_naam"])
        member = membership.get(row["gemeente_code"])
        municipalities[row["gemeente_code"]] = Municipality(
            code=row["gemeente_code"],
            name=row["gemeente_naam"],
            province_code=row["provincie_code"],
            safety_region_code=row["veiligheidsregio_code"],
            ggd_region_code=row["ggdregio_code"],
            centroid=(float(row["centroid_lat"]), float(row["centroid_lon"])),
            omgevingsdienst_code=member["od_code"] if member else None,
            omgevingsdienst_confidence=member["confidence"] if member else "missing",
        )
    omgevingsdiensten = {
        r["od_code"]: Omgevingsdienst(
            code=r["od_code"],
            name=r["od_naam"],
            website=r["website"],
            is_seveso=r["is_seveso_od"].strip().lower() == "true",
            seveso_provinces=tuple(
                p.strip() for p in r["seveso_provinces"].split(";") if p.strip()
            ),
        )
        for r in od_rows
    }
    seveso = {
        r["provincie"]: r["seveso_od_code"]
        for r in _rows(registry_dir / f"provincie_seveso_od_{year}.csv")
    }
    water_boards = {
        r["bronhouder_code"]: r["naam"] for r in _rows(registry_dir / f"waterschappen_{year}.csv")
    }
    facilities = {}
    for r in _rows(registry_dir / "facilities_nl.csv"):
        tier, uncertain = _tier(r["seveso_tier"])
        facilities[r["facility_id"]] = Facility(
            facility_id=r["facility_id"],
            name=r["name"],
            lat=float(r["lat"]),
            lon=float(r["lon"]),
            coordinates_approximate=r["coord_source"]
            .upper()
            .startswith(("MEMORY", "ADDRESS PROXY")),
            municipality_code=r["gemeente_code"],
            province_name=r["provincie"],
            seveso_tier=tier,
            seveso_uncertain=uncertain,
            ippc=_ippc(r["ippc"]),
            sector=r["sector"],
            competent_authority=r["competent_authority"],
            executing_od=r["executing_od"],
            typical_nuisance=tuple(n for n in r["typical_nuisance"].split(";") if n),
            active=r["status"].strip().lower().startswith("active"),
        )
    return Registry(
        version=f"{year}.1",
        validity=Validity(SOURCE, date(year, 1, 1)),
        municipalities=municipalities,
        provinces=provinces,
        safety_regions=safety,
        ggd_regions=ggd,
        omgevingsdiensten=omgevingsdiensten,
        seveso_od_by_province=seveso,
        water_boards=water_boards,
        facilities=facilities,
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
