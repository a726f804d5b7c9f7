"""`python -m sample_services.shipping`: serve the shipping service, configured from the env."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.shipping.app import create_app
from sample_services.shipping.settings import ShippingSettings


def main() -> None:
    settings = ShippingSettings()
    serve(create_app(settings), "shipping", settings)


if __name__ == "__main__":
    main()
