"""The contract matrix without a broker: every verification, and can-i-deploy over it.

A row says: the pact with this content (SHA-256 of the normalised file) between a consumer
at one version and a provider at one version was verified, with this result. Rows are
keyed by (consumer, provider, pact hash, consumer version, provider version): verifying the
same thing again replaces its row (the time stays unless the result changed), so a re-run
does not churn the committed file.

can-i-deploy asks, for a service at a version, about every pact in the current tree that
names it: as a consumer, was this pact content (the one it wrote) verified successfully by
its provider; as a provider, did this version verify the pact successfully. A missing row
is a "no", as the Pact Broker answers it. Interactions a consumer marked pending may fail
without blocking (the broker cannot honour pending per interaction; this can).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.contracts.errors import ContractError
from harness.contracts.pactfile import PactFile

MATRIX_VERSION = 1
_MAX_ROWS = 2000


@dataclass(frozen=True)
class MatrixRow:
    consumer: str
    provider: str
    pact: str
    pact_sha256: str
    consumer_version: str
    provider_version: str
    success: bool
    interactions: int
    failed: tuple[str, ...] = ()
    pending_failed: tuple[str, ...] = ()
    verified_at: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (
            self.consumer,
            self.provider,
            self.pact_sha256,
            self.consumer_version,
            self.provider_version,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatrixRow:
        return cls(
            consumer=str(data["consumer"]),
            provider=str(data["provider"]),
            pact=str(data.get("pact", "")),
            pact_sha256=str(data["pact_sha256"]),
            consumer_version=str(data["consumer_version"]),
            provider_version=str(data["provider_version"]),
            success=bool(data["success"]),
            interactions=int(data.get("interactions", 0)),
            failed=tuple(data.get("failed") or ()),
            pending_failed=tuple(data.get("pending_failed") or ()),
            verified_at=str(data.get("verified_at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = list(self.failed)
        data["pending_failed"] = list(self.pending_failed)
        return data


@dataclass
class Matrix:
    path: Path
    rows: list[MatrixRow] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Matrix:
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = [MatrixRow.from_json(row) for row in data.get("verifications", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ContractError(f"{path}: not a verification matrix: {exc!r}") from exc
        return cls(path, rows)

    def record(self, row: MatrixRow) -> MatrixRow:
        """Add ``row``, replacing the row with the same key (its time kept if nothing changed)."""
        for index, old in enumerate(self.rows):
            if old.key == row.key:
                same = (old.success, old.failed, old.pending_failed) == (
                    row.success,
                    row.failed,
                    row.pending_failed,
                )
                kept = MatrixRow(**{**asdict(row), "verified_at": old.verified_at}) if same else row
                del self.rows[index]
                self.rows.append(kept)
                return kept
        self.rows.append(row)
        del self.rows[: max(0, len(self.rows) - _MAX_ROWS)]
        return row

    def save(self) -> bool:
        """Write the matrix if its content changed; True when written."""
        text = (
            json.dumps(
                {"version": MATRIX_VERSION, "verifications": [r.to_json() for r in self.rows]},
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
        try:
            if self.path.read_text(encoding="utf-8") == text:
                return False
        except FileNotFoundError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.path)
        return True

    def latest(self, **match: str) -> MatrixRow | None:
        found = [r for r in self.rows if all(getattr(r, k) == v for k, v in match.items())]
        return found[-1] if found else None


def row_for(
    pact: PactFile,
    *,
    consumer_version: str,
    provider_version: str,
    failed: Iterable[str],
    pending_failed: Iterable[str],
    interactions: int,
) -> MatrixRow:
    failed = tuple(failed)
    return MatrixRow(
        consumer=pact.consumer,
        provider=pact.provider,
        pact=pact.path.name,
        pact_sha256=pact.sha256,
        consumer_version=consumer_version,
        provider_version=provider_version,
        success=not failed and interactions > 0,
        interactions=interactions,
        failed=failed,
        pending_failed=tuple(pending_failed),
        verified_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )


@dataclass(frozen=True)
class DeployCheck:
    """One pact that matters for the deployment, and the row that answers for it."""

    pact: PactFile
    role: str  # "consumer" | "provider"
    row: MatrixRow | None

    @property
    def ok(self) -> bool:
        return self.row is not None and self.row.success

    @property
    def reason(self) -> str:
        sha = self.pact.sha256[:12]
        if self.row is None:
            # What the deployment waits for: who has to verify this pact at which version.
            who = self.pact.provider if self.role == "provider" else "its provider"
            return f"pact {sha} was never verified by {who} at this version"
        if not self.row.success:
            what = ", ".join(self.row.failed) or "nothing verified"
            return f"pact {sha} failed verification: {what}"
        return f"pact {sha} verified"


@dataclass(frozen=True)
class Verdict:
    service: str
    version: str
    checks: tuple[DeployCheck, ...]

    @property
    def deployable(self) -> bool:
        return all(check.ok for check in self.checks)


def can_i_deploy(service: str, version: str, pacts: Iterable[PactFile], matrix: Matrix) -> Verdict:
    checks: list[DeployCheck] = []
    for pact in sorted(pacts, key=lambda p: p.pair):
        if pact.consumer == service:
            row = matrix.latest(
                consumer=pact.consumer,
                provider=pact.provider,
                pact_sha256=pact.sha256,
                consumer_version=version,
            )
            checks.append(DeployCheck(pact, "consumer", row))
        if pact.provider == service:
            row = matrix.latest(
                consumer=pact.consumer,
                provider=pact.provider,
                pact_sha256=pact.sha256,
                provider_version=version,
            )
            checks.append(DeployCheck(pact, "provider", row))
    return Verdict(service, version, tuple(checks))
