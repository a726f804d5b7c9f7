"""The provider-state bridge and the message relay: what they send, and what they keep."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from harness.contracts.errors import ContractError
from harness.contracts.messages import MessageRelay, MessageRequest, ProducedMessage, load_producers
from harness.contracts.states import ProviderStateBridge


def bridge_with(handler: httpx.MockTransport) -> ProviderStateBridge:
    bridge = ProviderStateBridge("stock", "http://stock.test")
    bridge._client = httpx.Client(transport=handler)
    return bridge


def test_states_are_posted_to_the_hook_and_refusals_kept_not_raised() -> None:
    seen: list[dict[str, object]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/_test/provider-states"
        if body["state"] == "bad":
            return httpx.Response(400, json={"code": "unknown_state"})
        return httpx.Response(200, json={"result": "ok"})

    bridge = bridge_with(httpx.MockTransport(hook))
    bridge("sku {sku} has {n}", "setup", {"sku": "S", "n": 2})
    # Raising would make pact retry the state change for about two minutes.
    bridge("bad", "setup", {"x": 1})
    bridge("", "setup", {})  # pact's own generic state: nothing to set
    assert seen == [
        {"state": "sku {sku} has {n}", "params": {"sku": "S", "n": 2}, "action": "setup"},
        {"state": "bad", "params": {"x": 1}, "action": "setup"},
    ]
    assert bridge.failure_for("sku {sku} has {n}", {"sku": "S", "n": 2}) is None
    why = bridge.failure_for("bad", {"x": 1})
    assert why is not None
    assert "HTTP 400" in why
    assert "unknown_state" in why


def test_an_unreachable_hook_is_kept_too() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    bridge = bridge_with(httpx.MockTransport(down))
    bridge("s", "setup", None)
    assert "could not reach" in (bridge.failure_for("s", {}) or "")


def test_the_relay_serialises_and_passes_states_and_url() -> None:
    asked: list[MessageRequest] = []

    def produce(request: MessageRequest) -> ProducedMessage:
        asked.append(request)
        return ProducedMessage({"id": request.param("order_id")}, {"stream": "s"})

    relay = MessageRelay("orders", {"an event": produce}, "http://orders.test")
    states = {"providerStates": [{"name": "order {order_id} is X", "params": {"order_id": "O"}}]}
    message = relay("an event", states)
    assert json.loads(message["contents"]) == {"id": "O"}
    assert message["metadata"] == {"stream": "s"}
    assert asked[0].provider_url == "http://orders.test"
    with pytest.raises(KeyError):
        relay("another event", None)
    assert "no producer for message 'another event'" in relay.failures["another event"]


def test_producers_load_by_name_from_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "my_producers.py").write_text("PRODUCERS = {'e': lambda request: None}\n")
    assert set(load_producers("my_producers:PRODUCERS", tmp_path)) == {"e"}
    with pytest.raises(ContractError, match="expected a mapping"):
        load_producers("my_producers:__name__", tmp_path)
    with pytest.raises(ContractError, match="No module named"):
        load_producers("no_such_module_here:X", tmp_path)


def test_harness_states_are_set_by_the_harness_not_the_hook() -> None:
    class Outage:
        calls: list[tuple[str, str, object]] = []

        def handles(self, state: str) -> bool:
            return state.startswith("the database of")

        def __call__(self, state: str, action: str, params: object) -> None:
            if action == "teardown":
                raise RuntimeError("proxy gone")
            self.calls.append((state, action, params))

    def hook(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the service hook must not see a harness state")

    bridge = bridge_with(httpx.MockTransport(hook))
    bridge.harness_states = Outage()
    name = "the database of {service} is unreachable"
    bridge(name, "setup", {"service": "shipping"})
    bridge(name, "teardown", {"service": "shipping"})
    assert Outage.calls == [(name, "setup", {"service": "shipping"})]
    assert "could not teardown it: proxy gone" in (
        bridge.failure_for(name, {"service": "shipping"}) or ""
    )
