from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8000
