"""Identity quality against ground truth: pairwise precision/recall, over- and under-merges.

The unit is the record (a CRM contact, a transaction, a loyalty member, an order, an event):
two records are a predicted pair when they resolve to one customer and a true pair when the
generator says one person made them. Records whose every identifier was excluded (invalid,
blocklisted, hub) resolve to nobody and count as singletons, so exclusions cost recall here.

Every scope is also scored on its *attributable* records: those that carry evidence of their
person, i.e. a personal trait (a given name, a birth date, a national id; not a surname or an
address, which a household shares) or an identifier that, in ground truth, only one person's
records carry. A till receipt that holds nothing but the phone a household shares says nothing
about which member made it; no matcher can place it better than chance, so the attributable
scope measures the matcher and the full scope the data.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.config import ProjectConfig
from lakecdp.identity.rules import IdentityRules
from spark_jobs.identity.observations import bronze_tables, read_bronze, record_id_column
from spark_jobs.identity.person_records import raw_person_records

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


# Person fields one person has and the rest of the household does not.
PERSONAL_TRAITS = ("first_name", "full_name", "date_of_birth", "national_id")


def attributable_records(
    truth: DataFrame, observations: DataFrame, persons: DataFrame | None
) -> DataFrame:
    """source, record_id of the records that carry evidence of their person: a personal trait
    (in `persons`, raw person fields per record), or an identifier that only one person's
    records carry (`truth`: source, record_id, person_id)."""
    sightings = observations.select("source", "record_id", "node").join(
        truth, ["source", "record_id"]
    )
    owned = (
        sightings.groupBy("node")
        .agg(F.countDistinct("person_id").alias("people"))
        .where(F.col("people") == 1)
    )
    out = sightings.join(owned, "node", "left_semi").select("source", "record_id")
    stated = [
        F.col(c).isNotNull()
        for c in PERSONAL_TRAITS
        if persons is not None and c in persons.columns
    ]
    if persons is not None and stated:
        personal = persons.where(reduce(lambda a, b: a | b, stated))
        out = out.unionByName(personal.select("source", "record_id"))
    return out.distinct()


def _pairs(column: str) -> Any:
    return F.sum(F.col(column) * (F.col(column) - 1) / 2)


def pairwise_metrics(items: DataFrame) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 over record pairs; over- and under-merged people; per scope.

    `items`: scope, person_id (truth) and label (prediction; null = resolved to nobody). A record
    may sit in several scopes; all scopes are scored in one pass.
    """
    unresolved = F.col("label").isNull()
    labelled = items.withColumn("unresolved", unresolved).withColumn(
        "label",
        F.coalesce(F.col("label"), F.concat(F.lit("unresolved:"), F.monotonically_increasing_id())),
    )
    cells = (
        labelled.groupBy("scope", "label", "person_id")
        .agg(F.count("*").alias("n"), F.sum(F.col("unresolved").cast("int")).alias("unresolved"))
        .persist()
    )
    by_label = cells.groupBy("scope", "label").agg(
        F.sum("n").alias("n"), F.count("*").alias("people")
    )
    by_person = cells.groupBy("scope", "person_id").agg(
        F.sum("n").alias("n"), F.count("*").alias("labels")
    )
    over_merged = cells.join(
        by_label.where("people > 1").select("scope", "label"), ["scope", "label"]
    )
    rows: dict[str, dict[str, Any]] = {}
    try:
        for frame, aggregates in (
            (cells, [_pairs("n").alias("tp"), F.sum("unresolved").alias("unresolved_records")]),
            (by_label, [_pairs("n").alias("predicted"), F.count("*").alias("profiles")]),
            (
                by_person,
                [
                    _pairs("n").alias("true"),
                    F.count("*").alias("people"),
                    F.sum("n").alias("records"),
                    F.count(F.when(F.col("labels") > 1, 1)).alias("under_merged_people"),
                ],
            ),
            (over_merged, [F.countDistinct("person_id").alias("over_merged_people")]),
        ):
            for row in frame.groupBy("scope").agg(*aggregates).collect():
                rows.setdefault(row["scope"], {}).update(row.asDict())
    finally:
        cells.unpersist()
    return {scope: _metrics(row) for scope, row in rows.items()}


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    tp, predicted, true = (row.get(k) or 0 for k in ("tp", "predicted", "true"))
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": int(row["records"]),
        "people": int(row["people"]),
        "profiles": int(row["profiles"]),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "true_pairs": int(true),
        "predicted_pairs": int(predicted),
        "over_merged_people": int(row.get("over_merged_people") or 0),
        "under_merged_people": int(row["under_merged_people"]),
        "unresolved_records": int(row["unresolved_records"] or 0),
    }


