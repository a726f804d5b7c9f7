"""A fuzz run's reports: JSON (machines), JUnit XML (CI) and Markdown (pull requests).

Written with the shared writers of :mod:`harness.report` into ``<report_dir>/fuzz/``:
``fuzz.json``, ``fuzz.junit.xml`` (one test case per target, a failure per new finding
with its curl) and ``fuzz.md`` (also appended to ``$GITHUB_STEP_SUMMARY`` in Actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.fuzz.findings import FuzzRun, describe_result
from harness.report import github, junit, markdown
from harness.report.files import write_json, write_text


@dataclass(frozen=True)
class ReportFiles:
    json: Path
    junit: Path
    markdown: Path


def junit_suites(run: FuzzRun) -> list[junit.Suite]:
    suites = []
    for service, results in run.by_service().items():
        cases = []
        for result in results:
            text = describe_result(result, run.replay)
            cases.append(
                junit.Case(
                    name=result.target.operation,
                    classname=f"fuzz.{service}",
                    time_s=result.seconds,
                    failure=text if result.new_findings else None,
                    error="\n".join(result.errors) if result.errors else None,
                    skipped=result.skipped,
                    output=(
                        describe_result(result, run.replay, include_known=True)
                        if result.known_findings
                        else f"{result.cases} cases"
                    ),
                )
            )
        suites.append(
            junit.Suite(
                name=f"fuzz {service}",
                cases=cases,
                time_s=sum(r.seconds for r in results),
                properties={"seed": str(run.seed.value), "max_examples": str(run.max_examples)},
            )
        )
    return suites


def markdown_summary(run: FuzzRun) -> str:
    verdict = "passed" if run.passed else "FAILED"
    headline = (
        f"### Fuzzing {verdict}: {len(run.new_findings)} new failure(s), "
        f"{len(run.known_findings)} known, {run.cases} cases in {run.seconds:.1f} s"
    )
    if run.nothing_checked is not None:
        headline += f"\n\n**{run.nothing_checked}: zero work is not a pass**"
    seed = (
        f"Seed {markdown.code(run.seed.value)} ({run.seed.source}"
        + (", derandomized" if run.seed.derandomize else "")
        + f"); replay with {markdown.code(run.replay)}"
    )
    rows = [
        [service, rate["operations"], rate["cases"], rate["seconds"], rate["cases_per_second"]]
        for service, rate in run.service_rates().items()
    ]
    services = markdown.table(
        ["service", "operations", "cases", "seconds", "cases/s"],
        rows,
        align=["left", "right", "right", "right", "right"],
    )
    failures = []
    for result in run.results:
        for finding in result.findings:
            state = "known" if finding.known else "**new**"
            failures.append(
                [
                    state,
                    finding.service,
                    markdown.code(finding.operation),
                    finding.check,
                    finding.title,
                ]
            )
    blocks = [markdown.marker("harness:fuzz"), headline, seed, services]
    machines = machine_table(run)
    if machines:
        blocks.append(machines)
    notes = [f"{r.target.id}: {note}" for r in run.results for note in r.notes if r.target.check]
    if notes:
        blocks.append(
            markdown.details(
                "Conformance checks: what was not checked, and why",
                markdown.bullet_list([markdown.cell(n) for n in notes]),
            )
        )
    if failures:
        blocks.append(markdown.table(["", "service", "operation", "check", "failure"], failures))
        details = "\n\n".join(
            "```\n" + describe_result(r, run.replay, include_known=True) + "\n```"
            for r in run.results
            if r.findings or r.errors
        )
        blocks.append(markdown.details("Reproductions (curl)", details))
    if run.errors:
        blocks.append(markdown.bullet_list([markdown.cell(e) for e in run.errors]))
    return markdown.document(*blocks)


def machine_table(run: FuzzRun) -> str | None:
    """State machine runs: examples, and which rules and rule pairs they exercised."""
    rows = []
    for report in run.machines:
        cover = report.get("coverage") or {}
        if not cover:
            continue
        rows.append(
            [
                report["machine"],
                report["runs"],
                f"{cover['rules_exercised']}/{cover['rules']}",
                f"{cover['pairs_exercised']}/{cover['pairs']} ({cover['pair_coverage']:.0%})",
                ", ".join(cover["rules_missed"]) or "-",
            ]
        )
    if not rows:
        return None
    table = markdown.table(
        ["state machine", "examples", "rules", "consecutive rule pairs", "rules never run"],
        rows,
        align=["left", "right", "right", "right", "left"],
    )
    missed = [
        f"{report['machine']}: {', '.join(report['coverage']['pairs_missed'][:40])}"
        for report in run.machines
        if report.get("coverage", {}).get("pairs_missed")
    ]
    if missed:
        table += "\n\n" + markdown.details(
            "Rule pairs never exercised", markdown.bullet_list([markdown.cell(m) for m in missed])
        )
    return table


def write_reports(run: FuzzRun, directory: Path) -> ReportFiles:
    directory.mkdir(parents=True, exist_ok=True)
    text = markdown_summary(run)
    files = ReportFiles(
        json=write_json(directory / "fuzz.json", run.to_dict()),
        junit=junit.write(directory / "fuzz.junit.xml", junit_suites(run)),
        markdown=write_text(directory / "fuzz.md", text),
    )
    github.append_step_summary(text)
    return files
