"""A load run's reports, into one directory:

- ``report.md``: for a pull-request comment (and ``$GITHUB_STEP_SUMMARY``);
- ``report.json``: everything, histograms included, so it can serve as the next baseline;
- ``junit.xml``: one test case per threshold (and per judged baseline metric);
- ``report.html`` with ``timeline.png``: throughput, errors, users and latency over time;
- ``locust.html``: Locust's own report, written by Locust.

The generic pieces (tables, plots, JUnit) come from :mod:`harness.report`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from harness.load import outcome as verdicts
from harness.load.compare import Change
from harness.load.outcome import LoadResult
from harness.load.runstats import TOTAL, EndpointStats
from harness.load.thresholds import RATE, TREND, ThresholdResult, format_value
from harness.report import github, junit, markdown, plots
from harness.report.files import write_bytes, write_json, write_text
from harness.report.html import Cell, Page

ICONS = {
    verdicts.PASSED: "✅",
    verdicts.THRESHOLDS_FAILED: "❌",
    verdicts.ABORTED: "🛑",
    verdicts.REGRESSION: "📉",
    verdicts.ERROR: "💥",
    verdicts.NO_REQUESTS: "💥",
}
MARKER_PREFIX = "harness:load"


def marker(profile_name: str) -> str:
    """The hidden comment a CI job finds its pull-request comment by."""
    return markdown.marker(f"{MARKER_PREFIX}:{profile_name}")


def _short(commit: object) -> str:
    return str(commit)[:10] if commit else "unknown"


def _when(epoch: float | None) -> str:
    if not epoch:
        return "—"
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:g} ms"


# --- thresholds ----------------------------------------------------------------------------


def threshold_delta(result: LoadResult, item: ThresholdResult) -> str:
    """Now minus baseline for one threshold; "~" within the noise floor."""
    before = result.baseline_thresholds.get(item.threshold.id)
    if result.comparison is None:
        return "—"
    if before is None or item.observed is None:
        return "n/a"
    delta = item.observed - before
    settings = result.profile.compare_settings()
    kind = item.threshold.kind
    if kind == TREND:
        return "~" if abs(delta) < settings.noise_floor_ms else f"{delta:+g} ms"
    if kind == RATE:
        return "~" if abs(delta) < 0.001 else f"{delta * 100:+.2f}pp"
    if item.threshold.condition.aggregation == "rate":
        return "~" if abs(delta) < settings.noise_floor_rps else f"{delta:+.2f}/s"
    return "~" if delta == 0 else f"{delta:+g}"


def _observed(item: ThresholdResult, value: float | None) -> str:
    return "no data" if value is None else format_value(item.threshold, value)


def _threshold_rows(result: LoadResult) -> list[list[str]]:
    rows = []
    for item in result.thresholds:
        before = result.baseline_thresholds.get(item.threshold.id)
        verdict = "✅ pass" if item.passed else "❌ FAIL"
        if (
            item.threshold.abort_on_fail
            and result.abort
            and result.abort.threshold == item.threshold.id
        ):
            verdict = "🛑 FAIL (aborted the run)"
        rows.append(
            [
                markdown.code(item.threshold.id),
                _observed(item, item.observed) + (f" ({item.note})" if item.note else ""),
                _observed(item, before) if result.comparison is not None else "—",
                threshold_delta(result, item),
                verdict,
            ]
        )
    return rows


# --- Markdown --------------------------------------------------------------------------------


def headline(result: LoadResult) -> str:
    verdict = result.verdict
    passed = len(result.thresholds) - len(result.failed_thresholds)
    bits = [f"**{passed}/{len(result.thresholds)} thresholds passed**"]
    if result.comparison is not None:
        base = result.comparison.baseline_info
        regress = result.regressions
        where = f"baseline `{_short(base.get('commit'))}`"
        if base.get("branch"):
            where += f" ({base['branch']})"
        bits.append(
            f"**{regress} regression{'s' if regress != 1 else ''}** vs {where}"
            if regress
            else f"no regressions vs {where}"
        )
    else:
        bits.append("no baseline")
    run = result.run
    bits.append(
        f"{result.stats.duration_s:.1f} s measured"
        + (f" after {run['warmup_s']:g} s warm-up" if run["warmup_s"] else "")
    )
    users = f"{run['peak_users']} users"
    if result.profile.open_model:
        users += f" (open model, pool of {result.profile.max_users})"
    bits.append(users + (f" on {run['workers']} workers" if run["workers"] else ""))
    bits.append(f"client `{result.profile.client}`")
    bits.append(f"{result.facts.get('cores')} cores")
    bits.append(f"commit `{_short(result.git.get('commit'))}`")
    title = f"### {ICONS[verdict]} Load test `{result.profile.name}`: {verdict}"
    reason = f"\n\n**{result.no_work}**" if result.no_work else ""
    return title + "\n" + " · ".join(bits) + reason


def _endpoint_rows(result: LoadResult) -> list[list[Any]]:
    rows = []
    entries: list[tuple[str, EndpointStats]] = [(e.label, e) for e in result.stats.endpoints]
    entries.append(("**total**", result.stats.total))
    for label, entry in entries:
        s = entry.summary(result.stats.duration_s)
        delta = "—"
        if result.comparison is not None:
            key = TOTAL if entry.name == TOTAL else entry.label
            change = result.comparison.for_endpoint(key).get("p95")
            delta = change.delta_text if change else "—"
        rows.append(
            [
                label,
                s["requests"],
                f"{s['rps']:.1f}",
                f"{s['fail_ratio'] * 100:.2f}%",
                _ms(s["p50_ms"]),
                _ms(s["p95_ms"]),
                _ms(s["p99_ms"]),
                delta,
            ]
        )
    return rows


def _change_value(change: Change, value: float | None) -> str:
    if value is None:
        return "—"
    if change.metric == "error_rate":
        return f"{value * 100:.2f}%"
    if change.metric == "rps":
        return f"{value:.1f}/s"
    return f"{value:g} ms"


def _regression_rows(result: LoadResult) -> list[list[str]]:
    assert result.comparison is not None
    return [
        [
            c.endpoint,
            c.metric,
            _change_value(c, c.now),
            _change_value(c, c.baseline),
            c.delta_text,
            c.limit.text if c.limit else "—",
        ]
        for c in result.comparison.regressions
    ]


def _facts(result: LoadResult) -> list[tuple[str, str]]:
    """(label, text) pairs about the run, its machine and its commits."""
    run, facts, git = result.run, result.facts, result.git
    profile = result.profile
    items = [
        ("profile", f"`{profile.path or profile.name}` against `{facts.get('target_url')}`"),
        (
            "timing",
            f"started {_when(run['started'])}; planned {run['planned_s']:g} s, measured "
            f"{result.stats.duration_s:.1f} s after a {run['warmup_s']:g} s warm-up",
        ),
        (
            "load",
            f"{'open model (arrival rate)' if profile.open_model else 'closed model (users)'}; "
            f"peak users {run['peak_users']}; workers {run['workers'] or 'none (one process)'}; "
            f"client `{profile.client}`",
        ),
        (
            "machine",
            f"{facts.get('cores')} cores ({facts.get('cpu') or 'unknown CPU'}), load average "
            f"{facts.get('load_average')}, Python {facts.get('python')}, "
            f"Locust {facts.get('locust')}",
        ),
        (
            "commit",
            f"`{git.get('commit') or 'unknown'}` ({git.get('branch') or 'no branch'}"
            + (", uncommitted changes" if git.get("dirty") else "")
            + ")",
        ),
    ]
    if result.comparison is not None:
        base = result.comparison.baseline_info
        items.append(
            (
                "baseline",
                f"`{base.get('commit') or 'unknown'}` ({base.get('branch') or 'no branch'}), "
                f"run {_when(base.get('started'))}",
            )
        )
    if run["dropped_iterations"]:
        items.append(("dropped iterations", str(run["dropped_iterations"])))
    if run["skipped_tasks"]:
        skipped = ", ".join(f"{k}: {v}" for k, v in run["skipped_tasks"].items())
        items.append(("skipped tasks (no saved value yet)", skipped))
    return items


def render_markdown(result: LoadResult) -> str:
    blocks = [marker(result.profile.name), headline(result)]
    if result.abort is not None:
        blocks.append(
            f"> 🛑 Aborted after {result.abort.at_s:.1f} s of {result.run['planned_s']:g} s: "
            f"`{result.abort.threshold}` failed (observed {result.abort.observed:g})."
        )
    blocks += [f"> ⚠️ {w}" for w in result.warnings]
    blocks.append(
        markdown.table(
            ["threshold", "now", "baseline", "delta", "verdict"],
            _threshold_rows(result),
            ["left", "right", "right", "right", "left"],
        )
        if result.thresholds
        else "_No thresholds in this profile._"
    )
    if result.comparison is not None and result.comparison.regressions:
        blocks.append("**Regressions against the baseline**")
        blocks.append(
            markdown.table(
                ["endpoint", "metric", "now", "baseline", "delta", "limit"],
                _regression_rows(result),
                ["left", "left", "right", "right", "right", "right"],
            )
        )
    blocks.append(
        markdown.details(
            f"Per endpoint ({len(result.stats.endpoints)})",
            markdown.table(
                ["endpoint", "reqs", "rps", "fail %", "p50", "p95", "p99", "Δ p95"],
                _endpoint_rows(result),
                ["left", "right", "right", "right", "right", "right", "right", "right"],
            ),
        )
    )
    if result.errors:
        rows = [
            [e.occurrences, f"{e.method} {e.name}".strip(), markdown.code(e.error)]
            for e in result.errors[:10]
        ]
        blocks.append(
            markdown.details(
                f"Top errors ({sum(e.occurrences for e in result.errors)} failed requests)",
                markdown.table(["count", "endpoint", "error"], rows, ["right", "left", "left"]),
                open_=True,
            )
        )
    facts = [f"{label}: {text}" for label, text in _facts(result)]
    blocks.append(markdown.details("Run and machine", markdown.bullet_list(facts)))
    return markdown.document(*blocks)


def render_error_markdown(name: str, message: str, facts: dict[str, Any]) -> str:
    return markdown.document(
        marker(name),
        f"### {ICONS[verdicts.ERROR]} Load test `{name}`: error",
        "The run could not be made; no statistics were gathered.",
        "```\n" + message.strip()[:3000] + "\n```",
        markdown.details("Machine", markdown.bullet_list([f"{k}: {v}" for k, v in facts.items()])),
    )


# --- JSON, JUnit -----------------------------------------------------------------------------


def to_json(result: LoadResult) -> dict[str, Any]:
    profile = result.profile
    duration = result.stats.duration_s
    thresholds = []
    for item in result.thresholds:
        entry = item.to_json()
        entry["baseline"] = result.baseline_thresholds.get(item.threshold.id)
        entry["delta_text"] = threshold_delta(result, item)
        thresholds.append(entry)
    return {
        "format": verdicts.REPORT_FORMAT,
        "verdict": result.verdict,
        "no_work": result.no_work,
        "profile": {
            "name": profile.name,
            "path": str(profile.path) if profile.path else None,
            "description": profile.description,
            "target": profile.target,
            "base_url": profile.base_url,
            "target_url": result.facts.get("target_url"),
            "client": profile.client,
            "model": "open" if profile.open_model else "closed",
            "workers": result.run["workers"],
            "stages": [s.model_dump(mode="json") for s in profile.stages],
        },
        "summary": {
            "thresholds": len(result.thresholds),
            "thresholds_failed": len(result.failed_thresholds),
            "regressions": result.regressions,
            "requests": result.stats.total.requests,
            "failures": result.stats.total.failures,
        },
        "run": result.run,
        "abort": result.abort.to_json() if result.abort else None,
        "thresholds": thresholds,
        "comparison": result.comparison.to_json() if result.comparison else None,
        "total": result.stats.total.summary(duration),
        "endpoints": [e.summary(duration) for e in result.stats.endpoints],
        "errors": [e.to_json() for e in result.errors],
        "stats": result.stats.to_json(),
        "timeline": result.timeline.to_json(),
        "machine": result.facts,
        "git": result.git,
        "warnings": result.warnings,
        "locust_figures": result.locust_figures,
        "artifacts": result.artifacts,
    }


def junit_suites(result: LoadResult) -> list[junit.Suite]:
    name = result.profile.name
    classname = f"load.{name}"
    cases = []
    for item in result.thresholds:
        failure = None
        if not item.passed:
            failure = item.describe()
            if result.abort is not None and result.abort.threshold == item.threshold.id:
                failure += f"\nthe run was aborted after {result.abort.at_s:.1f} s"
        cases.append(
            junit.Case(
                name=item.threshold.id,
                classname=classname,
                time_s=result.stats.duration_s,
                failure=failure,
                output=item.describe(),
            )
        )
    suites = [
        junit.Suite(
            name=f"load thresholds: {name}",
            cases=cases,
            time_s=result.stats.duration_s,
            timestamp=_when(result.run["started"]),
            properties={"verdict": result.verdict, "commit": str(result.git.get("commit"))},
        )
    ]
    if result.comparison is not None:
        judged = [c for c in result.comparison.changes if c.limit is not None]
        suites.append(
            junit.Suite(
                name=f"load baseline: {name}",
                cases=[
                    junit.Case(
                        name=f"{c.endpoint}: {c.metric} within {c.limit.text if c.limit else ''}",
                        classname=f"{classname}.baseline",
                        failure=(
                            f"{c.endpoint} {c.metric} regressed: {c.baseline} -> {c.now} "
                            f"({c.delta_text})"
                            if c.verdict == "regression"
                            else None
                        ),
                        skipped=c.verdict
                        if c.verdict in ("too few requests", "new", "gone")
                        else None,
                        output=f"verdict: {c.verdict}; delta {c.delta_text}",
                    )
                    for c in judged
                ],
            )
        )
    return suites


# --- HTML and the plot --------------------------------------------------------------------


def timeline_plot(result: LoadResult) -> plots.Timeline:
    points = result.timeline.points
    xs = [p.t_s for p in points]
    windows = []
    if result.run["warmup_s"]:
        windows.append(plots.Window("warm-up", 0.0, float(result.run["warmup_s"])))
    markers = []
    if result.timeline.abort_at_s is not None:
        markers.append(plots.Marker("abort", result.timeline.abort_at_s))
    return plots.Timeline(
        title=f"{result.profile.name}: {result.verdict}",
        panels=[
            plots.Panel(
                "Throughput and errors",
                "requests/s",
                [
                    plots.Series("requests/s", xs, [p.rps for p in points]),
                    plots.Series(
                        "failures/s", xs, [p.failures_per_s for p in points], "bar", "#d62728"
                    ),
                    plots.Series(
                        "users", xs, [float(p.users) for p in points], "step", "#7f7f7f", True
                    ),
                ],
                secondary_label="users",
            ),
            plots.Panel(
                "Latency per second",
                "ms",
                [
                    plots.Series("p50", xs, [p.p50_ms for p in points], color="#2ca02c"),
                    plots.Series("p95", xs, [p.p95_ms for p in points], color="#ff7f0e"),
                    plots.Series("p99", xs, [p.p99_ms for p in points], color="#d62728"),
                ],
            ),
        ],
        windows=windows,
        markers=markers,
    )


def render_html(result: LoadResult, png: bytes, locust_html: str | None) -> str:
    page = Page(f"Load test {result.profile.name}: {result.verdict}")
    page.badge(result.verdict, result.passed)
    passed = len(result.thresholds) - len(result.failed_thresholds)
    page.paragraph(
        f"{passed}/{len(result.thresholds)} thresholds passed, {result.regressions} regressions; "
        f"{result.stats.total.requests} requests in {result.stats.duration_s:.1f} s measured."
    )
    if result.abort is not None:
        page.paragraph(
            f"Aborted after {result.abort.at_s:.1f} s: {result.abort.threshold} "
            f"(observed {result.abort.observed:g}).",
            "fail",
        )
    for warning in result.warnings:
        page.paragraph(f"Warning: {warning}", "fail")
    page.heading("Over time").image(png, "throughput, errors, users and latency over time")
    page.heading("Thresholds")
    page.table(
        ["threshold", "now", "baseline", "delta", "verdict"],
        [
            [
                r[0].strip("`"),
                Cell(r[1], "num"),
                Cell(r[2], "num"),
                Cell(r[3], "num"),
                Cell(r[4], "pass" if "pass" in r[4] else "fail"),
            ]
            for r in _threshold_rows(result)
        ],
    )
    if result.comparison is not None:
        page.heading("Against the baseline")
        rows = [
            [
                c.endpoint,
                c.metric,
                Cell(_change_value(c, c.now), "num"),
                Cell(_change_value(c, c.baseline), "num"),
                Cell(c.delta_text, "num"),
                c.limit.text if c.limit else "—",
                Cell(c.verdict, "fail" if c.verdict == "regression" else ""),
            ]
            for c in result.comparison.changes
            if c.limit is not None or c.endpoint == TOTAL
        ]
        page.table(["endpoint", "metric", "now", "baseline", "delta", "limit", "verdict"], rows)
    page.heading("Per endpoint")
    page.table(
        ["endpoint", "reqs", "rps", "fail %", "p50", "p95", "p99", "Δ p95"],
        [[str(r[0]).strip("*"), *(Cell(v, "num") for v in r[1:])] for r in _endpoint_rows(result)],
    )
    if result.errors:
        page.heading("Errors")
        page.table(
            ["count", "endpoint", "error"],
            [[Cell(e.occurrences, "num"), f"{e.method} {e.name}", e.error] for e in result.errors],
        )
    page.heading("Run and machine")
    page.table(
        ["fact", "value"], [[label, text.replace("`", "")] for label, text in _facts(result)]
    )
    if locust_html:
        page.link(locust_html, "Locust's own report")
    return page.render()


def write_reports(
    result: LoadResult, report_dir: Path, *, step_summary: bool = True
) -> dict[str, str]:
    """Write every report into ``report_dir``; returns name -> path (also in the JSON)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    png = plots.render_png(timeline_plot(result))
    locust_html = result.artifacts.get("locust_html")
    files = {
        "markdown": write_text(report_dir / "report.md", render_markdown(result)),
        "junit": junit.write(report_dir / "junit.xml", junit_suites(result)),
        "plot": write_bytes(report_dir / "timeline.png", png),
        "html": write_text(
            report_dir / "report.html",
            render_html(result, png, Path(locust_html).name if locust_html else None),
        ),
    }
    result.artifacts.update({k: str(v) for k, v in files.items()})
    result.artifacts["json"] = str(report_dir / "report.json")
    write_json(report_dir / "report.json", to_json(result))
    if step_summary:
        summary = github.append_step_summary(render_markdown(result))
        if summary is not None:
            result.artifacts["step_summary"] = str(summary)
    return dict(result.artifacts)


def write_error_report(
    report_dir: Path, name: str, message: str, facts: dict[str, Any], *, step_summary: bool = True
) -> dict[str, str]:
    report_dir.mkdir(parents=True, exist_ok=True)
    text = render_error_markdown(name, message, facts)
    md = write_text(report_dir / "report.md", text)
    data = {
        "format": verdicts.REPORT_FORMAT,
        "verdict": verdicts.ERROR,
        "profile": {"name": name},
        "error": message,
        "machine": facts,
    }
    js = write_json(report_dir / "report.json", data)
    case = junit.Case(name="run", classname=f"load.{name}", error=message)
    xml = junit.write(report_dir / "junit.xml", [junit.Suite(f"load thresholds: {name}", [case])])
    if step_summary:
        github.append_step_summary(text)
    return {"markdown": str(md), "json": str(js), "junit": str(xml)}
