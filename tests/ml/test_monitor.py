"""Monitoring the champions on the decision lake (Spark, MLflow, Delta): drift of each input
and of the scores against the training set the champion was promoted with, a shifted feature
named as drifted, the rows written to ops.model_monitoring and plotted by `model report`."""

from __future__ import annotations

import pytest

from ml.monitor import measure, monitor_models, monitoring_history, snapshot_sample
from spark_jobs.features.transactions import FEATURE_COLUMNS
from tests.feature_repo.gold_world import AS_OF

pytestmark = [pytest.mark.spark]


def test_a_shifted_feature_is_named_as_drifted_and_the_rest_are_not(spark, decision_lake) -> None:  # type: ignore[no-untyped-def]
    name = "purchase_propensity"
    current = snapshot_sample(spark, decision_lake, list(FEATURE_COLUMNS), AS_OF, seed=7)
    assert len(current) > 100
    as_is = measure(decision_lake, name, AS_OF, current)
    assert as_is.skipped is None and as_is.version is not None
    psi = {row.name: row.psi for row in as_is.drift}
    assert set(psi) == {*FEATURE_COLUMNS, "score"}

    shifted = current.copy()
    shifted["monetary"] = shifted["monetary"] * 5 + 500  # a currency change upstream, say
    moved = measure(decision_lake, name, AS_OF, shifted)
    assert "monetary" in moved.drifted
    moved_psi = {row.name: row.psi for row in moved.drift}
    assert moved_psi["monetary"] > 1.0 > psi["monetary"]
    unchanged = [c for c in FEATURE_COLUMNS if c != "monetary"]
    assert all(moved_psi[c] == pytest.approx(psi[c]) for c in unchanged)


def test_monitoring_writes_one_row_a_measure_and_a_rerun_replaces_them(
    spark, decision_lake, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from ml.monitoring import plot_report

    first = monitor_models(spark, decision_lake, AS_OF)
    assert {r.model for r in first if r.skipped is None} == {"purchase_propensity", "churn_risk"}
    monitor_models(spark, decision_lake, AS_OF)  # the same as-of time again
    history = monitoring_history(spark, decision_lake, "churn_risk")
    assert history["as_of"].nunique() == 1
    assert len(history) == len(history.drop_duplicates(["kind", "name"]))
    assert set(history["kind"]) >= {"feature", "score"}
    drift = history[history["kind"] != "calibration"].rename(columns={"as_of": "day"})
    png = plot_report(drift, [], tmp_path / "churn.png", "churn_risk")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
