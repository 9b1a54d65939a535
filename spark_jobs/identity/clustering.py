"""From identifier graph to profiles: hubs out, connected components, limit-breaking splits.

1. Hubs: an identifier seen with identifiers of more than K profiles (a store's phone typed at
   the till for every walk-in) is excluded. "Profiles" are bounded from below without clustering:
   an identifier seen with 37 loyalty ids, at most one per profile, touches at least 37 profiles.
   The test only grows with new edges, so once a hub, always a hub, in full and incremental
   runs alike.
2. Connected components of what is left (large-star/small-star, `components.py`).
3. Components that break a per-type limit or hold a never-link pair are re-clustered by the
   greedy pass of `lakecdp.identity.constrained`, so a limit splits instead of over-merging.

Every step depends only on a component's own nodes and edges (and its nodes' neighbour counts),
which is what lets an incremental run recompute only the components new data touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from lakecdp.identity.constrained import GIVEN_NAMES, SPECIAL_TRAITS, Edge, split_component
from lakecdp.identity.graph_on_driver import cluster_on_driver
from lakecdp.identity.rules import IdentityRules
from spark_jobs.identity.components import connected_components
from spark_jobs.identity.graph import DETERMINISTIC

SPLIT_SCHEMA = StructType(
    [
        StructField("node", LongType()),
        StructField("cluster", LongType()),
        StructField("refused", StringType()),
    ]
)

ASSIGNMENT_ARROW = pa.schema(
    [("node", pa.int64()), ("component", pa.int64()), ("cluster", pa.int64())]
)
SPLITS_ARROW = pa.schema(
    [("component", pa.int64()), ("refused", pa.string()), ("clusters", pa.int64())]
)


@dataclass(frozen=True)
class ClusterResult:
    assignments: DataFrame  # node, component, cluster
    splits: DataFrame  # component, refused (e.g. "limit:user_id=3,never_link=1"), clusters > 1
    rounds: int


def neighbour_counts(nodes: DataFrame, edges: DataFrame) -> DataFrame:
    """node, nbr_type, neighbours: how many distinct identifiers of each type a node is seen with.

    `edges` must hold every edge incident to the nodes of interest; `nodes` gives the types.
    """
    both = edges.select(F.col("src").alias("node"), F.col("dst").alias("nbr")).union(
        edges.select(F.col("dst").alias("node"), F.col("src").alias("nbr"))
    )
    types = nodes.select(F.col("node").alias("nbr"), F.col("id_type").alias("nbr_type"))
    return (
        both.distinct()
        .join(types, "nbr")
        .groupBy("node", "nbr_type")
        .agg(F.count("*").alias("neighbours"))
    )


def detect_hubs(nodes: DataFrame, edges: DataFrame, rules: IdentityRules) -> DataFrame:
    """node, id_type, value, profiles, detail for every identifier that is a hub."""
    limits = rules.limits
    if not limits:
        return (
            nodes.select("node", "id_type", "value")
            .limit(0)
            .withColumns({"profiles": F.lit(0).cast("long"), "detail": F.lit("")})
        )
    limit_of = F.create_map(*[x for t, n in limits.items() for x in (F.lit(t), F.lit(n))])
    hub_k = F.create_map(
        *[x for t, r in rules.types.items() for x in (F.lit(t), F.lit(r.hub_max_profiles))]
    )
    counts = neighbour_counts(nodes, edges).where(F.col("nbr_type").isin(*limits))
    bounded = counts.withColumn(
        "profiles", F.ceil(F.col("neighbours") / limit_of[F.col("nbr_type")]).cast("long")
    )
    worst = bounded.groupBy("node").agg(
        F.max_by(F.struct("profiles", "nbr_type", "neighbours"), "profiles").alias("w")
    )
    return (
        worst.join(nodes.select("node", "id_type", "value"), "node")
        .where(F.col("w.profiles") > hub_k[F.col("id_type")])
        .select(
            "node",
            "id_type",
            "value",
            F.col("w.profiles").alias("profiles"),
            F.format_string(
                "seen with %d %s identifiers (at most %d per profile): at least %d profiles",
                F.col("w.neighbours"),
                F.col("w.nbr_type"),
                limit_of[F.col("w.nbr_type")],
                F.col("w.profiles"),
            ).alias("detail"),
        )
    )


def _names_conflict(below: float):  # type: ignore[no-untyped-def]
    """A vectorized UDF: could the two given-name candidates not be one person's?"""
    from lakecdp.identity.person_fields import given_names_compatible

    @F.pandas_udf("boolean")  # type: ignore[call-overload]
    def conflict(a: pd.Series, b: pd.Series) -> pd.Series:
        return pd.Series(
            [not given_names_compatible(x, y, below) for x, y in zip(a, b, strict=True)]
        )

    return conflict


