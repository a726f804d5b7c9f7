"""Gateway settings: backends, token verification, rate limit (environment only)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sample_services.common.settings import ServiceSettings

# Public on purpose (development only). 64 bytes, so even HS512 gets a key as long as
# RFC 7518 asks for.
DEV_JWT_SECRET = "harness-dev-secret-do-not-use-in-production-it-is-public-in-the-repo"

BACKENDS = ("orders", "inventory", "payments", "shipping")


class GatewaySettings(ServiceSettings):
    orders_url: str = "http://127.0.0.1:8001"
    inventory_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    shipping_url: str = "http://127.0.0.1:8004"

    # RFC 7518 wants an HS256 key of at least 256 bits; shorter ones are guessable.
    jwt_secret: str = Field(default=DEV_JWT_SECRET, min_length=32)
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key_file: Path | None = None
    jwt_private_key_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_ttl: int = Field(default=3600, gt=0)
    enable_token_issuer: bool = False

    rate_limit_rps: float = Field(default=10.0, gt=0)
    rate_limit_burst: int = Field(default=20, ge=1)

    # Seconds the order's read waits for its shipment (one attempt) before it answers
    # without it (X-Degraded: shipping).
    shipment_lookup_budget: float = Field(default=0.5, gt=0)

    # Seconds a read (stock, account, order) may be answered from the gateway's memory,
    # marked X-Degraded with its Age, while its backend cannot answer (0: never).
    stale_if_error: float = Field(default=300.0, ge=0)

    readiness_backends: str = ""
    """Comma-separated backends whose /healthz gates readiness (default none, see app.py)."""

    @field_validator(
        "jwt_issuer", "jwt_audience", "jwt_public_key_file", "jwt_private_key_file", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # An exported-but-empty variable (JWT_ISSUER=) means "not configured", not "".
        return None if value == "" else value

    @model_validator(mode="after")
    def _keys_for_algorithm(self) -> GatewaySettings:
        if self.jwt_algorithm == "RS256":
            if self.jwt_public_key_file is None:
                raise ValueError("JWT_ALGORITHM=RS256 needs JWT_PUBLIC_KEY_FILE")
            if self.enable_token_issuer and self.jwt_private_key_file is None:
                raise ValueError("the RS256 token issuer needs JWT_PRIVATE_KEY_FILE")
        unknown = set(self.readiness_backend_names()) - set(BACKENDS)
        if unknown:
            raise ValueError(f"READINESS_BACKENDS names unknown backends: {sorted(unknown)}")
        return self

    def readiness_backend_names(self) -> list[str]:
        return [name.strip() for name in self.readiness_backends.split(",") if name.strip()]

    def backend_url(self, backend: str) -> str:
        urls = {
            "orders": self.orders_url,
            "inventory": self.inventory_url,
            "payments": self.payments_url,
            "shipping": self.shipping_url,
        }
        return urls[backend]
