"""Pruning's evidence cannot be fooled by keep-alive: Toxiproxy counts a connection's bytes
only when it closes, so an edge in use over one kept-alive connection reads 0 bytes; the
flush (every proxy disabled and enabled again, a canary proving the counters) makes it
count. On a purpose-built fleet with a real Toxiproxy."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest
from harness.matrix.usage import EdgeUsage, read_proxy_bytes
from tests.harness.matrix.conftest import TOXIPROXY_BIN, shop_fleet, write_fleet

pytestmark = pytest.mark.slow


def test_an_edge_used_over_a_kept_alive_connection_is_seen_used(tmp_path: Path) -> None:
    manifest = load_manifest(write_fleet(tmp_path, shop_fleet()))
    with launch(manifest, toxiproxy_bin=TOXIPROXY_BIN) as fleet:
        usage = EdgeUsage(fleet)
        usage.begin()
        listen = fleet.edges["a->b"].listen
        with socket.create_connection((listen.host, listen.port), timeout=5) as kept:
            for _ in range(3):
                kept.sendall(b"GET /hello HTTP/1.1\r\nHost: b\r\n\r\n")
                answer = b""
                while b'"service"' not in answer:
                    answer += kept.recv(4096)
                assert b"200 OK" in answer
            # Still open: Toxiproxy has not counted a byte of it.
            raw = read_proxy_bytes(fleet.toxiproxy.api_url)
            assert raw.get("a__b", 0) == usage.before.get("a__b", 0)  # type: ignore[union-attr]
            traffic = usage.end()
            # The flush closed it (the kept connection reads end-of-stream) and counted it.
            assert kept.recv(4096) == b""
        usage.close()
        assert traffic is not None, usage.problem
        assert traffic["a->b"].used
        assert traffic["a->b"].bytes >= 3 * len(b"GET /hello HTTP/1.1\r\nHost: b\r\n\r\n")
        assert not traffic["a->c"].used
        # The proxies are enabled again, without toxics; the canary is gone.
        assert fleet.proxy_recovery.verify_all() == {}
        assert set(fleet.toxiproxy.proxies()) == {"a__b", "a__c"}
