"""The `harness` command: the typer app, its commands registered from the modules beside it.

Each command module (fleet, contracts, fuzz, load, gameday) only translates options, calls one core
entry that returns a result, renders it, and leaves the exit code to harness.cli.exits
(0 success, 1 the run failed, 2 bad input with nothing started, 98/99 for load, 20/21/22
for a game-day, 130/143 interrupted). Capabilities are imported when their command runs, so
`harness --help` and `harness fleet ...` do not pay for Pact, Schemathesis or Locust.
"""

from __future__ import annotations

import typer

from harness.cli.contracts import can_i_deploy, contracts_app
from harness.cli.doctor import doctor, setup_app
from harness.cli.fleet import fleet_app
from harness.cli.fuzz import fuzz
from harness.cli.gameday import gameday
from harness.cli.load import load

__all__ = ["app"]

app = typer.Typer(
    name="harness",
    help="Contract and chaos testing harness for microservice fleets.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(fleet_app, name="fleet")
app.add_typer(contracts_app, name="contracts")
app.command("load")(load)
app.command("fuzz")(fuzz)
app.command("can-i-deploy")(can_i_deploy)
app.command("gameday")(gameday)
app.command("doctor")(doctor)
app.add_typer(setup_app, name="setup")


if __name__ == "__main__":  # pragma: no cover - the console script calls `app` directly
    app()
