"""The compiled profile the locustfile runs: plain JSON, handed over through a file.

The locustfile runs in another process (Locust must never be imported where pytest runs),
so everything it needs is resolved here: the base URL, absolute stage times, the tasks as
data, the thresholds that may abort the run, and where to write its outputs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.load import templates
from harness.load.profiles import LoadProfile
from harness.load.stages import CompiledStage, compile_stages, total_duration

PLAN_ENV = "HARNESS_LOAD_PLAN"
# Outputs the locustfile writes into the plan's out_dir.
RESULT_FILE = "harness-result.json"
SERIES_FILE = "harness-series.json"
STATUS_FILE = "harness-status.json"
# The series so far, rewritten every status interval when the plan asks for it (chaos).
LIVE_SERIES_FILE = "harness-series-live.json"


@dataclass(frozen=True)
class Plan:
    name: str
    base_url: str
    client: str
    run_id: str
    warmup_s: float
    stages: list[CompiledStage]
    out_dir: str
    workers: int = 0
    open_model: bool = False
    max_users: int | None = None
    max_lag_s: float = 5.0
    wait: dict[str, Any] | None = None
    seed: int | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    # key, condition, delay_abort_eval_s of each threshold with abort_on_fail.
    abort_thresholds: list[dict[str, Any]] = field(default_factory=list)
    status_interval_s: float = 1.0
    live_series: bool = False

    @property
    def duration_s(self) -> float:
        return total_duration(self.stages)

    def to_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["stages"] = [s.to_json() for s in self.stages]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        values = dict(data)
        values["stages"] = [CompiledStage.from_json(s) for s in data["stages"]]
        return cls(**values)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Plan:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def run_variables(profile: LoadProfile, run_id: str) -> dict[str, Any]:
    """The profile's ``vars`` rendered once for the run (they may use ``{run_id}``)."""
    return {
        name: templates.render(value, {"run_id": run_id, "user_id": "{user_id}"})
        for name, value in profile.vars.items()
    }


def compile_plan(
    profile: LoadProfile,
    base_url: str,
    out_dir: Path,
    *,
    run_id: str | None = None,
    workers: int | None = None,
    live_series: bool = False,
) -> Plan:
    run = run_id or uuid.uuid4().hex[:8]
    stages = compile_stages(
        [s.model_dump() for s in profile.stages], default_spawn_rate=profile.spawn_rate
    )
    aborting = [
        {
            "key": t.key,
            "condition": t.condition.text,
            "delay_abort_eval_s": t.delay_abort_eval,
        }
        for t in profile.parsed_thresholds()
        if t.abort_on_fail
    ]
    return Plan(
        name=profile.name,
        base_url=base_url.rstrip("/"),
        client=profile.client,
        run_id=run,
        warmup_s=profile.warmup,
        stages=stages,
        out_dir=str(out_dir),
        workers=profile.workers if workers is None else workers,
        live_series=live_series,
        open_model=profile.open_model,
        max_users=profile.max_users,
        max_lag_s=profile.max_lag,
        wait=profile.wait.model_dump(exclude_none=True) if profile.wait else None,
        seed=profile.seed,
        vars=run_variables(profile, run),
        auth=profile.auth.model_dump() if profile.auth else None,
        tasks=[
            {
                "name": task.name,
                "weight": task.weight,
                "request": task.request.model_dump(by_alias=True),
            }
            for task in profile.tasks
        ],
        abort_thresholds=aborting,
    )
