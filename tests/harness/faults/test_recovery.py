"""Rollbacks that survive Toxiproxy: retries, read-back, re-create the proxy, restart the server.

Shopify/toxiproxy#558 (DELETE of a toxic hangs while connections are in flight) does not
reproduce on demand, so its symptom is produced deterministically here, on a real server:
a hanging DELETE (an HTTP proxy in front of the control API that never answers DELETEs of
toxics) and a control API that does not answer at all (the server SIGSTOPped). The #558
situation itself (high latency, a request in flight, then the revert) is run too: whatever
the server does, the revert must end with the toxic gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from harness.faults.edge import EdgeFaults
from harness.faults.recovery import ProxyRecovery, RecoveryFailed, RecoveryPolicy, RecoveryStep
from harness.faults.toxiproxy import Proxy, ProxySpec, ToxiproxyClient
from harness.infra.base import Endpoint
from harness.infra.local_toxiproxy import LocalToxiproxy
from harness.infra.ports import free_port

pytestmark = pytest.mark.slow

FAST = RecoveryPolicy(attempts=2, attempt_timeout=0.5, backoff=0.05)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalToxiproxy]:
    """A server of this test's own: tests here freeze and restart it."""
    toxiproxy = LocalToxiproxy(tmp_path)
    toxiproxy.start()
    try:
        yield toxiproxy
    finally:
        if toxiproxy.process.running:
            toxiproxy.process.kill()


def _restart(server: LocalToxiproxy) -> None:
    server.process.kill()
    server.process.start()
    server.wait_ready()


def _proxy(client: ToxiproxyClient, upstream: Endpoint) -> Proxy:
    return client.create_proxy("orders__payments", f"127.0.0.1:{free_port()}", upstream.address)


def _get(proxy: Proxy) -> httpx.Response:
    return httpx.get(f"http://{proxy.listen_endpoint.address}/", timeout=5.0)


def test_a_frozen_api_is_retried_and_the_revert_verified(
    server: LocalToxiproxy, upstream: Endpoint
) -> None:
    with ToxiproxyClient(server.api_url) as client:
        proxy = _proxy(client, upstream)
        failed: list[RecoveryStep] = []

        def thaw_after_first_failure(step: RecoveryStep) -> None:
            if not step.ok and not failed:
                failed.append(step)
                server.process.resume()

        recovery = ProxyRecovery(server.api_url, policy=FAST, on_step=thaw_after_first_failure)
        with recovery:
            fault = EdgeFaults(client, proxy.name, recovery).latency(2000)
            fault.inject()
            server.process.pause()
            fault.revert()
        actions = [(s.action, s.ok) for s in fault.revert_steps]
        assert actions[0] == (
            "remove toxic latency_downstream from orders__payments (attempt 1)",
            False,
        )
        assert actions[-1] == ("read orders__payments back", True)
        assert not any("re-create" in action for action, _ in actions)
        assert client.proxy(proxy.name).toxics == ()
        assert not fault.active


class _HangingDeletes(BaseHTTPRequestHandler):
    """Forwards to the real API, except DELETEs of a toxic: those never get an answer
    (the symptom of Shopify/toxiproxy#558)."""

    api = ""
    protocol_version = "HTTP/1.1"
    release = threading.Event()

    def _forward(self) -> None:
        if self.command == "DELETE" and "/toxics/" in self.path:
            self.release.wait(30)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        answer = httpx.request(
            self.command,
            self.api + self.path,
            content=body,
            headers={"Content-Type": "application/json", "User-Agent": "test"},
        )
        self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(answer.content)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def hanging_api(server: LocalToxiproxy) -> Iterator[str]:
    handler = type("Handler", (_HangingDeletes,), {"api": server.api_url})
    front = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    front.daemon_threads = True
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{front.server_address[1]}"
    finally:
        _HangingDeletes.release.set()
        front.shutdown()
        front.server_close()


