"""Known failures: a fuzz run fails only on failures the baseline does not list.

The file (``scenarios/fuzz/baseline.json`` by default) is reviewed like code: each entry
names the service, operation, check and failure signature, and says why it is tolerated.
Entries match on that identity only, never on generated data, so a known failure stays
known whatever inputs the next seed draws. ``harness fuzz --update-baseline`` rewrites it
from a run (keeping the reasons of entries still seen).

```json
{"version": 1, "entries": [
  {"service": "orders", "operation": "POST /orders", "check": "not_a_server_error",
   "signature": "ServerError:500", "reason": "issue #12, fixed by the saga rewrite"}
]}
```
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from harness.fuzz.errors import KnownFailuresError
from harness.fuzz.findings import Finding
from harness.report.files import write_text

VERSION = 1
_FIELDS = ("service", "operation", "check", "signature")


@dataclass(frozen=True)
class BaselineEntry:
    service: str
    operation: str
    check: str
    signature: str
    reason: str = ""
    first_seen: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.service, self.operation, self.check, self.signature)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        data["reason"] = self.reason
        if self.first_seen:
            data["first_seen"] = self.first_seen
        return data


@dataclass
class Baseline:
    entries: list[BaselineEntry] = field(default_factory=list)
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """The baseline at ``path``; a missing file is an empty baseline."""
        if not path.is_file():
            return cls([], path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KnownFailuresError(f"{path}: not a readable JSON file: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("version") != VERSION:
            raise KnownFailuresError(f'{path}: expected {{"version": {VERSION}, "entries": [...]}}')
        entries = raw.get("entries")
        if not isinstance(entries, list):
            raise KnownFailuresError(f"{path}: entries: expected a list")
        parsed = []
        for index, item in enumerate(entries):
            missing = [
                name
                for name in _FIELDS
                if not isinstance(item, dict) or not isinstance(item.get(name), str)
            ]
            if missing:
                raise KnownFailuresError(f"{path}: entries[{index}]: missing {', '.join(missing)}")
            parsed.append(
                BaselineEntry(
                    **{name: item[name] for name in _FIELDS},
                    reason=str(item.get("reason", "")),
                    first_seen=item.get("first_seen"),
                )
            )
        return cls(parsed, path)

    def match(self, finding: Finding) -> BaselineEntry | None:
        for entry in self.entries:
            if entry.key == finding.key:
                return entry
        return None

    def classify(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings, those in the baseline marked known (with the entry's reason)."""
        classified = []
        for finding in findings:
            entry = self.match(finding)
            classified.append(finding if entry is None else finding.as_known(entry.reason))
        return classified

    def updated(self, findings: Iterable[Finding], *, today: date | None = None) -> Baseline:
        """A baseline of exactly these findings, keeping reasons and dates already written."""
        stamp = (today or date.today()).isoformat()
        entries: dict[tuple[str, str, str, str], BaselineEntry] = {}
        for finding in findings:
            if finding.key in entries:
                continue
            old = self.match(finding)
            entries[finding.key] = BaselineEntry(
                *finding.key,
                reason=old.reason if old else "TODO: why is this failure tolerated?",
                first_seen=old.first_seen if old and old.first_seen else stamp,
            )
        return Baseline(sorted(entries.values(), key=lambda e: e.key), self.path)

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        if target is None:
            raise KnownFailuresError("the baseline has no file to be saved to")
        document = {"version": VERSION, "entries": [e.to_dict() for e in self.entries]}
        write_text(target, json.dumps(document, indent=2) + "\n")
        return target
