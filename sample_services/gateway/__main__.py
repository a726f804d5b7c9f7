"""`python -m sample_services.gateway`: settings from the environment, then serve."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.gateway.app import create_app
from sample_services.gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    serve(create_app(settings), "gateway", settings)


if __name__ == "__main__":
    main()