def size_distribution(id_map: DataFrame) -> dict[str, int]:
    """Profiles by how many identifiers they hold (one pass)."""
    sizes = id_map.groupBy("label").agg(F.count("*").alias("n"))
    names = [
        f"{low}" if low == high else (f"{low}-{high}" if high < 10**12 else f">{low - 1}")
        for low, high in SIZE_BUCKETS
    ]
    counted = sizes.agg(
        *[
            F.count(F.when((F.col("n") >= low) & (F.col("n") <= high), 1)).alias(f"b{i}")
            for i, (low, high) in enumerate(SIZE_BUCKETS)
        ]
    ).first()
    return {name: int(counted[f"b{i}"]) for i, name in enumerate(names)}  # type: ignore[index]


def scored_records(
    spark: SparkSession, config: ProjectConfig, truth_dir: Path, observations: DataFrame
) -> DataFrame:
    """source, record_id, person_id, attributable: the ground-truth records that reached bronze."""
    truth = truth_items(spark, config, truth_dir)
    attributable = attributable_records(truth, observations, raw_person_records(spark, config))
    return truth.join(
        attributable.withColumn("attributable", F.lit(True)), ["source", "record_id"], "left"
    ).withColumn("attributable", F.coalesce("attributable", F.lit(False)))


def evaluate_many(
    records: DataFrame,
    labelings: dict[str, DataFrame],
    observations: DataFrame,
    rules: IdentityRules,
) -> dict[str, dict[str, Any]]:
    """Metrics for each node -> label assignment (`labelings`: name -> node, label), overall and
    per kind, each on all its records and on the attributable ones (`records`: from
    `scored_records`). One pass over the records scores them all (each labeling prefixes its
    scopes)."""
    kinds = {
        "all": F.lit(True),
        "file_records": F.col("source") != "events",
        "events": F.col("source") == "events",
    }
    scopes = {**kinds, **{f"{k}_attributable": c & F.col("attributable") for k, c in kinds.items()}}
    in_scopes = F.array(*[F.when(c, F.lit(name)) for name, c in scopes.items()])
    items = []
    for labeling, labels in labelings.items():
        predicted = record_labels(
            observations, labels.select("node", F.col("label").cast("string").alias("label")), rules
        )
        scoped = records.join(predicted, ["source", "record_id"], "left").select(
            F.explode(F.filter(in_scopes, lambda scope: scope.isNotNull())).alias("scope"),
            "person_id",
            "label",
        )
        items.append(scoped.withColumn("scope", F.concat(F.lit(f"{labeling}|"), "scope")))
    metrics = pairwise_metrics(reduce(DataFrame.unionByName, items))
    nothing = {
        "records": 0,
        "people": 0,
        "profiles": 0,
        "under_merged_people": 0,
        "unresolved_records": 0,
    }
    reports: dict[str, dict[str, Any]] = {}
    for labeling, labels in labelings.items():
        report: dict[str, Any] = {
            name: metrics.get(f"{labeling}|{name}", _metrics(nothing)) for name in scopes
        }
        report["identifiers_per_profile"] = size_distribution(labels)
        reports[labeling] = report
    return reports


def _deterministic_labels(
    spark: SparkSession, config: ProjectConfig, rules: IdentityRules, id_map: DataFrame
) -> DataFrame:
    """node, label of deterministic matching alone. Every run keeps them in the id map (they
    are what probabilistic matching compares across), so the baseline costs a read; an id map
    from before they were kept is clustered again from the deterministic edges."""
    if "deterministic_cluster" in id_map.columns:
        return id_map.where(F.col("deterministic_cluster").isNotNull()).select(
            "node", F.col("deterministic_cluster").alias("label")
        )
    from spark_jobs.identity.clustering import cluster_graph, detect_hubs
    from spark_jobs.identity.graph import DETERMINISTIC
    from spark_jobs.identity.job import single_valued_traits

    def table(layer: str, name: str) -> DataFrame:
        return spark.read.format("delta").load(config.table_path(layer, name))

    identifiers = table("silver", "identifiers")
    observations = table("silver", "identifier_observations")
    edges = table("silver", "identity_edges").where(F.col("kind") == DETERMINISTIC)
    hubs = detect_hubs(identifiers, edges, rules).localCheckpoint(eager=True)
    traits = single_valued_traits(spark, config, rules, observations)
    result = cluster_graph(
        identifiers,
        edges,
        rules,
        hubs,
        traits=traits,
        driver_max_edges=config.identity.driver_components_max_edges,
    )
    return result.assignments.select("node", F.col("cluster").alias("label"))


def identity_report(
    spark: SparkSession,
    config: ProjectConfig,
    truth_dir: Path | None,
    *,
    deterministic_baseline: bool = True,
) -> dict[str, Any]:
    """The state of identity: profiles, guardrail hits of the last run and, with ground truth,
    quality of the current id map and of deterministic matching alone."""

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
    rules = IdentityRules.from_config(config)
    records = scored_records(spark, config, truth_dir, observations).persist()
    try:
        labelings = {"quality": id_map.select("node", F.col("customer_id").alias("label"))}
        if deterministic_baseline:
            labelings["quality_deterministic_only"] = _deterministic_labels(
                spark, config, rules, id_map
            )
        report.update(evaluate_many(records, labelings, observations, rules))
    finally:
        records.unpersist()
    return report
