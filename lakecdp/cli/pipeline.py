"""Run the platform's steps in order; a failed step (a quality gate above all) stops the rest.

Stopping is the point of a gate: dbt must not build profiles from an id map that failed its
checks, and syncs must not send what dbt built from it. The error says which step failed, what
had finished and what never ran, so a rerun can start at the right place.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakecdp.kernel.config import ProjectConfig


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], Any]


class StepFailed(RuntimeError):
    """A step raised; the steps after it did not run. The step's own error is `__cause__`."""

    def __init__(
        self, step: str, completed: Sequence[str], not_run: Sequence[str], error: BaseException
    ) -> None:
        self.step = step
        self.completed = list(completed)
        self.not_run = list(not_run)
        self.error = error
        super().__init__(
            f"step '{step}' failed, so {', '.join(self.not_run) or 'nothing else'} did not run "
            f"(completed: {', '.join(self.completed) or 'none'}):\n{error}"
        )


def run_stages(
    steps: Sequence[Step | tuple[str, Callable[[], Any]]],
    on_done: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Run `steps` in order and return each one's result by name; stop at the first failure.

    `on_done(name, seconds)` is called after each step that succeeds (the demo's step lines and
    its time table). Raises StepFailed naming the failed step, the completed ones and the
    skipped ones.
    """
    ordered = [s if isinstance(s, Step) else Step(*s) for s in steps]
    names = [s.name for s in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"step names must be unique: {names}")
    results: dict[str, Any] = {}
    for index, step in enumerate(ordered):
        started = time.monotonic()
        try:
            results[step.name] = step.run()
        except Exception as exc:
            raise StepFailed(step.name, names[:index], names[index + 1 :], exc) from exc
        if on_done is not None:
            on_done(step.name, time.monotonic() - started)
    return results


def gate_step(spark: SparkSession, config: ProjectConfig, stage: str) -> Step:
    """The quality gate of `stage` as a step (name `gate:<stage>`); it fails with GateFailed."""

    def run() -> Any:
        from expectations.gates import run_gate

        return run_gate(spark, config, stage)

    return Step(f"gate:{stage}", run)
