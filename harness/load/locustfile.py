"""The locustfile the harness runs: a compiled profile (JSON, named by $HARNESS_LOAD_PLAN) as
Locust users, a load shape, and the hooks that feed the harness.

This is the only module of the harness that imports Locust, and it only ever runs inside a
Locust process started by :mod:`harness.load.runner` (Locust's gevent monkey-patching
breaks the pytest process it would otherwise be imported into).

What it adds to a plain Locust run:

- a LoadTestShape from the profile's stages (it also ends the run, and ends it early when
  an abortable threshold fails);
- declarative tasks (one weighted request each; a bearer token per user, fresh idempotency
  keys, values carried from earlier responses), unless the user brings a locustfile;
- the open model: users take intended start times from an arrival schedule and a late
  start is added to the recorded response time;
- the warm-up: statistics are reset when it ends (on each worker, whose reports during the
  warm-up are emptied, so the master never merges warm-up requests);
- a per-second series (requests, failures, latency histogram, users), a status file for
  the live display, and a result file (times, errors, abort, Locust's own percentiles).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import HttpUser, LoadTestShape, between, constant, constant_pacing, events
from locust import constant_throughput as locust_constant_throughput
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load import templates
from harness.load.plan import (
    LIVE_SERIES_FILE,
    PLAN_ENV,
    RESULT_FILE,
    SERIES_FILE,
    STATUS_FILE,
    Plan,
)
from harness.load.profiles import TOKEN_REQUEST
from harness.load.runstats import RunStats
from harness.load.series import SeriesRecorder
from harness.load.stages import ArrivalSchedule, shape_at
from harness.load.thresholds import Measures, evaluate, parse_threshold

PLAN = Plan.read(Path(os.environ[PLAN_ENV]))
OUT = Path(PLAN.out_dir)
_REFERENCE_PERCENTILES = (0.5, 0.9, 0.95, 0.99)


class _Run:
    """State of this process's part of the run (one per Locust process)."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.measure_start: float | None = None
        self.stopped: float | None = None
        self.in_warmup = PLAN.warmup_s > 0
        self.abort: dict[str, Any] | None = None
        self.recorder = SeriesRecorder()
        self.dropped = 0
        self.skipped: dict[str, int] = {}
        self.schedule: ArrivalSchedule | None = None
        self.peak_users = 0
        self.final: dict[str, Any] | None = None

    def skip(self, task: str) -> None:
        self.skipped[task] = self.skipped.get(task, 0) + 1


RUN = _Run()


def _write_json(path: Path, data: Any) -> None:
    # Written whole then renamed: the harness polls the status file while we write it.
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


# --- users -------------------------------------------------------------------------------


def _wait_time() -> Callable[..., float]:
    wait = PLAN.wait or {}
    if PLAN.open_model or not wait:
        return constant(0)
    if "constant" in wait:
        return constant(wait["constant"])
    if "between" in wait:
        low, high = wait["between"]
        return between(low, high)
    if "constant_throughput" in wait:
        return locust_constant_throughput(wait["constant_throughput"])
    return constant_pacing(wait["constant_pacing"])


# A throttled or unavailable answer should say when to come back; the failure's text says
# when it did not (the fault matrix's error budget allows a 503 only with Retry-After).
THROTTLED = (429, 503)
NO_RETRY_AFTER = " without Retry-After"


def _failure_text(
    status: int, body: str, error: object, headers: Mapping[str, str] | None = None
) -> str:
    if status == 0:
        return f"no response: {type(error).__name__}: {error}"[:300]
    code = ""
    try:
        decoded = json.loads(body) if body else None
        if isinstance(decoded, dict) and isinstance(decoded.get("code"), str):
            code = f" {decoded['code']}"
    except ValueError:
        pass
    if headers is not None and status in THROTTLED and "Retry-After" not in headers:
        code += NO_RETRY_AFTER
    return f"HTTP {status}{code}"


