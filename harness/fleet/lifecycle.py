"""Start a fleet from its manifest with Toxiproxy on every edge, and tear it all down again.

Start: everything that can start at once does. Every server's address is chosen before it
runs, so while PostgreSQL (initdb: the slow part), Redis and Toxiproxy boot in background
threads, the fleet creates every proxy (one request, once Toxiproxy answers) and starts
the services: a caller needs its callee only once it serves requests, and the callee's
proxy exists already, so ``calls`` (and ``requires``) order nothing; ``depends_on`` does
(start after it is ready). A service that ``waits_for_infra`` itself
starts at once; any other one once its database server (and its database) and its broker
are up. The fleet is ready when every service answers its readiness path and every server
is up; ``timings`` says where the time went. Any failure (including Ctrl-C or SIGTERM, see
:mod:`harness.fleet.signals`) tears down whatever already started before the error
propagates.

Teardown (:meth:`Fleet.close`): every service at once, the proxies we created, the
provider's servers (together), then the work directory (logs are copied out first when
asked to). It is idempotent, never raises, and holds SIGINT/SIGTERM back until it is done.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from harness.closing import Closing
from harness.errors import FleetError, HarnessError, InfraError, ServiceNotReadyError
from harness.faults.edge import EdgeFaults
from harness.faults.recovery import ProxyRecovery, RecoveryStep
from harness.faults.toxiproxy import (
    AlreadyExists,
    ProxySpec,
    ToxiproxyClient,
    edge_to_proxy_name,
)
from harness.fleet import signals
from harness.fleet.graph import Edge, EdgeKind, derive_edges
from harness.fleet.manifest import InfraKind, Manifest, ServiceSpec
from harness.fleet.readiness import NotReady, ReadinessProbe
from harness.fleet.templating import render_command
from harness.fleet.wiring import LOOPBACK, EdgeProxy, InfraServer, dependency_url, service_env
from harness.fleet.zygote import start_zygote
from harness.infra import runs
from harness.infra.base import Endpoint, InfraProvider
from harness.infra.ports import free_port
from harness.infra.process import ManagedProcess
from harness.infra.zygote import Zygote

if TYPE_CHECKING:  # imported when used: it brings the Docker SDK
    from harness.fleet.containers import ContainerBackend

log = logging.getLogger(__name__)

# Readiness polling: the first pause after a change, and the longest one.
_PROBE_MIN = 0.002
_PROBE_MAX = 0.02
_STOP_TIMEOUT = 5.0


@dataclass
class RunningService:
    """A started service: its address, its process (for kill/pause/restart) and its log."""

    name: str
    spec: ServiceSpec
    port: int
    process: ManagedProcess
    # The variables the harness set (the rest is inherited from our own environment).
    env: dict[str, str]
    # Seconds from the fleet's boot to this service's start, and from its start to ready.
    started_after: float | None = None
    ready_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.process.log_path


class Fleet(Closing):
    """A running fleet. Build it with :meth:`start` (or :func:`harness.fleet.launch`).

    The handle: :meth:`url`, :attr:`services` (each with its ``process`` for kill, pause
    and restart), :meth:`edge` (faults as context managers), :attr:`edges` (each edge's
    proxy and upstream), :attr:`toxiproxy` (the client), :meth:`logs`.
    """

    def __init__(
        self,
        manifest: Manifest,
        provider: InfraProvider,
        workdir: Path,
        *,
        proxied: bool = True,
        keep_logs: Path | None = None,
        remove_workdir: bool = False,
        zygote: bool = True,
        containers: ContainerBackend | None = None,
    ) -> None:
        self.manifest = manifest
        self.provider = provider
        self.workdir = workdir
        self.proxied = proxied
        self.keep_logs = keep_logs
        self.remove_workdir = remove_workdir
        self.use_zygote = zygote
        # Forks the `module:` services (harness.fleet.zygote); None: plain starts.
        self.zygote: Zygote | None = None
        # The docker fleet backend (services as containers); None: services are processes.
        self.containers = containers
        self.services: dict[str, RunningService] = {}
        self.edges: dict[str, EdgeProxy] = {}
        self.infra: dict[str, InfraServer] = {}
        self.boot_seconds: float | None = None
        # Where a boot's time went, in seconds, for benchmarks. Phases overlap (servers boot
        # while services start): "toxiproxy", "infra:<name>", "infra" (every server up,
        # databases made) and "zygote" (its preload done) count from the boot's start;
        # "databases:<name>" from that server being up; "proxies" is their creation;
        # "services" from the first service's start to the last one ready.
        self.timings: dict[str, float] = {}
        # Seconds per teardown step ("services", "zygote", "proxies", "infra", "workdir").
        self.teardown_timings: dict[str, float] = {}
        self.teardown_problems: list[str] = []
        self._toxiproxy: ToxiproxyClient | None = None
        self._recovery: ProxyRecovery | None = None
        self._toxiproxy_api: str | None = None
        self._toxiproxy_host: str | None = None
        self._created_proxies: list[str] = []
        self._probe = ReadinessProbe()
        self._jobs: list[Future[Any]] = []
        self._began = time.monotonic()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self.services)} services"
        return f"<Fleet {self.manifest.name!r} {state}>"

    # --- start ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        manifest: Manifest,
        provider: InfraProvider,
        workdir: Path,
        *,
        proxied: bool | None = None,
        keep_logs: Path | None = None,
        remove_workdir: bool = False,
        zygote: bool = True,
        containers: ContainerBackend | None = None,
    ) -> Fleet:
        """Boot ``manifest`` on ``provider``; the fleet owns (and closes) the provider.

        ``proxied`` overrides the manifest's switch; ``keep_logs`` is a directory the logs
        are copied into at teardown; ``remove_workdir`` deletes ``workdir`` at teardown;
        ``zygote=False`` starts every service the plain way (see :mod:`harness.fleet.zygote`);
        ``containers`` runs the services as containers (the fleet closes it too).
        """
        fleet = cls(
            manifest,
            provider,
            workdir,
            proxied=manifest.proxied if proxied is None else proxied,
            keep_logs=keep_logs,
            remove_workdir=remove_workdir,
            zygote=zygote,
            containers=containers,
        )
        began = time.monotonic()
        try:
            fleet._boot()
        except BaseException:
            fleet.close()
            raise
        fleet.boot_seconds = time.monotonic() - began
        return fleet

    def _boot(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "sqlite").mkdir(exist_ok=True)
        self._began = time.monotonic()
        if self.containers is not None:
            if not self.proxied:
                # A container reaches the host's servers only through a proxy on its network.
                raise FleetError("the docker fleet backend needs Toxiproxy (proxied: true)")
            with self._phase("network"):
                self.containers.open(self.workdir)
        # Every server's address is known before it runs: proxies and services are wired
        # to it while it boots (PostgreSQL's initdb is the slow part of any boot).
        self.infra = self._prepare_infra()
        infra_up = {name: self._in_background(self._bring_up, name) for name in self.infra}
        for name, job in infra_up.items():
            # Timed when it happens: the start loop may be busy (waiting for the zygote).
            job.add_done_callback(self._timer(f"infra:{name}"))
        toxiproxy = self._in_background(self.provider.toxiproxy) if self.proxied else None
        if self.use_zygote and self.containers is None:
            # Started first: its preload is the longest thing the services wait for.
            self.zygote = start_zygote(self.manifest, self.workdir, _inherited_env())
        ports = self._allocate_ports()
        if toxiproxy is not None:
            server = self._wait_for(toxiproxy, "toxiproxy", infra_up)
            self._toxiproxy_api = server.api_url
            self._toxiproxy_host = server.endpoint.host
            self._toxiproxy = ToxiproxyClient(server.api_url)
            # The last resort of a rollback (see harness.faults.recovery) needs a server we
            # own: an external Toxiproxy is never restarted.
            owned = _process_of(server) is not None
            self._recovery = ProxyRecovery(
                server.api_url, restart_server=self._restart_toxiproxy if owned else None
            )
        with self._phase("proxies"):
            self._wire_edges(ports)
        if self.containers is not None:
            with self._phase("containers"):
                self.containers.create_all(self, ports)
        self._start_services(ports, infra_up)

    def _since_began(self) -> float:
        return time.monotonic() - self._began

    def _timer(self, phase: str) -> Callable[[Future[Any]], None]:
        def record(_: Future[Any]) -> None:
            self.timings.setdefault(phase, self._since_began())

        return record

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - began

    def _in_background(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        # Kept on the fleet: if we are interrupted while waiting, close() waits for these
        # before closing the provider, so no server can start after the teardown.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness-boot")
        try:
            job = pool.submit(work, *args)
        finally:
            pool.shutdown(wait=False)
        self._jobs.append(job)
        return job

    def _wait_for(self, job: Future[Any], phase: str, others: Mapping[str, Future[Any]]) -> Any:
        """``job``'s result, timed as ``phase``; a server of ``others`` that fails first
        fails the boot at once rather than after ``job``."""
        while True:
            done, _ = wait([job, *others.values()], return_when=FIRST_COMPLETED)
            for other in done - {job}:
                other.result()
            if job in done:
                self.timings[phase] = time.monotonic() - self._began
                return job.result()
            others = {name: o for name, o in others.items() if not o.done()}

    def _prepare_infra(self) -> dict[str, InfraServer]:
        planned: dict[str, InfraServer] = {}
        for name, spec in sorted(self.manifest.infra.items()):
            if spec.kind is InfraKind.POSTGRES:
                planned[name] = self.provider.prepare_postgres(name)
            elif spec.kind is InfraKind.REDIS:
                planned[name] = self.provider.prepare_redis(name)
        return planned

    def _bring_up(self, name: str) -> None:
        """Start infra server ``name``, then create its databases (in parallel: CREATE
        DATABASE copies a template and takes a few hundred ms)."""
        spec = self.manifest.infra[name]
        if spec.kind is InfraKind.REDIS:
            self.provider.redis(name)
            return
        server = self.provider.postgres(name)
        up = time.monotonic()
        names = sorted(
            {
                svc.database.name
                for svc in self.manifest.services.values()
                if svc.database is not None and svc.database.infra == name
            }
        )
        if names:
            with ThreadPoolExecutor(len(names), thread_name_prefix="harness-db") as pool:
                for created in [pool.submit(server.create_database, db) for db in names]:
                    created.result()
        self.timings[f"databases:{name}"] = time.monotonic() - up

    def _allocate_ports(self) -> dict[str, int]:
        # Every port is known before anything starts: a proxy's upstream is a callee that
        # starts later, and a caller's environment names the proxy before that.
        return {
            name: spec.port if spec.port is not None else free_port(LOOPBACK)
            for name, spec in self.manifest.services.items()
        }

    def _upstream(self, edge: Edge, ports: Mapping[str, int]) -> Endpoint:
        if edge.kind is EdgeKind.HTTP:
            return Endpoint(LOOPBACK, ports[edge.target])
        return self.infra[edge.target].endpoint

    def _wire_edges(self, ports: Mapping[str, int]) -> None:
        wanted: list[tuple[Edge, ProxySpec]] = []
        for edge in derive_edges(self.manifest):
            upstream = self._upstream(edge, ports)
            if self._toxiproxy is None:
                self.edges[edge.name] = EdgeProxy(edge, None, upstream, upstream)
                continue
            wanted.append(
                (edge, ProxySpec(edge_to_proxy_name(edge.name), self._listen(), upstream.address))
            )
        if not wanted:
            return
        client = self.toxiproxy
        # Never take over someone else's proxy on a shared Toxiproxy: creating one that
        # exists is refused (409), so populating (which replaces) is only for new names.
        taken = sorted(set(client.proxies()) & {spec.name for _, spec in wanted})
        if taken:
            raise AlreadyExists(
                409, f"proxies exist already: {', '.join(taken)} [{client.api_url}]"
            )
        # One request for all of them, rather than one per edge.
        made = {proxy.name: proxy for proxy in client.populate(spec for _, spec in wanted)}
        for edge, spec in wanted:
            self._created_proxies.append(spec.name)
            listen = made[spec.name].listen_endpoint
            if self._recovery is not None:
                self._recovery.specs[spec.name] = ProxySpec(
                    spec.name, made[spec.name].listen, made[spec.name].upstream
                )
            self.edges[edge.name] = EdgeProxy(
                edge, spec.name, listen, Endpoint.parse(spec.upstream)
            )

    def _listen(self) -> str:
        assert self._toxiproxy_host is not None
        # Proxies listen where the Toxiproxy server runs. On loopback we choose the port:
        # outside the kernel's ephemeral range, so a proxy disabled and enabled again (the
        # `down` fault) can always bind it back (see harness.infra.ports).
        host = self._toxiproxy_host
        if self.containers is not None:
            # Containers reach the host (and Toxiproxy there) at their network's gateway.
            host = self.containers.gateway
        port = free_port(host) if host in (LOOPBACK, self._container_gateway()) else 0
        return f"{Endpoint(host, port).address}"

    def _container_gateway(self) -> str | None:
        return self.containers.gateway if self.containers is not None else None

    def _restart_toxiproxy(self) -> None:
        """Kill and start our Toxiproxy server on its API address (its proxies are lost)."""
        server = self.provider.toxiproxy()
        process = _process_of(server)
        if process is None:
            raise FleetError("the Toxiproxy server is not ours to restart")
        process.kill()  # SIGKILL: a hung (or SIGSTOPped) server does not stop gracefully
        process.start()
        wait_ready = getattr(server, "wait_ready", None)
        if callable(wait_ready):
            wait_ready()

    def _infra_used(self, spec: ServiceSpec) -> set[str]:
        used = {spec.database.infra} if spec.database is not None else set()
        if spec.broker is not None:
            used.add(spec.broker.infra)
        return used & set(self.infra)

    def _start_services(
        self, ports: Mapping[str, int], infra_up: Mapping[str, Future[Any]]
    ) -> None:
        """Start every service as soon as it may, and wait until all are ready.

        A service may start once the services it ``depends_on`` are ready and, unless it
        ``waits_for_infra`` itself, once its database server (with its databases) and its
        broker are up. Calls do not gate anything: the callee's proxy exists already. The
        fleet is ready when every service answers its readiness path and every server is
        up. Probing is a port check (microseconds) until something listens, then HTTP;
        the pause between rounds starts at a few ms and grows while nothing changes, and
        a server coming up ends it early.
        """
        specs = self.manifest.services
        needs = {name: set(spec.depends_on) for name, spec in specs.items()}
        infra_needs = {
            name: set() if spec.waits_for_infra else self._infra_used(spec)
            for name, spec in specs.items()
        }
        pending = sorted(specs)
        booting: dict[str, float] = {}
        ready: set[str] = set()
        servers_up: set[str] = set()
        first_start: float | None = None
        pause = _PROBE_MIN
        while pending or booting or len(servers_up) < len(infra_up):
            changed = False
            for name, job in infra_up.items():
                if name not in servers_up and job.done():
                    job.result()  # a server that failed to start fails the boot
                    servers_up.add(name)
                    self.timings.setdefault(f"infra:{name}", self._since_began())
                    changed = True
            for name in [n for n in pending if needs[n] <= ready and infra_needs[n] <= servers_up]:
                pending.remove(name)
                service = self._prepare(name, ports[name])
                # Registered before the start: a failure right after still stops it.
                self.services[name] = service
                service.process.start()
                booting[name] = time.monotonic()
                service.started_after = booting[name] - self._began
                first_start = booting[name] if first_start is None else first_start
                changed = True
            for name in [name for name, began in booting.items() if self._booted(name, began)]:
                self.services[name].ready_seconds = time.monotonic() - booting.pop(name)
                ready.add(name)
                changed = True
            if changed:
                pause = _PROBE_MIN
                continue
            waiting = [job for name, job in infra_up.items() if name not in servers_up]
            if waiting:
                wait(waiting, timeout=pause, return_when=FIRST_COMPLETED)
            else:
                time.sleep(pause)
            pause = min(pause * 2, _PROBE_MAX)
        if infra_up:
            self.timings["infra"] = max(self.timings[f"infra:{name}"] for name in infra_up)
        if first_start is not None:
            self.timings["services"] = time.monotonic() - first_start
        if self.zygote is not None and self.zygote.ready_at is not None:
            # Its preload, from the boot's start (the services' start waits for it).
            self.timings["zygote"] = self.zygote.ready_at - self._began

    def _booted(self, name: str, began: float) -> bool:
        """One readiness probe; raises when the service exited or ran out of time."""
        service = self.services[name]
        if not service.process.running:
            code = service.process.returncode
            state = f"exited with code {code} before it was ready"
            raise ServiceNotReadyError(self._not_ready(name, state, None))
        try:
            return self._probe_readiness(name)
        except (httpx.HTTPError, NotReady) as exc:
            if time.monotonic() - began >= service.spec.ready_timeout:
                state = f"not ready after {service.spec.ready_timeout:g} s"
                raise ServiceNotReadyError(self._not_ready(name, state, exc)) from None
            return False

    def _not_ready(self, name: str, state: str, last_error: Exception | None) -> str:
        service = self.services[name]
        cause = f" (last error: {last_error})" if last_error is not None else ""
        wanted = service.spec.ready_check.describe(service.url, service.port)
        return (
            f"fleet '{self.manifest.name}': service {name} {state}: "
            f"{wanted}{cause}\n"
            f"--- last lines of {service.log_path} ---\n{service.process.log_tail()}"
        )

    def _prepare(self, name: str, port: int) -> RunningService:
        if self.containers is not None:
            return self.containers.prepare(self, name, port)
        spec = self.manifest.services[name]
        (self.workdir / "services" / name).mkdir(parents=True, exist_ok=True)
        env = service_env(self.manifest, name, port, self.edges, self.infra, self.workdir)
        process = ManagedProcess(
            name,
            self._argv(name, port),
            env={**_inherited_env(), **env},
            cwd=self.manifest.service_cwd(name),
            log_path=self.workdir / "logs" / f"{name}.log",
            launcher=self.zygote,
        )
        return RunningService(name, spec, port, process, env)

    def _argv(self, name: str, port: int) -> list[str]:
        """The command line, with ``{port}``, ``{host}`` and ``{calls.NAME}`` filled in."""
        spec = self.manifest.services[name]
        calls = {
            wired.edge.target: dependency_url(self.manifest, wired.edge, wired.listen, self.infra)
            for wired in self.edges.values()
            if wired.edge.source == name and wired.edge.kind is EdgeKind.HTTP
        }
        return render_command(spec.argv(), host=LOOPBACK, port=port, calls=calls)

    # --- the handle ----------------------------------------------------------------------

    def service(self, name: str) -> RunningService:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise FleetError(f"unknown service '{name}' (services: {known})") from None

    def url(self, service: str) -> str:
        """Base URL of ``service`` itself (not through a proxy), e.g. http://127.0.0.1:20412."""
        return self.service(service).url

    def edge_proxy(self, name: str) -> EdgeProxy:
        try:
            return self.edges[name]
        except KeyError:
            known = ", ".join(sorted(self.edges)) or "none"
            raise FleetError(f"unknown edge '{name}' (edges: {known})") from None

    def edge(self, name: str) -> EdgeFaults:
        """Faults on one edge, as context managers: ``with fleet.edge("a->b").latency(800):``."""
        found = self.edge_proxy(name)
        if found.proxy is None:
            raise FleetError(f"edge '{name}' has no proxy: this fleet runs unproxied")
        return EdgeFaults(self.toxiproxy, found.proxy, self._recovery)

    @property
    def proxy_recovery(self) -> ProxyRecovery:
        """Restores this fleet's proxies with retries and escalation (rollbacks use it)."""
        if self._recovery is None:
            raise FleetError("this fleet runs unproxied: there is no Toxiproxy")
        return self._recovery

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        """The client of this fleet's Toxiproxy."""
        if self._toxiproxy is None:
            raise FleetError("this fleet runs unproxied: there is no Toxiproxy")
        return self._toxiproxy

    @property
    def toxiproxy_api(self) -> str | None:
        return self._toxiproxy_api

    def reset_faults(self) -> list[RecoveryStep]:
        """Every proxy enabled without toxics, verified; escalates as
        :class:`ProxyRecovery` does. Returns the steps it took."""
        if self._recovery is None:
            return []
        return self._recovery.clean_all()

    def clear_edge(self, name: str) -> list[RecoveryStep]:
        """Remove every toxic from one edge's proxy and enable it again (verified)."""
        proxy = self.edge_proxy(name).proxy
        if proxy is None or self._recovery is None:
            return []
        return self._recovery.clean(proxy)

    def logs(self, service: str, lines: int | None = None) -> str:
        """The service's log (its last ``lines`` lines when given)."""
        process = self.service(service).process
        if lines is not None:
            return process.log_tail(lines)
        try:
            return process.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def readiness_url(self, service: str) -> str:
        """The URL of the readiness path (FleetError for a service not ready by HTTP)."""
        running = self.service(service)
        path = running.spec.ready_check.http
        if path is None:
            raise FleetError(f"service {service} has no HTTP readiness path")
        return running.url + path

    def is_ready(self, service: str) -> bool:
        """One probe of the service's readiness check (HTTP: its path answers 200)."""
        try:
            return self._probe_readiness(service)
        except (httpx.HTTPError, NotReady):
            return False

    def _probe_readiness(self, service: str) -> bool:
        running = self.service(service)
        return self._probe.check_service(
            running.spec.ready_check, running.url, running.port, running.process
        )

    def wait_ready(self, service: str, timeout: float | None = None) -> None:
        """Block until ``service`` answers 200 on its readiness path (after a restart, say)."""
        running = self.service(service)
        limit = running.spec.ready_timeout if timeout is None else timeout
        probe = running.spec.ready_check.describe(running.url, running.port)
        try:
            running.process.wait_until(
                lambda: self._probe_readiness(service),
                limit,
                interval=_PROBE_MAX,
                what=probe,
            )
        except InfraError as exc:
            raise ServiceNotReadyError(f"fleet '{self.manifest.name}': {exc}") from exc

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary: services, edges, infrastructure, pids, the work directory."""
        toxiproxy_process = _process_of(self._toxiproxy_server())
        return {
            "name": self.manifest.name,
            "proxied": self.proxied,
            "backend": self.containers.name if self.containers is not None else "process",
            "workdir": str(self.workdir),
            "boot_seconds": self.boot_seconds,
            "timings": self.timings,
            "zygote": self.zygote.pid if self.zygote is not None else None,
            "toxiproxy": {
                "api": self._toxiproxy_api,
                "pid": toxiproxy_process.pid if toxiproxy_process else None,
            },
            "infra": {
                name: {
                    "kind": self.manifest.infra[name].kind.value,
                    "address": server.endpoint.address,
                    "pid": (proc.pid if (proc := _process_of(server)) else None),
                }
                for name, server in self.infra.items()
            },
            "services": {
                name: {
                    "url": svc.url,
                    "pid": svc.process.pid,
                    "log": str(svc.log_path),
                    "started_after": svc.started_after,
                    "ready_seconds": svc.ready_seconds,
                }
                for name, svc in self.services.items()
            },
            "edges": {
                name: {
                    "kind": e.edge.kind.value,
                    "proxy": e.proxy,
                    "listen": e.listen.address,
                    "upstream": e.upstream.address,
                    "env": e.edge.env,
                }
                for name, e in self.edges.items()
            },
        }

    def _toxiproxy_server(self) -> object | None:
        if self._toxiproxy is None:
            return None
        # The provider memoizes its Toxiproxy: asking again returns the running one.
        try:
            return self.provider.toxiproxy()
        except HarnessError:
            return None

    # --- teardown ------------------------------------------------------------------------

    def close(self) -> None:
        """Tear everything down in reverse order; idempotent; problems go to teardown_problems."""
        if self._closed:
            return
        self._closed = True
        with signals.deferred():
            for job in self._jobs:
                job.exception()  # wait: a server still starting must be known to the provider
            with self._timed_teardown("services"):
                self._stop_services()
                if self.containers is not None:
                    self.containers.close(self.teardown_problems)
            if self.zygote is not None:
                with self._timed_teardown("zygote"):
                    self._attempt("stop the zygote", self.zygote.close)
            with self._timed_teardown("proxies"):
                self._delete_proxies()
            with self._timed_teardown("infra"):
                self._attempt("close the infra provider", self.provider.close)
            self._probe.close()
            self._collect_logs()
            if self.remove_workdir:
                with self._timed_teardown("workdir"):
                    self._attempt("remove the work directory", self._remove_workdir)
        for problem in self.teardown_problems:
            log.warning("fleet '%s' teardown: %s", self.manifest.name, problem)

    @contextmanager
    def _timed_teardown(self, step: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        finally:
            self.teardown_timings[step] = time.monotonic() - began

    def _remove_workdir(self) -> None:
        shutil.rmtree(self.workdir)
        runs.current().drop_path(self.workdir)

    def _attempt(self, what: str, action: Any) -> None:
        try:
            action()
        except Exception as exc:  # teardown goes on; the problem is reported, not raised
            self.teardown_problems.append(f"{what}: {exc}")

    def _stop_services(self) -> None:
        # All at once: each service shuts down gracefully on its own (SIGTERM, then SIGKILL
        # after the timeout), and the fleet's state is thrown away, so stopping callers
        # before callees would only add up shutdown times. The slowest one bounds teardown.
        running = list(self.services.values())
        if not running:
            return
        with ThreadPoolExecutor(len(running), thread_name_prefix="harness-stop") as pool:
            futures = {svc.name: pool.submit(svc.process.stop, _STOP_TIMEOUT) for svc in running}
        for name, future in futures.items():
            if future.exception() is not None:
                self.teardown_problems.append(f"stop {name}: {future.exception()}")

    def _delete_proxies(self) -> None:
        client = self._toxiproxy
        if client is None:
            return
        # A local Toxiproxy dies with the provider anyway; an external one must not keep
        # our proxies (they would hold ports and confuse the next run).
        for name in reversed(self._created_proxies):
            self._attempt(f"delete proxy {name}", lambda n=name: client.delete_proxy(n))
        self._created_proxies.clear()
        self._attempt("close the Toxiproxy client", client.close)
        if self._recovery is not None:
            self._attempt("close the Toxiproxy recovery client", self._recovery.close)

    def _collect_logs(self) -> None:
        if self.keep_logs is None or not self.workdir.exists():
            return

        def copy() -> None:
            assert self.keep_logs is not None
            for source in self.workdir.rglob("*.log"):
                target = self.keep_logs / source.relative_to(self.workdir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)

        self._attempt(f"copy logs to {self.keep_logs}", copy)


def _process_of(server: object | None) -> ManagedProcess | None:
    process = getattr(server, "process", None)
    return process if isinstance(process, ManagedProcess) else None


def _inherited_env() -> dict[str, str]:
    env = dict(os.environ)
    # Python services would otherwise buffer their logs: the tail we show on failure would
    # be empty exactly when it matters.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
