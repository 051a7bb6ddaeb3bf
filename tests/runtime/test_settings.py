from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.settings import IntakeSettings
from services.router.settings import RouterSettings
from services.runtime.settings import DefaultSecretError


def test_defaults_are_for_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = IntakeSettings()
    assert settings.environment == "development"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("var/intake.sqlite")


def test_environment_variables_configure_each_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("BUURSIGNAAL_INTAKE_HTTP_PORT", "9100")
    monkeypatch.setenv("BUURSIGNAAL_ROUTER_DATABASE_URL", "postgresql+psycopg://db/router")
    assert IntakeSettings().kafka_bootstrap_servers == "broker-1:9092,broker-2:9092"
    assert IntakeSettings().http_port == 9100
    assert RouterSettings().http_port == 8001
    assert RouterSettings().effective_database_url == "postgresql+psycopg://db/router"


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("BUURSIGNAAL_ENVIRONMENT", environment)
    monkeypatch.delenv("BUURSIGNAAL_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="BUURSIGNAAL_SECRET_KEY") as caught:
        IntakeSettings()
    assert isinstance(caught.value.errors()[0]["ctx"]["error"], DefaultSecretError)
    monkeypatch.setenv("BUURSIGNAAL_SECRET_KEY", "a-real-secret-from-the-vault-0123456789")
    assert IntakeSettings().environment == environment


def test_bad_values_are_refused_with_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUURSIGNAAL_INTAKE_HTTP_PORT", "seventy")
    with pytest.raises(ValidationError, match="http_port"):
        IntakeSettings()
