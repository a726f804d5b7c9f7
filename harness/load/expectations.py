"""What ``pytest --load`` checks of a profile's run: one check per threshold, the baseline
comparison, and for a profile with ``expect`` how the run ended (an abort, the verdict).

By default every threshold must pass and no metric may regress: a profile states an SLO.
A profile with ``expect`` tests a gate itself (the harness's own ``tests/load`` suite): a
threshold listed in ``expect.failed`` must fail, ``expect.aborted_by`` must have stopped the
run, ``expect.verdict`` is the run's verdict (which gives ``harness load`` its exit code:
98 for a regression, 99 for failed thresholds or an abort). A check that holds when the
gate is broken would prove nothing, so each one also fails on a run that made no request.

Core logic, no pytest: the adapter makes one item per :class:`Check` and fails it with the
text :meth:`Check.problem` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.load.outcome import REGRESSION, LoadResult
from harness.load.profiles import LoadProfile

THRESHOLD = "threshold"
ABORT = "abort"
BASELINE = "baseline"
VERDICT = "verdict"


@dataclass(frozen=True)
class Check:
    """One verdict to check on a run; ``name`` is the pytest item's name."""

    name: str
    kind: str
    subject: str = ""  # the threshold id (THRESHOLD, ABORT), the verdict (VERDICT)
    expect_failure: bool = False

    def problem(self, result: LoadResult) -> str | None:
        """Why the check does not hold for ``result`` (None when it holds)."""
        name = result.profile.name
        if result.no_work is not None:
            return f"{name}: {result.no_work}"
        if self.kind == THRESHOLD:
            verdict = result.threshold(self.subject)
            if verdict.passed != self.expect_failure:
                return None
            if self.expect_failure:
                return f"{name}: {verdict.describe()}, but this threshold is meant to fail"
            aborted = ""
            if result.abort is not None and result.abort.threshold == self.subject:
                aborted = f" (aborted the run after {result.abort.at_s:.1f} s)"
            return f"{name}: {verdict.describe()}{aborted}"
        if self.kind == ABORT:
            return _abort_problem(result, self.subject)
        if self.kind == BASELINE:
            if result.comparison is None:
                return f"{name}: no baseline was compared"
            if bool(result.regressions) == self.expect_failure:
                return None
            if self.expect_failure:
                return f"{name}: no regression against the baseline, but one is expected"
            return result.summary()
        if result.verdict == self.subject:
            return None
        return f"{name}: verdict '{result.verdict}', expected '{self.subject}'\n" + result.summary()


def _abort_problem(result: LoadResult, threshold: str) -> str | None:
    name = result.profile.name
    if result.abort is None:
        return f"{name}: the run was not aborted; '{threshold}' was meant to stop it"
    if result.abort.threshold != threshold:
        return f"{name}: aborted by '{result.abort.threshold}', expected '{threshold}'"
    planned = result.run.get("planned_s") or 0.0
    if result.timeline.end_s >= planned:
        return f"{name}: aborted only at the planned end ({result.timeline.end_s:.1f} s)"
    return None


def checks(profile: LoadProfile, *, baseline_given: bool = False) -> list[Check]:
    """What a suite run of ``profile`` checks, in report order (a valid profile only).

    ``baseline_given``: a baseline comes from the command line (``--load-baseline``);
    a profile's own ``compare.baseline`` counts too.
    """
    expect = profile.expected
    found = [
        Check(threshold.id, THRESHOLD, threshold.id, expect_failure=threshold.id in expect.failed)
        for threshold in profile.parsed_thresholds()
    ]
    if expect.aborted_by is not None:
        found.append(Check(f"aborted by {expect.aborted_by}", ABORT, expect.aborted_by))
    if baseline_given or profile.stored_baseline is not None:
        regress = expect.verdict == REGRESSION
        title = "a regression" if regress else "no regression"
        found.append(Check(f"{title} against the baseline", BASELINE, expect_failure=regress))
    if profile.expect is not None:
        found.append(Check(f"verdict: {expect.verdict}", VERDICT, expect.verdict))
    return found
