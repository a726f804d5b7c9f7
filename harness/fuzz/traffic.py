"""Per-edge traffic as evidence that a request reached no backend.

The fleet's Toxiproxy (started with ``-proxy-metrics``) counts the bytes of each proxy, but
Toxiproxy v2.12 adds a connection's bytes only when the connection closes, and services keep
their connections alive. So a window is closed the same way it is opened: every proxy of the
caller's edges is disabled and re-enabled (which closes all its connections, so every byte
sent so far is counted) before the counters are read. A request that made its service call
a backend, on a fresh or a kept-alive connection, therefore shows as bytes on that edge.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from harness.fuzz.errors import FuzzError

_SAMPLE = re.compile(r"^toxiproxy_proxy_received_bytes_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_PROXY_LABEL = re.compile(r'proxy="(?P<proxy>[^"]*)"')
_USER_AGENT = "harness-fuzz"  # Toxiproxy refuses user agents starting with Mozilla/


class ProxiedFleet(Protocol):
    edges: Mapping[str, Any]  # edge name -> EdgeProxy (edge.source, proxy)

    @property
    def toxiproxy_api(self) -> str | None: ...


@dataclass
class Window:
    """Bytes per edge while the window was open (filled when it closes)."""

    bytes: dict[str, int] = field(default_factory=dict)

    @property
    def reached(self) -> dict[str, int]:
        return {edge: count for edge, count in self.bytes.items() if count > 0}


class EdgeTraffic:
    """The outgoing edges of one service and their byte counters."""

    def __init__(self, api: str, proxies: Mapping[str, str], http: httpx.Client) -> None:
        self.api = api.rstrip("/")
        self.proxies = dict(proxies)  # edge name -> proxy name
        self.http = http

    @classmethod
    def of(cls, fleet: ProxiedFleet, service: str, http: httpx.Client) -> EdgeTraffic | None:
        """The service's outgoing edges; None when it has none or the fleet is unproxied."""
        api = fleet.toxiproxy_api
        proxies = {
            name: edge.proxy
            for name, edge in fleet.edges.items()
            if edge.edge.source == service and edge.proxy is not None
        }
        if api is None or not proxies:
            return None
        return cls(api, proxies, http)

    def _patch(self, proxy: str, enabled: bool) -> None:
        response = self.http.patch(
            f"{self.api}/proxies/{proxy}",
            json={"enabled": enabled},
            headers={"User-Agent": _USER_AGENT},
        )
        if response.status_code >= 300:
            raise FuzzError(f"Toxiproxy PATCH {proxy}: {response.status_code} {response.text}")

    def flush(self) -> None:
        """Close every connection on the edges, so their bytes are counted."""
        for proxy in self.proxies.values():
            self._patch(proxy, False)
        for proxy in self.proxies.values():
            self._patch(proxy, True)

    def _read(self) -> dict[str, int]:
        response = self.http.get(f"{self.api}/metrics", headers={"User-Agent": _USER_AGENT})
        if response.status_code != 200:
            raise FuzzError(
                f"Toxiproxy GET /metrics answered {response.status_code}: start it with "
                "-proxy-metrics (the evidence that a refused request reached no backend)"
            )
        by_proxy: dict[str, int] = {}
        for line in response.text.splitlines():
            sample = _SAMPLE.match(line)
            if sample is None:
                continue
            proxy = _PROXY_LABEL.search(sample["labels"])
            if proxy is not None:
                name = proxy["proxy"]
                by_proxy[name] = by_proxy.get(name, 0) + int(float(sample["value"]))
        return {edge: by_proxy.get(proxy, 0) for edge, proxy in self.proxies.items()}

    def counters(self) -> dict[str, int]:
        """Bytes per edge so far (both directions), once two reads agree."""
        last = self._read()
        for _ in range(5):
            time.sleep(0.005)
            again = self._read()
            if again == last:
                return again
            last = again
        return last

    @contextmanager
    def window(self) -> Iterator[Window]:
        self.flush()
        before = self.counters()
        window = Window()
        try:
            yield window
        finally:
            self.flush()
            after = self.counters()
            window.bytes = {edge: after[edge] - before.get(edge, 0) for edge in after}
