"""Game-days on a fleet started elsewhere (``harness gameday --attach fleet.json``).

The description is what ``harness fleet up --json`` prints (``Fleet.describe()``): each
service's URL, pid and log, each edge's proxy, the Toxiproxy API. The attached fleet can
have toxics put on its edges, edges taken down, services paused and traffic bursts; it
cannot have its processes killed, stopped or started (they are not ours to start again,
so a rollback could not restore them): such a scenario is refused before anything runs.
Closing it closes our clients only; the fleet runs on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from harness.chaos.errors import AttachError, ScenarioError
from harness.chaos.scenario import Scenario, located
from harness.errors import InfraError, SpecIssue
from harness.faults.recovery import ProxyRecovery
from harness.faults.toxiproxy import ProxySpec, ToxiproxyClient
from harness.fleet.graph import derive_edges
from harness.fleet.lifecycle import Fleet, RunningService
from harness.fleet.manifest import Manifest
from harness.fleet.wiring import EdgeProxy
from harness.infra.base import Endpoint, PostgresServer, RedisServer, ToxiproxyServer
from harness.infra.process import ManagedProcess
from harness.yamlsource import Problem

__all__ = [
    "ATTACHED_ACTIONS",
    "AdoptedProcess",
    "AttachedFleet",
    "attach",
    "attach_problems",
    "read_description",
    "refuse_unattachable",
]

# What an attached fleet supports; the other process actions need a fleet we started.
ATTACHED_ACTIONS = ("pause",)


class AdoptedProcess(ManagedProcess):
    """A process started elsewhere, known by its pid: paused and resumed (with its whole
    tree), never started, stopped or killed by us."""

    def __init__(self, name: str, pid: int, log_path: Path) -> None:
        super().__init__(name, [f"(pid {pid}, started elsewhere)"], log_path=log_path)
        self._pid = pid

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def running(self) -> bool:
        try:
            return psutil.Process(self._pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    @property
    def returncode(self) -> int | None:
        return None

    def _refuse(self, what: str) -> InfraError:
        return InfraError(f"{self.name} was started elsewhere (--attach): we do not {what} it")

    def start(self) -> None:
        raise self._refuse("start")

    def stop(self, timeout: float = 5.0) -> None:
        raise self._refuse("stop")

    def kill(self) -> None:
        raise self._refuse("kill")

    def restart(self) -> None:
        raise self._refuse("restart")

    def _signal_tree(self, sig: signal.Signals) -> None:
        leader = psutil.Process(self._pid)
        found = [leader, *leader.children(recursive=True)]
        for proc in found:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)

    def pause(self) -> None:
        self._signal_tree(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_tree(signal.SIGCONT)


class _Elsewhere:
    """The infrastructure of an attached fleet: someone else's to start and stop."""

    name = "attached"

    def prepare_postgres(self, name: str = "postgres") -> PostgresServer:
        raise InfraError("an attached fleet's infrastructure is not ours")

    def postgres(self, name: str = "postgres") -> PostgresServer:
        raise InfraError("an attached fleet's infrastructure is not ours")

    def prepare_redis(self, name: str = "redis") -> RedisServer:
        raise InfraError("an attached fleet's infrastructure is not ours")

    def redis(self, name: str = "redis") -> RedisServer:
        raise InfraError("an attached fleet's infrastructure is not ours")

    def toxiproxy(self) -> ToxiproxyServer:
        raise InfraError("an attached fleet's Toxiproxy is not ours")

    def close(self) -> None:
        """Nothing of ours to stop."""


class AttachedFleet(Fleet):
    """A running fleet described by ``harness fleet up --json``; closing leaves it running."""

    def close(self) -> None:
        if self._toxiproxy is not None:
            self._toxiproxy.close()
        if self._recovery is not None:
            self._recovery.close()
        self._probe.close()


def read_description(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AttachError([SpecIssue(str(path), 0, "", f"not a fleet description: {exc}")]) from exc
    if not isinstance(data, dict) or "services" not in data or "edges" not in data:
        raise AttachError(
            [SpecIssue(str(path), 0, "", "not a fleet description (harness fleet up --json)")]
        )
    return data


def attach(description: Mapping[str, Any], manifest: Manifest, source: str) -> AttachedFleet:
    """The fleet ``description`` describes, checked against ``manifest``."""
    issues = []
    missing = sorted(set(manifest.services) - set(description["services"]))
    if missing:
        issues.append(SpecIssue(source, 0, "services", f"not in the description: {missing}"))
    dead = [
        name
        for name, svc in description["services"].items()
        if not _alive(int(svc.get("pid") or 0))
    ]
    if dead:
        issues.append(SpecIssue(source, 0, "services", f"not running: {', '.join(dead)}"))
    if issues:
        raise AttachError(issues)
    fleet = AttachedFleet(
        manifest,
        _Elsewhere(),
        Path(description.get("workdir") or "."),
        proxied=bool(description.get("proxied", True)),
    )
    for name, svc in description["services"].items():
        if name not in manifest.services:
            continue
        port = Endpoint.parse(str(svc["url"]).removeprefix("http://")).port
        process = AdoptedProcess(name, int(svc["pid"]), Path(svc.get("log") or os.devnull))
        fleet.services[name] = RunningService(name, manifest.services[name], port, process, {})
    edges = {edge.name: edge for edge in derive_edges(manifest)}
    specs = []
    for name, data in description["edges"].items():
        if name not in edges:
            continue
        listen, upstream = Endpoint.parse(data["listen"]), Endpoint.parse(data["upstream"])
        fleet.edges[name] = EdgeProxy(edges[name], data.get("proxy"), listen, upstream)
        if data.get("proxy"):
            specs.append(ProxySpec(data["proxy"], data["listen"], data["upstream"]))
    api = (description.get("toxiproxy") or {}).get("api")
    if api:
        fleet._toxiproxy = ToxiproxyClient(api)
        fleet._toxiproxy_api = api
        fleet._recovery = ProxyRecovery(api, specs)  # no restart: the server is not ours
    return fleet


def _alive(pid: int) -> bool:
    try:
        return pid > 0 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def attach_problems(spec: Scenario) -> list[SpecIssue]:
    """Process actions an attached fleet cannot undo."""
    found = [
        Problem(
            ("method", index, "fault", "action"),
            f"'{action.fault.action}' needs a fleet the harness starts (with --attach only "
            f"{', '.join(ATTACHED_ACTIONS)} is possible: we could not start it again)",
        )
        for index, action in enumerate(spec.method)
        if action.fault.service is not None and action.fault.action not in ATTACHED_ACTIONS
    ]
    found += [
        Problem(
            ("method", index, "fault", "container"),
            "container faults need the containers the harness runs (not possible with --attach)",
        )
        for index, action in enumerate(spec.method)
        if action.fault.container is not None
    ]
    return located(str(spec.path or spec.name), found)


def refuse_unattachable(spec: Scenario) -> None:
    issues = attach_problems(spec)
    if issues:
        raise ScenarioError(issues)
