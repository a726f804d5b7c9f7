"""Property-based fuzzing of a fleet: Schemathesis per service, Hypothesis models of the whole.

Per service, from the manifest and nothing else: every operation of its OpenAPI is fuzzed
against the running service (examples, coverage and fuzzing phases, then the stateful
phase over the links Schemathesis infers), with a token from the service's own issuer
when it declares a bearer scheme. A run is seeded (printed; derandomized in CI), every
failure comes with a curl line and the command that replays it, and a baseline of known
failures makes CI fail only on new ones.

```python
from harness.fuzz import FuzzSession, load_settings, resolve_seed

session = FuzzSession(fleet, load_settings(root), seed=resolve_seed(None))
session.open()
run = session.run_all()          # run.new_findings, run.service_rates(), ...
```

Stateful models of the fleet subclass :class:`FleetStateMachine` and run with
:func:`run_machine` (the pytest plugin's ``fuzzer.run_machine``); after every step they
check the invariants registered in :mod:`harness.invariants`.

After a service's Schemathesis targets come the harness' own conformance checks
(:mod:`harness.fuzz.conformance`): ``<service> auth`` (bad tokens refused with 401/403, and
no byte on the service's outgoing edges meanwhile) and ``<service> idempotency``
(Idempotency-Key replays, conflicts and concurrent duplicates).
"""

from harness.fuzz.baseline import Baseline, BaselineEntry
from harness.fuzz.errors import (
    AuthError,
    FuzzError,
    FuzzFileError,
    FuzzInputError,
    KnownFailuresError,
)
from harness.fuzz.findings import Finding, FuzzRun, TargetResult, describe_result
from harness.fuzz.reports import ReportFiles, write_reports
from harness.fuzz.seeds import Seed, resolve_seed, seed_from_config
from harness.fuzz.session import FuzzOutcome, FuzzSession, launch_for_fuzzing, prepare, run_fuzz
from harness.fuzz.settings import DEFAULT_CHECKS, FuzzSettings, load_settings
from harness.fuzz.state_machine import (
    FleetBinding,
    FleetClient,
    FleetStateMachine,
    MachineFailed,
    MachineReport,
    NotSettled,
    RuleCoverage,
    ServerError,
    StepFailed,
    bind,
    eventually,
    run_machine,
)
from harness.fuzz.targets import FuzzTarget, ServiceTarget

__all__ = [
    "DEFAULT_CHECKS",
    "AuthError",
    "Baseline",
    "BaselineEntry",
    "Finding",
    "FleetBinding",
    "FleetClient",
    "FleetStateMachine",
    "FuzzError",
    "FuzzFileError",
    "FuzzInputError",
    "FuzzOutcome",
    "FuzzRun",
    "FuzzSession",
    "FuzzSettings",
    "FuzzTarget",
    "KnownFailuresError",
    "MachineFailed",
    "MachineReport",
    "NotSettled",
    "ReportFiles",
    "RuleCoverage",
    "Seed",
    "ServerError",
    "ServiceTarget",
    "StepFailed",
    "TargetResult",
    "bind",
    "describe_result",
    "eventually",
    "launch_for_fuzzing",
    "load_settings",
    "prepare",
    "resolve_seed",
    "run_fuzz",
    "run_machine",
    "seed_from_config",
    "write_reports",
]
