from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BUURSIGNAAL_ROUTER_", extra="ignore")

    service_name: str = "router"
    http_port: int = 8001
