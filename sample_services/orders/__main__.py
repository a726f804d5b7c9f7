"""`python -m sample_services.orders`: serve the orders service, configured from the env."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.orders.app import create_app
from sample_services.orders.settings import OrdersSettings


def main() -> None:
    settings = OrdersSettings()
    serve(create_app(settings), "orders", settings)


if __name__ == "__main__":
    main()
