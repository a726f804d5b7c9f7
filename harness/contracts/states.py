"""The provider-state bridge: the verifier's state changes, posted to the provider's hook.

Services expose ``POST /_test/provider-states`` ``{state, params, action}`` only when the
harness enables their test hooks (``ENABLE_TEST_HOOKS=1`` in the manifest's environment).
The bridge is a Python callable handed to pact's verifier rather than the hook's URL: a
refused state (unknown name, bad params) is then kept with the provider's own explanation,
and the failed interaction's report shows it instead of pact's bare "state change failed".

A refusal is recorded, not raised: pact's verifier retries a state change that fails with
a 5xx, with exponential backoff from 0.5 s (pact_ffi 0.5.12: 127 s for one bad state
before the interaction fails). The interaction then runs without its state, and the
harness fails it with the recorded reason whatever the provider answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from harness.httpbody import describe_body

STATE_HOOK_PATH = "/_test/provider-states"


class HarnessStates(Protocol):
    def handles(self, state: str) -> bool: ...

    def __call__(self, state: str, action: str, params: Mapping[str, Any]) -> None: ...


_TIMEOUT = httpx.Timeout(30.0, connect=2.0)


def state_key(name: str, params: Mapping[str, Any] | None) -> str:
    return name + " " + json.dumps(dict(params or {}), sort_keys=True, default=str)


@dataclass
class ProviderStateBridge:
    """Calls ``<provider_url>/_test/provider-states`` for every state the verifier sets up."""

    provider: str
    provider_url: str | None
    hook_path: str = STATE_HOOK_PATH
    # state_key -> why the provider refused it
    failures: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    # States the harness sets itself (see harness.contracts.fleet_states), if any.
    harness_states: HarnessStates | None = None
    _client: httpx.Client | None = None

    def __call__(self, state: str, action: str, parameters: dict[str, Any] | None) -> None:
        # Pact's own "" state (a generic setup/teardown) has nothing to set.
        if not state:
            return
        if self.harness_states is not None and self.harness_states.handles(state):
            self.calls += 1
            try:
                self.harness_states(state, action, dict(parameters or {}))
            except Exception as exc:  # kept for the report, never raised: see the module doc
                self._fail(state, parameters, f"the harness could not {action} it: {exc}")
            return
        if self.provider_url is None:
            return
        self.calls += 1
        if self._client is None:
            self._client = httpx.Client(timeout=_TIMEOUT, trust_env=False)
        url = self.provider_url.rstrip("/") + self.hook_path
        body = {"state": state, "params": dict(parameters or {}), "action": action}
        try:
            response = self._client.post(url, json=body)
        except httpx.HTTPError as exc:
            self._fail(state, parameters, f"{action} of the state could not reach {url}: {exc!r}")
            return
        if response.status_code >= 300:
            self._fail(
                state,
                parameters,
                f"{self.provider} refused the {action} of this state: HTTP "
                f"{response.status_code} {describe_body(response, limit=500)}",
            )

    def _fail(self, state: str, parameters: Mapping[str, Any] | None, why: str) -> None:
        self.failures[state_key(state, parameters)] = why

    def failure_for(self, name: str, params: Mapping[str, Any]) -> str | None:
        return self.failures.get(state_key(name, params))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
