"""Steps run in order and a failed quality gate stops everything downstream of it."""

from __future__ import annotations

import pytest

from lakecdp.cli.pipeline import Step, StepFailed, gate_step, run_stages


class Recorder:
    """A step stub that records that it ran."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def __call__(self) -> str:
        self.calls.append(self.name)
        return f"{self.name} done"


def test_steps_run_in_order_and_return_their_results() -> None:
    calls: list[str] = []
    results = run_stages(
        [("ingest", Recorder("ingest", calls)), Step("dbt", Recorder("dbt", calls))]
    )
    assert calls == ["ingest", "dbt"]
    assert results == {"ingest": "ingest done", "dbt": "dbt done"}


def test_a_failing_step_stops_the_rest_and_is_named() -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(StepFailed) as info:
        run_stages(
            [
                ("ingest", Recorder("ingest", calls)),
                ("check", broken),
                ("dbt", Recorder("dbt", calls)),
            ]
        )
    assert calls == ["ingest"]
    assert (info.value.step, info.value.completed, info.value.not_run) == (
        "check",
        ["ingest"],
        ["dbt"],
    )
    assert "step 'check' failed, so dbt did not run" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_step_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        run_stages([("a", lambda: None), ("a", lambda: None)])


@pytest.mark.spark
def test_identity_gate_failure_keeps_dbt_from_running(spark, lake) -> None:  # type: ignore[no-untyped-def]
    from expectations.gates import GateFailed
    from tests.expectations.lake_tables import write_id_map

    calls: list[str] = []

    def identity() -> None:  # stands in for the identity job: writes a map with a local phone
        calls.append("identity")
        write_id_map(spark, lake, [("phone", "91234567", "cus_a"), ("email", "a@b.co", "cus_a")])

    with pytest.raises(StepFailed) as info:
        run_stages(
            [
                ("identity", identity),
                gate_step(spark, lake, "identity"),
                ("dbt", Recorder("dbt", calls)),
            ]
        )

    assert calls == ["identity"]
    assert info.value.step == "gate:identity"
    assert info.value.not_run == ["dbt"]
    assert isinstance(info.value.error, GateFailed)
    assert "silver.id_map.value: expect_column_values_to_match_regex (phone in E.164)" in str(
        info.value
    )


def test_each_finished_step_is_reported_with_its_seconds() -> None:
    done: list[tuple[str, float]] = []
    run_stages([("a", lambda: 1), ("b", lambda: 2)], on_done=lambda n, s: done.append((n, s)))
    assert [name for name, _ in done] == ["a", "b"]
    assert all(seconds >= 0 for _, seconds in done)
