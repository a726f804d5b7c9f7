"""Load profiles run by Locust in a subprocess, with thresholds, baselines and reports.

```python
from harness.load import run_profile

result = run_profile("scenarios/load/checkout-short.yaml", on_status=print)
assert result.passed, result.summary()
```

:func:`run_profile` is the one entry (the CLI and the pytest plugin both call it): it
resolves the target, runs Locust, evaluates thresholds and the baseline comparison, writes
the reports and returns a :class:`LoadResult`. Bad input raises a
:class:`~harness.errors.InputError` before anything starts.
"""

from harness.load.errors import (
    LoadBaselineError,
    LoadError,
    LoadProfileError,
    LoadRunError,
    SetupStepError,
)
from harness.load.outcome import Baseline, LoadResult, load_baseline
from harness.load.profiles import LoadProfile, load_profile
from harness.load.session import default_report_dir, run_profile

__all__ = [
    "Baseline",
    "LoadBaselineError",
    "LoadError",
    "LoadProfile",
    "LoadProfileError",
    "LoadResult",
    "LoadRunError",
    "SetupStepError",
    "default_report_dir",
    "load_baseline",
    "load_profile",
    "run_profile",
]
