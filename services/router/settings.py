"""The router's settings (``BUURSIGNAAL_ROUTER_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import PROJECT_ROOT, ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_ROUTER_", extra="ignore")

    service_name: str = "router"
    http_port: int = 8001
    reference_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        description="boundaries/ and registry/ (GeoJSON + CSV); weather/ for KNMI wind",
    )
    weather_dir: Path | None = Field(
        default=None,
        description="KNMI hourly wind (knmi_stations.csv, knmi_uurgeg_*.txt), read again when "
        "the files change; default: weather/ in the reference directory",
    )
    fixed_wind_from_deg: float | None = Field(
        default=None, ge=0, le=360, description="use this wind everywhere instead of KNMI files"
    )
    max_refusals: int = Field(default=2, ge=1, description="'not ours' answers before triage")
    pdok_locatieserver_url: str = Field(
        default="https://api.pdok.nl/bzk/locatieserver/search/v3_1",
        description="reverse lookup of the water board when no water board boundaries are "
        "available; empty: no lookup (the water board is then unknown)",
    )
    pdok_timeout_s: float = Field(default=2.0, gt=0)
