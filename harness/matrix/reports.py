"""The matrix's reports: JSON (the next run's baseline), Markdown (a pull-request comment),
HTML (a heatmap table, edge x fault class), JUnit (one case per cell), and for every
broken cell a game-day scenario reproducing it (``harness gameday <file>``), validated by
the chaos scenario loader before it is written. The writers are harness/report's.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import yaml

from harness.chaos.scenario import load_scenario
from harness.chaos.session import validate as validate_scenario
from harness.matrix import faultclasses
from harness.matrix.errors import SelectionError
from harness.matrix.outcome import CellResult, MatrixResult, Status
from harness.report import github, junit, markdown
from harness.report.files import write_json, write_text
from harness.report.html import Page

__all__ = [
    "ICONS",
    "read_baseline",
    "render_html",
    "render_markdown",
    "scenario_for",
    "write_reports",
]

ICONS = {
    Status.HELD: "🟢 held",
    Status.DEGRADED: "🟡 degraded",
    Status.FAILED: "🟠 failed",
    Status.BROKEN: "🔴 broken",
    Status.SKIPPED: "⚪ skipped",
}
_COLOURS = {
    Status.HELD: "#2da44e",
    Status.DEGRADED: "#d4a72c",
    Status.FAILED: "#e16f24",
    Status.BROKEN: "#cf222e",
    Status.SKIPPED: "#d0d7de",
}
_GAMEDAY_SPAN = 10.0


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SelectionError(f"baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != "harness-fault-matrix":
        raise SelectionError(f"baseline {path}: not the JSON of a fault matrix run")
    return data


def _cell_text(result: CellResult | None) -> str:
    if result is None:
        return "—"
    text = ICONS[result.status]
    if result.changed:
        text += f" ≠ {result.expected_status.value}"
    return text


def _evidence(result: CellResult) -> str:
    parts = [result.reason]
    for finding in result.findings[:3]:
        parts.append(f"{finding.id}: {finding.message}"[:300])
    if result.answer:
        parts.append(f"answer {result.answer}")
    if result.request_ids:
        parts.append("request ids: " + ", ".join(result.request_ids[:3]))
    if result.scenario:
        parts.append(f"reproduce: harness gameday {result.scenario}")
    return " · ".join(p for p in parts if p)


def render_markdown(result: MatrixResult) -> str:
    overall, per = result.coverage()
    headline = "✅ every cell as expected" if result.ok else f"❌ {result.reason}"
    delta = result.to_json().get("delta")
    change = ""
    if delta and delta.get("overall_points") is not None:
        change = f" ({delta['overall_points']:+.1f} points against the baseline)"
    rows = []
    for edge in result.edges:
        rows.append(
            [markdown.code(edge)]
            + [_cell_text(result.status_of(edge, fault)) for fault in result.fault_classes]
        )
    coverage_rows = [[name, str(cov)] for name, cov in per.items()]
    if delta:
        for row in coverage_rows:
            points = delta["services_points"].get(row[0])
            row.append(f"{points:+.1f}" if points is not None else "—")
    evidence = [
        f"**{markdown.code(c.cell.id)}** {ICONS[c.status]}"
        + (f" (expected {c.expected_status.value})" if c.changed else "")
        + f": {_evidence(c)}"
        for c in result.cells
        if c.ran and (c.status is not Status.HELD or c.changed)
    ]
    pruned = [f"{markdown.code(e)}: {why}" for e, why in result.pruned.items()]
    dropped = [
        f"{markdown.code(check)}: did not pass again after {markdown.code(cell)}; "
        "left out of the cells after it"
        for check, cell in result.dropped.items()
    ]
    return markdown.document(
        markdown.marker(f"harness:matrix:{result.fleet}"),
        f"## Fault matrix: {result.fleet}",
        f"**{headline}** · resilience coverage **{overall}**{change} · workload: "
        f"{result.workload} · {result.ended_at - result.started_at:.0f} s",
        markdown.table(["edge", *result.fault_classes], rows),
        markdown.table(
            ["service (caller)", "coverage", *(["Δ points"] if delta else [])], coverage_rows
        ),
        markdown.details("Evidence per cell", markdown.bullet_list(evidence), open_=not result.ok)
        if evidence
        else "",
        markdown.details(
            f"Checks dropped ({len(dropped)})", markdown.bullet_list(dropped), open_=True
        )
        if dropped
        else "",
        markdown.details(
            f"Pruned edges ({len(pruned)}) — {result.pruning}", markdown.bullet_list(pruned)
        )
        if pruned
        else f"Pruning: {result.pruning or 'none'}",
        markdown.details(
            f"Kept unused edges ({len(result.kept)})",
            markdown.bullet_list([f"{markdown.code(e)}: {why}" for e, why in result.kept.items()]),
        )
        if result.kept
        else "",
        _throttling(result),
    )


def _throttling(result: MatrixResult) -> str:
    """A fleet's rate limit met by the workload: waited out, said, never a finding."""
    hit = [c for c in result.cells if c.throttled]
    if not hit:
        return ""
    total = sum(c.throttled for c in hit)
    return (
        f"Rate limit: {total} answer(s) 429 waited out (Retry-After) in {len(hit)} cell(s); "
        "a `pace:` in the workload keeps under it."
    )


