"""The contract matrix without a broker: verifications, and can-i-deploy over them.

A row says: the pact with this content (SHA-256 of the normalised file) between a consumer
at one version and a provider at one version was verified, with this result. Rows are
keyed by (consumer, provider, pact hash, consumer version, provider version): verifying the
same thing again replaces its row (the time stays unless the result changed), so a re-run
stores nothing new. :class:`Matrix` is the rows in memory; where they are kept (git notes,
outside the work tree) is :mod:`harness.contracts.matrix_notes`.

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
from typing import Any

from harness.contracts.errors import ContractError
from harness.contracts.pactfile import PactFile

MATRIX_VERSION = 1
# Per stored document (one commit's note): uncommitted states add rows to their commit's.
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
    rows: list[MatrixRow] = field(default_factory=list)

    @classmethod
    def from_document(cls, text: str, source: str) -> Matrix:
        """The rows of a stored matrix document; ``source`` names it in errors."""
        try:
            data = json.loads(text)
            rows = [MatrixRow.from_json(row) for row in data.get("verifications", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ContractError(f"{source}: not a verification matrix: {exc!r}") from exc
        return cls(rows)

    def document(self) -> str:
        """The rows as stored: sorted by key, so the same rows always give the same bytes."""
        rows = sorted(self.rows, key=lambda r: r.key)
        return (
            json.dumps(
                {"version": MATRIX_VERSION, "verifications": [r.to_json() for r in rows]},
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )

    def record(self, row: MatrixRow) -> MatrixRow:
        """Upsert ``row`` by its key (the time of the old row kept if nothing changed)."""
        for index, old in enumerate(self.rows):
            if old.key == row.key:
                same = (old.success, old.failed, old.pending_failed, old.interactions) == (
                    row.success,
                    row.failed,
                    row.pending_failed,
                    row.interactions,
                )
                kept = MatrixRow(**{**asdict(row), "verified_at": old.verified_at}) if same else row
                self.rows[index] = kept
                return kept
        self.rows.append(row)
        if len(self.rows) > _MAX_ROWS:
            # Oldest first out: ISO-8601 UTC times sort as text.
            self.rows.sort(key=lambda r: r.verified_at)
            del self.rows[: len(self.rows) - _MAX_ROWS]
        return row

    def latest(self, **match: str) -> MatrixRow | None:
        found = [r for r in self.rows if all(getattr(r, k) == v for k, v in match.items())]
        return max(found, key=lambda r: r.verified_at) if found else None


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
