"""Game-days on a purpose-built fleet: broken resilience is caught, and the rollbacks hold
when the run is interrupted (Ctrl-C twice, SIGTERM). Real Toxiproxy, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.chaos.outcome import Verdict
from harness.chaos.session import run_gameday
from harness.fleet.launch import launch_from_config

from .conftest import LATENCY_SCENARIO, MakeConfig, WriteScenario, mini_fleet

pytestmark = pytest.mark.slow


def test_a_caller_without_a_timeout_deviates_under_latency(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    result = run_gameday(
        write_scenario(LATENCY_SCENARIO),
        config=mini_config(mini_fleet(call_timeout="")),
        report_dir=tmp_path / "out",
        step_summary=False,
    )
    assert result.verdict is Verdict.DEVIATED, result.reason
    failed = {(c.phase, c.check) for c in result.failed_checks()}
    assert ("during", "a answers /call within 1 s") in failed
    assert all(c.ok for c in result.checks if c.phase == "before")
    assert result.rollback.restored
    journal = json.loads((tmp_path / "out" / "journal.json").read_text())
    assert journal["verdict"] == "deviated"
    assert journal["actions"][0]["active_s"] is not None


def test_the_same_caller_with_a_timeout_passes(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    """The control: the scenario is not simply impossible to pass; on a fleet the harness
    was not written for (command:, no OpenAPI, /health/ready, HTML error pages)."""
    result = run_gameday(
        write_scenario(LATENCY_SCENARIO),
        config=mini_config(mini_fleet(call_timeout="0.3")),
        report_dir=tmp_path / "out",
        step_summary=False,
    )
    assert result.verdict is Verdict.PASSED, result.reason
    during = [c for c in result.checks if c.phase == "during"]
    assert during
    assert all(c.ok for c in during)
    assert (tmp_path / "out" / "report.md").read_text().count("PASSED") == 1
    assert (tmp_path / "out" / "junit.xml").is_file()


FREEZE_SCENARIO = """\
version: 1
name: freeze
steady_state:
  probes:
    - {name: b ready, http: {service: b, path: /health/ready, timeout: 1s}, expect_status: 200,
       when: [before, after]}
  check: {before: true, during: {every: 1s}, after: {within: 20s}}
method:
  - {at: 0s, fault: {edge: a->b, toxic: latency, attributes: {latency: 5000}}, duration: 60s}
  - {at: 0s, fault: {service: b, action: pause}, duration: 60s}
abort: {max_duration: 2m}
"""


def _stopped(pid: int | None) -> bool:
    assert pid is not None
    return psutil.Process(pid).status() == psutil.STATUS_STOPPED


def test_ctrl_c_twice_still_rolls_back_everything(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    """Ctrl-C while the faults are active, and again while the rollback runs: the second
    one waits, the rollback finishes, no toxic and no stopped process is left."""
    config = mini_config(mini_fleet(call_timeout="0.3"))
    sent: list[str] = []

    def interrupt() -> None:
        os.kill(os.getpid(), signal.SIGINT)

    def progress(event: dict[str, Any]) -> None:
        if (
            event["kind"] == "action"
            and event.get("state") == "start"
            and "pause" in str(event.get("action"))
        ):
            sent.append("during the method")
            threading.Timer(0.3, interrupt).start()
        elif event["kind"] == "rollback" and len(sent) == 1:
            sent.append("during the rollback")
            interrupt()

    with launch_from_config(config) as fleet:
        b = fleet.services["b"].process
        with pytest.raises(KeyboardInterrupt):
            run_gameday(
                write_scenario(FREEZE_SCENARIO),
                fleet=fleet,
                config=config,
                report_dir=tmp_path / "out",
                on_progress=progress,
                step_summary=False,
            )
        assert sent == ["during the method", "during the rollback"]
        proxies = fleet.toxiproxy.proxies()
        assert {name: (p.enabled, p.toxics) for name, p in proxies.items()} == {"a__b": (True, ())}
        assert b.running
        assert not _stopped(b.pid)
        assert fleet.is_ready("b")
    journal = json.loads((tmp_path / "out" / "journal.json").read_text())
    assert journal["verdict"] == "error"
    assert "interrupted" in journal["reason"]
    assert journal["rollback"]["restored"] is True
    reverted = [s["action"] for s in journal["rollback"]["steps"] if s["ok"]]
    assert any(step.startswith("revert pause b") for step in reverted)


def test_sigterm_rolls_back_and_leaves_nothing_running(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    config = mini_config(mini_fleet(call_timeout="0.3"))
    scenario = write_scenario(FREEZE_SCENARIO)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("harness")),
            "gameday",
            str(scenario),
            "--manifest",
            str(config.manifest),
            "--report-dir",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "HARNESS_TOXIPROXY_BIN": str(config.infra.toxiproxy_bin)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    children: list[psutil.Process] = []
    for line in process.stderr:
        if "pause b" in line and "(start)" in line:
            children = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGTERM)
            break
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 143, rest
    assert children, "the faults never started"
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive
    journal = json.loads((tmp_path / "out" / "journal.json").read_text())
    assert journal["rollback"]["restored"] is True
    assert journal["verdict"] == "error"


ATTACHED_SCENARIO = """\
version: 1
name: attached
steady_state:
  probes:
    - name: a answers /call within 1 s
      http: {service: a, path: /call, timeout: 10s}
      expect_status: [200, 503]
      max_latency_ms: 1000
  check: {before: true, during: {every: 1s}, after: {within: 10s}}
method:
  - {at: 0s, fault: {edge: a->b, toxic: latency, attributes: {latency: 2000}}, duration: 3s}
  - {at: 0s, fault: {service: b, action: pause}, duration: 3s}
