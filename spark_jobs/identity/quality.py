"""Identity quality against ground truth: pairwise precision/recall, over- and under-merges.

The unit is the record (a CRM contact, a transaction, a loyalty member, an order, an event):
two records are a predicted pair when they resolve to one customer and a true pair when the
generator says one person made them. Records whose every identifier was excluded (invalid,
blocklisted, hub) resolve to nobody and count as singletons, so exclusions cost recall here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.config import ProjectConfig
from lakecdp.identity.rules import IdentityRules
from spark_jobs.identity.observations import bronze_tables, read_bronze, record_id_column

SIZE_BUCKETS = ((1, 1), (2, 5), (6, 10), (11, 50), (51, 200), (201, 10**12))


def record_labels(observations: DataFrame, labels: DataFrame, rules: IdentityRules) -> DataFrame:
    """source, record_id, label: each record takes the label of its highest-priority identifier
    that has one (hubs and excluded identifiers have none)."""
    priority = F.create_map(*[x for t, p in rules.priorities.items() for x in (F.lit(t), F.lit(p))])
    return (
        observations.join(labels, "node")
        .withColumn("_p", priority[F.col("id_type")])
        .groupBy("source", "record_id")
        .agg(F.max_by("label", F.struct("_p", -F.col("node"))).alias("label"))
    )


def truth_items(spark: SparkSession, config: ProjectConfig, truth_dir: Path) -> DataFrame:
    """source, record_id, person_id for every ground-truth record that reached bronze."""
    records = spark.read.option("header", True).csv(str(truth_dir / "records.csv"))
    events = (
        spark.read.option("header", True)
        .csv(str(truth_dir / "events.csv"))
        .select(
            F.lit("events").alias("source"), F.col("message_id").alias("record_id"), "person_id"
        )
    )
    truth = records.select("source", "record_id", "person_id").unionByName(events).distinct()
    ingested = []
    for table in bronze_tables(spark, config):
        rows = read_bronze(spark, config, table, None)
        rid = F.col("message_id") if table == "events" else record_id_column(config.sources[table])
        ingested.append(rows.select(F.lit(table).alias("source"), rid.alias("record_id")))
    present = ingested[0]
    for frame in ingested[1:]:
        present = present.unionByName(frame)
    return truth.join(present.distinct(), ["source", "record_id"], "left_semi")


def _pairs(column: str) -> Any:
    return F.sum(F.col(column) * (F.col(column) - 1) / 2)


def pairwise_metrics(items: DataFrame) -> dict[str, Any]:
    """Precision, recall, F1 over record pairs; over- and under-merged people.

    `items`: person_id (truth) and label (prediction; null = resolved to nobody).
    """
    labelled = items.withColumn(
        "label",
        F.coalesce(F.col("label"), F.concat(F.lit("unresolved:"), F.monotonically_increasing_id())),
    ).persist()
    cells = labelled.groupBy("label", "person_id").agg(F.count("*").alias("n")).persist()
    tp = cells.agg(_pairs("n")).first()[0] or 0  # type: ignore[index]
    by_label = cells.groupBy("label").agg(F.sum("n").alias("n"), F.count("*").alias("people"))
    by_person = cells.groupBy("person_id").agg(F.sum("n").alias("n"), F.count("*").alias("labels"))
    predicted = by_label.agg(_pairs("n")).first()[0] or 0  # type: ignore[index]
    true = by_person.agg(_pairs("n")).first()[0] or 0  # type: ignore[index]
    over_people = (
        cells.join(by_label.where("people > 1").select("label"), "label")
        .select("person_id")
        .distinct()
        .count()
    )
    under_people = by_person.where("labels > 1").count()
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {
        "records": labelled.count(),
        "people": by_person.count(),
        "profiles": by_label.count(),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "true_pairs": int(true),
        "predicted_pairs": int(predicted),
        "over_merged_people": over_people,
        "under_merged_people": under_people,
        "unresolved_records": items.where(F.col("label").isNull()).count(),
    }
    labelled.unpersist()
    cells.unpersist()
    return out


def size_distribution(id_map: DataFrame) -> dict[str, int]:
    """Profiles by how many identifiers they hold."""
    sizes = id_map.groupBy("label").agg(F.count("*").alias("n"))
    out: dict[str, int] = {}
    for low, high in SIZE_BUCKETS:
        name = f"{low}" if low == high else (f"{low}-{high}" if high < 10**12 else f">{low - 1}")
        out[name] = sizes.where((F.col("n") >= low) & (F.col("n") <= high)).count()
    return out


def evaluate(
    spark: SparkSession,
    config: ProjectConfig,
    truth_dir: Path,
    labels: DataFrame,
    observations: DataFrame,
) -> dict[str, Any]:
    """Metrics for a node -> label assignment (`labels`: node, label), overall and per kind."""
    rules = IdentityRules.from_config(config)
    labels = labels.select("node", F.col("label").cast("string").alias("label"))
    predicted = record_labels(observations, labels, rules)
    items = (
        truth_items(spark, config, truth_dir)
        .join(predicted, ["source", "record_id"], "left")
        .persist()
    )
    report = {
        "all": pairwise_metrics(items),
        "file_records": pairwise_metrics(items.where(F.col("source") != "events")),
        "events": pairwise_metrics(items.where(F.col("source") == "events")),
        "identifiers_per_profile": size_distribution(labels),
    }
    items.unpersist()
    return report


def identity_report(
    spark: SparkSession,
    config: ProjectConfig,
    truth_dir: Path | None,
    *,
    deterministic_baseline: bool = True,
) -> dict[str, Any]:
    """The state of identity: profiles, guardrail hits of the last run and, with ground truth,
    quality of the current id map and of deterministic matching alone."""
    from spark_jobs.identity.clustering import cluster_graph, detect_hubs
    from spark_jobs.identity.graph import DETERMINISTIC

    def table(layer: str, name: str) -> DataFrame:
        return spark.read.format("delta").load(config.table_path(layer, name))

    id_map = table("silver", "id_map")
    observations = table("silver", "identifier_observations")
    runs = table("ops", "identity_runs").orderBy(F.desc("finished_at"))
    last = runs.first()
    exclusions = table("ops", "identity_exclusions")
    report: dict[str, Any] = {
        "last_run": {"run_id": last.run_id, "mode": last.mode} if last else None,
        "identifiers": id_map.count(),
        "profiles": id_map.select("customer_id").distinct().count(),
        "guardrails": {
            r.reason: int(r.n)
            for r in exclusions.where(F.col("run_id") == (last.run_id if last else ""))
            .groupBy("reason")
            .agg(F.sum("occurrences").alias("n"))
            .collect()
        },
        "merge_history": {
            r.action: r["count"]
            for r in table("ops", "identity_merges").groupBy("action").count().collect()
        },
    }
    if truth_dir is None:
        return report
    labels = id_map.select("node", F.col("customer_id").alias("label"))
    report["quality"] = evaluate(spark, config, truth_dir, labels, observations)
    if deterministic_baseline:
        rules = IdentityRules.from_config(config)
        identifiers = table("silver", "identifiers")
        edges = table("silver", "identity_edges").where(F.col("kind") == DETERMINISTIC)
        hubs = detect_hubs(identifiers, edges, rules).localCheckpoint(eager=True)
        from spark_jobs.identity.job import single_valued_traits

        traits = single_valued_traits(spark, config, rules, observations)
        result = cluster_graph(identifiers, edges, rules, hubs, traits=traits)
        det = result.assignments.select("node", F.col("cluster").alias("label"))
        report["quality_deterministic_only"] = evaluate(spark, config, truth_dir, det, observations)
    return report