def test_a_hanging_delete_escalates_to_recreating_the_proxy_on_its_address(
    server: LocalToxiproxy, upstream: Endpoint, hanging_api: str
) -> None:
    with ToxiproxyClient(server.api_url) as direct:
        proxy = _proxy(direct, upstream)
    spec = ProxySpec(proxy.name, proxy.listen, proxy.upstream)
    with (
        ToxiproxyClient(hanging_api) as client,
        ProxyRecovery(hanging_api, [spec], policy=FAST) as recovery,
    ):
        fault = EdgeFaults(client, proxy.name, recovery).latency(3000)
        fault.inject()
        began = time.monotonic()
        fault.revert()
        took = time.monotonic() - began
        after = client.proxy(proxy.name)
    actions = [(s.action, s.ok) for s in fault.revert_steps]
    assert actions == [
        ("remove toxic latency_downstream from orders__payments (attempt 1)", False),
        ("read orders__payments back", False),
        ("remove toxic latency_downstream from orders__payments (attempt 2)", False),
        ("read orders__payments back", False),
        (f"re-create orders__payments on {proxy.listen}", True),
        ("read orders__payments back", True),
    ]
    assert after.toxics == ()
    assert after.enabled
    assert after.listen == proxy.listen
    assert _get(after).text == "ok"
    # Bounded: two timed-out attempts, not the default client's 5 s each.
    assert took < 2 * 5.0


def test_a_dead_api_escalates_to_restarting_the_server_and_recreating_every_proxy(
    server: LocalToxiproxy, upstream: Endpoint
) -> None:
    with ToxiproxyClient(server.api_url) as client:
        proxy = _proxy(client, upstream)
        other = client.create_proxy("gateway__orders", f"127.0.0.1:{free_port()}", upstream.address)
        specs = [ProxySpec(p.name, p.listen, p.upstream) for p in (proxy, other)]
        with ProxyRecovery(
            server.api_url, specs, restart_server=lambda: _restart(server), policy=FAST
        ) as recovery:
            fault = EdgeFaults(client, proxy.name, recovery).latency(3000)
            fault.inject()
            server.process.pause()  # stays frozen: only the restart gets past it
            fault.revert()
        actions = [(s.action, s.ok) for s in fault.revert_steps]
        assert ("restart the Toxiproxy server", True) in actions
        assert ("re-create all 2 proxies", True) in actions
        assert actions[-1] == ("read orders__payments back", True)
        found = client.proxies()
    assert {name: (p.listen, p.enabled, p.toxics) for name, p in found.items()} == {
        proxy.name: (proxy.listen, True, ()),
        other.name: (other.listen, True, ()),
    }
    assert _get(found[proxy.name]).text == "ok"


def test_without_a_server_to_restart_a_dead_api_fails_the_revert_loudly(
    server: LocalToxiproxy, upstream: Endpoint
) -> None:
    with ToxiproxyClient(server.api_url) as client:
        proxy = _proxy(client, upstream)
        with ProxyRecovery(server.api_url, policy=FAST) as recovery:
            fault = EdgeFaults(client, proxy.name, recovery).latency(3000)
            fault.inject()
            server.process.pause()
            try:
                with pytest.raises(RecoveryFailed, match="re-create orders__payments"):
                    fault.revert()
            finally:
                server.process.resume()
            assert fault.active  # not reverted: a later rollback tries again
            fault.revert()
        assert not fault.active
        assert client.proxy(proxy.name).toxics == ()


def test_the_558_situation_a_revert_with_a_request_in_flight_ends_clean(
    server: LocalToxiproxy, upstream: Endpoint
) -> None:
    """12 s of latency, a request through it given up by its caller, then the revert."""
    with ToxiproxyClient(server.api_url) as client:
        proxy = _proxy(client, upstream)
        fault = EdgeFaults(client, proxy.name).latency(12_000)
        fault.inject()
        caller = httpx.Client(timeout=0.5)
        with pytest.raises(httpx.ReadTimeout):
            caller.get(f"http://{proxy.listen_endpoint.address}/")
        # The caller's connection stays open in its pool: data is still in the toxic.
        fault.revert()
        caller.close()
        assert client.proxy(proxy.name).toxics == ()
        assert fault.revert_steps[-1].ok
        assert _get(client.proxy(proxy.name)).text == "ok"
