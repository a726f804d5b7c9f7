"""The planned timeline of a scenario, as text: what ``harness gameday --dry-run`` prints
(validated, nothing started)."""

from __future__ import annotations

from harness.chaos.scenario import Scenario
from harness.load.durations import format_duration
from harness.load.profiles import LoadProfile

__all__ = ["planned"]


def planned(spec: Scenario, load: LoadProfile | None) -> list[str]:
    checks = spec.steady_state.check
    lines = [f"game-day {spec.name}: {spec.description}".rstrip(": ")]
    if load is not None:
        lines.append(
            f"load: {load.name} ({spec.load.profile if spec.load else ''}), "
            f"{load.peak_users} users, warm-up {format_duration(load.warmup)}, "
            f"at most {format_duration(load.duration)} (stopped once recovery is judged)"
        )
    else:
        lines.append("load: none")
    for index, request in enumerate(spec.setup):
        lines.append(f"setup[{index}]: {request.method} {request.service}{request.path}")
    if checks.before is not None:
        lines.append(
            f"before: {format_duration(checks.before.window)} of steady load, then every check"
        )
    for action in sorted(spec.method, key=lambda a: a.at):
        until = (
            f" until {format_duration(action.end)}"
            if action.duration is not None
            else " (until the method ends)"
            if action.fault.action not in ("restart", "start")
            else ""
        )
        lines.append(f"  t={format_duration(action.at)}: {action.label}{until}")
    if checks.during is not None:
        lines.append(
            f"during: probes every {format_duration(checks.during.every)}, SLOs per window, "
            f"until t={format_duration(spec.method_span)}"
        )
    if checks.after is not None:
        lines.append(
            f"after: steady again within {format_duration(checks.after.within)}, "
            f"then {format_duration(checks.after.window)} of load judged"
        )
    for rule in spec.abort.when:
        lines.append(f"abort when {rule.label}")
    lines.append(f"abort after {format_duration(spec.abort.max_duration)} in all")
    lines.append(
        f"checks: {len(spec.steady_state.slo)} SLOs, {len(spec.steady_state.probes)} probes"
    )
    lines.append("rollbacks: always (every toxic removed, every edge enabled, all processes ready)")
    return lines