def cluster_graph(
    nodes: DataFrame,
    edges: DataFrame,
    rules: IdentityRules,
    hubs: DataFrame,
    never_link: DataFrame | None = None,
    traits: DataFrame | None = None,
    *,
    driver_max_edges: int = 0,
) -> ClusterResult:
    """Profiles for `nodes` (node, id_type) given `edges` (src, dst, kind, probability, records).

    `hubs` (node) are left out entirely; `never_link` (a, b) pairs end in different profiles;
    `traits` (node, trait, value) of single-valued traits keep nodes that disagree apart;
    its `GIVEN_NAMES` rows keep apart what only a household-shared identifier joins.
    Components of a graph of at most `driver_max_edges` edges are found on the driver.
    """
    hub_nodes = hubs.select("node")
    active = nodes.select("node", "id_type").join(hub_nodes, "node", "left_anti")
    usable = (
        edges.join(hub_nodes.withColumnRenamed("node", "src"), "src", "left_anti")
        .join(hub_nodes.withColumnRenamed("node", "dst"), "dst", "left_anti")
        .join(active.select(F.col("node").alias("src")), "src", "left_semi")
        .join(active.select(F.col("node").alias("dst")), "dst", "left_semi")
    )
    support = usable.groupBy("src", "dst").agg(
        F.max(F.col("kind") == DETERMINISTIC).alias("deterministic"),
        F.max(F.coalesce("probability", F.lit(1.0))).alias("probability"),
        F.sum(F.coalesce("records", F.lit(1))).cast("long").alias("records"),
    )
    if driver_max_edges > 0:
        # One bounded collect: a small graph is clustered in this process (fixed job overhead
        # would be most of the time); a larger one falls through to the distributed path.
        collected = support.limit(driver_max_edges + 1).toArrow()
        if collected.num_rows <= driver_max_edges:
            return _cluster_collected(collected, active, rules, never_link, traits)
    cc = connected_components(
        support.select("src", "dst"), active.select("node"), driver_max_edges=driver_max_edges
    )
    components = cc.components.join(active, "node").localCheckpoint(eager=True)

    limits = rules.limits
    over_limit = (
        components.where(F.col("id_type").isin(*limits))
        .groupBy("component", "id_type")
        .count()
        .where(
            F.col("count")
            > F.create_map(*[x for t, n in limits.items() for x in (F.lit(t), F.lit(n))])[
                F.col("id_type")
            ]
        )
        .select("component")
        if limits
        else components.select("component").limit(0)
    )
    pairs = None
    violating = over_limit
    if never_link is not None:
        a = components.select(F.col("node").alias("a"), F.col("component").alias("ca"))
        b = components.select(F.col("node").alias("b"), F.col("component").alias("cb"))
        pairs = (
            never_link.select("a", "b")
            .join(a, "a")
            .join(b, "b")
            .where(F.col("ca") == F.col("cb"))
            .select(F.col("ca").alias("component"), "a", "b")
        )
        violating = violating.union(pairs.select("component"))
    trait_rows = None
    if traits is not None:
        in_scope = traits.join(components.select("node", "component"), "node")
        values = (
            in_scope.where(~F.col("trait").isin(*SPECIAL_TRAITS))
            .groupBy("component", "trait")
            .agg(F.countDistinct("value").alias("values"))
        )
        clashing = values.where(F.col("values") > 1)
        violating = violating.union(clashing.select("component"))
        if rules.household_shared:
            # Two given names in a component that a household-shared identifier holds, which
            # could not be one person's: the family phone may be what joins them. (A conflict
            # between two clusters needs a conflicting pair; typo variants alone do not count.)
            shared = components.where(F.col("id_type").isin(*rules.household_shared))
            names = (
                in_scope.where(F.col("trait") == GIVEN_NAMES)
                .join(shared.select("component").distinct(), "component", "left_semi")
                .select("component", "value")
                .distinct()
            )
            pairs_of_names = names.alias("a").join(
                names.alias("b"),
                (F.col("a.component") == F.col("b.component"))
                & (F.col("a.value") < F.col("b.value")),
            )
            violating = violating.union(
                pairs_of_names.where(
                    _names_conflict(rules.given_name_conflict)(F.col("a.value"), F.col("b.value"))
                ).select(F.col("a.component").alias("component"))
            )
        trait_rows = in_scope
    violating = violating.distinct()

    node_rows = components.join(violating, "component").select(
        "component",
        F.lit("n").alias("row"),
        F.col("node").alias("a"),
        F.lit(0).cast("long").alias("b"),
        "id_type",
        F.lit(False).alias("deterministic"),
        F.lit(0.0).alias("probability"),
        F.lit(0).cast("long").alias("records"),
        F.lit(None).cast("string").alias("value"),
    )
    comp_of = components.select(F.col("node").alias("src"), "component")
    edge_rows = (
        support.join(comp_of, "src")
        .join(violating, "component")
        .select(
            "component",
            F.lit("e").alias("row"),
            F.col("src").alias("a"),
            F.col("dst").alias("b"),
            F.lit(None).cast("string").alias("id_type"),
            "deterministic",
            "probability",
            "records",
            F.lit(None).cast("string").alias("value"),
        )
    )
    rows = node_rows.unionByName(edge_rows)
    if trait_rows is not None:
        rows = rows.unionByName(
            trait_rows.join(violating, "component").select(
                "component",
                F.lit("t").alias("row"),
                F.col("node").alias("a"),
                F.lit(0).cast("long").alias("b"),
                F.col("trait").alias("id_type"),
                F.lit(False).alias("deterministic"),
                F.lit(0.0).alias("probability"),
                F.lit(0).cast("long").alias("records"),
                "value",
            )
        )
    if pairs is not None:
        rows = rows.unionByName(
            pairs.select(
                "component",
                F.lit("x").alias("row"),
                "a",
                "b",
                F.lit(None).cast("string").alias("id_type"),
                F.lit(False).alias("deterministic"),
                F.lit(0.0).alias("probability"),
                F.lit(0).cast("long").alias("records"),
                F.lit(None).cast("string").alias("value"),
            )
        )
    priorities = rules.priorities
    household_shared, name_conflict = rules.household_shared, rules.given_name_conflict

    def _split(group: pd.DataFrame) -> pd.DataFrame:
        node_part = group[group["row"] == "n"]
        edge_part = group[group["row"] == "e"]
        never = group[group["row"] == "x"]
        node_traits: dict[int, dict[str, frozenset[str]]] = {}
        for r in group[group["row"] == "t"].itertuples():
            held = node_traits.setdefault(int(r.a), {})
            held[r.id_type] = held.get(r.id_type, frozenset()) | {r.value}
        labels, refused = split_component(
            dict(zip(node_part["a"].astype("int64"), node_part["id_type"], strict=True)),
            [
                Edge(
                    int(r.a), int(r.b), bool(r.deterministic), float(r.probability), int(r.records)
                )
                for r in edge_part.itertuples()
            ],
            priorities,
            limits,
            [(int(r.a), int(r.b)) for r in never.itertuples()],
            node_traits,
            household_shared,
            name_conflict,
        )
        reason = ",".join(f"{k}={v}" for k, v in sorted(refused.items()))
        return pd.DataFrame(
            {"node": list(labels), "cluster": list(labels.values()), "refused": reason},
            columns=["node", "cluster", "refused"],
        )

    # Splitting is Python work on a few hundred kilobytes: left to adaptive execution, the rows
    # would be coalesced into one task on one core; a fixed count keeps every core busy.
    cores = rows.sparkSession.sparkContext.defaultParallelism
    split = (
        rows.repartition(cores, "component")
        .groupBy("component")
        .applyInPandas(_split, SPLIT_SCHEMA)
    )
    split = split.localCheckpoint(eager=True)
    assignments = (
        components.join(split.select("node", "cluster"), "node", "left")
        .select("node", "component", F.coalesce("cluster", "component").alias("cluster"))
        .localCheckpoint(eager=True)
    )
    # Only components that did split: one re-clustered because of a trait may stay whole.
    splits = (
        split.join(components.select("node", "component"), "node")
        .groupBy("component")
        .agg(F.first("refused").alias("refused"), F.countDistinct("cluster").alias("clusters"))
        .where(F.col("clusters") > 1)
    )
    return ClusterResult(assignments, splits, cc.rounds)


