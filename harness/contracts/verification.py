"""Provider verification: every pact naming a provider, replayed against it in one batch.

One :class:`pact.Verifier` per provider (each ``verify()`` costs about half a second of
fixed overhead: pact-python starts callback servers for states and messages), with the
provider's HTTP transport, the message relay for its message interactions and the
provider-state bridge. The result is read back from ``Verifier.results`` into one
:class:`InteractionResult` per interaction, and checked for what pact itself lets pass:
an interaction that was never verified, or a pact that verified nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pact import Verifier

from harness.contracts.broker import Broker, use_broker_source
from harness.contracts.messages import MessageRelay, Producers
from harness.contracts.mismatches import Mismatch, parse_mismatches, render_failure
from harness.contracts.pactfile import Interaction, InteractionKind, PactFile
from harness.contracts.states import HarnessStates, ProviderStateBridge

log = logging.getLogger(__name__)

# Without it pact-python prints a telemetry notice (and would try to send it).
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
_REQUEST_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class InteractionResult:
    consumer: str
    provider: str
    description: str
    passed: bool
    pending: bool
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[str, ...] = ()
    report: str = ""
    # False when pact never reported on it (a missing producer, a pact it skipped, ...).
    reported: bool = True

    @property
    def name(self) -> str:
        return f"{self.consumer}->{self.provider}: {self.description}"


@dataclass
class ProviderVerification:
    """The outcome of verifying every pact of one provider."""

    provider: str
    pacts: list[PactFile]
    results: dict[tuple[str, str], InteractionResult] = field(default_factory=dict)
    # Failures that belong to no single interaction (zero verified, pact unusable, ...).
    problems: list[str] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    # Interactions pact reported a result for (the rest were never verified).
    reported: int = 0

    def result(self, consumer: str, description: str) -> InteractionResult | None:
        return self.results.get((consumer, description))

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed or r.pending for r in self.results.values())

    def pact_passed(self, pact: PactFile) -> bool:
        """Every interaction of ``pact`` verified and passed (pending ones may fail)."""
        found = [self.result(pact.consumer, i.description) for i in pact.interactions]
        return bool(found) and all(r is not None and (r.passed or r.pending) for r in found)

    def failed_descriptions(self, pact: PactFile) -> list[str]:
        out = []
        for interaction in pact.interactions:
            r = self.result(pact.consumer, interaction.description)
            if r is None or not (r.passed or r.pending):
                out.append(interaction.description)
        return out


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """The Rust core prints its own report on file descriptor 1; callers keep stdout for
    theirs (``harness contracts verify --json``). The same text is in ``outcome.output``."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _request_line(interaction: Interaction) -> str:
    if interaction.kind is InteractionKind.HTTP:
        return f"request: {interaction.method} {interaction.path} -> expected {interaction.status}"
    return "message (produced by the provider's message producer)"


def _result(
    pact: PactFile,
    interaction: Interaction,
    entry: Mapping[str, Any] | None,
    bridge: ProviderStateBridge,
    relay: MessageRelay | None,
) -> InteractionResult:
    title = f"{pact.consumer} -> {pact.provider}: {interaction.description}"
    errors: list[str] = []
    for state in interaction.states:
        why = bridge.failure_for(state.name, state.params)
        if why:
            errors.append(f"provider state {state}: {why}")
    if relay is not None and interaction.description in relay.failures:
        errors.append(relay.failures[interaction.description])
    if entry is None:
        errors.append("the verifier did not verify this interaction (it reported no result)")
        mismatches: list[Mismatch] = []
        passed = False
    else:
        mismatches, pact_errors = parse_mismatches(entry)
        errors.extend(pact_errors)
        passed = str(entry.get("result", "")).upper() == "OK" and not errors
    report = (
        ""
        if passed
        else render_failure(
            title,
            states=[str(s) for s in interaction.states],
            request=_request_line(interaction),
            mismatches=mismatches,
            errors=errors,
        )
    )
    return InteractionResult(
        pact.consumer,
        pact.provider,
        interaction.description,
        passed,
        interaction.pending,
        tuple(mismatches),
        tuple(errors),
        report,
        reported=entry is not None,
    )


