"""`python -m sample_services.inventory`: serve the inventory service, configured from the env."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.inventory.app import create_app
from sample_services.inventory.settings import InventorySettings


def main() -> None:
    settings = InventorySettings()
    serve(create_app(settings), "inventory", settings)


if __name__ == "__main__":
    main()
