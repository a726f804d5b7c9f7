"""The consumer side: a Pact per test, kept only when the test passed, written at the end.

Consumer tests each get a fresh :class:`pact.Pact` (a Pact cannot take new interactions once
served). When a test passes its pact is staged; :meth:`PactBook.write` then writes one
normalised file per consumer-provider pair into the pacts directory:

- every test of the pair passed and the run was not narrowed (``-k``, ``node::id``,
  deselection): the file is replaced, so an interaction whose test was removed goes too;
- the run was narrowed: staged interactions replace theirs by key, the rest stay;
- a test of the pair failed: the pair's file is left alone (a broken consumer must not
  rewrite its contract).

A file is rewritten only when its normalised content changed, so re-running the suite does
not churn committed pacts.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pact import Pact

from harness.contracts.pactfile import merge, pact_file_name, write_if_changed


@dataclass(frozen=True)
class WrittenPact:
    consumer: str
    provider: str
    path: Path
    changed: bool
    interactions: int
    mode: str  # "replaced" | "merged"


@dataclass
class _Pair:
    documents: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False


class PactBook:
    """Hands out pacts to consumer tests and writes what passing tests defined."""

    def __init__(self, pact_dir: Path) -> None:
        self.pact_dir = pact_dir
        self._open: dict[str, list[Pact]] = defaultdict(list)
        self._pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)

    def pact(self, consumer: str, provider: str, *, owner: str) -> Pact:
        """A new V4 pact for one test (``owner`` is the test's id)."""
        pact = Pact(consumer, provider).with_specification("V4")
        self._open[owner].append(pact)
        return pact

    def keep(self, owner: str) -> None:
        """The test passed: stage the interactions its pacts hold."""
        for pact in self._open.pop(owner, []):
            with tempfile.TemporaryDirectory(prefix="harness-pact-") as staging:
                pact.write_file(staging, overwrite=True)
                path = Path(staging) / pact_file_name(pact.consumer, pact.provider)
                document = json.loads(path.read_text(encoding="utf-8"))
            self._pairs[pact.consumer, pact.provider].documents.append(document)

    def discard(self, owner: str) -> None:
        """The test failed (or was skipped): its pairs' files must not change."""
        for pact in self._open.pop(owner, []):
            self._pairs[pact.consumer, pact.provider].failed = True

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._pairs)

    def write(self, *, narrowed: bool) -> list[WrittenPact]:
        """Write every pair that has staged interactions and no failed test."""
        written: list[WrittenPact] = []
        for (consumer, provider), pair in sorted(self._pairs.items()):
            if pair.failed or not pair.documents:
                continue
            path = self.pact_dir / pact_file_name(consumer, provider)
            base = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            document = merge(base, pair.documents, replace=not narrowed)
            changed = write_if_changed(path, document)
            mode = "merged" if narrowed else "replaced"
            written.append(
                WrittenPact(consumer, provider, path, changed, len(document["interactions"]), mode)
            )
        self._pairs.clear()
        return written
