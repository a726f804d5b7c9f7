"""Provider states the harness sets itself, through the fleet, not through a service's hook.

A consumer that has a fallback for a provider's outage (the gateway shows an order without
its shipment when shipping answers 503) needs that 503 in its contract, and the provider
must really produce it during verification. No service can put itself into an outage on
request, but the harness can: it owns a Toxiproxy proxy on every database edge.

- ``the database of {service} is unreachable``: the proxy of ``<service>-><its database>``
  is disabled on setup (connections refused, open ones cut); on teardown it is enabled
  again and the harness waits until the service is ready, so the next interaction meets a
  healthy provider.

Pacts that use one of these states make the contract run start its fleet proxied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.contracts.errors import ContractError
from harness.faults.edge import ProxyDown
from harness.fleet.graph import edge_name
from harness.fleet.lifecycle import Fleet

DATABASE_UNREACHABLE = "the database of {service} is unreachable"
FLEET_STATES = frozenset({DATABASE_UNREACHABLE})
_RECOVERY_TIMEOUT_S = 30.0


@dataclass
class FleetStates:
    fleet: Fleet
    _down: dict[str, ProxyDown] = field(default_factory=dict)

    def handles(self, state: str) -> bool:
        return state in FLEET_STATES

    def __call__(self, state: str, action: str, params: Mapping[str, Any]) -> None:
        handlers: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            DATABASE_UNREACHABLE: self._database_unreachable,
        }
        handlers[state](action, params)

    def _database_unreachable(self, action: str, params: Mapping[str, Any]) -> None:
        service = params.get("service")
        spec = self.fleet.manifest.services.get(str(service))
        if spec is None or spec.database is None:
            raise ContractError(f"param 'service' must name a service with a database: {service!r}")
        edge = edge_name(str(service), spec.database.infra)
        if action == "setup":
            fault = self.fleet.edge(edge).down()
            fault.inject()
            self._down[edge] = fault
            return
        if edge in self._down:
            self._down.pop(edge).revert()
            self.fleet.wait_ready(str(service), timeout=_RECOVERY_TIMEOUT_S)

    def restore(self) -> None:
        """Undo whatever is still in place (a verification that ended early)."""
        for edge, fault in list(self._down.items()):
            fault.revert()
            del self._down[edge]
