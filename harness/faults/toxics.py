"""Toxiproxy v2 toxics as typed, validated values.

A toxic is written flat (`Latency(latency=800, jitter=100)`) and sent nested, the way the
API wants it (`{"type": "latency", "attributes": {"latency": 800, "jitter": 100}, ...}`).
Units are Toxiproxy's: milliseconds, except `rate` (KB/s), `Slicer.delay` (microseconds)
and sizes (bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Stream = Literal["upstream", "downstream"]
"""upstream: client -> server; downstream: server -> client (Toxiproxy's default)."""

NonNegative = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Toxic(BaseModel):
    """Fields every toxic has. `name` defaults to "<type>_<stream>", as in Toxiproxy, so two
    toxics of one type on one stream of a proxy need explicit names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    type: str
    name: str = ""
    stream: Stream = "downstream"
    # Decided per connection, not per request: see ARCHITECTURE.md, "Toxiproxy limits".
    toxicity: Fraction = 1.0

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("name"):
            toxic_type = data.get("type", cls.model_fields["type"].default)
            stream = data.get("stream", "downstream")
            return {**data, "name": f"{toxic_type}_{stream}"}
        return data

    def attribute_values(self) -> dict[str, Any]:
        """The type-specific attributes, as the API names them."""
        return {key: getattr(self, key) for key in self.ATTRIBUTES}

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attribute_values(),
        }

    def describe(self) -> str:
        attributes = ", ".join(f"{k}={v}" for k, v in self.attribute_values().items())
        rate = f", toxicity {self.toxicity:g}" if self.toxicity < 1.0 else ""
        return f"{self.type}({attributes}) {self.stream}{rate}"


class Latency(Toxic):
    """Delays each chunk of data by `latency` ms ± `jitter` ms."""

    ATTRIBUTES = ("latency", "jitter")
    type: Literal["latency"] = "latency"
    latency: NonNegative
    jitter: NonNegative = 0


class Bandwidth(Toxic):
    """Caps the throughput at `rate` KB/s."""

    ATTRIBUTES = ("rate",)
    type: Literal["bandwidth"] = "bandwidth"
    rate: NonNegative


class SlowClose(Toxic):
    """Delays the TCP close by `delay` ms."""

    ATTRIBUTES = ("delay",)
    type: Literal["slow_close"] = "slow_close"
    delay: NonNegative


class Timeout(Toxic):
    """Stops all data and closes the connection after `timeout` ms (0: never closes)."""

    ATTRIBUTES = ("timeout",)
    type: Literal["timeout"] = "timeout"
    timeout: NonNegative


class ResetPeer(Toxic):
    """Resets the connection (TCP RST) `timeout` ms after data flows (0: at once)."""

    ATTRIBUTES = ("timeout",)
    type: Literal["reset_peer"] = "reset_peer"
    timeout: NonNegative = 0


class Slicer(Toxic):
    """Slices data into ~`average_size` ± `size_variation` byte pieces, `delay` us apart."""

    ATTRIBUTES = ("average_size", "size_variation", "delay")
    type: Literal["slicer"] = "slicer"
    average_size: NonNegative
    size_variation: NonNegative = 0
    delay: NonNegative = 0


class LimitData(Toxic):
    """Closes the connection after `bytes` bytes have passed."""

    ATTRIBUTES = ("bytes",)
    type: Literal["limit_data"] = "limit_data"
    bytes: NonNegative


class GenericToxic(Toxic):
    """A toxic type we have no model for (a custom toxic compiled into the server)."""

    attributes: dict[str, Any] = Field(default_factory=dict)

    def attribute_values(self) -> dict[str, Any]:
        return dict(self.attributes)


TOXIC_TYPES: dict[str, type[Toxic]] = {
    cls.model_fields["type"].default: cls
    for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData)
}


def parse_toxic(data: Mapping[str, Any], *, strict: bool = False) -> Toxic:
    """A toxic from its API form {name, type, stream, toxicity, attributes}.

    Lenient by default (what a server returns: unknown attributes are dropped, unknown types
    become GenericToxic). `strict=True` is for what a user wrote: an unknown type or
    attribute is an error (pydantic.ValidationError or ValueError).
    """
    toxic_type = data.get("type")
    common = {key: data[key] for key in ("name", "stream", "toxicity") if key in data}
    attributes = dict(data.get("attributes") or {})
    cls = TOXIC_TYPES.get(str(toxic_type))
    if cls is None:
        if strict:
            known = ", ".join(sorted(TOXIC_TYPES))
            raise ValueError(f"unknown toxic type {toxic_type!r}; known: {known}")
        return GenericToxic(type=str(toxic_type), attributes=attributes, **common)
    if not strict:
        attributes = {k: v for k, v in attributes.items() if k in cls.ATTRIBUTES}
    return cls.model_validate({**common, **attributes})
