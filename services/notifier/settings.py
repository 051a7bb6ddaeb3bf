"""The notifier's settings (``BUURSIGNAAL_NOTIFIER_*``)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import PROJECT_ROOT, ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    http_port: int = 8002
    public_base_url: str = Field(
        default="http://127.0.0.1:8002", description="base of feedback links in mails"
    )
    intake_url: str = Field(
        default="http://127.0.0.1:8000", description="intake, for the resident's address"
    )
    internal_api_token: SecretStr = Field(
        default=SecretStr(""), description="bearer token for intake's internal contact endpoint"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Buursignaal <noreply@buursignaal.nl>"
    working_hours_start: time = time(8, 30)
    working_hours_end: time = time(17, 0)
    norms_file: Path | None = Field(default=None, description="YAML overrides of the norms")
    chain_file: Path | None = Field(
        default=None, description="YAML: board contacts and complaint links per authority"
    )
    figures_interval_s: float = Field(
        default=7 * 24 * 3600, gt=0, description="how often per-body figures are published"
    )
    tick_interval_s: float = Field(default=30.0, gt=0, description="how often the ladder runs")
    mail_interval_s: float = Field(default=5.0, gt=0, description="how often mail jobs run")
    consumer_batch_size: int = Field(
        default=1000, ge=1, le=5000, description="status events are small: larger batches"
    )
    wave_threshold: int = Field(
        default=15, ge=2, description="unique reporters in one incident that make a wave"
    )
    burst_threshold: int = Field(default=10, ge=2, description="unique reporters in an hour")
    scan_interval_s: float = Field(
        default=3600, gt=0, description="how often the space-time scan runs (hourly)"
    )
    scan_at_start: bool = Field(
        default=True,
        description="the first scan right after a start (off: the first comes one interval later)",
    )
    scan_permutations: int = Field(default=999, ge=9)
    scan_max_radius_m: float = Field(default=5000.0, gt=0)
    digest_interval_s: float = Field(
        default=7 * 24 * 3600, gt=0, description="how often a digest is published (weekly)"
    )
    oidc_issuer: str = Field(
        default="",
        description="the inbox's OpenID Connect provider, e.g. http://127.0.0.1:8180/realms/"
        "buursignaal; empty: no OIDC sign-in",
    )
    oidc_metadata_url: str = Field(
        default="",
        description="where the notifier reads the provider's OpenID configuration, when it "
        "reaches the provider at another address than browsers do (inside the cluster, e.g. "
        "http://keycloak:8080/realms/buursignaal/.well-known/openid-configuration); empty: "
        "{oidc_issuer}/.well-known/openid-configuration",
    )
    oidc_client_id: str = "notifier-inbox"
    oidc_client_secret: SecretStr = Field(default=SecretStr(""), description="the client's secret")
    inbox_idle_s: int = Field(
        default=8 * 3600, ge=1, description="an inbox session ends after this long unused"
    )
    inbox_key_sign_in: bool = Field(
        default=True, description="development sign-in with an API key; never in production"
    )
    reference_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        description="registry/facilities_nl.csv, for the digest's blind spots",
    )
