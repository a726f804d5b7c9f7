"""Toxic models: defaults, validation, the API form both ways."""

from __future__ import annotations

import pydantic
import pytest

from harness.faults.toxics import (
    TOXIC_TYPES,
    GenericToxic,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    parse_toxic,
)


def test_the_default_name_is_type_and_stream_like_toxiproxy() -> None:
    assert Latency(latency=1).name == "latency_downstream"
    assert LimitData(bytes=1, stream="upstream").name == "limit_data_upstream"
    assert Latency(latency=1, name="slow").name == "slow"


def test_every_documented_type_is_modelled() -> None:
    assert set(TOXIC_TYPES) == {
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
    }


def test_api_form_round_trips_for_every_type() -> None:
    for cls in TOXIC_TYPES.values():
        required = {name: 1 for name, field in cls.model_fields.items() if field.is_required()}
        toxic = cls.model_validate({**required, "toxicity": 0.5})
        api = toxic.to_api()
        assert set(api) == {"name", "type", "stream", "toxicity", "attributes"}
        assert set(api["attributes"]) == set(cls.ATTRIBUTES)
        assert parse_toxic(api) == toxic


def test_slicer_defaults_and_units() -> None:
    assert Slicer(average_size=64).to_api()["attributes"] == {
        "average_size": 64,
        "size_variation": 0,
        "delay": 0,
    }
    assert ResetPeer().to_api()["attributes"] == {"timeout": 0}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency": -1},
        {"latency": 10, "toxicity": 1.5},
        {"latency": 10, "stream": "sideways"},
        {"latency": 10, "latncy": 5},
        {},
    ],
)
def test_invalid_toxics_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Latency.model_validate(kwargs)


def test_parse_is_lenient_with_what_servers_send() -> None:
    toxic = parse_toxic(
        {"type": "latency", "stream": "upstream", "attributes": {"latency": 5, "future": 1}}
    )
    assert toxic == Latency(latency=5, stream="upstream")
    custom = parse_toxic({"type": "noop", "name": "n", "toxicity": 1, "attributes": {"a": 1}})
    assert custom == GenericToxic(type="noop", name="n", attributes={"a": 1})
    assert custom.to_api()["attributes"] == {"a": 1}


def test_strict_parse_is_for_what_users_write() -> None:
    with pytest.raises(ValueError, match="unknown toxic type 'latncy'; known: bandwidth"):
        parse_toxic({"type": "latncy", "attributes": {}}, strict=True)
    with pytest.raises(pydantic.ValidationError, match="jittr"):
        parse_toxic({"type": "latency", "attributes": {"latency": 5, "jittr": 1}}, strict=True)


def test_toxics_are_immutable_values() -> None:
    toxic = Latency(latency=5)
    with pytest.raises(pydantic.ValidationError):
        toxic.latency = 6
    assert toxic.model_copy(update={"latency": 6}).latency == 6


def test_describe_reads_like_a_journal_line() -> None:
    assert (
        Latency(latency=800, jitter=100).describe() == "latency(latency=800, jitter=100) downstream"
    )
    assert "toxicity 0.3" in Latency(latency=1, toxicity=0.3).describe()
