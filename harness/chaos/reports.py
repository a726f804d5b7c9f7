"""A game-day's journal (JSON) and reports: Markdown for a pull request, HTML, a timeline
PNG (latency percentiles and error rate per second, fault windows shaded and labelled,
failed checks marked), JUnit (one case per steady-state check per phase), and the
``$GITHUB_STEP_SUMMARY``. The writers are harness/report's; what goes into them is here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.chaos.checks import CheckResult
from harness.chaos.outcome import GameDayResult, Verdict
from harness.load import histogram
from harness.load.series import SecondBucket
from harness.report import github, junit, markdown, plots
from harness.report.files import write_bytes, write_json, write_text
from harness.report.html import Cell, Page

__all__ = [
    "PHASES",
    "grouped",
    "junit_suite",
    "render_html",
    "render_markdown",
    "timeline_plot",
    "write_reports",
]

PHASES = ("before", "during", "after")
_ICON = {True: "✅", False: "❌"}


def grouped(checks: list[CheckResult]) -> dict[tuple[str, str], list[CheckResult]]:
    """Checks by (check, phase), in the order first seen."""
    found: dict[tuple[str, str], list[CheckResult]] = defaultdict(list)
    for check in checks:
        found[(check.check, check.phase)].append(check)
    return dict(found)


def _summary(results: list[CheckResult]) -> str:
    failed = [r for r in results if not r.ok]
    reported = sum(1 for r in results if not r.enforced)
    # A timing bound missed under chaos.timing = report: counted as held, but shown.
    note = f" ({reported} over a timing bound, reported)" if reported else ""
    if not failed:
        return f"{_ICON[True]} {len(results)}/{len(results)}{note}"
    return f"{_ICON[False]} {len(results) - len(failed)}/{len(results)}{note}"


def _hypothesis_rows(result: GameDayResult) -> list[list[str]]:
    groups = grouped(result.checks)
    names = list(dict.fromkeys(check.check for check in result.checks))
    rows = []
    for name in names:
        row = [name]
        for phase in PHASES:
            found = groups.get((name, phase))
            row.append(_summary(found) if found else "—")
        rows.append(row)
    return rows


def render_markdown(result: GameDayResult) -> str:
    verdict = result.verdict.value.upper()
    icon = _ICON[result.passed]
    headline = f"## {icon} chaos game-day `{result.scenario}`: **{verdict}**"
    facts = [
        f"reason: {result.reason}",
        f"recovered {result.recovered_after_s:.1f} s after the method"
        if result.recovered_after_s is not None
        else "recovery: not reached or not checked",
        "fleet restored (every proxy clean, every service ready)"
        if result.rollback.restored
        else "NOT restored: " + "; ".join(result.rollback.not_restored),
    ]
    hypothesis = markdown.table(["check", *PHASES], _hypothesis_rows(result))
    deviations = [
        f"{c.check} [{c.phase} @{c.at_s:+.1f}s]: observed {_value(c.observed)}, expected "
        f"{c.expected}" + (f" ({c.message})" if c.message else "")
        for c in result.failed_checks()[:20]
    ]
    actions = markdown.table(
        ["action", "planned", "started", "active", "ended", "outcome"],
        [
            [
                a.label,
                f"{a.planned_start_s:g}s" + (f"-{a.planned_end_s:g}s" if a.planned_end_s else ""),
                _secs(a.started_s),
                _secs(a.active_s),
                _secs(a.ended_s),
                a.error or "ok",
            ]
            for a in result.actions
        ],
    )
    rollback = markdown.table(
        ["rollback step", "outcome"],
        [[s.action, "ok" if s.ok else f"failed: {s.detail}"] for s in result.rollback.steps],
    )
    blocks = [
        markdown.marker(f"harness:chaos:{result.scenario}"),
        headline,
        markdown.bullet_list(facts),
        "### Steady-state hypothesis per phase\n\n" + hypothesis,
    ]
    if deviations:
        blocks.append("### What deviated\n\n" + markdown.bullet_list(deviations))
    if result.abort:
        blocks.append(f"### Aborted\n\n{result.abort.get('reason')}")
    blocks.append("### Method\n\n" + actions)
    if result.load:
        blocks.append(markdown.details("Load per phase", _load_table(result.load["phases"])))
    blocks.append(markdown.details("Rollbacks", rollback, open_=not result.rollback.restored))
    if result.logs:
        blocks.append(f"Fleet logs: {markdown.code(result.logs)}")
    return markdown.document(*blocks)


def _load_table(phases: dict[str, Any]) -> str:
    rows = [
        [
            label,
            f"{row['window_s'][0]:g}-{row['window_s'][1]:g}s",
            _value(row.get("requests")),
            _value(row.get("rps")),
            _value(row.get("error_rate")),
            _value(row.get("p50_ms")),
            _value(row.get("p95_ms")),
            _value(row.get("p99_ms")),
        ]
        for label, row in phases.items()
    ]
    return markdown.table(
        ["phase", "window", "requests", "rps", "error rate", "p50 ms", "p95 ms", "p99 ms"], rows
    )


def _value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


def junit_suite(result: GameDayResult) -> junit.Suite:
    cases = []
    for (name, phase), found in grouped(result.checks).items():
        failed = [c for c in found if not c.ok]
        errors = [c for c in failed if c.error]
        text = "\n".join(str(c) for c in failed)
        cases.append(
            junit.Case(
                name=f"{phase}: {name}",
                classname=f"chaos.{result.scenario}",
                failure=text if failed and len(errors) < len(failed) else None,
                error=text if failed and len(errors) == len(failed) else None,
                output="\n".join(str(c) for c in found),
            )
        )
    if not result.rollback.restored:
        cases.append(
            junit.Case(
                name="rollback: fleet restored",
                classname=f"chaos.{result.scenario}",
                failure="; ".join(result.rollback.not_restored),
            )
        )
    if result.verdict is Verdict.ERROR and not cases:
        cases.append(
            junit.Case(name="game-day", classname=f"chaos.{result.scenario}", error=result.reason)
        )
    return junit.Suite(name=f"chaos {result.scenario}", cases=cases)


def timeline_plot(result: GameDayResult, recorded: dict[str, Any]) -> plots.Timeline:
    origin = result.method_started_at or result.started_at
    seconds = {int(k): SecondBucket.from_json(v) for k, v in recorded.get("seconds", {}).items()}
    xs: list[float] = []
    p50: list[float | None] = []
    p95: list[float | None] = []
    p99: list[float | None] = []
    errors: list[float | None] = []
    rps: list[float | None] = []
    for second in sorted(seconds):
        bucket = seconds[second]
        xs.append(second + 0.5 - origin)
        timed = bool(bucket.histogram)
        p50.append(histogram.percentile(bucket.histogram, 0.5) if timed else None)
        p95.append(histogram.percentile(bucket.histogram, 0.95) if timed else None)
        p99.append(histogram.percentile(bucket.histogram, 0.99) if timed else None)
        errors.append(bucket.failures / bucket.requests if bucket.requests else None)
        rps.append(float(bucket.requests))
    panels = [
        plots.Panel(
            "latency per second",
            "ms",
            [
                plots.Series("p50", xs, p50),
                plots.Series("p95", xs, p95),
                plots.Series("p99", xs, p99),
            ],
        ),
        plots.Panel(
            "errors and throughput per second",
            "error rate",
            [
                plots.Series("error rate", xs, errors, color="#d62728"),
                plots.Series("requests/s", xs, rps, kind="bar", color="#999999", secondary=True),
            ],
            secondary_label="requests/s",
        ),
    ]
    windows = [
        plots.Window(
            a.label,
            a.started_s if a.started_s is not None else a.planned_start_s,
            a.ended_s if a.ended_s is not None else (a.planned_end_s or a.planned_start_s),
            color=plots.PALETTE[i % len(plots.PALETTE)],
        )
        for i, a in enumerate(result.actions)
        if a.started_s is not None
    ]
    failed_at = sorted({round(c.at_s, 1) for c in result.failed_checks()})[:12]
    markers = [plots.Marker("✗", at) for at in failed_at]
    if result.abort and result.abort.get("at_s") is not None:
        markers.append(plots.Marker("abort", float(result.abort["at_s"])))
    return plots.Timeline(
        title=f"chaos {result.scenario}: {result.verdict.value}",
        panels=panels,
        x_label="seconds since the method started",
        windows=windows,
        markers=markers,
    )


def render_html(result: GameDayResult, png: bytes | None) -> str:
    page = Page(f"chaos game-day {result.scenario}")
    page.badge(result.verdict.value.upper(), result.passed)
    page.paragraph(result.reason)
    page.heading("Steady-state hypothesis per phase")
    page.table(
        ["check", *PHASES],
        [
            [row[0], *(Cell(v, "pass" if v.startswith(_ICON[True]) else "fail") for v in row[1:])]
            for row in _hypothesis_rows(result)
        ],
    )
    if png is not None:
        page.heading("Timeline")
        page.image(png, "latency and errors per second with the fault windows shaded")
    page.heading("Method")
    page.table(
        ["action", "planned start", "started", "active", "ended", "outcome"],
        [
            [
                a.label,
                f"{a.planned_start_s:g}s",
                _secs(a.started_s),
                _secs(a.active_s),
                _secs(a.ended_s),
                a.error or "ok",
            ]
            for a in result.actions
        ],
    )
    failed = result.failed_checks()
    if failed:
        page.heading("What deviated")
        page.table(
            ["phase", "at", "check", "observed", "expected", "message"],
            [
                [c.phase, f"{c.at_s:+.1f}s", c.check, _value(c.observed), c.expected, c.message]
                for c in failed
            ],
        )
    page.heading("Rollbacks")
    page.table(
        ["step", "outcome"],
        [
            [s.action, Cell("ok", "pass") if s.ok else Cell(f"failed: {s.detail}", "fail")]
            for s in result.rollback.steps
        ],
    )
    return page.render()


def write_reports(
    result: GameDayResult,
    report_dir: Path,
    recorded: dict[str, Any],
    *,
    step_summary: bool = True,
) -> dict[str, str]:
    """Every report into ``report_dir``; returns name -> path (also in the journal)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    png = plots.render_png(timeline_plot(result, recorded)) if recorded else None
    text = render_markdown(result)
    files: dict[str, Path] = {
        "markdown": write_text(report_dir / "report.md", text),
        "junit": junit.write(report_dir / "junit.xml", [junit_suite(result)]),
        "html": write_text(report_dir / "report.html", render_html(result, png)),
    }
    if png is not None:
        files["plot"] = write_bytes(report_dir / "timeline.png", png)
    result.artifacts.update({k: str(v) for k, v in files.items()})
    result.artifacts["journal"] = str(report_dir / "journal.json")
    if step_summary:
        summary = github.append_step_summary(text)
        if summary is not None:
            result.artifacts["step_summary"] = str(summary)
    write_json(report_dir / "journal.json", result.to_json())
    return dict(result.artifacts)
