"""Intake's settings (``BUURSIGNAAL_INTAKE_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import PROJECT_ROOT, ServiceSettings

SHARED_REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "data"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8000
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="where residents reach the pages"
    )
    reference_dir: Path = Field(
        default=SHARED_REFERENCE_DIR,
        description="boundaries/provincie_2025.geojson gives the outline of the Netherlands",
    )
    pdok_locatieserver_url: str = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    pdok_timeout_s: float = Field(default=2.0, gt=0)
    rate_limit_device_seconds: int = Field(
        default=120, ge=0, description="one report per category per device in this window"
    )
    rate_limit_ip_per_hour: int = Field(default=30, ge=0, description="reports per IP per hour")
    contact_retention_days: int = Field(default=365, ge=1)
    photo_link_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    relay_enabled: bool = Field(default=True, description="off only for crash tests")
    internal_api_token: SecretStr = Field(
        default=SecretStr(""),
        description="bearer token the notifier uses to ask for a resident's e-mail",
    )
