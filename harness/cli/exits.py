"""How a `harness` command ends: its exit code, and errors on stderr. The one place that
says which outcome gives which code:

====  ==========================================================================
0     success (fleet up and stopped, smoke passed, contracts verified, fuzz clean,
      load passed, game-day passed, ``harness doctor``: the fleet can run, ``harness
      setup``: installed)
1     the run failed (a service did not start, the smoke flow failed, ``harness
      doctor``: a part the fleet needs is missing, ``harness setup`` could not build, a contract
      failed or the service may not ship, new fuzzing failures, a load run error or a
      load run that made no request, a game-day that could not run or whose rollbacks
      did not restore the fleet)
2     bad input: a manifest, settings file, scenario, configuration or option; nothing
      was started (:class:`harness.errors.InputError`, and typer's usage errors)
20    ``harness gameday``: deviated (a check failed during the method, or the steady
      state did not come back within the recovery bound)
21    ``harness gameday``: aborted (an abort condition or the maximum duration)
22    ``harness gameday``: not-steady (the steady state did not hold before any fault)
98    ``harness load``: a regression against the baseline
99    ``harness load``: thresholds failed (k6's code), or the run was aborted
130   interrupted by Ctrl-C; 128 + N for signal N (143: SIGTERM)
====  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import HarnessError, InputError, SpecError
from harness.fleet import signals

__all__ = [
    "EXIT_ABORTED",
    "EXIT_BAD_INPUT",
    "EXIT_DEVIATED",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_STEADY",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "EXIT_THRESHOLDS",
    "err",
    "exit_codes",
    "fail",
    "finish",
    "gameday_exit_code",
    "load_exit_code",
    "out",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 98
EXIT_THRESHOLDS = 99
EXIT_DEVIATED = 20
EXIT_ABORTED = 21
EXIT_NOT_STEADY = 22
EXIT_INTERRUPTED = 130

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def load_exit_code(verdict: str) -> int:
    """The exit code of a load run's verdict (failed thresholds win over regressions)."""
    from harness.load import outcome as verdicts  # only `harness load` pays for it

    codes = {
        verdicts.PASSED: EXIT_OK,
        verdicts.ERROR: EXIT_FAILED,
        verdicts.REGRESSION: EXIT_REGRESSION,
        verdicts.THRESHOLDS_FAILED: EXIT_THRESHOLDS,
        verdicts.ABORTED: EXIT_THRESHOLDS,
        verdicts.NO_REQUESTS: EXIT_FAILED,  # zero work is not a pass
    }
    return codes[verdict]


def gameday_exit_code(verdict: str) -> int:
    """The exit code of a game-day's verdict (``harness.chaos.Verdict`` values)."""
    codes = {
        "passed": EXIT_OK,
        "error": EXIT_FAILED,
        "deviated": EXIT_DEVIATED,
        "aborted": EXIT_ABORTED,
        "not-steady": EXIT_NOT_STEADY,
    }
    return codes[verdict]


def fail(code: int, message: str) -> NoReturn:
    # Messages quote user files and server answers: brackets in them are not markup.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def finish(ok: bool) -> NoReturn:
    raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


@contextmanager
def exit_codes(torn_down: str = "the fleet was torn down") -> Iterator[None]:
    """Map our exceptions to exit codes; SIGTERM behaves like Ctrl-C meanwhile."""
    try:
        with signals.sigterm_raises():
            yield
    except signals.Terminated as exc:
        err.print(f"{exc}: {torn_down}")
        raise typer.Exit(128 + exc.signum) from None
    except KeyboardInterrupt:
        err.print(f"interrupted; {torn_down}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except SpecError as exc:
        fail(EXIT_BAD_INPUT, f"invalid file:\n{exc}")
    except InputError as exc:
        fail(EXIT_BAD_INPUT, str(exc))
    except HarnessError as exc:
        fail(EXIT_FAILED, str(exc))
