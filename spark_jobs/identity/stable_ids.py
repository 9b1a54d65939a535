"""Stable customer ids: new clusters inherit the ids of the profiles they came from.

Rules (issue #4, docs/identity.md):
- every earlier customer id goes to the new cluster that holds most of its identifiers (ties:
  the cluster with the smaller key), so when a cluster splits, the larger part keeps the id;
- a cluster that several earlier ids go to keeps the oldest one (registry `created_at`, then id)
  and the others are retired into it: a merge;
- a cluster no earlier id goes to gets a fresh id, derived from the run id and the cluster key,
  so it is opaque, the same if the step is recomputed within the run, and never reused;
- identifiers that leave an id for another cluster are recorded as a split.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

ID_PREFIX = "cus_"


@dataclass(frozen=True)
class IdAssignment:
    id_map: DataFrame  # node, component, customer_id
    new_ids: DataFrame  # customer_id, cluster
    changes: DataFrame  # action, old_customer_id, customer_id, cluster


def fresh_id(run_id: str) -> F.Column:
    return F.concat(
        F.lit(ID_PREFIX),
        F.substring(
            F.sha2(F.concat_ws(":", F.lit(run_id), F.col("cluster").cast("string")), 256), 1, 24
        ),
    )


def assign_customer_ids(
    assignments: DataFrame, previous: DataFrame, registry: DataFrame, run_id: str
) -> IdAssignment:
    """`assignments` (node, component, cluster) get customer ids given `previous` (node,
    customer_id) and the id `registry` (customer_id, created_at)."""
    overlap = (
        assignments.join(previous.select("node", "customer_id"), "node")
        .groupBy("cluster", "customer_id")
        .agg(F.count("*").alias("shared"))
    )
    by_old = Window.partitionBy("customer_id").orderBy(F.desc("shared"), F.asc("cluster"))
    claims = (
        overlap.withColumn("rank", F.row_number().over(by_old))
        .where("rank = 1")
        .select("customer_id", "cluster")
        .join(registry.select("customer_id", "created_at"), "customer_id", "left")
    )
    by_cluster = Window.partitionBy("cluster").orderBy(
        F.asc_nulls_last("created_at"), F.asc("customer_id")
    )
    ranked = claims.withColumn("rank", F.row_number().over(by_cluster))
    survivors = ranked.where("rank = 1").select("cluster", "customer_id")
    clusters = assignments.select("cluster").distinct()
    named = (
        clusters.join(survivors, "cluster", "left")
        .withColumn("customer_id", F.coalesce("customer_id", fresh_id(run_id)))
        .localCheckpoint(eager=True)
    )
    new_ids = named.join(survivors.select("cluster"), "cluster", "left_anti")
    merges = ranked.where("rank > 1").select(
        F.lit("merge").alias("action"),
        F.col("customer_id").alias("old_customer_id"),
        "cluster",
    )
    kept = claims.select("customer_id", "cluster")
    moved = overlap.join(kept, ["customer_id", "cluster"], "left_anti").select(
        F.lit("split").alias("action"),
        F.col("customer_id").alias("old_customer_id"),
        "cluster",
    )
    changes = (
        merges.unionByName(moved)
        .join(named, "cluster")
        .where(F.col("old_customer_id") != F.col("customer_id"))
        .select("action", "old_customer_id", "customer_id", "cluster")
    )
    id_map = (
        assignments.join(named, "cluster")
        .select("node", "component", "cluster", "customer_id")
        .localCheckpoint(eager=True)
    )
    return IdAssignment(id_map, new_ids, changes)
