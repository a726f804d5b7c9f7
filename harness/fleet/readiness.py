"""Readiness probes: a service is ready when its readiness path answers 200."""

from __future__ import annotations

import httpx

from harness.errors import FleetError
from harness.infra.ports import port_open

_TIMEOUT = httpx.Timeout(2.0, connect=0.5)


class NotReady(FleetError):
    """The readiness path answered, but not 200."""


class NotListening(NotReady):
    """Nothing accepts connections on the readiness URL's port yet."""


class ReadinessProbe:
    """One HTTP client for every probe of a fleet (loopback only: no proxy from the env)."""

    def __init__(self) -> None:
        self._http = httpx.Client(timeout=_TIMEOUT, trust_env=False)

    def check(self, url: str) -> bool:
        """True on 200; raises otherwise, so a caller giving up can quote the last answer.

        A booting service is probed often: a bare TCP connect (microseconds, refused at
        once) comes first, and the HTTP request (a good part of a millisecond of CPU even
        when refused) only once something listens.
        """
        parts = httpx.URL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not port_open(parts.host, port):
            raise NotListening(f"nothing listens on {parts.host}:{port} yet")
        response = self._http.get(url)
        if response.status_code != 200:
            raise NotReady(f"answered {response.status_code}: {response.text[:200]}")
        return True

    def ready(self, url: str) -> bool:
        try:
            return self.check(url)
        except (httpx.HTTPError, NotReady):
            return False

    def close(self) -> None:
        self._http.close()
