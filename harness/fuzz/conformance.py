"""The harness' own conformance checks, run per service after Schemathesis' targets.

Driven by the service's OpenAPI (security requirements, declared headers) and fuzz.yaml,
with no code per service, and run on requests the fuzzing answered 2xx (exemplars), so a
refusal is judged where a good token is known to succeed:

- ``auth_conformance``: every secured operation answers 401 to no credentials, a malformed
  token, a token signed with another key, ``alg: none``, an expired token (and, when asked,
  another audience or issuer), and 403 to a valid token lacking a scope it needs;
- ``auth_before_backend``: no refused request reached a backend, proven by the bytes on the
  service's outgoing edges (:mod:`harness.fuzz.traffic`);
- ``idempotency_replay`` / ``idempotency_conflict`` / ``idempotency_concurrent`` /
  ``idempotency_effect``: an operation with an Idempotency-Key answers a replay with the
  same status and body (and its documented replay header), the same key with another body
  with the documented conflict status, two identical requests at once with one effect;
  the fleet's invariants and an optional probe read check that nothing happened twice;
- ``request_bound``: a request not answered within ``request_timeout`` (a hang).

Every finding carries a curl line; forged tokens are written out (they are test tokens).
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from harness.fuzz.errors import AuthError, FuzzError
from harness.fuzz.exemplars import Exemplar, Exemplars
from harness.fuzz.findings import Finding, TargetResult
from harness.fuzz.settings import FuzzSettings, IdempotentOperationSpec
from harness.fuzz.targets import (
    FuzzTarget,
    RunningFleet,
    ServiceTarget,
    idempotent_operations,
    required_scopes,
    secured_operations,
)
from harness.fuzz.tokens import VARIANTS, TokenForge, TokenVariant, signing_key
from harness.fuzz.traffic import EdgeTraffic
from harness.invariants import InvariantContext, InvariantRegistry
from harness.invariants import registry as default_registry

AUTH_CHECK = "auth_conformance"
BACKEND_CHECK = "auth_before_backend"
REQUEST_BOUND = "request_bound"
TOKEN_HEADER = '"Authorization: Bearer $HARNESS_TOKEN"'


@dataclass(frozen=True)
class Sent:
    """One request the checks made, and what came back (status None: no answer in time)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    status: int | None
    text: str
    response_headers: Mapping[str, str]
    seconds: float

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text

    def curl(self, *, token_is_good: bool, bound: float) -> str:
        parts = ["curl", "-sS", "--max-time", f"{bound:g}", "-X", self.method]
        good = False
        for name, value in self.headers.items():
            if name.lower() == "authorization" and token_is_good:
                good = True
                continue
            parts += ["-H", f"{name}: {value}"]
        if self.body:
            parts += ["--data-binary", self.body.decode(errors="replace")]
        parts.append(self.url)
        line = shlex.join(parts)
        return line.replace(" -X", f" -H {TOKEN_HEADER} -X", 1) if good else line


class Requester:
    """Sends the checks' requests, each bounded by the run's request timeout."""

    def __init__(self, http: httpx.Client, bound: float) -> None:
        self.http = http
        self.bound = bound

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Sent:
        began = time.perf_counter()
        try:
            response = self.http.request(
                method, url, headers=dict(headers), content=body, timeout=self.bound
            )
        except httpx.TimeoutException as exc:
            return Sent(method, url, headers, body, None, str(exc), {}, self.bound)
        return Sent(
            method,
            url,
            headers,
            body,
            response.status_code,
            response.text,
            dict(response.headers),
            time.perf_counter() - began,
        )


def _with(headers: Mapping[str, str], **changes: str | None) -> dict[str, str]:
    """Headers with some replaced (case-insensitively) or removed (None)."""
    wanted = {k.replace("_", "-").lower(): (k.replace("_", "-"), v) for k, v in changes.items()}
    kept = {k: v for k, v in headers.items() if k.lower() not in wanted}
    kept.update({name: value for name, value in wanted.values() if value is not None})
    return kept