def _cluster_collected(
    support: pa.Table,
    active: DataFrame,
    rules: IdentityRules,
    never_link: DataFrame | None,
    traits: DataFrame | None,
) -> ClusterResult:
    """`cluster_graph` on the driver, for a graph whose edges (`support`) are already here."""
    spark = active.sparkSession
    found = cluster_on_driver(
        active.toArrow().to_pandas(),
        support.to_pandas(),
        rules,
        None if never_link is None else never_link.select("a", "b").toArrow().to_pandas(),
        None
        if traits is None
        else traits.join(active.select("node"), "node", "left_semi")
        .select("node", "trait", "value")
        .toArrow()
        .to_pandas(),
    )
    assignments = spark.createDataFrame(
        pa.Table.from_pandas(found.assignments, preserve_index=False).cast(ASSIGNMENT_ARROW)
    )
    splits = spark.createDataFrame(
        pa.Table.from_pandas(found.splits, preserve_index=False).cast(SPLITS_ARROW)
    )
    return ClusterResult(assignments, splits, 0)


def recluster_touched(
    first: ClusterResult,
    nodes: DataFrame,
    edges: DataFrame,
    added: DataFrame,
    rules: IdentityRules,
    hubs: DataFrame,
    never_link: DataFrame | None = None,
    traits: DataFrame | None = None,
    *,
    driver_max_edges: int = 0,
) -> ClusterResult:
    """`cluster_graph(nodes, edges, ...)` when `edges` are the edges `first` was clustered from
    plus `added` (src, dst): only the components of `first` that an added edge touches are
    clustered again. Every other component keeps its nodes and edges, so its clusters (and
    their min-node labels) cannot change; the result is the same as clustering everything.
    """
    ends = added.select(F.col("src").alias("node")).union(added.select(F.col("dst").alias("node")))
    touched = first.assignments.join(ends, "node", "left_semi").select("component").distinct()
    scope = first.assignments.join(touched, "component", "left_semi").select("node")
    scope = scope.localCheckpoint(eager=True)
    again = cluster_graph(
        nodes.join(scope, "node", "left_semi"),
        edges_within(edges, scope),
        rules,
        hubs,
        never_link,
        traits,
        driver_max_edges=driver_max_edges,
    )
    assignments = (
        first.assignments.join(scope, "node", "left_anti")
        .unionByName(again.assignments)
        .localCheckpoint(eager=True)
    )
    splits = first.splits.join(touched, "component", "left_anti").unionByName(again.splits)
    return ClusterResult(assignments, splits, max(first.rounds, again.rounds))


def edges_within(edges: DataFrame, scope: DataFrame) -> DataFrame:
    """The edges with both ends in `scope` (node)."""
    return edges.join(scope.withColumnRenamed("node", "src"), "src", "left_semi").join(
        scope.withColumnRenamed("node", "dst"), "dst", "left_semi"
    )
