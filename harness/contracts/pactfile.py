"""Pact files as data: reading, normalising (so re-running a consumer suite churns nothing),
hashing and merging.

A normalised pact has its interactions sorted by kind, description and provider states and
no ``metadata.pactRust`` (the versions of the Rust core that wrote it: an upgrade of
pact-python would otherwise rewrite every committed pact). It is written with sorted keys
and a final newline. Its SHA-256 is the pact's identity in the verification matrix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.contracts.errors import PactFileError

HTTP_TYPE = "Synchronous/HTTP"
MESSAGE_TYPE = "Asynchronous/Messages"
# Metadata the Rust core writes that says who wrote the file, not what the contract is.
_VOLATILE_METADATA = ("pactRust",)


class InteractionKind(StrEnum):
    HTTP = "http"
    MESSAGE = "message"


@dataclass(frozen=True)
class ProviderState:
    name: str
    params: Mapping[str, Any]

    def __str__(self) -> str:
        if not self.params:
            return self.name
        values = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.name} ({values})"


def _body(part: Mapping[str, Any], key: str = "body") -> Any:
    body = part.get(key)
    if isinstance(body, Mapping) and "content" in body:
        return body["content"]
    return body


@dataclass(frozen=True)
class Interaction:
    """One interaction of a pact, with accessors for what the checks look at."""

    description: str
    kind: InteractionKind
    states: tuple[ProviderState, ...]
    pending: bool
    raw: Mapping[str, Any]

    @property
    def request(self) -> Mapping[str, Any]:
        return self.raw.get("request") or {}

    @property
    def response(self) -> Mapping[str, Any]:
        return self.raw.get("response") or {}

    @property
    def method(self) -> str:
        return str(self.request.get("method", "GET")).upper()

    @property
    def path(self) -> str:
        return str(self.request.get("path", "/"))

    @property
    def query(self) -> dict[str, list[str]]:
        query = self.request.get("query") or {}
        return {
            str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
            for k, vs in query.items()
        }

    @property
    def request_headers(self) -> dict[str, str]:
        headers = self.request.get("headers") or {}
        return {str(k): ", ".join(v) if isinstance(v, list) else str(v) for k, v in headers.items()}

    @property
    def request_body(self) -> Any:
        return _body(self.request)

    @property
    def status(self) -> int:
        return int(self.response.get("status", 200))

    @property
    def response_body(self) -> Any:
        return _body(self.response)

    @property
    def contents(self) -> Any:
        """A message's body."""
        return _body(self.raw, "contents")

    @property
    def summary(self) -> str:
        if self.kind is InteractionKind.HTTP:
            return f"{self.method} {self.path} -> {self.status}"
        return "message"


@dataclass(frozen=True)
class PactFile:
    path: Path
    consumer: str
    provider: str
    interactions: tuple[Interaction, ...]
    sha256: str
    document: Mapping[str, Any]

    @property
    def pair(self) -> str:
        return f"{self.consumer}->{self.provider}"

    @property
    def kinds(self) -> set[InteractionKind]:
        return {i.kind for i in self.interactions}


def pact_file_name(consumer: str, provider: str) -> str:
    """The name pact-python gives a pact file."""
    return f"{consumer}-{provider}.json"


def interaction_key(raw: Mapping[str, Any]) -> tuple[str, str, str]:
    """What identifies an interaction in a pact: its kind, description and states."""
    states = json.dumps(raw.get("providerStates") or [], sort_keys=True)
    return (str(raw.get("type", "")), str(raw.get("description", "")), states)


def normalise(document: Mapping[str, Any]) -> dict[str, Any]:
    """The pact with volatile metadata dropped and interactions in a stable order."""
    doc: dict[str, Any] = json.loads(json.dumps(document))
    metadata = doc.get("metadata") or {}
    for key in _VOLATILE_METADATA:
        metadata.pop(key, None)
    doc["metadata"] = metadata
    doc["interactions"] = sorted(doc.get("interactions") or [], key=interaction_key)
    return doc


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(normalise(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def content_hash(document: Mapping[str, Any]) -> str:
    canonical = json.dumps(normalise(document), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def merge(
    base: Mapping[str, Any] | None, documents: Iterable[Mapping[str, Any]], *, replace: bool
) -> dict[str, Any]:
    """One pact from several writers: later interactions win over earlier ones by key.

    ``replace`` drops what ``base`` holds; otherwise ``base``'s interactions that no writer
    redefined are kept (a partial run must not forget the rest of the contract).
    """
    merged: dict[tuple[str, str, str], Any] = {}
    head: dict[str, Any] | None = None
    if base is not None:
        head = dict(base)
        if not replace:
            merged.update((interaction_key(i), i) for i in base.get("interactions") or [])
    for doc in documents:
        head = head or dict(doc)
        head["metadata"] = doc.get("metadata") or head.get("metadata") or {}
        merged.update((interaction_key(i), i) for i in doc.get("interactions") or [])
    if head is None:
        raise PactFileError("nothing to merge")
    head["interactions"] = list(merged.values())
    return normalise(head)


def _interaction(raw: Mapping[str, Any], where: str) -> Interaction:
    kind_name = raw.get("type", HTTP_TYPE)
    if kind_name == HTTP_TYPE:
        kind = InteractionKind.HTTP
    elif kind_name == MESSAGE_TYPE:
        kind = InteractionKind.MESSAGE
    else:
        raise PactFileError(f"{where}: interaction type {kind_name!r} is not supported")
    description = raw.get("description")
    if not isinstance(description, str) or not description:
        raise PactFileError(f"{where}: an interaction has no description")
    states = tuple(
        ProviderState(str(s.get("name", "")), dict(s.get("params") or {}))
        for s in raw.get("providerStates") or []
    )
    return Interaction(description, kind, states, bool(raw.get("pending", False)), raw)


def parse_pact(document: Mapping[str, Any], path: Path) -> PactFile:
    try:
        consumer = str(document["consumer"]["name"])
        provider = str(document["provider"]["name"])
        raws = list(document.get("interactions") or [])
    except (KeyError, TypeError) as exc:
        raise PactFileError(f"{path}: not a pact (missing {exc})") from None
    interactions = tuple(_interaction(raw, str(path)) for raw in raws)
    seen: set[str] = set()
    for interaction in interactions:
        if interaction.description in seen:
            # Verification results are matched back to interactions by description.
            raise PactFileError(
                f"{path}: description {interaction.description!r} is used twice; "
                "each interaction of a pact needs its own"
            )
        seen.add(interaction.description)
    return PactFile(path, consumer, provider, interactions, content_hash(document), document)


def read_pact(path: Path) -> PactFile:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PactFileError(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise PactFileError(f"{path}: not a pact (a JSON object is expected)")
    return parse_pact(document, path)


def load_pacts(directory: Path) -> list[PactFile]:
    """Every pact in ``directory`` (``*.json``), by file name."""
    if not directory.is_dir():
        return []
    return [read_pact(path) for path in sorted(directory.glob("*.json"))]


def write_if_changed(path: Path, document: Mapping[str, Any]) -> bool:
    """Write the normalised pact unless the file already holds exactly that; True if written."""
    text = dumps(document)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True
