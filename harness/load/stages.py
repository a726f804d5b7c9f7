"""What load to apply at each moment of a run: users (closed model) or arrivals (open model).

Pure functions of the compiled stages, so the locustfile's LoadTestShape and its open-model
scheduler stay thin and these rules are unit-tested without Locust.

Closed model: a stage ramps the user count from the previous stage's to its own within its
duration (Locust's spawn rate is set to make that happen, unless the profile gives one).

Open model: a stage holds its arrival rate (iterations per second) for its duration. The
schedule hands out *intended* start times; a user that starts an iteration later than
intended (all users were busy) adds the lag to the recorded response time, so a slow
system cannot hide its queueing from the statistics (no coordinated omission).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CompiledStage:
    end_s: float
    users: int | None = None
    rate: float | None = None
    spawn_rate: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "end_s": self.end_s,
            "users": self.users,
            "rate": self.rate,
            "spawn_rate": self.spawn_rate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledStage:
        return cls(
            float(data["end_s"]), data.get("users"), data.get("rate"), data.get("spawn_rate")
        )


def compile_stages(
    stages: Sequence[Mapping[str, Any]], default_spawn_rate: float | None
) -> list[CompiledStage]:
    """Stages as ``{duration, users|rate, spawn_rate}`` -> absolute end times and spawn rates."""
    compiled = []
    elapsed = 0.0
    previous_users = 0
    for stage in stages:
        duration = float(stage["duration"])
        elapsed += duration
        users = stage.get("users")
        spawn = stage.get("spawn_rate") or default_spawn_rate
        if users is not None and spawn is None:
            # Ramp evenly over the stage; at least one user per second so a flat stage
            # that follows a ramp still settles at once.
            spawn = max(1.0, abs(users - previous_users) / duration)
        compiled.append(CompiledStage(elapsed, users, stage.get("rate"), spawn))
        if users is not None:
            previous_users = users
    return compiled


def total_duration(stages: Sequence[CompiledStage]) -> float:
    return stages[-1].end_s if stages else 0.0


def shape_at(
    stages: Sequence[CompiledStage], elapsed: float, pool: int | None = None
) -> tuple[int, float] | None:
    """``(users, spawn_rate)`` for Locust's shape at ``elapsed`` s; None once the run is over.

    In the open model every stage runs the whole ``pool`` (spawned within about a second):
    the arrival schedule, not the user count, sets the load.
    """
    for stage in stages:
        if elapsed < stage.end_s:
            if stage.users is None:
                size = pool or 1
                return size, float(max(size, 1))
            return stage.users, stage.spawn_rate or 1.0
    return None


def rate_at(stages: Sequence[CompiledStage], elapsed: float) -> float | None:
    """The arrival rate at ``elapsed`` (None after the last stage)."""
    for stage in stages:
        if elapsed < stage.end_s:
            return stage.rate or 0.0
    return None


class ArrivalSchedule:
    """Intended start times of iterations, ``share`` of the profile's rate (one worker's part).

    Times are seconds since the run's start. Arrivals are evenly spaced within a stage
    (constant pacing, not Poisson): reproducible, and what k6's arrival-rate executors do.
    """

    def __init__(self, stages: Sequence[CompiledStage], share: float = 1.0) -> None:
        self.stages = list(stages)
        self.share = share
        self._stage = 0
        self._index = 0  # arrivals issued in the current stage
        self.issued = 0

    def next(self) -> float | None:
        """The next intended start time, or None when the last stage is over."""
        while self._stage < len(self.stages):
            stage = self.stages[self._stage]
            begin = self.stages[self._stage - 1].end_s if self._stage else 0.0
            rate = (stage.rate or 0.0) * self.share
            # Computed from the stage's start, not accumulated: no drift over long stages.
            at = begin + self._index / rate if rate > 0 else stage.end_s
            if at < stage.end_s - 1e-9:
                self._index += 1
                self.issued += 1
                return at
            self._stage += 1
            self._index = 0
        return None
