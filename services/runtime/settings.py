"""Typed settings from the environment: ``BUURSIGNAAL_*`` plus the standard Kafka variable.

Each service subclasses ``ServiceSettings`` with a prefix of its own
(``BUURSIGNAAL_INTAKE_``, ...).  Settings shared by every service (environment, broker, secret)
are read without the service part so one environment serves the whole stack.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from services.runtime.broker import KafkaCredentials

DEVELOPMENT_SECRET = "development-only-secret-change-me"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DefaultSecretError(ValueError):
    """A service outside development was about to run with the published default secret."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_", extra="ignore")

    service_name: str = "buursignaal"
    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices("BUURSIGNAAL_ENVIRONMENT", "environment"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS",
            "BUURSIGNAAL_KAFKA_BOOTSTRAP_SERVERS",
            "kafka_bootstrap_servers",
        ),
    )
    kafka_username: str = Field(
        default="",
        description="SASL/SCRAM-SHA-512 user of this service (ADR 0018); empty: plaintext broker",
    )
    kafka_password: SecretStr = Field(default=SecretStr(""), description="its SCRAM password")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="SASL_PLAINTEXT", description="SASL_SSL when the broker is reached over TLS"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="PLAIN: only compose's admin (tooling)"
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        validation_alias=AliasChoices("BUURSIGNAAL_SECRET_KEY", "secret_key"),
        description="keys HMACs (reporter keys, tracking links); never the default in production",
    )
    database_url: str = Field(
        default="", description="SQLAlchemy async URL; empty means SQLite under var/"
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    connect_backoff_initial_s: float = Field(default=0.5, gt=0)
    connect_backoff_max_s: float = Field(default=15.0, gt=0)
    outbox_poll_interval_s: float = Field(default=0.05, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1)
    consumer_batch_size: int = Field(default=500, ge=1, le=5000)
    map_tiles_url: str = Field(
        default="",
        validation_alias=AliasChoices("BUURSIGNAAL_MAP_TILES_URL", "map_tiles_url"),
        description=(
            "the maps' background tiles ({z}/{x}/{y}); production: PDOK's BRT-Achtergrondkaart;"
            " empty: the municipal boundaries alone"
        ),
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one object per line with the report id"
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Self:
        if (
            self.environment is not Environment.DEVELOPMENT
            and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET
        ):
            raise DefaultSecretError(
                f"{self.service_name} refuses to start in {self.environment.value} with the "
                "default secret: set BUURSIGNAAL_SECRET_KEY to a long random value."
            )
        return self

    @property
    def kafka_credentials(self) -> KafkaCredentials | None:
        """The service's Kafka principal, or None on a broker without authentication."""
        from services.runtime.broker import KafkaCredentials

        if not self.kafka_username:
            return None
        return KafkaCredentials(
            self.kafka_username,
            self.kafka_password.get_secret_value(),
            self.kafka_security_protocol,
            self.kafka_sasl_mechanism,
        )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = PROJECT_ROOT / "var" / f"{self.service_name}.sqlite"
        return f"sqlite+aiosqlite:///{path}"
