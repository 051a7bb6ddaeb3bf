"""The facts the router routes with, each with its source and the period it is valid for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Validity:
    source: str
    valid_from: date
    valid_until: date | None = None  # None: until a later registry version replaces it

    def until(self, last_day: date) -> Validity:
        return Validity(self.source, self.valid_from, last_day)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    province_code: str
    safety_region_code: str
    ggd_region_code: str
    centroid: tuple[float, float]  # (lat, lon), a representative point inside
    omgevingsdienst_code: str | None
    omgevingsdienst_confidence: str  # "verified" or "inferred": uncertainty stays visible


@dataclass(frozen=True)
class Region:
    """A province, safety region or GGD region."""

    code: str
    name: str


@dataclass(frozen=True)
class Omgevingsdienst:
    code: str
    name: str
    website: str
    is_seveso: bool
    seveso_provinces: tuple[str, ...]


@dataclass(frozen=True)
class Facility:
    facility_id: str
    name: str
    lat: float
    lon: float
    coordinates_approximate: bool
    municipality_code: str
    province_name: str
    seveso_tier: str  # "high", "low", "none" or "unknown"
    seveso_uncertain: bool
    ippc: bool | None
    sector: str
    competent_authority: str
    executing_od: str
    typical_nuisance: tuple[str, ...]
    active: bool
    coordinate_uncertainty_m: float = 100.0  # how far the true site may lie from (lat, lon)


@dataclass
class Registry:
    """One version of the reference data (for example the 2025 boundaries and tables)."""

    version: str
    validity: Validity
    municipalities: dict[str, Municipality]
    provinces: dict[str, Region]
    safety_regions: dict[str, Region]
    ggd_regions: dict[str, Region]
    omgevingsdiensten: dict[str, Omgevingsdienst]
    seveso_od_by_province: dict[str, str]
    water_boards: dict[str, str]
    facilities: dict[str, Facility]
    warnings: list[str] = field(default_factory=list)

    def province_by_name(self, name: str) -> Region | None:
        for region in self.provinces.values():
            if region.name == name:
                return region
        return None
