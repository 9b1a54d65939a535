"""Connected components of the identifier graph with DataFrames: large-star / small-star.

GraphFrames is not available here, and a component job must scale past one machine's memory,
so this is the alternating large-star / small-star algorithm of Kiveris et al., "Connected
Components in MapReduce and Beyond" (SoCC 2014): O(log^2 n) rounds with no per-node state on
the driver. Node ids are longs; a component is named by its smallest node id.

Two things keep the rounds cheap:
- one round is three shuffles: large-star and small-star each aggregate a node's neighbours
  into a list once (instead of a min aggregation joined back to the edges), then a distinct;
- finished components leave the loop. The fixed point of the algorithm is a star around each
  component's minimum; a star whose leaves have no other edge is a whole component that no
  later round changes, so its edges are set aside. Most identity components are small and
  finish in a round or two, after which the rounds only carry the long chains.
Each round starts from a materialized, lineage-free frame (local checkpoints; reliable ones on
clusters where executors come and go), or plans and their analysis time grow every round.

A graph of at most `driver_max_edges` edges is labelled on the driver instead (SciPy's
connected components over the collected edge list: 16 bytes an edge, a bounded collect): each
round above costs a few Spark jobs of fixed overhead, which dominates on small graphs. Both ways
name a component by its smallest node, so results do not depend on the path taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecdp.identity.graph_on_driver import smallest_in_component


@dataclass(frozen=True)
class ComponentsResult:
    components: DataFrame  # node: long, component: long (smallest node id in the component)
    rounds: int  # 0 when the graph was small enough to label on the driver


def _components_on_driver(edges: DataFrame) -> DataFrame:
    """u (node), v (its component's smallest node) for every node of the edges (u, v)."""
    table = edges.select("u", "v").toArrow()
    nodes, smallest = smallest_in_component(
        table.column("u").to_numpy(), table.column("v").to_numpy()
    )
    return edges.sparkSession.createDataFrame(
        pa.table({"u": pa.array(nodes, pa.int64()), "v": pa.array(smallest, pa.int64())})
    )


def _star_round(edges: DataFrame) -> DataFrame:
    """One large-star then small-star round on edges (u, v); returns oriented edges u > v."""
    both = edges.select("u", "v").union(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    # Large star: connect every neighbour larger than u to the smallest of u's closed
    # neighbourhood.
    large = (
        both.groupBy("u")
        .agg(F.min("v").alias("m"), F.collect_list("v").alias("n"))
        .select(
            F.explode(F.filter("n", lambda x: x > F.col("u"))).alias("u"),
            F.least("m", "u").alias("v"),
        )
    )
    # Small star: every edge is now oriented u > v; connect u and its smaller neighbours to the
    # smallest of them.
    small = large.groupBy("u").agg(F.collect_set("v").alias("n"), F.min("v").alias("m"))
    return (
        small.select(
            F.explode(F.array_union(F.filter("n", lambda x: x != F.col("m")), F.array("u"))).alias(
                "u"
            ),
            F.col("m").alias("v"),
        )
        .where(F.col("u") != F.col("v"))
        .distinct()
    )


def _split_finished(edges: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(finished, active): edges of components that are already stars around their minimum
    (centre never the larger end of an edge, every leaf on this one edge only), and the rest."""
    ends = edges.select(F.col("u").alias("x"), F.lit(1).alias("a"), F.lit(0).alias("b")).union(
        edges.select(F.col("v").alias("x"), F.lit(0).alias("a"), F.lit(1).alias("b"))
    )
    degree = ends.groupBy("x").agg(F.sum("a").alias("larger"), F.sum("b").alias("smaller"))
    leaves = degree.where("larger = 1 AND smaller = 0").select(
        F.col("x").alias("u"), F.lit(True).alias("leaf")
    )
    centres = degree.where("larger = 0").select(F.col("x").alias("v"))
    finished_centres = (
        edges.join(leaves, "u", "left")
        .groupBy("v")
        .agg(F.bool_and(F.coalesce("leaf", F.lit(False))).alias("star"))
        .where("star")
        .join(centres, "v", "left_semi")
        .select("v", F.lit(True).alias("finished"))
    )
    flagged = edges.join(finished_centres, "v", "left").localCheckpoint(eager=True)
    return (
        flagged.where("finished").select("u", "v"),
        flagged.where("finished IS NULL").select("u", "v"),
    )


def _fingerprint(edges: DataFrame) -> tuple[int, int, int]:
    """Count, xor and sum of edge hashes: equal fingerprints mean an unchanged edge set (a
    collision needs two different sets to agree on all three), in one pass over cached data."""
    h = F.xxhash64("u", "v")
    row = edges.agg(
        F.count("*"), F.bit_xor(h), F.sum(F.col("u").bitwiseAND(0) + (h.bitwiseAND(0xFFFFFFFF)))
    ).first()
    assert row is not None
    return (int(row[0]), int(row[1] or 0), int(row[2] or 0))


def connected_components(
    edges: DataFrame,
    nodes: DataFrame | None = None,
    *,
    driver_max_edges: int = 0,
    checkpoint_every: int = 2,
    max_rounds: int = 100,
    reliable_checkpoints: bool = False,
) -> ComponentsResult:
    """Label every node with the smallest node id of its component.

    `edges` has long columns `src` and `dst` (undirected; self-loops and repeats allowed);
    `nodes` (column `node`) adds nodes without edges, which form components of their own.
    Finished components are set aside after rounds 1, 2, 4, 8, ...: often enough to drop the
    bulk early, rarely enough that the check costs little once only long chains are left.
    A graph of at most `driver_max_edges` distinct edges is labelled on the driver (0: never).
    """
    current = (
        edges.select(F.col("src").cast("long").alias("u"), F.col("dst").cast("long").alias("v"))
        .where(F.col("u").isNotNull() & F.col("v").isNotNull() & (F.col("u") != F.col("v")))
        .distinct()
        .localCheckpoint(eager=True)  # a short plan to grow from: analysis time grows with it
    )
    seen = _fingerprint(current)
    finished: list[DataFrame] = []
    rounds = 0
    if 0 < seen[0] <= driver_max_edges:
        current = _components_on_driver(current)
        seen = (0, 0, 0)
    while seen[0] > 0:
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
        following = _star_round(current)
        if reliable_checkpoints and rounds % checkpoint_every == 0:
            following = following.persist().checkpoint(eager=True)
        else:
            following = following.localCheckpoint(eager=True)
        fingerprint = _fingerprint(following)
        current.unpersist()
        current = following
        # Converged when a round changes no edge (the star around each component's minimum).
        if fingerprint == seen:
            break
        seen = fingerprint
        if rounds & (rounds - 1) == 0:
            done, active = _split_finished(current)
            current.unpersist()
            current = active
            finished.append(done)
            seen = _fingerprint(current)
    for done in finished:
        current = current.union(done)
    labelled = current.select(F.col("u").alias("node"), F.col("v").alias("component")).union(
        current.select(F.col("v").alias("node"), F.col("v").alias("component"))
    )
    if nodes is not None:
        labelled = labelled.union(
            nodes.select(
                F.col("node").cast("long").alias("node"),
                F.col("node").cast("long").alias("component"),
            )
        )
    components = labelled.groupBy("node").agg(F.min("component").alias("component"))
    return ComponentsResult(components, rounds)