class _Declarative:
    """Behaviour shared by both client types: variables, auth, one declarative request."""

    client: Any
    variables: dict[str, Any]
    token: str | None
    user_id: str

    def setup_user(self) -> None:
        self.user_id = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.token = None
        base = {"run_id": PLAN.run_id, "user_id": self.user_id}
        self.variables = {
            **base,
            **{name: templates.render(value, base) for name, value in PLAN.vars.items()},
        }

    def fetch_token(self) -> bool:
        auth = PLAN.auth
        assert auth is not None
        body = templates.render(auth["body"], self.variables)
        with self.client.request(
            auth["method"], auth["path"], name=TOKEN_REQUEST, json=body, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(_failure_text(response.status_code, response.text, None))
                return False
            try:
                self.token = str(templates.extract(response.json(), auth["field"]))
            except (ValueError, KeyError):
                response.failure(f"no '{auth['field']}' in the token response")
                return False
            response.success()
            return True

    def perform(self, task: Mapping[str, Any], intended: float | None = None) -> None:
        request = task["request"]
        try:
            path = templates.render(request["path"], self.variables)
            headers = dict(templates.render(request["headers"], self.variables))
            query = templates.render(request["query"], self.variables)
            body = templates.render(request["json"], self.variables)
        except templates.MissingVariable:
            # A value no earlier response has provided yet (no order placed so far).
            RUN.skip(task["name"])
            return
        if request["auth"] == "bearer":
            if self.token is None and not self.fetch_token():
                return
            auth = PLAN.auth or {}
            headers[auth.get("header", "Authorization")] = f"{auth.get('scheme')} {self.token}"
        key = request["idempotency_key"]
        if key:
            headers[key if isinstance(key, str) else "Idempotency-Key"] = str(uuid.uuid4())
        url = f"{path}?{urlencode(query)}" if query else path
        expect = request["expect"]
        with self.client.request(
            request["method"],
            url,
            name=task["name"],
            headers=headers,
            json=body,
            catch_response=True,
        ) as response:
            if intended is not None and RUN.started is not None:
                # Open model: the time waited for a free user counts as response time.
                lag_ms = max(0.0, (time.time() - RUN.started - intended) * 1000)
                response.request_meta["response_time"] += lag_ms
            status = response.status_code
            ok = status in expect if expect else 0 < status < 400
            if not ok:
                error = getattr(response, "error", None)
                response.failure(
                    _failure_text(status, response.text or "", error, response.headers)
                )
                return
            if request["save"]:
                try:
                    decoded = response.json()
                    for name, field in request["save"].items():
                        self.variables[name] = templates.extract(decoded, field)
                except (ValueError, KeyError) as exc:
                    response.failure(f"cannot save {request['save']}: {exc!r}"[:300])
                    return
            response.success()

    def open_iteration(self) -> None:
        """Take the next arrival, wait for its time, then run one weighted task."""
        schedule = RUN.schedule
        if schedule is None or RUN.started is None:
            gevent.sleep(0.05)
            return
        intended = schedule.next()
        if intended is None:
            gevent.sleep(0.5)  # the last stage is over; the shape stops us shortly
            return
        delay = RUN.started + intended - time.time()
        if delay > 0:
            gevent.sleep(delay)
        elif -delay > PLAN.max_lag_s:
            RUN.dropped += 1
            return
        task = random.choices(PLAN.tasks, weights=[t["weight"] for t in PLAN.tasks])[0]
        self.perform(task, intended)


def _task(definition: Mapping[str, Any]) -> Callable[[Any], None]:
    def run(user: Any) -> None:
        user.perform(definition)

    run.__name__ = definition["name"]
    return run


def _user_class(base: type) -> type:
    if PLAN.open_model:
        tasks: Any = [lambda user: user.open_iteration()]
    else:
        tasks = {_task(t): t["weight"] for t in PLAN.tasks}

    def on_start(self: Any) -> None:
        self.setup_user()
        if PLAN.auth is not None:
            self.fetch_token()

    return type(
        "HarnessUser",
        (_Declarative, base),
        {
            "tasks": tasks,
            "wait_time": _wait_time(),
            "host": PLAN.base_url,
            "on_start": on_start,
            "abstract": False,
            "__module__": __name__,
        },
    )


if PLAN.tasks:
    HarnessUser = _user_class(FastHttpUser if PLAN.client == "fast" else HttpUser)


# --- shape -------------------------------------------------------------------------------


class HarnessShape(LoadTestShape):
    """The profile's stages; returns None (ends the run) after them or on an abort."""

    def tick(self) -> tuple[int, float] | None:
        if RUN.abort is not None:
            return None
        return shape_at(PLAN.stages, self.get_run_time(), PLAN.max_users)


# --- hooks -------------------------------------------------------------------------------


def _is_worker(environment: Environment) -> bool:
    return isinstance(environment.runner, WorkerRunner)


def _live_stats(environment: Environment, now: float) -> RunStats:
    assert environment.runner is not None
    entries = [e.serialize() for e in environment.runner.stats.entries.values()]
    start = RUN.measure_start or now
    return RunStats.from_locust(entries, max(now - start, 1e-9))


def _check_abort(environment: Environment, now: float) -> None:
    if RUN.abort is not None or RUN.started is None or RUN.in_warmup:
        return
    elapsed = now - RUN.started
    measures: Measures | None = None
    for spec in PLAN.abort_thresholds:
        if elapsed < spec["delay_abort_eval_s"]:
            continue
        threshold = parse_threshold(spec["key"], spec["condition"])
        measures = measures or Measures(_live_stats(environment, now), RUN.dropped)
        result = evaluate(threshold, measures)
        if result.observed is not None and not result.passed:
            RUN.abort = {
                "threshold": threshold.id,
                "observed": result.observed,
                "at": now,
                "elapsed_s": elapsed,
            }
            return


def _status(environment: Environment, now: float) -> dict[str, Any]:
    runner = environment.runner
    assert runner is not None
    # Workers report every few seconds: look at seconds that are complete on the master.
    lag = 4 if isinstance(runner, MasterRunner) else 1
    recent = RUN.recorder.window(now - lag - 5, now - lag)
    total = runner.stats.total
    elapsed = now - RUN.started if RUN.started else 0.0
    return {
        "phase": "warmup" if RUN.in_warmup else ("aborting" if RUN.abort else "running"),
        "elapsed_s": elapsed,
        "duration_s": PLAN.duration_s,
        "warmup_s": PLAN.warmup_s,
        "users": runner.user_count,
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": recent.requests / 5,
        "p95_ms": _p95(recent.histogram),
        "abort": RUN.abort,
        "dropped": RUN.dropped,
        "written": now,
    }


def _p95(histogram: dict[int, int]) -> float | None:
    from harness.load.histogram import percentile

    return percentile(histogram, 0.95) if histogram else None


def _watch(environment: Environment) -> None:
    """Master or local process: users per second, the status file, abortable thresholds."""
    runner = environment.runner
    assert runner is not None
    tick = time.time()
    while True:
        now = time.time()
        RUN.recorder.sample_users(now, runner.user_count)
        RUN.peak_users = max(RUN.peak_users, runner.user_count)
        _check_abort(environment, now)
        _write_json(OUT / STATUS_FILE, _status(environment, now))
        if PLAN.live_series:
            # A chaos game-day judges its steady state on this while the load runs.
            _write_json(OUT / LIVE_SERIES_FILE, RUN.recorder.to_json())
        # On a fixed cadence, not "interval after the work": a loop that drifted skipped
        # whole seconds of user samples on a busy machine. Late ticks are not caught up.
        tick = max(tick + PLAN.status_interval_s, time.time())
        gevent.sleep(max(0.0, tick - time.time()))


def _end_warmup(environment: Environment) -> None:
    gevent.sleep(PLAN.warmup_s)
    assert environment.runner is not None
    # Everything logged so far (and not yet sent to the master) was warm-up.
    environment.runner.stats.reset_all()
    RUN.in_warmup = False
    RUN.measure_start = time.time()


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    if PLAN.seed is not None:
        random.seed(f"{PLAN.seed}-{os.getpid()}")
    if _is_worker(environment):
        RUN.recorder = SeriesRecorder(reports_to_master=True)

        # Registered here, after the runner's own listener has filled in the statistics.
        def report(client_id: str, data: dict[str, Any]) -> None:
            data["harness"] = {
                "series": RUN.recorder.drain(),
                "dropped": RUN.dropped,
                "skipped": dict(RUN.skipped),
            }
            RUN.dropped = 0
            RUN.skipped = {}
            if RUN.in_warmup:
                assert environment.runner is not None
                empty = environment.runner.stats.total.__class__(
                    environment.runner.stats, "Aggregated", ""
                )
                data["stats"], data["errors"] = [], {}
                data["stats_total"] = empty.serialize()

        events.report_to_master.add_listener(report)
    elif isinstance(environment.runner, MasterRunner):

        def absorb(client_id: str, data: dict[str, Any]) -> None:
            extra = data.get("harness") or {}
            RUN.recorder.absorb(extra.get("series", {}))
            RUN.dropped += int(extra.get("dropped", 0))
            for name, count in extra.get("skipped", {}).items():
                RUN.skipped[name] = RUN.skipped.get(name, 0) + int(count)

        events.worker_report.add_listener(absorb)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    RUN.started = time.time()
    RUN.measure_start = RUN.started if PLAN.warmup_s <= 0 else None
    worker = _is_worker(environment)
    if PLAN.open_model:
        share = 1.0 / max(1, PLAN.workers) if worker else 1.0
        RUN.schedule = ArrivalSchedule(PLAN.stages, share)
    if PLAN.warmup_s > 0 and not isinstance(environment.runner, MasterRunner):
        gevent.spawn(_end_warmup, environment)
    elif PLAN.warmup_s > 0:
        # The master has no requests of its own; it only keeps time.
        def master_warmup() -> None:
            gevent.sleep(PLAN.warmup_s)
            RUN.in_warmup = False
            RUN.measure_start = time.time()

        gevent.spawn(master_warmup)
    if not worker:
        gevent.spawn(_watch, environment)


@events.request.add_listener
def _on_request(
    response_time: float | None,
    exception: BaseException | None = None,
    name: str | None = None,
    **_kwargs: Any,
) -> None:
    RUN.recorder.record(time.time(), response_time, exception is not None, name)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    RUN.stopped = time.time()


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    # Locust strips its per-endpoint statistics while it writes its JSON file, which comes
    # after this event: Locust's own figures and the errors are taken now. The run is over
    # (also distributed: the master merged the workers' final reports before this).
    runner = environment.runner
    if runner is None or _is_worker(environment):
        return
    stats = runner.stats
    figures = {
        f"{e.method} {e.name}": _locust_figures(e) for e in stats.entries.values() if e.num_requests
    }
    figures["total"] = _locust_figures(stats.total)
    cpu_warning = (
        runner.worker_cpu_warning_emitted
        if isinstance(runner, MasterRunner)
        else runner.cpu_warning_emitted
    )
    RUN.final = {
        "errors": [e.to_dict() for e in stats.errors.values()],
        "exceptions": [
            {"count": e["count"], "msg": e["msg"], "nodes": sorted(e["nodes"])}
            for e in runner.exceptions.values()
        ],
        "client_cpu_warning": bool(cpu_warning),
        "locust_figures": figures,
    }


@events.quit.add_listener
def _on_quit(exit_code: int, **_kwargs: Any) -> None:
    # Fired after Locust wrote its JSON file; only the master (or the local runner) writes.
    if RUN.final is None:
        return
    result = {
        "started": RUN.started,
        "measure_start": RUN.measure_start,
        "stopped": RUN.stopped or time.time(),
        "abort": RUN.abort,
        "dropped_iterations": RUN.dropped,
        "skipped": RUN.skipped,
        "peak_users": RUN.peak_users,
        "locust_exit_code": exit_code,
        "workers": PLAN.workers,
        **RUN.final,
    }
    _write_json(OUT / SERIES_FILE, RUN.recorder.to_json())
    _write_json(OUT / RESULT_FILE, result)


def _locust_figures(entry: Any) -> dict[str, Any]:
    """Locust's own numbers for an entry: what our histogram arithmetic must reproduce."""
    figures = {
        f"p{p * 100:g}": entry.get_response_time_percentile(p) for p in _REFERENCE_PERCENTILES
    }
    figures["median"] = entry.median_response_time
    figures["avg"] = entry.avg_response_time
    figures["requests"] = entry.num_requests
    figures["failures"] = entry.num_failures
    return figures
