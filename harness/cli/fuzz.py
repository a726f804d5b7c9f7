"""``harness fuzz``: every operation of every service, from the manifest; reports; exit code.

Exit codes: 0 no new failure; 1 new failures (or the run broke somewhere); 2 bad input
(fuzz.yaml, the baseline, the seed, the manifest), with nothing started. The seed is the
first line printed, always.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.config import HarnessConfig
from harness.fuzz.errors import FuzzError
from harness.fuzz.findings import TargetResult, describe_result
from harness.fuzz.runner import FuzzSession, fuzz_from_config, prepare, replay_command
from harness.fuzz.seeds import resolve_seed
from harness.invariants import InvariantError

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass(frozen=True)
class FuzzOptions:
    services: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    seed: int | None = None
    max_examples: int | None = None
    report_dir: Path | None = None
    baseline: Path | None = None
    settings: Path | None = None
    update_baseline: bool = False
    as_json: bool = False


_ICONS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}


def run_fuzz(
    options: FuzzOptions, *, config: Callable[[], HarnessConfig], out: Console, err: Console
) -> int:
    harness = config()
    try:
        seed = resolve_seed(options.seed, configured=harness.seed)
        settings, baseline = prepare(
            harness, settings_file=options.settings, baseline=options.baseline
        )
    except (FuzzError, InvariantError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_BAD_INPUT
    err.print(f"harness fuzz: {seed.describe()}", highlight=False)

    def planned(session: FuzzSession) -> None:
        err.print(
            f"fuzzing {len(session.targets)} targets of {', '.join(session.services)} "
            f"({session.max_examples} examples per operation)",
            highlight=False,
        )

    def finished(result: TargetResult) -> None:
        icon = _ICONS.get(result.outcome, result.outcome)
        line = f"{icon:>5}  {result.target.id}  {result.cases} cases, {result.seconds:.1f} s"
        if result.skipped:
            line += f"  ({result.skipped})"
        err.print(escape(line), highlight=False)

    outcome = fuzz_from_config(
        harness,
        settings,
        baseline,
        seed=seed,
        services=options.services,
        operations=options.operations,
        max_examples=options.max_examples,
        report_dir=options.report_dir,
        update_baseline=options.update_baseline,
        on_plan=planned,
        on_result=None if options.as_json else finished,
    )
    run = outcome.run
    if options.as_json:
        print(json.dumps(run.to_dict()), flush=True)
    else:
        for result in run.results:
            if result.new_findings or result.errors:
                replay = replay_command(
                    seed,
                    services=[result.target.service],
                    operations=[] if result.target.stateful else [result.target.operation],
                    max_examples=run.max_examples,
                )
                out.print(escape(describe_result(result, replay)))
                out.print()
        verdict = "[green]passed[/]" if run.passed else "[bold red]FAILED[/]"
        out.print(
            f"fuzz {verdict}: {len(run.new_findings)} new failure(s), "
            f"{len(run.known_findings)} known, {run.cases} cases in {run.seconds:.1f} s; "
            f"{escape(seed.describe())}"
        )
        out.print(f"replay: {escape(run.replay)}", highlight=False)
        for path in (outcome.reports.markdown, outcome.reports.junit, outcome.reports.json):
            out.print(f"report: {path}", highlight=False)
    if outcome.baseline_written is not None:
        err.print(f"baseline written: {outcome.baseline_written}")
        return EXIT_PASSED
    return EXIT_PASSED if run.passed else EXIT_FAILED
