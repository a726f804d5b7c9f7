"""`python -m sample_services.payments`: serve the payments service, configured from the env."""

from __future__ import annotations

from sample_services.common.app import serve
from sample_services.payments.app import create_app
from sample_services.payments.settings import PaymentsSettings


def main() -> None:
    settings = PaymentsSettings()
    serve(create_app(settings), "payments", settings)


if __name__ == "__main__":
    main()
