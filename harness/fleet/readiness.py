"""Readiness: when a started service counts as ready, and the probe that tells.

A service's ``readiness:`` in the manifest is one of
- a URL path (``/readyz``, the default) or ``{http: /path}``: that path answers 200;
- ``{tcp: true}`` (its assigned port) or ``{tcp: 9000}``: something accepts connections
  there, for services that serve no HTTP (a gRPC server, a database-like worker);
- ``{log: "regex"}``: a line of its log, written since its last start, matches;
- ``{alive: 2.0}``: the process has run for that many seconds (a worker with nothing to
  ask; the weakest evidence, so a last resort).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.errors import FleetError
from harness.httpbody import describe_body
from harness.infra.ports import port_open
from harness.infra.process import ManagedProcess

__all__ = [
    "NotListening",
    "NotReady",
    "ReadinessProbe",
    "ReadinessSpec",
    "flat_errors",
    "parse_readiness",
    "readiness_spec",
]

_TIMEOUT = httpx.Timeout(2.0, connect=0.5)
# ManagedProcess writes this line to the log at every start (see harness.infra.process).
_START_MARKER = "--- harness "


class NotReady(FleetError):
    """The readiness check ran and said no (a status other than 200, no log line yet...)."""


class NotListening(NotReady):
    """Nothing accepts connections on the readiness port yet."""


class ReadinessSpec(BaseModel):
    """Exactly one of ``http``, ``tcp``, ``log`` or ``alive``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http: Annotated[str, Field(pattern=r"^/")] | None = None
    # True: the service's assigned port; a number: that port.
    tcp: bool | Annotated[int, Field(ge=1, le=65535)] | None = None
    log: str | None = None
    alive: float | None = Field(default=None, gt=0, le=600)

    @field_validator("log")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> ReadinessSpec:
        given = [
            k for k in ("http", "tcp", "log", "alive") if getattr(self, k) not in (None, False)
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of http (a path), tcp (true or a port), log (a regular "
                f"expression) or alive (seconds); got {', '.join(given) or 'none'}"
            )
        return self

    def describe(self, url: str, port: int) -> str:
        """What ready means, in words for an error message."""
        if self.http is not None:
            return f"GET {url}{self.http} -> 200"
        if self.tcp is not None:
            return f"a TCP connection to 127.0.0.1:{self.port(port)}"
        if self.log is not None:
            return f"a log line matching {self.log!r}"
        return f"the process alive for {self.alive:g} s"

    def port(self, assigned: int) -> int:
        return assigned if self.tcp is True or self.tcp is None else int(self.tcp)


def flat_errors(exc: ValidationError) -> str:
    """A nested model's errors as one message (the manifest reports them at its field)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "missing required field"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_readiness(value: object) -> object:
    """The manifest's ``readiness`` before pydantic's union sees it: one clear error for a
    bad value rather than one per form of the union."""
    if isinstance(value, str):
        if not value.startswith("/"):
            raise ValueError(
                "a path starting with / or one of {http: path}, {tcp: true|port}, "
                "{log: regex}, {alive: seconds}"
            )
        return value
    if isinstance(value, dict):
        try:
            return ReadinessSpec.model_validate(value)
        except ValidationError as exc:
            raise ValueError(flat_errors(exc)) from None
    return value


def readiness_spec(value: str | ReadinessSpec) -> ReadinessSpec:
    """The manifest's ``readiness`` value (a path or a mapping) as a :class:`ReadinessSpec`."""
    return ReadinessSpec(http=value) if isinstance(value, str) else value


class ReadinessProbe:
    """One HTTP client for every probe of a fleet (loopback only: no proxy from the env)."""

    def __init__(self) -> None:
        self._http = httpx.Client(timeout=_TIMEOUT, trust_env=False)
        self._seen: dict[int, float] = {}

    def check(self, url: str) -> bool:
        """True on 200; raises otherwise, so a caller giving up can quote the last answer.

        A booting service is probed often: a bare TCP connect (microseconds, refused at
        once) comes first, and the HTTP request (a good part of a millisecond of CPU even
        when refused) only once something listens.
        """
        parts = httpx.URL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not port_open(parts.host, port):
            raise NotListening(f"nothing listens on {parts.host}:{port} yet")
        response = self._http.get(url)
        if response.status_code != 200:
            raise NotReady(f"answered {response.status_code}: {describe_body(response)}")
        return True

    def check_service(
        self, spec: ReadinessSpec, url: str, port: int, process: ManagedProcess
    ) -> bool:
        """One probe of a service by its readiness spec: True, or :class:`NotReady`."""
        if spec.http is not None:
            return self.check(url + spec.http)
        if spec.tcp is not None:
            if not port_open("127.0.0.1", spec.port(port)):
                raise NotListening(f"nothing listens on 127.0.0.1:{spec.port(port)} yet")
            return True
        if spec.log is not None:
            if not _logged_since_start(process.log_path, re.compile(spec.log)):
                raise NotReady(f"no log line matches {spec.log!r} yet")
            return True
        assert spec.alive is not None
        ran = self._running_for(process)
        if ran < spec.alive:
            raise NotReady(f"running for {ran:.1f} s of {spec.alive:g} s")
        return True

    def _running_for(self, process: ManagedProcess) -> float:
        """Seconds since this probe first saw the process (pid) running: never more than
        it really ran, since services are probed from their start on. (psutil's
        create_time rests on the boot time in whole seconds: too coarse for this.)"""
        pid = process.pid
        if pid is None or not process.running:
            return 0.0
        now = time.monotonic()
        return now - self._seen.setdefault(pid, now)

    def ready(self, url: str) -> bool:
        try:
            return self.check(url)
        except (httpx.HTTPError, NotReady):
            return False

    def close(self) -> None:
        self._http.close()


def _logged_since_start(log_path: Path, pattern: re.Pattern[str]) -> bool:
    """Whether a line after the log's last start marker matches (a restart's old lines
    must not count)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(_START_MARKER)]
    since = lines[starts[-1] + 1 :] if starts else lines
    return any(pattern.search(line) for line in since)
