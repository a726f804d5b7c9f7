"""Run Schemathesis' engine on one target and turn its events into findings.

This is the one module that knows Schemathesis' engine (events, recorders, configuration
keys); the rest of the capability sees :class:`TargetResult`. The engine is what
``st run`` drives: examples, coverage (boundary values, unexpected methods) and fuzzing
phases per operation, and the stateful phase over the OpenAPI links a service declares
(or, where it declares none, the ones Schemathesis infers: a POST answering 201 with a
Location -> GET/DELETE of that resource), with every check of the run.

Configuration choices, and why:
- ``continue-on-failure``: a run that stopped at its first failure would hide a new
  failure behind a known (baselined) one of the same operation.
- ``database: none`` and no cache: the seed alone decides what is generated, so a seed
  printed by one run replays it.
- positive_data_acceptance accepts, besides Schemathesis' defaults, every 4xx the
  operation documents other than 400 and 422: a documented 402 ``insufficient_funds`` is
  the API's answer to valid data, while 400/422 for data the schema allows is a bug.
- Sanitization keeps ``Idempotency-Key`` (its default marks every "*key*" header
  secret): a curl without the key does not reproduce an idempotency failure. The bearer
  token stays hidden: the curl reads it from ``$HARNESS_TOKEN``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests
import schemathesis
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.run import PhaseName

from harness.fuzz.exemplars import Exemplar, Exemplars, clean_headers
from harness.fuzz.findings import Finding, TargetResult
from harness.fuzz.seeds import Seed
from harness.fuzz.settings import FuzzSettings
from harness.fuzz.targets import FuzzTarget, ServiceTarget

# Schemathesis' own list for positive_data_acceptance (4.x), kept when we add to it.
_POSITIVE_DEFAULTS: list[int | str] = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]
_GENERIC_REJECTIONS = {"400", "422"}
_SENSITIVE_MARKERS = ["token", "secret", "password", "auth", "session", "passwd", "credential"]
_FILTERED_AUTH = "-H 'Authorization: [Filtered]'"
REQUEST_BOUND = "request_bound"
TOKEN_HEADER = '-H "Authorization: Bearer $HARNESS_TOKEN"'


def _documented_business_statuses(operation: Mapping[str, Any]) -> list[int]:
    statuses = []
    for status in operation.get("responses", {}):
        code = str(status)
        if code.isdigit() and code.startswith("4") and code not in _GENERIC_REJECTIONS:
            statuses.append(int(code))
    return statuses


def _operation_overrides(
    service: ServiceTarget, settings: FuzzSettings, enabled: list[str]
) -> list[dict[str, Any]]:
    overrides = []
    for method, path in service.operations():
        operation = service.document["paths"][path][method.lower()]
        checks: dict[str, Any] = {}
        if "positive_data_acceptance" in enabled:
            expected = list(_POSITIVE_DEFAULTS)
            expected += [s for s in _documented_business_statuses(operation) if s not in expected]
            checks["positive_data_acceptance"] = {"expected-statuses": expected}
        for check in settings.excluded_checks(service.name, f"{method} {path}"):
            checks[check] = {"enabled": False}
        if checks:
            overrides.append({"include-path": path, "include-method": method, "checks": checks})
    return overrides


def engine_config(
    service: ServiceTarget,
    settings: FuzzSettings,
    *,
    seed: Seed,
    max_examples: int,
    stateful: bool,
) -> dict[str, Any]:
    """Schemathesis' configuration (its TOML keys) for one service's unit or stateful run."""
    enabled = settings.checks_for(service.name)
    checks: dict[str, Any] = {"enabled": False}
    checks.update({name: {"enabled": True} for name in enabled})
    spec = settings.spec.stateful
    unit = not stateful
    config: dict[str, Any] = {
        "seed": seed.value,
        "cache": {"enabled": False},
        "base-url": service.base_url,
        "request-timeout": settings.spec.request_timeout,
        "continue-on-failure": True,
        "workers": 1,
        "generation": {
            "max-examples": max_examples,
            "deterministic": seed.derandomize,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": unit},
            "coverage": {"enabled": unit},
            "fuzzing": {"enabled": unit},
            "stateful": {
                "enabled": stateful,
                "max-steps": spec.max_steps,
                "generation": {"max-examples": spec.max_examples},
            },
        },
        "checks": checks,
        "output": {"sanitization": {"sensitive-markers": _SENSITIVE_MARKERS}},
    }
    overrides = _operation_overrides(service, settings, enabled)
    if overrides:
        config["operations"] = overrides
    if service.bearer is not None:
        schemes = service.bearer_schemes
        config["auth"] = {"openapi": {name: {"bearer": service.bearer} for name in schemes}}
    return config


class ServiceFuzzer:
    """Runs the targets of one service; the schema is loaded once per kind of run."""

    def __init__(
        self, service: ServiceTarget, settings: FuzzSettings, *, seed: Seed, max_examples: int
    ) -> None:
        self.service = service
        self.settings = settings
        self.seed = seed
        self.max_examples = max_examples
        self._schemas: dict[bool, Any] = {}
        # Requests answered 2xx, for the conformance checks that run after these targets.
        self.exemplars = Exemplars()

    def _schema(self, stateful: bool) -> Any:
        if stateful not in self._schemas:
            config = engine_config(
                self.service,
                self.settings,
                seed=self.seed,
                max_examples=self.max_examples,
                stateful=stateful,
            )
            loaded = schemathesis.Config.from_dict(config)
            document = copy.deepcopy(dict(self.service.document))
            self._schemas[stateful] = schemathesis.openapi.from_dict(document, config=loaded)
        return self._schemas[stateful]

    def run(self, target: FuzzTarget) -> TargetResult:
        result = TargetResult(target, token_setup=self.service.token_setup())
        schema = self._schema(target.stateful)
        if not target.stateful:
            # Not `include`: with per-operation settings in the configuration, Schemathesis
            # already holds an include-everything filter, and includes are alternatives.
            method, path = target.method, target.path
            schema = schema.exclude(
                func=lambda ctx: (
                    not (ctx.operation.method.upper() == method and ctx.operation.path == path)
                )
            )
        began = time.perf_counter()
        stream = from_schema(schema).execute()
        try:
            self._consume(stream, result)
        except BaseException:
            # Ctrl-C or SIGTERM: let the engine's workers stop before the fleet goes down.
            stream.stop()
            raise
        finally:
            result.seconds = time.perf_counter() - began
        if not (target.stateful or result.cases or result.errors or result.skipped):
            # Zero work is not a pass: an operation nothing was generated for is unchecked.
            result.errors.append("no case was generated for this operation")
        return result

    def _consume(self, stream: Any, result: TargetResult) -> None:
        seen: set[tuple[str, str, str, str]] = set()
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                result.cases += len(event.recorder.cases)
                self.exemplars.extend(_exemplars(event.recorder))
                for finding in self._findings(event.recorder):
                    if finding.key not in seen:
                        seen.add(finding.key)
                        result.findings.append(finding)
            elif isinstance(event, events.PhaseFinished):
                phase = event.phase
                if (
                    phase.name == PhaseName.STATEFUL_TESTING
                    and result.target.stateful
                    and phase.skip_reason is not None
                ):
                    result.skipped = f"stateful phase skipped: {phase.skip_reason.display}"
            elif isinstance(event, events.NonFatalError) and _timed_out(event.value):
                finding = self._timeout(event)
                if finding.key not in seen:
                    seen.add(finding.key)
                    result.findings.append(finding)
            elif isinstance(event, events.NonFatalError):
                result.errors.append(f"{event.label}: {type(event.value).__name__}: {event.value}")
            elif isinstance(event, events.FatalError):
                result.errors.append(f"{type(event.exception).__name__}: {event.exception}")
            elif isinstance(event, events.EngineFinished):
                for failure in event.failures:
                    result.findings.append(self._finding(failure, "after_run", "", None, None))

    def _timeout(self, event: Any) -> Finding:
        """A request not answered within request_timeout: a hang is a finding, not an error."""
        bound = self.settings.spec.request_timeout
        curl = str(event.info.code_sample or "")
        return Finding(
            service=self.service.name,
            operation=str(event.label),
            check=REQUEST_BOUND,
            code="HX-TIMEOUT",
            title="Request not answered within the bound",
            message=f"no answer within {bound:g} s (fuzz.yaml request_timeout): {event.value}",
            curl=f"curl --max-time {bound:g} " + curl.removeprefix("curl ") if curl else "",
            signature="RequestTimeout",
        )

    def _findings(self, recorder: Any) -> Iterator[Finding]:
        for case_id, checks in recorder.checks.items():
            for node in checks:
                if node.status != Status.FAILURE or node.failure_info is None:
                    continue
                failure = node.failure_info.failure
                interaction = recorder.interactions.get(failure.case_id or case_id)
                response = getattr(interaction, "response", None)
                status = getattr(response, "status_code", None)
                curl = str(node.failure_info.code_sample or "")
                yield self._finding(failure, node.name, curl, case_id, status)

    def _finding(
        self, failure: Any, check: str, curl: str, case_id: str | None, status: int | None
    ) -> Finding:
        # `_unique_key` is how Schemathesis groups one check's failures (its own baseline
        # uses it too); without it, one finding per failure class and operation.
        key = str(getattr(failure, "_unique_key", "") or "")
        return Finding(
            service=self.service.name,
            operation=str(failure.operation or ""),
            check=check,
            code=str(getattr(failure, "code", "")),
            title=str(failure.title),
            message=str(failure.message or ""),
            curl=curl.replace(_FILTERED_AUTH, TOKEN_HEADER),
            signature=f"{type(failure).__name__}:{key}" if key else type(failure).__name__,
            case_id=case_id,
            status=status if isinstance(status, int) else None,
        )


def _timed_out(error: BaseException | None) -> bool:
    """Whether a request error (or one it was raised from) is a read or connect timeout."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, TimeoutError | requests.exceptions.Timeout):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _exemplars(recorder: Any) -> Iterator[Exemplar]:
    """The recorder's requests that were answered 2xx, by operation."""
    for case_id, interaction in recorder.interactions.items():
        response = getattr(interaction, "response", None)
        status = getattr(response, "status_code", None)
        node = recorder.cases.get(case_id)
        if node is None or not isinstance(status, int) or not 200 <= status < 300:
            continue
        case = node.value
        request = interaction.request
        operation = getattr(case.operation, "label", None) or f"{case.method} {case.path}"
        yield Exemplar(
            operation=str(operation),
            method=str(request.method).upper(),
            url=str(request.uri),
            headers=clean_headers(dict(request.headers)),
            body=request.body,
            status=status,
            location=_header(getattr(response, "headers", None), "location"),
        )


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list | tuple) and value else value)
    return None
