"""Service settings, read from the environment only."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OutboundSettings(BaseSettings):
    """Bounds of every outbound HTTP call; chaos scenarios reason about these numbers."""

    model_config = SettingsConfigDict(extra="ignore")

    http_connect_timeout: float = Field(default=0.5, gt=0)
    http_read_timeout: float = Field(default=2.0, gt=0)
    http_retry_attempts: int = Field(default=3, ge=1, le=10)
    http_backoff_base: float = Field(default=0.05, ge=0)
    http_backoff_cap: float = Field(default=0.5, ge=0)
    breaker_fail_max: int = Field(default=5, ge=1)
    breaker_reset_timeout: float = Field(default=5.0, gt=0)
    bulkhead_size: int = Field(default=20, ge=1)

    def worst_case_latency(self) -> float:
        """Upper bound of one logical call: every attempt times out and every backoff is capped."""
        per_attempt = self.http_connect_timeout + self.http_read_timeout
        return per_attempt * self.http_retry_attempts + self.http_backoff_cap * (
            self.http_retry_attempts - 1
        )


class ServiceSettings(OutboundSettings):
    """What every service reads; services subclass it for their own variables."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    database_url: str = ""
    # How long a starting service waits for its database to be reachable (s).
    database_start_timeout: float = Field(default=30.0, ge=0)
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    enable_test_hooks: bool = False

    def resolved_database_url(self, service: str) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / f'{service}.db'}"


class BrokerSettings(ServiceSettings):
    """What a service with a broker connection (the relay, shipping) reads as well."""

    broker_url: str = "redis://127.0.0.1:6379/0"
    broker_timeout: float = Field(default=2.0, gt=0)