def render_html(result: MatrixResult) -> str:
    overall, per = result.coverage()
    page = Page(f"Fault matrix: {result.fleet}")
    page.badge("every cell as expected" if result.ok else result.reason, result.ok)
    page.paragraph(f"Resilience coverage {overall}; workload: {result.workload}")
    head = "".join(f"<th>{html.escape(f)}</th>" for f in result.fault_classes)
    body = []
    for edge in result.edges:
        cells = []
        for fault in result.fault_classes:
            found = result.status_of(edge, fault)
            if found is None:
                cells.append("<td>—</td>")
                continue
            colour = _COLOURS[found.status]
            border = "3px solid #000" if found.changed else "1px solid #fff"
            title = html.escape(_evidence(found))
            text = html.escape(found.status.value + (" ≠" if found.changed else ""))
            cells.append(
                f'<td title="{title}" style="background:{colour};color:#fff;'
                f'border:{border};text-align:center">{text}</td>'
            )
        body.append(f"<tr><th>{html.escape(edge)}</th>{''.join(cells)}</tr>")
    page.raw(
        f"<table><thead><tr><th>edge</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    page.heading("Coverage per service")
    page.table(["service (caller)", "coverage"], [[k, str(v)] for k, v in per.items()])
    page.heading("Evidence")
    page.table(
        ["cell", "status", "expected", "evidence"],
        [
            [c.cell.id, c.status.value, c.expected or "—", _evidence(c)]
            for c in result.cells
            if c.status is not Status.HELD or c.changed
        ],
    )
    if result.pruned:
        page.heading("Pruned edges")
        page.paragraph(result.pruning, "muted")
        page.table(["edge", "why"], list(result.pruned.items()))
    return page.render()


def junit_suite(result: MatrixResult) -> junit.Suite:
    cases = []
    for c in result.cells:
        case = junit.Case(name=c.cell.id, classname=f"matrix.{c.cell.edge}", time_s=c.seconds)
        if c.error:
            case = junit.Case(case.name, case.classname, c.seconds, error=c.reason)
        elif c.status is Status.SKIPPED:
            case = junit.Case(case.name, case.classname, c.seconds, skipped=c.reason)
        elif c.changed:
            case = junit.Case(
                case.name,
                case.classname,
                c.seconds,
                failure=f"{c.status.value}, expected {c.expected_status.value}\n{_evidence(c)}",
            )
        cases.append(case)
    if result.error is not None:
        cases.append(junit.Case("matrix run", "matrix", 0.0, error=result.error))
    return junit.Suite(f"fault matrix {result.fleet}", cases, result.ended_at - result.started_at)


def scenario_for(result: CellResult, plan: Any) -> dict[str, Any]:
    """A game-day that puts the cell's fault on for a while, with the broken checks (those
    that are probes) and the callee's readiness as the steady state."""
    fault_class = faultclasses.get(result.cell.fault)
    timeout = plan.expectations.timeout(result.cell.edge)
    probes: list[dict[str, Any]] = []
    workload = plan.workload
    failing = {f.id for f in result.findings}
    extra: dict[str, Any] = {}
    if workload is not None:
        for probe in workload.checks:
            if probe.label in failing:
                probes.append(probe.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        if workload.setup:
            extra["setup"] = [
                s.model_dump(mode="json", by_alias=True, exclude_defaults=True)
                for s in workload.setup
            ]
        if workload.vars:
            extra["vars"] = dict(workload.vars)
        if workload.invariants:
            extra["invariants"] = workload.invariants
    caller = result.cell.caller
    readiness = plan.manifest.services[caller].readiness
    probes.append({"name": f"{caller} ready", "http": {"service": caller, "path": readiness}})
    tests = ", ".join(sorted(failing)) or "none"
    return {
        "version": 1,
        "name": f"matrix-{result.cell.edge.replace('->', '-')}-{result.cell.fault}",
        "description": (
            f"Reproduces the fault matrix cell {result.cell.id} ({result.status.value}): "
            f"{result.fault}. Checks that failed under it: {tests}. {result.reason}"
        )[:2000],
        **extra,
        "steady_state": {
            "probes": probes,
            "check": {
                "before": {"window": "1s"},
                "during": {"every": "2s"},
                "after": {"within": "30s"},
            },
        },
        "method": [
            {
                "at": "0s",
                "fault": fault_class.scenario(result.cell.edge, timeout),
                "duration": f"{_GAMEDAY_SPAN:g}s",
            }
        ],
        "abort": {"max_duration": "2m"},
    }


def write_scenarios(result: MatrixResult, plan: Any, out: Path) -> None:
    directory = out / "gamedays"
    for cell in result.cells:
        if cell.status is not Status.BROKEN:
            continue
        path = directory / f"{cell.cell.edge.replace('->', '-')}-{cell.cell.fault}.yaml"
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(scenario_for(cell, plan), sort_keys=False))
        # The chaos loader and its fleet checks judge it, as `harness gameday` would.
        spec = load_scenario(path)
        # A container fault's cell ran on containers: its game-day needs them too.
        containers = True if faultclasses.get(cell.cell.fault).containers else None
        validate_scenario(spec, config=None, manifest=plan.manifest, containers=containers)
        cell.scenario = str(path)


def write_reports(
    result: MatrixResult, plan: Any, out: Path, *, step_summary: bool = True
) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    write_scenarios(result, plan, out)
    md = render_markdown(result)
    artifacts = {
        "json": str(write_json(out / "matrix.json", result.to_json())),
        "markdown": str(write_text(out / "report.md", md)),
        "html": str(write_text(out / "report.html", render_html(result))),
        "junit": str(junit.write(out / "junit.xml", [junit_suite(result)])),
    }
    if step_summary:
        github.append_step_summary(md)
    result.artifacts = artifacts
    return artifacts
