"""ToxiproxyClient's own logic (requests it builds, error mapping) over httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from harness.faults.toxics import Latency
from harness.faults.toxiproxy import (
    AlreadyExists,
    BadRequest,
    NotFound,
    ProxyNotFound,
    ProxySpec,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
    ToxiproxyUnavailable,
)

API = "http://toxiproxy.test:8474"
PROXY = {
    "name": "orders->payments",
    "listen": "127.0.0.1:21001",
    "upstream": "127.0.0.1:9000",
    "enabled": True,
    "toxics": [],
}


def make_client(handler: Callable[[httpx.Request], httpx.Response]) -> ToxiproxyClient:
    return ToxiproxyClient(API, transport=httpx.MockTransport(handler))


def answering(status: int, body: Any = None, text: str = "") -> ToxiproxyClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=text)

    return make_client(handler)


def test_requests_carry_a_non_browser_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"version": "2.12.0"})

    assert make_client(handler).version() == "2.12.0"
    agent = seen[0].headers["User-Agent"]
    assert agent.startswith("harness/")
    assert not agent.startswith("Mozilla/")


def test_version_as_plain_text_from_older_servers() -> None:
    assert answering(200, text="2.5.0\n").version() == "2.5.0"


def test_names_are_url_encoded_in_paths() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(204)

    make_client(handler).remove_toxic("orders->payments", "latency downstream")
    assert paths == [b"/proxies/orders-%3Epayments/toxics/latency%20downstream"]


def test_update_proxy_is_a_patch_of_only_the_given_fields() -> None:
    requests: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append((request.method, json.loads(request.content)))
        return httpx.Response(200, json={**PROXY, "enabled": False})

    proxy = make_client(handler).disable("orders->payments")
    assert requests == [("PATCH", {"enabled": False})]
    assert proxy.enabled is False


def test_update_toxic_sends_attributes_and_toxicity_only_when_given() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={**Latency(latency=5).to_api(), "toxicity": 0.5})

    client = make_client(handler)
    client.update_toxic("p", "latency_downstream", toxicity=0.5)
    client.update_toxic("p", "latency_downstream", attributes={"latency": 5})
    assert bodies == [{"toxicity": 0.5}, {"attributes": {"latency": 5}}]


def test_add_toxic_posts_the_api_form() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=bodies[-1])

    toxic = Latency(latency=800, jitter=100, stream="upstream", toxicity=0.3)
    assert make_client(handler).add_toxic("p", toxic) == toxic
    assert bodies == [
        {
            "name": "latency_upstream",
            "type": "latency",
            "stream": "upstream",
            "toxicity": 0.3,
            "attributes": {"latency": 800, "jitter": 100},
        }
    ]


def test_populate_returns_proxies_in_the_order_given() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content)
        made = [{**spec, "toxics": []} for spec in reversed(wanted)]
        return httpx.Response(201, json={"proxies": made})

    specs = [ProxySpec("a__b", "127.0.0.1:21001", "127.0.0.1:1"), ProxySpec("c__d", "x:2", "y:3")]
    assert [p.name for p in make_client(handler).populate(specs)] == ["a__b", "c__d"]


@pytest.mark.parametrize(
    ("status", "body", "text", "error"),
    [
        (404, {"error": "proxy not found", "status": 404}, "", ProxyNotFound),
        (404, {"error": "toxic not found", "status": 404}, "", ToxicNotFound),
        (404, None, "404 page not found", ProxyNotFound),
        (409, {"error": "proxy already exists", "status": 409}, "", AlreadyExists),
        (400, {"error": "invalid toxic type", "status": 400}, "", BadRequest),
        (500, {"error": "internal error", "status": 500}, "", ToxiproxyError),
        (503, None, "", ToxiproxyError),
        (403, None, "User agent not allowed", ToxiproxyError),
    ],
)
def test_error_statuses_map_to_exceptions(
    status: int, body: Any, text: str, error: type[ToxiproxyError]
) -> None:
    with pytest.raises(error) as caught:
        answering(status, body, text).proxy("orders->payments")
    assert type(caught.value) is error
    assert caught.value.status == status
    expected = body["error"] if body else (text or "Service Unavailable")
    assert expected in caught.value.message
    assert "GET /proxies/orders->payments" in caught.value.message


def test_not_found_errors_share_a_base() -> None:
    assert issubclass(ProxyNotFound, NotFound)
    assert issubclass(ToxicNotFound, NotFound)


def test_transport_failures_become_unavailable_with_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(ToxiproxyUnavailable, match=f"cannot reach {API}/proxies"):
        make_client(handler).proxies()