abort: {max_duration: 1m}
"""


def test_a_gameday_attached_to_a_fleet_started_elsewhere_leaves_it_running_and_clean(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    config = mini_config(mini_fleet(call_timeout="0.3"))
    harness = str(Path(sys.executable).with_name("harness"))
    with launch_from_config(config) as fleet:
        described = tmp_path / "fleet.json"
        described.write_text(json.dumps(fleet.describe()))
        run = subprocess.run(
            [
                harness,
                "gameday",
                str(write_scenario(ATTACHED_SCENARIO)),
                "--attach",
                str(described),
                "--manifest",
                str(config.manifest),
                "--report-dir",
                str(tmp_path / "out"),
            ],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "passed" in run.stdout
        # Still ours, still running, as it was found.
        b = fleet.services["b"].process
        assert b.running
        assert not _stopped(b.pid)
        assert fleet.is_ready("a")
        assert fleet.is_ready("b")
        proxies = fleet.toxiproxy.proxies()
        assert {name: (p.enabled, p.toxics) for name, p in proxies.items()} == {"a__b": (True, ())}
        killing = write_scenario(
            ATTACHED_SCENARIO.replace("action: pause}, duration: 3s", "action: kill}"), "kill.yaml"
        )
        refused = subprocess.run(
            [
                harness,
                "gameday",
                str(killing),
                "--attach",
                str(described),
                "--manifest",
                str(config.manifest),
            ],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2
        assert f"{killing}:12: method[1].fault.action: 'kill' needs a fleet" in refused.stderr
        assert fleet.services["b"].process.pid == b.pid


LOAD_PROFILE = """\
version: 1
name: mini-calls
target: a
warmup: 1s
stages: [{duration: 60s, users: 2, spawn_rate: 2}]
wait: {constant_throughput: 5}
tasks:
  - {name: call, request: {method: GET, path: /call, expect: [200]}}
"""

ABORTING_SCENARIO = """\
version: 1
name: aborting
load: {profile: load.yaml}
steady_state:
  slo: [{metric: error_rate, endpoint: call, max: 0.05, when: [before, after]}]
  probes: [{name: b ready, http: {service: b, path: /health/ready}, expect_status: 200}]
  check: {before: {window: 2s}, during: {every: 2s}, after: {within: 10s, window: 2s}}
method:
  - {at: 0s, fault: {edge: a->b, down: true}, duration: 30s}
abort:
  max_duration: 2m
  when: [{metric: error_rate, endpoint: call, max: 0.5, for: 2}]
"""


def test_an_abort_condition_on_the_live_load_stops_the_method_and_rolls_back(
    mini_config: MakeConfig, write_scenario: WriteScenario, tmp_path: Path
) -> None:
    write_scenario(LOAD_PROFILE, "load.yaml")
    config = mini_config(mini_fleet(call_timeout="0.3"))
    result = run_gameday(
        write_scenario(ABORTING_SCENARIO),
        config=config,
        report_dir=tmp_path / "out",
        step_summary=False,
    )
    assert result.verdict is Verdict.ABORTED, result.reason
    assert result.abort is not None
    assert result.abort["rule"] == "error_rate{call} > 0.5 for 2 windows"
    # Stopped well before the planned 30 s of the edge being down.
    assert result.abort["at_s"] < 30
    assert result.rollback.restored
    [action] = result.actions
    assert action.ended_s is not None
    assert action.ended_s < 30
    assert result.load is not None
    assert "before" in result.load["phases"]


CONSUMER = Path(__file__).with_name("mini_consumer.py")

BROKER_SCENARIO = """\
version: 1
name: broker-cut
steady_state:
  probes:
    - {invariant: exactly_once}
    - {name: consumer ready, http: {service: consumer, path: /health/ready}, expect_status: 200}
  check: {before: true, during: false, after: {within: 15s}}
method:
  - {at: 1s, fault: {edge: consumer->redis, down: true}, duration: 2s}
abort: {max_duration: 1m}
"""


def _consumer_fleet(dedup: bool) -> dict[str, Any]:
    service = {
        "command": [sys.executable, str(CONSUMER)],
        "readiness": "/health/ready",
        "openapi": None,
        "broker": {"infra": "redis"},
        "env": {"DEDUP": "1" if dedup else "0"},
    }
    return {
        "version": 1,
        "name": "consumer",
        "infra": {"redis": {"kind": "redis"}},
        "services": {"consumer": service},
    }


def _exactly_once_registry() -> Any:
    from harness.invariants import InvariantContext, InvariantRegistry, violated

    rules = InvariantRegistry()

    @rules.invariant("exactly_once")
    def exactly_once(ctx: InvariantContext) -> None:
        effects = ctx.get_json("consumer", "/effects")
        twice = {event: n for event, n in effects.items() if n != 1}
        if twice:
            violated(f"{len(twice)} of {len(effects)} events took effect more than once")

    return rules


@pytest.mark.parametrize(("dedup", "verdict"), [(False, "deviated"), (True, "passed")])
def test_a_consumer_without_inbox_dedup_breaks_exactly_once_under_a_broker_fault(
    dedup: bool,
    verdict: str,
    mini_config: MakeConfig,
    write_scenario: WriteScenario,
    tmp_path: Path,
) -> None:
    result = run_gameday(
        write_scenario(BROKER_SCENARIO),
        config=mini_config(_consumer_fleet(dedup)),
        registry=_exactly_once_registry(),
        report_dir=tmp_path / "out",
        step_summary=False,
    )
    assert result.verdict.value == verdict, result.reason
    after = [c for c in result.checks if c.phase == "after" and c.check == "invariant exactly_once"]
    assert after
    if not dedup:
        assert "more than once" in after[-1].message
    assert result.rollback.restored
