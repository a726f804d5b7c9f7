"""Putting proxies back the way they were, even when Toxiproxy's control API misbehaves.

Removing a toxic can hang while connections are in flight through it (Shopify/toxiproxy#558,
open; older reports #412, #210, #159): the DELETE does not answer, and a second one a moment
later may succeed. A rollback cannot depend on that call, so :class:`ProxyRecovery` works in
steps, each recorded as a :class:`RecoveryStep` (journals and logs show what it took):

1. the direct call (DELETE the toxic, PATCH ``enabled``), retried a bounded number of times,
   each attempt with its own short timeout, and verified by reading the proxy back (a call
   that timed out may still have taken effect; one that "succeeded" is checked too);
2. re-create the proxy on the same listen address (DELETE the proxy, POST it again, clean);
3. as a last resort, restart the Toxiproxy server the harness owns (same API address) and
   re-create every proxy it knew.

It raises :class:`RecoveryFailed` (with every step) only when all of that failed.
The recovery uses its own HTTP client, so a connection stuck in the fault's client cannot
hold a rollback up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.closing import Closing
from harness.faults.toxiproxy import (
    NotFound,
    Proxy,
    ProxySpec,
    ToxiproxyClient,
    ToxiproxyError,
)

__all__ = [
    "ProxyRecovery",
    "RecoveryFailed",
    "RecoveryPolicy",
    "RecoveryStep",
    "RestartServer",
    "Wanted",
    "specs_from",
]

log = logging.getLogger(__name__)

RestartServer = Callable[[], None]
"""Restarts the Toxiproxy server on the same API address and returns once it answers."""


@dataclass(frozen=True)
class RecoveryPolicy:
    """How hard to try before escalating. Times are seconds."""

    attempts: int = 3
    attempt_timeout: float = 2.0
    backoff: float = 0.2


@dataclass(frozen=True)
class RecoveryStep:
    """One thing the recovery did, and whether it worked."""

    action: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }

    def __str__(self) -> str:
        outcome = "ok" if self.ok else f"failed: {self.detail}"
        return f"{self.action}: {outcome}"


class RecoveryFailed(ToxiproxyError):
    """Every step failed; ``steps`` says what was tried."""

    def __init__(self, what: str, steps: list[RecoveryStep]) -> None:
        self.steps = steps
        tried = "; ".join(str(step) for step in steps)
        super().__init__(None, f"could not {what}: {tried}")


Wanted = Callable[[Proxy], bool]


def _clean(proxy: Proxy) -> bool:
    return proxy.enabled and not proxy.toxics


class ProxyRecovery(Closing):
    """Restores proxies of one Toxiproxy server, escalating as the module docstring says.

    ``specs`` are the proxies as they should be (name, listen, upstream); proxies not in it
    are learned by :meth:`remember` (read from the server before a fault is injected).
    ``restart_server`` is given only when the harness owns the server.
    """

    def __init__(
        self,
        api_url: str,
        specs: Iterable[ProxySpec] = (),
        *,
        restart_server: RestartServer | None = None,
        policy: RecoveryPolicy | None = None,
        on_step: Callable[[RecoveryStep], None] | None = None,
    ) -> None:
        self.policy = policy or RecoveryPolicy()
        self.client = ToxiproxyClient(api_url, timeout=self.policy.attempt_timeout)
        self.specs: dict[str, ProxySpec] = {spec.name: spec for spec in specs}
        self.restart_server = restart_server
        self.on_step = on_step
        self.steps: list[RecoveryStep] = []

    def close(self) -> None:
        self.client.close()

    def remember(self, proxy: str) -> None:
        """Read ``proxy`` from the server unless its spec is known (before injecting a fault)."""
        if proxy in self.specs:
            return
        found = self.client.proxy(proxy)
        # Enabled, as a restored proxy must be, whatever it is at this moment.
        self.specs[proxy] = ProxySpec(found.name, found.listen, found.upstream, True)

    # --- what callers ask for ------------------------------------------------------------

    def remove_toxic(self, proxy: str, toxic: str) -> list[RecoveryStep]:
        """The toxic gone from ``proxy`` (already gone is fine)."""

        def act() -> None:
            with contextlib.suppress(NotFound):
                self.client.remove_toxic(proxy, toxic)

        return self._restore(
            proxy,
            f"remove toxic {toxic} from {proxy}",
            act,
            lambda p: all(t.name != toxic for t in p.toxics),
        )

    def enable(self, proxy: str) -> list[RecoveryStep]:
        return self._restore(
            proxy, f"enable {proxy}", lambda: self.client.enable(proxy), lambda p: p.enabled
        )

    def clean(self, proxy: str) -> list[RecoveryStep]:
        """Every toxic removed from ``proxy`` and the proxy enabled."""

        def act() -> None:
            current = self.client.proxy(proxy)
            for toxic in current.toxics:
                with contextlib.suppress(NotFound):
                    self.client.remove_toxic(proxy, toxic.name)
            if not current.enabled:
                self.client.enable(proxy)

        return self._restore(proxy, f"clean {proxy}", act, _clean)

    def clean_all(self) -> list[RecoveryStep]:
        """Every known proxy clean; one failing proxy does not stop the others."""
        steps: list[RecoveryStep] = []
        failures: list[RecoveryStep] = []
        for name in sorted(self.specs):
            try:
                steps += self.clean(name)
            except RecoveryFailed as exc:
                steps += exc.steps
                failures += exc.steps
        if failures:
            raise RecoveryFailed("clean every proxy", steps)
        return steps

    def verify_all(self) -> dict[str, str]:
        """Proxies that are not clean (name -> why); empty when all are."""
        try:
            found = self.client.proxies()
        except ToxiproxyError as exc:
            return dict.fromkeys(self.specs, f"cannot read the proxies: {exc}")
        problems: dict[str, str] = {}
        for name in sorted(self.specs):
            proxy = found.get(name)
            if proxy is None:
                problems[name] = "missing"
            elif not _clean(proxy):
                toxics = ", ".join(t.name for t in proxy.toxics) or "none"
                problems[name] = f"enabled={proxy.enabled}, toxics: {toxics}"
        return problems

    # --- the escalation ------------------------------------------------------------------

    def _restore(
        self, proxy: str, what: str, act: Callable[[], Any], wanted: Wanted
    ) -> list[RecoveryStep]:
        steps: list[RecoveryStep] = []
        for attempt in range(1, self.policy.attempts + 1):
            self._step(steps, f"{what} (attempt {attempt})", act)
            if self._verified(steps, proxy, wanted):
                return steps
            if attempt < self.policy.attempts:
                time.sleep(self.policy.backoff * attempt)
        spec = self.specs.get(proxy)
        if spec is not None:
            self._step(steps, f"re-create {proxy} on {spec.listen}", lambda: self._recreate(spec))
            if self._verified(steps, proxy, wanted):
                return steps
        if self.restart_server is not None:
            restart = self.restart_server
            self._step(steps, "restart the Toxiproxy server", restart)
            self._step(steps, f"re-create all {len(self.specs)} proxies", self._recreate_all)
            if self._verified(steps, proxy, wanted):
                return steps
        raise RecoveryFailed(what, steps)

    def _recreate(self, spec: ProxySpec) -> None:
        with contextlib.suppress(NotFound):
            self.client.delete_proxy(spec.name)
        self.client.create_proxy(spec.name, spec.listen, spec.upstream, enabled=True)

    def _recreate_all(self) -> None:
        existing = self.client.proxies()
        for spec in self.specs.values():
            if spec.name in existing:
                self.client.delete_proxy(spec.name)
            self.client.create_proxy(spec.name, spec.listen, spec.upstream, enabled=True)

    def _verified(self, steps: list[RecoveryStep], proxy: str, wanted: Wanted) -> bool:
        began = time.monotonic()
        try:
            found = self.client.proxy(proxy)
        except ToxiproxyError as exc:
            self._record(steps, RecoveryStep(f"read {proxy} back", False, str(exc), _since(began)))
            return False
        ok = wanted(found)
        toxics = ", ".join(t.name for t in found.toxics) or "none"
        detail = "" if ok else f"enabled={found.enabled}, toxics: {toxics}"
        self._record(steps, RecoveryStep(f"read {proxy} back", ok, detail, _since(began)))
        return ok

    def _step(self, steps: list[RecoveryStep], action: str, call: Callable[[], Any]) -> None:
        began = time.monotonic()
        try:
            call()
        except Exception as exc:  # every failure is a step's outcome; escalation decides
            self._record(steps, RecoveryStep(action, False, str(exc), _since(began)))
            return
        self._record(steps, RecoveryStep(action, True, "", _since(began)))

    def _record(self, steps: list[RecoveryStep], step: RecoveryStep) -> None:
        steps.append(step)
        self.steps.append(step)
        (log.info if step.ok else log.warning)("toxiproxy recovery: %s", step)
        if self.on_step is not None:
            self.on_step(step)


def specs_from(proxies: Mapping[str, Proxy]) -> list[ProxySpec]:
    """The clean specs of proxies read from a server (a snapshot to restore to)."""
    return [ProxySpec(p.name, p.listen, p.upstream, True) for p in proxies.values()]


def _since(began: float) -> float:
    return time.monotonic() - began
