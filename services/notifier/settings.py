from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    http_port: int = 8002
