"""`python -m sample_services.relay`: run the outbox relay, configured from the env."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.relay.app import create_app
from sample_services.relay.settings import RelaySettings


def main() -> None:
    settings = RelaySettings()
    serve(create_app(settings), "relay", settings)


if __name__ == "__main__":
    main()
