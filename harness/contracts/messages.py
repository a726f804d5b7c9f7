"""Message producers: how a provider's real event-building code answers the verifier.

A project names, per provider, a mapping of message description -> producer in
contracts.yaml (``messages: {orders: "contracts.producers:ORDERS"}``). The harness imports
it by that name at run time (the fleet's code stays data to the harness). A producer gets
the interaction's description, its provider states (already set up in the running
provider through the state hook) and the provider's URL, and returns the message the
provider would publish, built by the provider's own code.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pact.types import Message

from harness.contracts.errors import ContractError
from harness.contracts.pactfile import ProviderState


@dataclass(frozen=True)
class MessageRequest:
    description: str
    states: tuple[ProviderState, ...]
    # The running provider (None when it is verified without a process).
    provider_url: str | None

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter of the first provider state that has it."""
        for state in self.states:
            if name in state.params:
                return state.params[name]
        return default


@dataclass(frozen=True)
class ProducedMessage:
    body: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)
    content_type: str = "application/json"


MessageProducer = Callable[[MessageRequest], ProducedMessage]
Producers = Mapping[str, MessageProducer]


def load_producers(reference: str, root: Path) -> Producers:
    """Import ``module:attribute`` (modules resolve from ``root`` too, like ``python -m``)."""
    module_name, _, attribute = reference.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ContractError(f"message producers {reference!r}: {exc}") from exc
    found = getattr(module, attribute, None)
    if not isinstance(found, Mapping) or not all(callable(p) for p in found.values()):
        raise ContractError(
            f"message producers {reference!r}: expected a mapping of description -> producer"
        )
    return found


@dataclass
class MessageRelay:
    """The verifier's message handler: finds the producer and serialises what it returns."""

    provider: str
    producers: Producers
    provider_url: str | None
    # description -> why no message could be produced
    failures: dict[str, str] = field(default_factory=dict)
    produced: int = 0

    def __call__(self, name: str, metadata: dict[str, Any] | None) -> Message:
        producer = self.producers.get(name)
        if producer is None:
            known = ", ".join(sorted(self.producers)) or "none"
            why = f"{self.provider} has no producer for message {name!r} (producers: {known})"
            self.failures[name] = why
            raise KeyError(why)
        states = tuple(
            ProviderState(str(s.get("name", "")), dict(s.get("params") or {}))
            for s in (metadata or {}).get("providerStates") or []
        )
        try:
            message = producer(MessageRequest(name, states, self.provider_url))
        except Exception as exc:
            self.failures[name] = f"the producer of {name!r} raised {type(exc).__name__}: {exc}"
            raise
        self.produced += 1
        return Message(
            contents=json.dumps(message.body).encode(),
            metadata=dict(message.metadata),
            content_type=message.content_type,
        )
