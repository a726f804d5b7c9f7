"""Which edges the clean workload used, from Toxiproxy's own per-proxy byte counters.

Toxiproxy v2.12 started with ``-proxy-metrics`` serves ``/metrics`` (Prometheus text) with
``toxiproxy_proxy_received_bytes_total{proxy=...,direction=...}``, but it counts a
connection's bytes only when the connection CLOSES: with HTTP keep-alive or a database
pool, an edge in constant use can read 0 bytes. So a reading is taken only after a flush:
every proxy of the fleet is disabled (which closes its listener and every connection, so
their bytes are counted), then enabled again (verified through the fleet's
ProxyRecovery). A canary proxy of our own (to the Toxiproxy API, one request, closed) is
made after the disabling and its bytes must show up: that proves the counters work on this
server and that the reading was taken after the closes were counted. No canary bytes, or
a server without the metrics: no evidence, and nothing is pruned (pruning may only ever
remove cells with evidence, never hide one by default).

usage = EdgeUsage(fleet); usage.begin()  -> flush, snapshot
... the clean workload ...
usage.end() -> bytes per edge since begin (flush again, snapshot, difference)
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

import httpx

from harness.faults.toxiproxy import ProxySpec
from harness.fleet.lifecycle import Fleet
from harness.infra.base import Endpoint
from harness.infra.ports import free_port

__all__ = ["EdgeTraffic", "EdgeUsage", "NoEvidence", "read_proxy_bytes"]

_CANARY = "harness-matrix-usage-canary"
_LINE = re.compile(
    r"^toxiproxy_proxy_(?:received|sent)_bytes_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$"
)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_SETTLE = 5.0


class NoEvidence(Exception):
    """The server gives no usable byte counts (no -proxy-metrics, or the canary unseen)."""


@dataclass(frozen=True)
class EdgeTraffic:
    edge: str
    proxy: str
    bytes: int  # received by the proxy, both directions, between begin and end

    @property
    def used(self) -> bool:
        return self.bytes > 0


def read_proxy_bytes(api_url: str, client: httpx.Client | None = None) -> dict[str, int]:
    """Bytes received per proxy (both directions) as the server's metrics say now."""
    own = client or httpx.Client(timeout=5.0, headers={"User-Agent": "harness-matrix"})
    try:
        response = own.get(f"{api_url}/metrics")
    finally:
        if client is None:
            own.close()
    if response.status_code == 404:
        raise NoEvidence("the Toxiproxy server serves no /metrics (start it with -proxy-metrics)")
    response.raise_for_status()
    found: dict[str, int] = {}
    for line in response.text.splitlines():
        match = _LINE.match(line)
        if match is None or "_received_" not in line:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        proxy = labels.get("proxy")
        if proxy:
            found[proxy] = found.get(proxy, 0) + int(float(match["value"]))
    return found


class EdgeUsage:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.http = httpx.Client(timeout=5.0, headers={"User-Agent": "harness-matrix"})
        self.before: dict[str, int] | None = None
        self.problem: str | None = None

    def close(self) -> None:
        self.http.close()

    @property
    def proxies(self) -> dict[str, str]:
        """proxy name -> edge name, for every proxied edge of the fleet."""
        return {e.proxy: name for name, e in self.fleet.edges.items() if e.proxy is not None}

    def begin(self) -> None:
        try:
            self.before = self.flush()
        except NoEvidence as exc:
            self.problem = str(exc)

    def end(self) -> dict[str, EdgeTraffic] | None:
        """Traffic per edge since :meth:`begin`; None when there is no evidence (and
        :attr:`problem` says why)."""
        if self.before is None:
            if self.problem is None:
                self.problem = "no reading was taken before the clean workload"
            return None
        try:
            after = self.flush()
        except NoEvidence as exc:
            self.problem = str(exc)
            return None
        return {
            edge: EdgeTraffic(edge, proxy, after.get(proxy, 0) - self.before.get(proxy, 0))
            for proxy, edge in self.proxies.items()
        }

    def flush(self) -> dict[str, int]:
        """Close every connection through the fleet's proxies, then read the counters."""
        client = self.fleet.toxiproxy
        api = client.api_url
        proxies = sorted(self.proxies)
        disabled: list[str] = []
        try:
            for proxy in proxies:
                client.disable(proxy)
                disabled.append(proxy)
            return self._read_after_canary(api)
        finally:
            recovery = self.fleet.proxy_recovery
            for proxy in disabled:
                recovery.enable(proxy)

    def _read_after_canary(self, api: str) -> dict[str, int]:
        client = self.fleet.toxiproxy
        host = Endpoint.parse(api.removeprefix("http://")).host
        before = read_proxy_bytes(api, self.http).get(_CANARY, 0)
        listen = Endpoint(host, free_port(host))
        client.populate(
            [
                ProxySpec(
                    _CANARY, listen.address, Endpoint.parse(api.removeprefix("http://")).address
                )
            ]
        )
        try:
            with socket.create_connection((listen.host, listen.port), timeout=5.0) as sock:
                sock.sendall(b"GET /version HTTP/1.0\r\nUser-Agent: harness-matrix\r\n\r\n")
                while sock.recv(4096):
                    pass
            deadline = time.monotonic() + _SETTLE
            last: dict[str, int] | None = None
            while time.monotonic() < deadline:
                now = read_proxy_bytes(api, self.http)
                # The canary closed after every fleet connection was closed; its bytes
                # counted and two equal readings in a row: the closes are all counted.
                if now.get(_CANARY, 0) > before and now == last:
                    return {k: v for k, v in now.items() if k != _CANARY}
                last = now
                time.sleep(0.05)
            raise NoEvidence(
                "the canary proxy's bytes never showed in /metrics: the counters are not usable"
            )
        finally:
            client.delete_proxy(_CANARY)
