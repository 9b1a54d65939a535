"""Monitoring the champions on the decision lake (Spark, MLflow, Delta): drift of each input
and of the scores against the population the champion was promoted to score, a shifted feature
named as drifted, the rows written to ops.model_monitoring and plotted by `model report`, and
scored decisions labelled by the orders in their horizon once it has passed."""

from __future__ import annotations

import pytest

from lakecdp.kernel.delta import Table
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


@pytest.mark.parametrize(
    ("model", "horizon", "bought_is"), [("purchase_propensity", 30, 1.0), ("churn_risk", 60, 0.0)]
)
def test_outcomes_label_each_scored_decision_by_the_orders_in_its_horizon(
    spark, decision_lake, model: str, horizon: int, bought_is: float
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from ml.monitor import outcomes

    orders = Table(spark, decision_lake, "gold", "fct_orders").read()
    orders = orders.select("customer_id", "ordered_at").toPandas()
    # decided inside the week whose label horizon has just ended at AS_OF
    decided_at = AS_OF - timedelta(days=horizon + 2)
    customers = sorted(orders["customer_id"].unique())[:60]
    rows = [(f"d{i}", c, decided_at, {model: i / 100}) for i, c in enumerate(customers)]
    decisions = spark.createDataFrame(
        rows,
        "decision_id string, customer_id string, decided_at timestamp, scores map<string,double>",
    )
    window = (orders["ordered_at"] > decided_at) & (
        orders["ordered_at"] <= decided_at + timedelta(days=horizon)
    )
    buyers = set(orders.loc[window, "customer_id"])
    expected = {
        i / 100: (bought_is if c in buyers else 1.0 - bought_is) for i, c in enumerate(customers)
    }
    assert 0 < sum(expected.values()) < len(expected)  # both outcomes among them

    labels, scores = outcomes(spark, decision_lake, decisions, model, AS_OF)
    assert dict(zip(scores.tolist(), labels.tolist(), strict=True)) == expected
    too_early = outcomes(spark, decision_lake, decisions, model, AS_OF - timedelta(days=3))
    assert len(too_early[0]) == 0  # their horizon had not ended yet
