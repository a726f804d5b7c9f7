"""Errors of the contracts capability; all derive from the harness's own bases."""

from __future__ import annotations

from harness.errors import HarnessError, SpecError


class ContractError(HarnessError):
    """A contract run could not be carried out (not: a contract was broken)."""


class ContractsFileError(SpecError):
    """contracts.yaml is invalid: nothing was started."""


class PactFileError(ContractError):
    """A pact file cannot be read as a pact (names the file)."""


class BrokerError(ContractError):
    """The Pact Broker, or the `pact` CLI that talks to it, failed; carries its output."""
