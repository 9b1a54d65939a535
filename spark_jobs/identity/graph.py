"""The identifier graph: nodes are normalized identifiers, edges say which ones co-occurred.

Two identifiers found in one record (a CRM row, a POS transaction, an event) are linked by a
deterministic edge whose `rule` is the source that saw them together and whose `records` counts
the distinct records that did. Edges are undirected and stored once, `src < dst`.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

EDGE_KEY = ("src", "dst", "rule")
DETERMINISTIC = "deterministic"
PROBABILISTIC = "probabilistic"


def co_occurrence_edges(observations: DataFrame, new: DataFrame | None = None) -> DataFrame:
    """Edges between identifiers that share a record.

    `observations` are valid observations (`source, record_id, record_ts, node`). With `new`
    (the observations this run added), only pairs with at least one new side are returned, each
    counted once per record, so adding them to earlier counts gives what a full rebuild counts.
    """
    left = observations.groupBy("source", "record_id", F.col("node").alias("a")).agg(
        F.min("record_ts").alias("ts")
    )
    right = left.select("source", "record_id", F.col("a").alias("b"))
    pairs = left.join(right, ["source", "record_id"]).where(F.col("a") < F.col("b"))
    if new is not None:
        fresh = new.select("source", "record_id", F.col("node").alias("n")).distinct()
        pairs = pairs.join(
            fresh,
            ["source", "record_id"],
        ).where((F.col("n") == F.col("a")) | (F.col("n") == F.col("b")))
        pairs = pairs.dropDuplicates(["source", "record_id", "a", "b"])
    return (
        pairs.groupBy(F.col("a").alias("src"), F.col("b").alias("dst"), F.col("source"))
        .agg(
            F.count("*").alias("records"),  # one pair per record: `left` has a node once
            F.min("ts").alias("first_seen"),
            F.max("ts").alias("last_seen"),
        )
        .select(
            "src",
            "dst",
            F.col("source").alias("rule"),
            F.lit(DETERMINISTIC).alias("kind"),
            F.lit(None).cast("double").alias("probability"),
            "records",
            "first_seen",
            "last_seen",
        )
    )


def identifier_nodes(observations: DataFrame) -> DataFrame:
    """One row per node: its type, value, sources and first/last seen.

    `observations` hold a (source, record_id, node) once, as silver.identifier_observations
    does, so counting rows counts records."""
    return observations.groupBy("node", "id_type", "value").agg(
        F.min("record_ts").alias("first_seen"),
        F.max("record_ts").alias("last_seen"),
        F.sort_array(F.collect_set("source")).alias("sources"),
        F.count("*").alias("records"),
    )