def _label_url(service: ServiceTarget, label: str) -> str:
    """A URL for an operation no request answered 2xx: its path with placeholder ids."""
    path = label.partition(" ")[2]
    filled = path
    while "{" in filled:
        start = filled.index("{")
        end = filled.index("}", start)
        filled = filled[:start] + "harness-unknown-1" + filled[end + 1 :]
    return service.base_url.rstrip("/") + filled


def _rebase(url: str, base_url: str) -> str:
    """The exemplar's URL on the service's base URL (same path and query)."""
    parts, base = urlsplit(url), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))


class ConformanceChecker:
    """Runs one service's conformance targets."""

    def __init__(
        self,
        fleet: RunningFleet,
        service: ServiceTarget,
        settings: FuzzSettings,
        exemplars: Exemplars,
        http: httpx.Client,
        *,
        registry: InvariantRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fleet = fleet
        self.service = service
        self.settings = settings
        self.exemplars = exemplars
        self.http = http
        self.bound = settings.spec.request_timeout
        self.requests = Requester(http, self.bound)
        self.registry = registry or default_registry
        self.clock = clock

    # --- shared ----------------------------------------------------------------------------

    def _finding(
        self,
        check: str,
        operation: str,
        title: str,
        message: str,
        sent: list[Sent],
        signature: str,
        *,
        good: bool = False,
    ) -> Finding:
        return Finding(
            service=self.service.name,
            operation=operation,
            check=check,
            code=f"HX-{check.upper()}",
            title=title,
            message=message,
            curl="\n".join(s.curl(token_is_good=good, bound=self.bound) for s in sent),
            signature=signature,
            status=sent[-1].status if sent else None,
        )

    def _hang(self, operation: str, sent: Sent, what: str, *, good: bool) -> Finding:
        return self._finding(
            REQUEST_BOUND,
            operation,
            "Request not answered within the bound",
            f"{what}: no answer within {self.bound:g} s (fuzz.yaml request_timeout)",
            [sent],
            "RequestTimeout",
            good=good,
        )

    def _good_headers(self, exemplar_headers: Mapping[str, str]) -> dict[str, str]:
        token = self.service.bearer
        return _with(exemplar_headers, Authorization=f"Bearer {token}" if token else None)

    def run(self, target: FuzzTarget) -> TargetResult:
        result = TargetResult(target, token_setup=self.service.token_setup())
        began = time.perf_counter()
        try:
            if target.check == "auth":
                self.check_auth(result)
            elif target.check == "idempotency":
                self.check_idempotency(result)
            else:
                raise FuzzError(f"unknown conformance check {target.check!r}")
        except (FuzzError, AuthError, httpx.HTTPError) as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            result.seconds = time.perf_counter() - began
        if not (result.cases or result.errors or result.skipped):
            result.skipped = "nothing to check"
        return result

    # --- auth ------------------------------------------------------------------------------

    def _forge(self) -> TokenForge:
        auth = self.settings.service(self.service.name).auth
        signing = auth.signing if auth is not None else None
        key = None
        if signing is not None:
            manifest = self.fleet.manifest
            spec = manifest.services[self.service.name]
            env = {k: str(v) for k, v in {**manifest.env, **spec.env}.items()}
            key = signing_key(signing, env, manifest.root_dir())
        return TokenForge(self.service.bearer, signing=signing, key=key, clock=self.clock)

    def _variants(
        self, forge: TokenForge, scopes: list[str]
    ) -> tuple[list[TokenVariant], dict[str, str]]:
        auth = self.settings.service(self.service.name).auth
        wanted = [
            v
            for v in VARIANTS
            if not (v == "wrong_audience" and not (auth and auth.check_audience))
            and not (v == "wrong_issuer" and not (auth and auth.check_issuer))
        ]
        made: list[TokenVariant] = []
        unchecked: dict[str, str] = {}
        for name in wanted:
            variant = forge.variant(name, scopes)
            if isinstance(variant, TokenVariant):
                made.append(variant)
            elif name != "missing_scope" or scopes:
                unchecked[name] = variant
        return made, unchecked

    def _traffic(self) -> EdgeTraffic | None:
        wanted = self.settings.spec.conformance.backend_traffic
        if wanted is False:
            return None
        edges = getattr(self.fleet, "edges", None)
        if edges is None:
            return None
        return EdgeTraffic.of(self.fleet, self.service.name, self.http)  # type: ignore[arg-type]

    def check_auth(self, result: TargetResult) -> None:
        forge = self._forge()
        traffic = self._traffic()
        notes: list[str] = []
        control = forge.signed_good()
        for label in secured_operations(self.service, self.settings):
            exemplars = self.exemplars.of(label)
            scopes = required_scopes(self.service, self.settings, label)
            variants, unchecked = self._variants(forge, scopes)
            for name, why in unchecked.items():
                notes.append(f"{label}: {name} not checked: {why}")
            if exemplars:
                ex = self._live(label, exemplars, result)
                method, url = ex.method, _rebase(ex.url, self.service.base_url)
                headers, body = dict(ex.headers), ex.body
            else:
                # Nothing answered 2xx: still every variant must get 401 (the resource's
                # existence must not matter), on a placeholder id.
                method, url = label.partition(" ")[0], _label_url(self.service, label)
                headers, body = {}, (b"{}" if label.startswith(("POST", "PUT", "PATCH")) else None)
                if body is not None:
                    headers["Content-Type"] = "application/json"
                notes.append(f"{label}: no request answered 2xx while fuzzing: placeholder ids")
            result.findings += self._refusals(
                label, method, url, headers, body, variants, traffic, result
            )
            if control is not None and exemplars:
                result.findings += self._control(label, method, url, headers, body, control, result)
        if traffic is None:
            notes.append("backend traffic not checked (the fleet runs unproxied, or no edges)")
        result.notes += notes

    def _live(self, label: str, exemplars: list[Exemplar], result: TargetResult) -> Exemplar:
        """For a read, the newest exemplar a good token still gets 2xx for (a later step may
        have deleted the resource): the refusal is then judged where access would succeed."""
        if label.partition(" ")[0] not in ("GET", "HEAD"):
            return exemplars[0]
        for ex in exemplars:
            url = _rebase(ex.url, self.service.base_url)
            answer = self.requests.send(ex.method, url, self._good_headers(ex.headers), None)
            result.cases += 1
            if answer.status is not None and 200 <= answer.status < 300:
                return ex
        # Resources the fuzzing created (a 201's Location) that this operation reads.
        template = re.compile(
            "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(label.partition(" ")[2])) + "$"
        )
        for location in self.exemplars.locations():
            path = urlsplit(location).path
            if not template.match(path):
                continue
            url = self.service.base_url.rstrip("/") + path
            answer = self.requests.send("GET", url, self._good_headers(exemplars[0].headers), None)
            result.cases += 1
            if answer.status is not None and 200 <= answer.status < 300:
                return replace(exemplars[0], url=url)
        result.notes.append(f"{label}: no resource the fuzzing reached still answers 2xx")
        return exemplars[0]

    def _send_variant(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        variant: TokenVariant,
    ) -> Sent:
        sent_headers = _with(headers, Authorization=variant.authorization)
        return self.requests.send(method, url, sent_headers, body)

    def _refusals(
        self,
        label: str,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        variants: list[TokenVariant],
        traffic: EdgeTraffic | None,
        result: TargetResult,
    ) -> list[Finding]:
        findings: list[Finding] = []
        sent: list[tuple[TokenVariant, Sent]] = []

        def send_all(chosen: list[TokenVariant]) -> list[tuple[TokenVariant, Sent]]:
            return [(v, self._send_variant(method, url, headers, body, v)) for v in chosen]

        if traffic is None:
            sent = send_all(variants)
        else:
            with traffic.window() as window:
                sent = send_all(variants)
            if window.reached:
                findings += self._attribute(label, variants, window.reached, traffic, send_all)
        result.cases += len(sent)
        for variant, answer in sent:
            what = f"{variant.name} token"
            if answer.status is None:
                findings.append(self._hang(label, answer, what, good=False))
            elif answer.status != variant.expect:
                accepted = 200 <= answer.status < 300
                findings.append(
                    self._finding(
                        AUTH_CHECK,
                        label,
                        f"{variant.name} token {'accepted' if accepted else 'not refused'}"
                        f" (expected {variant.expect}, got {answer.status})",
                        f"token variant: {variant.name}\nexpected: {variant.expect}\n"
                        f"actual: {answer.status} {answer.text[:300]}",
                        [answer],
                        variant.name,
                    )
                )
        return findings

    def _attribute(
        self,
        label: str,
        variants: list[TokenVariant],
        reached: Mapping[str, int],
        traffic: EdgeTraffic,
        send_all: Callable[[list[TokenVariant]], list[tuple[TokenVariant, Sent]]],
    ) -> list[Finding]:
        """Which refused requests reached a backend: each alone in a window. A window with
        no request at all first: traffic there is the service's own (background work),
        not evidence against any request."""
        with traffic.window() as quiet:
            pass
        if quiet.reached:
            raise FuzzError(
                f"{label}: edges {', '.join(sorted(quiet.reached))} carry traffic with no "
                "request in flight (background calls): no per-request evidence possible"
            )
        findings = []
        for variant in variants:
            with traffic.window() as alone:
                ((_, answer),) = send_all([variant])
            if alone.reached and answer.status is not None and answer.status >= 400:
                edges = ", ".join(f"{e} ({n} bytes)" for e, n in sorted(alone.reached.items()))
                findings.append(
                    self._finding(
                        BACKEND_CHECK,
                        label,
                        f"Refused request reached a backend ({variant.name} token)",
                        f"token variant: {variant.name}\nanswered: {answer.status}\n"
                        f"traffic on: {edges}\nexpected: no byte on any outgoing edge",
                        [answer],
                        variant.name,
                    )
                )
        if not findings:
            edges = ", ".join(sorted(reached))
            raise FuzzError(
                f"{label}: traffic on {edges} during the refused requests, but on no single "
                "one of them again"
            )
        return findings

    def _control(
        self,
        label: str,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        control: str,
        result: TargetResult,
    ) -> list[Finding]:
        """The harness' own signed good token must pass the guard: else its key is not the
        service's, and "expired refused" would prove nothing."""
        answer = self.requests.send(
            method, url, _with(headers, Authorization=f"Bearer {control}"), body
        )
        result.cases += 1
        if answer.status == 401:
            raise AuthError(
                f"{label}: a token signed with auth.signing's key was refused (401): the key "
                "is not the service's, so the expired and wrong-audience checks prove nothing"
            )
        return []

    # --- idempotency -----------------------------------------------------------------------

    def _idempotency_spec(self, label: str) -> IdempotentOperationSpec:
        spec = self.settings.service(self.service.name).idempotency
        return spec.operations.get(label, IdempotentOperationSpec())

    def _documented(self, label: str) -> Mapping[str, Any]:
        method, _, path = label.partition(" ")
        item = self.service.document.get("paths", {}).get(path, {})
        op = item.get(method.lower(), {}) if isinstance(item, Mapping) else {}
        return op if isinstance(op, Mapping) else {}

    def _conflict_status(self, label: str) -> int | None:
        configured = self._idempotency_spec(label).conflict_status
        if configured is not None:
            return configured
        documented = {str(s) for s in self._documented(label).get("responses", {})}
        return next((int(s) for s in ("409", "422") if s in documented), None)

    def _replay_header(self, label: str) -> str | None:
        configured = self._idempotency_spec(label).replay_header
        if configured is not None:
            return configured
        for status, response in self._documented(label).get("responses", {}).items():
            if not str(status).startswith("2") or not isinstance(response, Mapping):
                continue
            for name in response.get("headers", {}) or {}:
                if "replay" in str(name).lower():
                    return str(name)
        return None

    def check_idempotency(self, result: TargetResult) -> None:
        header = self.settings.spec.conformance.idempotency_header
        checked = 0
        for label in idempotent_operations(self.service, self.settings):
            exemplars = self.exemplars.of(label)
            if not exemplars:
                result.notes.append(
                    f"{label}: not checked: no request answered 2xx while fuzzing, so there "
                    "is nothing to replay"
                )
                continue
            checked += 1
            self._idempotent(label, exemplars, header, result)
        if not checked:
            result.skipped = "no idempotent operation answered 2xx while fuzzing: " + "; ".join(
                result.notes
            )

    def _send_keyed(self, ex: Exemplar, header: str, key: str, body: bytes | None = None) -> Sent:
        headers = _with(self._good_headers(ex.headers), **{header.replace("-", "_"): key})
        return self.requests.send(
            ex.method,
            _rebase(ex.url, self.service.base_url),
            headers,
            ex.body if body is None else body,
        )

    def _probe(self, label: str, first: Sent, ex: Exemplar) -> Sent | None:
        probe = self._idempotency_spec(label).probe
        if probe is None:
            return None
        method, _, path = probe.partition(" ")
        values: dict[str, Any] = {}
        for source in (ex.json_body(), first.json()):
            if isinstance(source, Mapping):
                values.update({k: v for k, v in source.items() if not isinstance(v, dict | list)})
        try:
            filled = path.format(**values)
        except (KeyError, IndexError) as exc:
            raise FuzzError(f"{label}: probe {probe}: no value for {exc}") from None
        url = self.service.base_url.rstrip("/") + filled
        return self.requests.send(method, url, self._good_headers({}), None)

    def _idempotent(
        self, label: str, exemplars: list[Exemplar], header: str, result: TargetResult
    ) -> None:
        findings = result.findings
        conflict = self._conflict_status(label)
        replay_header = self._replay_header(label)
        first: Sent | None = None
        ex = exemplars[0]
        for candidate in exemplars:
            key = f"harness-{uuid.uuid4()}"
            answer = self._send_keyed(candidate, header, key)
            result.cases += 1
            if answer.status is None:
                findings.append(self._hang(label, answer, "first request", good=True))
                return
            if 200 <= answer.status < 300:
                ex, first = candidate, answer
                break
        if first is None:
            result.errors.append(f"{label}: no replayed request with a fresh key answered 2xx")
            return
        before = self._probe(label, first, ex)
        replay = self._send_keyed(ex, header, key)
        result.cases += 1
        if replay.status is None:
            findings.append(self._hang(label, replay, "replay", good=True))
            return
        same = replay.status == first.status and replay.json() == first.json()
        if not same:
            findings.append(
                self._finding(
                    "idempotency_replay",
                    label,
                    "Replay with the same key was not answered like the first request",
                    f"replay: same {header} and body\nexpected: {first.status} {first.text[:300]}"
                    f"\nactual: {replay.status} {replay.text[:300]}",
                    [first, replay],
                    "replay",
                    good=True,
                )
            )
        if replay_header is not None:
            marked = {k.lower() for k in replay.response_headers}
            unmarked = {k.lower() for k in first.response_headers}
            if replay_header.lower() not in marked or replay_header.lower() in unmarked:
                findings.append(
                    self._finding(
                        "idempotency_replay",
                        label,
                        f"Replay header {replay_header} not as documented",
                        f"expected: {replay_header} on the replay only\nactual: first has it: "
                        f"{replay_header.lower() in unmarked}, replay has it: "
                        f"{replay_header.lower() in marked}",
                        [first, replay],
                        "replay_header",
                        good=True,
                    )
                )
        after = self._probe(label, first, ex)
        if before is not None and after is not None and before.json() != after.json():
            findings.append(
                self._finding(
                    "idempotency_effect",
                    label,
                    "The replay had a second effect (probe read changed)",
                    f"probe: {self._idempotency_spec(label).probe}\nexpected: {before.text[:300]}"
                    f"\nactual: {after.text[:300]}",
                    [first, replay, after],
                    "probe",
                    good=True,
                )
            )
        # Same key, another body: the documented conflict.
        other = next((e for e in exemplars if e.json_body() != ex.json_body() and e.body), None)
        if other is not None and conflict is not None:
            clash = self._send_keyed(ex, header, key, body=other.body)
            result.cases += 1
            if clash.status != conflict:
                findings.append(
                    self._finding(
                        "idempotency_conflict",
                        label,
                        f"Same key with another body not refused with {conflict}",
                        f"expected: {conflict}\nactual: {clash.status} {clash.text[:300]}",
                        [first, clash],
                        "conflict",
                        good=True,
                    )
                )
        # Two identical requests at once: one effect.
        pair_key = f"harness-{uuid.uuid4()}"
        barrier = threading.Barrier(2)
        answers: list[Sent | None] = [None, None]

        def fire(slot: int) -> None:
            barrier.wait(timeout=10)
            answers[slot] = self._send_keyed(ex, header, pair_key)

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result.cases += 2
        a, b = answers
        assert a is not None
        assert b is not None
        ok_statuses = {s for s in (conflict, 409, 429) if s is not None}
        both_ok = all(s.status is not None and 200 <= s.status < 300 for s in (a, b))
        if any(s.status is None for s in (a, b)):
            findings.append(
                self._hang(label, a if a.status is None else b, "concurrent pair", good=True)
            )
        elif both_ok and a.json() != b.json():
            findings.append(
                self._finding(
                    "idempotency_concurrent",
                    label,
                    "Two concurrent requests with one key had two effects",
                    f"expected: one effect (the same answer twice, or one {sorted(ok_statuses)})"
                    f"\nactual: {a.status} {a.text[:200]}\n        {b.status} {b.text[:200]}",
                    [a, b],
                    "concurrent",
                    good=True,
                )
            )
        elif not both_ok and not any(
            s.status is not None and 200 <= s.status < 300 for s in (a, b)
        ):
            findings.append(
                self._finding(
                    "idempotency_concurrent",
                    label,
                    "Neither of two concurrent requests with one key succeeded",
                    f"expected: one 2xx\nactual: {a.status}, {b.status}",
                    [a, b],
                    "concurrent_none",
                    good=True,
                )
            )
        elif not both_ok and not ({a.status, b.status} - set(range(200, 300))) <= ok_statuses:
            findings.append(
                self._finding(
                    "idempotency_concurrent",
                    label,
                    "A concurrent duplicate was answered with an undocumented status",
                    f"expected: 2xx twice, or one of {sorted(ok_statuses)}\n"
                    f"actual: {a.status}, {b.status}",
                    [a, b],
                    "concurrent_status",
                    good=True,
                )
            )
        self._invariants(label, [first, replay, a, b], result)

    def _invariants(self, label: str, answers: list[Sent], result: TargetResult) -> None:
        kinds = self.settings.service(self.service.name).idempotency.invariant_ids
        if not kinds or not self.settings.spec.invariants or not len(self.registry):
            return
        urls = {name: self.fleet.url(name) for name in self.fleet.manifest.services}
        with InvariantContext(urls, http=self.http) as ctx:
            for answer in answers:
                body = answer.json()
                if isinstance(body, Mapping):
                    for field, kind in kinds.items():
                        if isinstance(body.get(field), str):
                            ctx.remember(kind, body[field])
            if not any(ctx.known(kind) for kind in set(kinds.values())):
                return
            results = self.registry.check_all(ctx)
        failed = [r for r in results if not r.ok and not r.error]
        # An invariant that could not be read is no evidence either way: said, not judged.
        result.notes += [f"{label}: invariant {r}" for r in results if r.error]
        if failed:
            result.findings.append(
                self._finding(
                    "idempotency_effect",
                    label,
                    "A fleet invariant does not hold after the replays",
                    "\n".join(str(r) for r in failed),
                    answers,
                    "invariants",
                    good=True,
                )
            )
