"""The decision log flows back into bronze (idempotent, torn lines quarantined) and lift is
measured per arm from it and gold.fct_orders."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lakecdp.decisioning.decision_log import DecisionLog
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.tables import DECISIONS
from ml.measure import Lift, measure_lift
from spark_jobs.ingest.decisions import ingest_decisions, new_segments

pytestmark = pytest.mark.spark
T0 = datetime(2026, 10, 1, 12)


def _decision(i: int, arm: str, customer: str) -> dict[str, object]:
    return {
        "decision_id": f"d{i}",
        "customer_id": customer,
        "action": "no_action" if arm == "holdout" else "winback_offer",
        "action_kind": "holdout" if arm == "holdout" else "commercial",
        "channel": None if arm == "holdout" else "email",
        "score": 0.4,
        "model_version": "3",
        "experiment": "exp1",
        "arm": arm,
        "fallback": False,
        "reasons": ["r"],
        "decided_at": T0,
        "request_channel": "any",
        "market": "SG",
        "identifier_type": None,
        "context": {"page": "home"},
    }


def test_decisions_reach_bronze_once_and_lift_is_measured(spark, spark_lake: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    log = DecisionLog(spark_lake.decision_log_dir, roll_seconds=0.1, flush_seconds=0.05)
    # 10 treated customers, 6 of whom order within a week; 10 held out, 2 of whom do
    for i in range(10):
        log.write(_decision(i, "treatment", f"t{i}"))
        log.write(_decision(100 + i, "holdout", f"h{i}"))
    log.write(_decision(0, "treatment", "t0"))  # the same decision logged twice
    log.close()
    with open(f"{spark_lake.decision_log_dir}/torn.jsonl", "w") as handle:
        handle.write('{"decision_id": "d999", "action": \n')
    orders = [(f"t{i}", T0 + timedelta(days=2)) for i in range(6)]
    orders += [(f"h{i}", T0 + timedelta(days=3)) for i in range(2)]
    orders += [("t9", T0 + timedelta(days=20)), ("t8", T0 - timedelta(days=1))]  # outside
    spark.createDataFrame(orders, "customer_id string, ordered_at timestamp").write.format(
        "delta"
    ).save(spark_lake.table_path("gold", "fct_orders"))
    spark.createDataFrame(
        [(f"{a}{i}", f"{a}{i}") for a in "th" for i in range(10)],
        "customer_id string, current_customer_id string",
    ).write.format("delta").save(spark_lake.table_path("silver", "customer_ids"))

    assert ingest_decisions(spark, spark_lake) == {"decisions": 20, "quarantined": 1}
    assert new_segments(spark, spark_lake) == []  # every sealed segment is recorded
    files = spark.read.format("delta").load(spark_lake.table_path("ops", "ingested_files"))
    torn = files.where("file_path like '%torn.jsonl'").first()
    assert (torn.source, torn.rows_ingested, torn.rows_quarantined) == ("decisions", 0, 1)
    assert ingest_decisions(spark, spark_lake) == {"decisions": 0, "quarantined": 0}

    later = DecisionLog(spark_lake.decision_log_dir, roll_seconds=0.1, flush_seconds=0.05)
    later.write(_decision(500, "treatment", "t5"))
    later.close()
    assert len(new_segments(spark, spark_lake)) == 1  # only the new segment is read
    assert ingest_decisions(spark, spark_lake) == {"decisions": 1, "quarantined": 0}
    bronze = spark.read.format("delta").load(spark_lake.table_path(*DECISIONS))
    row = bronze.where("decision_id = 'd1'").first()
    assert (row.arm, row.channel, row.reasons) == ("treatment", "email", ["r"])
    assert '"page"' in row.context

    lift = measure_lift(spark, spark_lake, "exp1", window_days=7)
    assert (lift.treatment_customers, lift.treatment_conversions) == (10, 6)
    assert (lift.holdout_customers, lift.holdout_conversions) == (10, 2)
    assert lift.difference == pytest.approx(0.4)
    low, high = lift.interval
    se = (0.6 * 0.4 / 10 + 0.2 * 0.8 / 10) ** 0.5
    assert (low, high) == pytest.approx((0.4 - 1.96 * se, 0.4 + 1.96 * se), abs=1e-3)


def test_lift_of_an_empty_arm_is_undefined_not_an_error() -> None:
    lift = Lift("exp", 7, 10, 3, 0, 0)
    assert lift.treatment_rate == pytest.approx(0.3)
    assert all(x != x for x in lift.interval)  # NaN
