"""What a fuzz run found: failures with their reproduction, per target and for the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.fuzz.seeds import Seed
from harness.fuzz.targets import FuzzTarget


@dataclass(frozen=True)
class Finding:
    """One distinct failure: which check failed where, and how to reproduce it.

    ``signature`` distinguishes failures of one check at one operation (Schemathesis'
    failure class and its grouping key): the baseline matches on
    (service, operation, check, signature), never on the generated data.
    """

    service: str
    operation: str  # the operation the failure is about, e.g. "GET /stock/{sku}"
    check: str
    code: str  # Schemathesis' failure code, e.g. ST103
    title: str
    message: str
    curl: str  # one line per request; several for a stateful sequence
    signature: str
    case_id: str | None = None
    status: int | None = None
    known: bool = False  # in the baseline: reported, but does not fail the run
    baseline_reason: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.service, self.operation, self.check, self.signature)

    def as_known(self, reason: str | None) -> Finding:
        return replace(self, known=True, baseline_reason=reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "check": self.check,
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "curl": self.curl,
            "signature": self.signature,
            "case_id": self.case_id,
            "status": self.status,
            "known": self.known,
            "baseline_reason": self.baseline_reason,
        }


@dataclass
class TargetResult:
    target: FuzzTarget
    cases: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the run itself failed somewhere
    skipped: str | None = None  # why nothing ran (e.g. no links for the stateful phase)
    token_setup: str | None = None  # shell line exporting $HARNESS_TOKEN, for replays
    notes: list[str] = field(default_factory=list)  # what a check could not check, and why

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.known]

    @property
    def known_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.known]

    @property
    def passed(self) -> bool:
        return not self.new_findings and not self.errors

    @property
    def outcome(self) -> str:
        if self.errors:
            return "error"
        if self.new_findings:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        if self.known_findings:
            return "known failures"
        return "passed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.target.id,
            "service": self.target.service,
            "operation": self.target.operation,
            "outcome": self.outcome,
            "cases": self.cases,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
            "errors": self.errors,
            "skipped": self.skipped,
            "notes": self.notes,
        }


@dataclass
class FuzzRun:
    """A whole run: its seed and settings, and every target's result."""

    seed: Seed
    max_examples: int
    results: list[TargetResult] = field(default_factory=list)
    seconds: float = 0.0
    baseline: str | None = None
    replay: str = ""  # the command that runs this again with the same seed
    machines: list[dict[str, Any]] = field(default_factory=list)  # state machine runs

    @property
    def new_findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.new_findings]

    @property
    def known_findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.known_findings]

    @property
    def errors(self) -> list[str]:
        return [f"{r.target.id}: {e}" for r in self.results for e in r.errors]

    @property
    def nothing_checked(self) -> str | None:
        """Why the run checked nothing (None when it ran cases): zero work is not a pass."""
        if self.cases:
            return None
        if not self.results:
            return "no target was run"
        skips = sorted({r.skipped for r in self.results if r.skipped})
        why = f" ({'; '.join(skips)})" if skips else ""
        return f"no case was run in {len(self.results)} target(s){why}"

    @property
    def passed(self) -> bool:
        return self.nothing_checked is None and all(r.passed for r in self.results)

    @property
    def cases(self) -> int:
        return sum(r.cases for r in self.results)

    def by_service(self) -> dict[str, list[TargetResult]]:
        grouped: dict[str, list[TargetResult]] = {}
        for result in self.results:
            grouped.setdefault(result.target.service, []).append(result)
        return grouped

    def service_rates(self) -> dict[str, dict[str, float]]:
        """Cases, seconds and cases per second of each service."""
        rates = {}
        for service, results in self.by_service().items():
            cases = sum(r.cases for r in results)
            seconds = sum(r.seconds for r in results)
            rates[service] = {
                "cases": cases,
                "seconds": round(seconds, 3),
                "cases_per_second": round(cases / seconds, 1) if seconds else 0.0,
                "operations": sum(r.target.method is not None for r in results),
            }
        return rates

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "nothing_checked": self.nothing_checked,
            "seed": self.seed.value,
            "seed_source": self.seed.source,
            "derandomized": self.seed.derandomize,
            "max_examples": self.max_examples,
            "baseline": self.baseline,
            "replay": self.replay,
            "seconds": round(self.seconds, 3),
            "cases": self.cases,
            "new_failures": len(self.new_findings),
            "known_failures": len(self.known_findings),
            "services": self.service_rates(),
            "targets": [r.to_dict() for r in self.results],
            "machines": self.machines,
        }


def describe_finding(finding: Finding, *, token_setup: str | None, replay: str) -> str:
    """The text a developer needs: what failed, the curl to reproduce it, how to rerun."""
    where = f"{finding.service} {finding.operation}"
    lines = [f"{finding.code} {finding.title} [{finding.check}] at {where}"]
    if finding.status is not None:
        lines.append(f"  response status: {finding.status}")
    if finding.message:
        lines.extend("  " + line for line in finding.message.strip().splitlines())
    lines.append("  Reproduce with:")
    if token_setup and "$HARNESS_TOKEN" in finding.curl:
        lines.append(f"    {token_setup}")
    lines.extend("    " + line for line in finding.curl.strip().splitlines())
    if replay:
        lines.append(f"  Replay the fuzzing: {replay}")
    return "\n".join(lines)


def describe_result(result: TargetResult, replay: str, *, include_known: bool = False) -> str:
    shown: Sequence[Finding] = result.findings if include_known else result.new_findings
    blocks = [
        describe_finding(finding, token_setup=result.token_setup, replay=replay)
        for finding in shown
    ]
    blocks.extend(f"error: {error}" for error in result.errors)
    header = f"{result.target.id}: {len(result.new_findings)} new failure(s)"
    if result.known_findings:
        header += f", {len(result.known_findings)} known (baseline)"
    header += f" in {result.cases} cases"
    return "\n\n".join([header, *blocks])
