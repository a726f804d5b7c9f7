"""Edge names ("orders->payments") and proxy names ("orders__payments")."""

from __future__ import annotations

import pytest

from harness.faults.toxiproxy import edge_to_proxy_name, proxy_name_to_edge


@pytest.mark.parametrize(
    ("edge", "name"),
    [("orders->payments", "orders__payments"), ("relay->redis", "relay__redis")],
)
def test_the_mapping_is_reversible(edge: str, name: str) -> None:
    assert edge_to_proxy_name(edge) == name
    assert proxy_name_to_edge(name) == edge


@pytest.mark.parametrize("bad", ["orders", "->payments", "orders->", "a->b->c", "my__svc->b"])
def test_what_is_not_an_edge_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="edge"):
        edge_to_proxy_name(bad)


@pytest.mark.parametrize("bad", ["orders", "__payments", "orders__", "a__b__c"])
def test_what_is_not_an_edge_proxy_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an edge proxy name"):
        proxy_name_to_edge(bad)