def verify_provider(
    provider: str,
    pacts: Iterable[PactFile],
    *,
    provider_url: str | None,
    producers: Producers | None = None,
    host: str = "127.0.0.1",
    broker: Broker | None = None,
    version: str = "unknown",
    branch: str | None = None,
    harness_states: HarnessStates | None = None,
) -> ProviderVerification:
    """Verify every pact in ``pacts`` naming ``provider`` against the running provider.

    ``provider_url`` is where the provider serves HTTP (and its state hook); None verifies
    message interactions only. With ``broker``, the pacts come from the Pact Broker and the
    results are published there (``version``, ``branch``); ``pacts`` then only names the
    interactions expected. Nothing here raises for a broken contract: the outcome says what
    failed and why.
    """
    mine = [p for p in pacts if p.provider == provider]
    outcome = ProviderVerification(provider, mine)
    if not mine:
        outcome.problems.append(f"no pact names {provider} as its provider")
        return outcome
    for pact in mine:
        if not pact.interactions:
            outcome.problems.append(f"{pact.path.name}: the pact has no interactions")
    if not any(p.interactions for p in mine):
        return outcome  # nothing to replay: the problems above say so
    wants_http = any(InteractionKind.HTTP in p.kinds for p in mine)
    wants_messages = any(InteractionKind.MESSAGE in p.kinds for p in mine)
    if wants_http and provider_url is None:
        outcome.problems.append(f"{provider} has HTTP interactions but is not running")
    bridge = ProviderStateBridge(provider, provider_url, harness_states=harness_states)
    relay = MessageRelay(provider, producers or {}, provider_url) if wants_messages else None
    verifier = Verifier(provider, host=host)
    verifier.set_coloured_output(enabled=False).set_request_timeout(_REQUEST_TIMEOUT_MS)
    if wants_http and provider_url is not None:
        verifier.add_transport(url=provider_url)
    if relay is not None:
        verifier.message_handler(relay)
    verifier.state_handler(bridge, teardown=True)
    if broker is not None:
        verifier = use_broker_source(verifier, broker, version=version, branch=branch)
    else:
        for pact in mine:
            try:
                verifier.add_source(pact.path)
            except ValueError as exc:
                outcome.problems.append(f"{pact.path}: pact cannot read it: {exc}")
    began = time.monotonic()
    try:
        with _stdout_to_stderr():
            verifier.verify()
    except RuntimeError:
        # The generic "Failed to execute verifier": the details are in the results.
        pass
    finally:
        bridge.close()
    outcome.seconds = time.monotonic() - began
    outcome.output = verifier.output(strip_ansi=True)
    entries: dict[tuple[str, str], Mapping[str, Any]] = {}
    for entry in verifier.results.get("interactionResults") or []:
        entries[str(entry.get("consumer")), str(entry.get("description"))] = entry
    for pact in mine:
        for interaction in pact.interactions:
            key = (pact.consumer, interaction.description)
            outcome.results[key] = _result(pact, interaction, entries.get(key), bridge, relay)
    outcome.reported = sum(1 for key in entries if key in outcome.results)
    # Errors no interaction owns, e.g. "Failed to load pact" (a broker that cannot be reached).
    for error in verifier.results.get("errors") or []:
        where = str(error.get("interaction", ""))
        if not any(where.endswith(f" - {key[1]}") for key in entries):
            block = error.get("mismatch") or {}
            outcome.problems.append(f"{where}: {block.get('message', block)}")
    if outcome.reported == 0 and any(p.interactions for p in mine):
        outcome.problems.append(f"the verifier verified no interaction of {provider}")
    return outcome
