"""Orders settings: where the downstreams live and how patient the saga is with them."""

from __future__ import annotations

from pydantic import Field

from sample_services.common.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    inventory_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    # A forward step retries transient failures (timeouts, 5xx, open breaker) until this
    # many seconds after its first attempt, then the saga compensates. One attempt may
    # itself take up to worst_case_latency(), so a step ends within deadline + that.
    saga_step_deadline: float = Field(default=10.0, gt=0)
    saga_backoff_base: float = Field(default=0.1, gt=0)
    saga_backoff_cap: float = Field(default=1.0, gt=0)
    # How often unfinished sagas (e.g. left over by a crash) are picked up again.
    saga_scan_interval: float = Field(default=2.0, gt=0)
    # Worker threads; 0 runs no background saga at all (tests drive sagas synchronously).
    saga_workers: int = Field(default=4, ge=0, le=32)
