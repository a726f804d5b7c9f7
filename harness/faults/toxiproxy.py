"""A typed client for the Toxiproxy v2 HTTP API (Shopify/toxiproxy >= 2.6).

Why not toxiproxy-python 0.1.1: its host and port are process-wide class attributes, it has
no timeouts, does not map 5xx to errors, cannot update a toxic and updates proxies with
the deprecated POST. This client talks to one server per instance, always with timeouts,
and maps every failure onto `ToxiproxyError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from harness.closing import Closing
from harness.errors import HarnessError
from harness.faults.toxics import Toxic, parse_toxic
from harness.infra.base import Endpoint

# Toxiproxy refuses User-Agents starting with "Mozilla/" (403): it guards its API against
# being driven from a browser.
USER_AGENT = "harness/0.1 (toxiproxy client)"

_EDGE_ARROW = "->"
_PROXY_SEPARATOR = "__"


def edge_to_proxy_name(edge: str) -> str:
    """ "orders->payments" -> "orders__payments".

    Toxiproxy itself accepts "->" in names and URL paths (checked against v2.12), but a
    name with ">" is a shell redirect waiting to happen in `toxiproxy-cli`, which operators
    use during game days; so proxies are named with "__".
    """
    caller, arrow, callee = edge.partition(_EDGE_ARROW)
    if not arrow or not caller or not callee or _EDGE_ARROW in callee:
        raise ValueError(f"not an edge (caller->callee): {edge!r}")
    if _PROXY_SEPARATOR in caller or _PROXY_SEPARATOR in callee:
        raise ValueError(f"edge {edge!r}: service names must not contain '__'")
    return f"{caller}{_PROXY_SEPARATOR}{callee}"


def proxy_name_to_edge(name: str) -> str:
    """Inverse of `edge_to_proxy_name`: "orders__payments" -> "orders->payments"."""
    caller, sep, callee = name.partition(_PROXY_SEPARATOR)
    if not sep or not caller or not callee or _PROXY_SEPARATOR in callee:
        raise ValueError(f"not an edge proxy name (caller__callee): {name!r}")
    return f"{caller}{_EDGE_ARROW}{callee}"


class ToxiproxyError(HarnessError):
    """The server refused a call (`status` is its HTTP status) or could not be reached."""

    def __init__(self, status: int | None, message: str) -> None:
        self.status = status
        self.message = message
        where = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"toxiproxy: {message} ({where})")


class NotFound(ToxiproxyError):
    """404."""


class ProxyNotFound(NotFound):
    pass


class ToxicNotFound(NotFound):
    pass


class AlreadyExists(ToxiproxyError):
    """409: a proxy or toxic of that name exists."""


class BadRequest(ToxiproxyError):
    """400: e.g. an unknown toxic type or a malformed listen address."""


class ToxiproxyUnavailable(ToxiproxyError):
    """No answer at all: the server is down, unreachable or too slow."""

    def __init__(self, url: str, cause: Exception) -> None:
        self.url = url
        super().__init__(None, f"cannot reach {url}: {cause!r}")


@dataclass(frozen=True)
class ProxySpec:
    """A proxy to create. "host:0" as `listen` lets the server pick the port, from the kernel's
    ephemeral range; see harness.infra.ports for why a fixed free port is safer."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = field(default=())

    @property
    def listen_endpoint(self) -> Endpoint:
        """Where clients connect; the real port even when created with port 0."""
        return Endpoint.parse(self.listen)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Proxy:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=tuple(parse_toxic(t) for t in data.get("toxics") or ()),
        )


class ToxiproxyClient(Closing):
    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.api_url,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def version(self) -> str:
        response = self._request("GET", "/version")
        try:
            body = response.json()
        except ValueError:  # servers before 2.6 answer plain text
            return response.text.strip()
        return str(body["version"]) if isinstance(body, dict) else str(body)

    def proxies(self) -> dict[str, Proxy]:
        body = self._request("GET", "/proxies").json()
        return {name: Proxy.from_api(data) for name, data in body.items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.from_api(self._request("GET", _proxy_path(name)).json())

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        spec = ProxySpec(name, listen, upstream, enabled)
        return Proxy.from_api(self._request("POST", "/proxies", spec.to_api()).json())

    def update_proxy(
        self,
        name: str,
        *,
        listen: str | None = None,
        upstream: str | None = None,
        enabled: bool | None = None,
    ) -> Proxy:
        """PATCH only what is given. A new listen or upstream drops the proxy's connections."""
        changes: dict[str, Any] = {}
        if listen is not None:
            changes["listen"] = listen
        if upstream is not None:
            changes["upstream"] = upstream
        if enabled is not None:
            changes["enabled"] = enabled
        return Proxy.from_api(self._request("PATCH", _proxy_path(name), changes).json())

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", _proxy_path(name))

    def enable(self, name: str) -> Proxy:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> Proxy:
        """Closes the listener and every connection: clients get "connection refused"."""
        return self.update_proxy(name, enabled=False)

    def populate(self, specs: Iterable[ProxySpec]) -> list[Proxy]:
        """Create or replace many proxies at once, returned in the order given.

        A proxy whose listen or upstream differs from the existing one is re-created, which
        drops its connections; "host:0" always differs, so give fixed ports to keep them.
        """
        wanted = [spec.to_api() for spec in specs]
        body = self._request("POST", "/populate", wanted).json()
        made = {data["name"]: Proxy.from_api(data) for data in body.get("proxies", [])}
        return [made[spec["name"]] for spec in wanted if spec["name"] in made]

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    def toxics(self, proxy: str) -> list[Toxic]:
        return [parse_toxic(t) for t in self._request("GET", _toxics_path(proxy)).json()]

    def toxic(self, proxy: str, name: str) -> Toxic:
        return parse_toxic(self._request("GET", _toxic_path(proxy, name)).json())

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        return parse_toxic(self._request("POST", _toxics_path(proxy), toxic.to_api()).json())

    def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> Toxic:
        """Change some attributes and/or the toxicity in place (the connections stay)."""
        changes: dict[str, Any] = {}
        if attributes is not None:
            changes["attributes"] = dict(attributes)
        if toxicity is not None:
            changes["toxicity"] = toxicity
        return parse_toxic(self._request("PATCH", _toxic_path(proxy, name), changes).json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request("DELETE", _toxic_path(proxy, name))

    def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise ToxiproxyUnavailable(f"{self.api_url}{path}", exc) from exc
        if response.is_success:
            return response
        raise _error_for(response)


def _proxy_path(name: str) -> str:
    # Names may hold characters that are special in URLs ("->" of an edge, spaces).
    return f"/proxies/{quote(name, safe='')}"


def _toxics_path(proxy: str) -> str:
    return f"{_proxy_path(proxy)}/toxics"


def _toxic_path(proxy: str, toxic: str) -> str:
    return f"{_toxics_path(proxy)}/{quote(toxic, safe='')}"


def _error_for(response: httpx.Response) -> ToxiproxyError:
    status = response.status_code
    message = response.text.strip() or response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        message = str(body["error"])
    request = f"{response.request.method} {response.request.url.path}"
    text = f"{message} [{request}]"
    if status == 404:
        # The server's own words tell which is missing ("proxy not found"/"toxic not found");
        # a routing 404 ("404 page not found": e.g. a "/" in a name) means no such proxy.
        return (ToxicNotFound if "toxic" in message.lower() else ProxyNotFound)(status, text)
    if status == 409:
        return AlreadyExists(status, text)
    if status == 400:
        return BadRequest(status, text)
    return ToxiproxyError(status, text)
