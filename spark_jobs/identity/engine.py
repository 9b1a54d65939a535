"""The identity engine: an identifier graph and person records in, profiles out.

One chain for `identity run` and `identity resolve`: hubs -> deterministic clusters (limit,
never-link and trait splits) -> probabilistic matches across them -> recluster only what a
match touches. The pipeline job reads bronze and writes the lakehouse around it; `resolve`
reads a CSV and writes one; neither assembles the chain itself. An incremental run calls the
same steps (`hubs`, `cluster`, `match`) on the part of the graph new data touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.rules import IdentityRules
from lakecdp.kernel.config import ProjectConfig
from spark_jobs.identity.clustering import (
    ClusterResult,
    cluster_graph,
    detect_hubs,
    recluster_touched,
)
from spark_jobs.identity.graph import DETERMINISTIC, PROBABILISTIC
from spark_jobs.identity.person_records import collapse_person_records


@dataclass(frozen=True)
class Resolution:
    """What the engine found: final profiles, the deterministic ones beneath them, the hubs
    left out and the probabilistic edges added (None when matching found none or was off)."""

    clusters: ClusterResult
    deterministic_labels: DataFrame  # node, deterministic_cluster
    hubs: DataFrame  # node, id_type, value, profiles, detail
    probabilistic_edges: DataFrame | None
    match_stats: dict[str, Any] = field(default_factory=dict)


class IdentityEngine:
    """The identity rules of one project, applied to DataFrames.

    `never_link` (a, b) node pairs and `traits` (node, trait, value: `split_traits`) constrain
    every clustering the engine does.
    """

    def __init__(
        self,
        spark: SparkSession,
        config: ProjectConfig,
        rules: IdentityRules,
        *,
        never_link: DataFrame | None = None,
        traits: DataFrame | None = None,
    ) -> None:
        self.spark = spark
        self.config = config
        self.rules = rules
        self.never_link = never_link
        self.traits = traits
        self.driver_max_edges = config.identity.driver_components_max_edges

    def hubs(self, nodes: DataFrame, edges: DataFrame) -> DataFrame:
        """Hubs among `nodes` (node, id_type, value). Only deterministic edges count: whether an
        identifier is a hub does not depend on what matching found, in any run mode."""
        deterministic = edges.where(F.col("kind") == DETERMINISTIC).select("src", "dst")
        return detect_hubs(nodes.select("node", "id_type", "value"), deterministic, self.rules)

    def cluster(self, nodes: DataFrame, edges: DataFrame, hubs: DataFrame) -> ClusterResult:
        """Profiles of `nodes` from `edges`, hubs left out, every split rule applied."""
        return cluster_graph(
            nodes,
            edges,
            self.rules,
            hubs,
            self.never_link,
            self.traits,
            driver_max_edges=self.driver_max_edges,
        )

    def match(
        self, anchored: DataFrame, deterministic_labels: DataFrame
    ) -> tuple[DataFrame | None, dict[str, Any]]:
        """Probabilistic edges between the anchors of records Splink matches across
        deterministic profiles, and the matcher's statistics.

        `anchored` holds person records with their anchor (`anchored_records`; a
        `known_match` column, when present, says which records are known to be one person);
        `deterministic_labels` maps each node to its deterministic cluster. The result depends
        on those two only (records sorted, u sample seeded), so an incremental run finds the
        same edges as a full rebuild. Matches become one edge per anchor pair, stored
        src < dst with the best match's probability, without a loop over pairs.
        """
        from lakecdp.identity.person_fields import normalize_person_frame
        from lakecdp.identity.person_matching import MatchSettings, match_people

        labels = deterministic_labels.select(
            "node", F.concat(F.lit("k"), F.col("deterministic_cluster")).alias("label")
        )
        records = collapse_person_records(anchored, labels)
        if len(records) < 3:
            return None, {}
        settings = self.config.identity.probabilistic
        match = match_people(
            normalize_person_frame(records.drop(columns=["anchor"])),
            MatchSettings(
                threshold=settings.threshold,
                seed=settings.seed,
                given_name_conflict=self.config.identity.given_name_conflict,
                conclusive_fields=tuple(self.config.identity.conclusive_traits),
            ),
        )
        stats = {**match.stats, "person_records": len(records)}
        if match.pairs.empty:
            return None, stats
        anchor_of = records.set_index("record_key")["anchor"].astype("int64")
        ends = pd.DataFrame(
            {
                "a": anchor_of.reindex(match.pairs["record_key_l"]).to_numpy(),
                "b": anchor_of.reindex(match.pairs["record_key_r"]).to_numpy(),
                "probability": match.pairs["match_probability"].astype("float64").to_numpy(),
            }
        )
        ends = ends[ends["a"] != ends["b"]]
        best = (
            ends.assign(src=ends[["a", "b"]].min(axis=1), dst=ends[["a", "b"]].max(axis=1))
            .groupby(["src", "dst"], as_index=False)["probability"]
            .max()
        )
        stats["edges"] = len(best)
        if best.empty:
            return None, stats
        at = datetime.now(UTC).replace(tzinfo=None)
        found = self.spark.createDataFrame(pa.Table.from_pandas(best, preserve_index=False))
        edges = found.select(
            F.col("src").cast("long"),
            F.col("dst").cast("long"),
            F.lit(PROBABILISTIC).alias("rule"),
            F.lit(PROBABILISTIC).alias("kind"),
            F.col("probability").cast("double"),
            F.lit(1).cast("long").alias("records"),
            F.lit(at).cast("timestamp").alias("first_seen"),
            F.lit(at).cast("timestamp").alias("last_seen"),
        )
        return edges.localCheckpoint(eager=True), stats

    def resolve(
        self,
        nodes: DataFrame,
        edges: DataFrame,
        anchored: DataFrame | None,
        *,
        probabilistic: bool,
    ) -> Resolution:
        """The whole chain on a whole graph: `nodes` (node, id_type, value), `edges` (the
        deterministic co-occurrence edges), `anchored` person records (None: no matching).

        Deterministic profiles come first, from deterministic edges only: they are what
        matching compares across and learns from. Only the deterministic components a
        probabilistic edge touches are clustered again.
        """
        hubs = self.hubs(nodes, edges).localCheckpoint(eager=True)
        deterministic = self.cluster(nodes, edges.where(F.col("kind") == DETERMINISTIC), hubs)
        labels = deterministic.assignments.select(
            "node", F.col("cluster").alias("deterministic_cluster")
        ).localCheckpoint(eager=True)
        found: DataFrame | None = None
        stats: dict[str, Any] = {}
        if probabilistic and anchored is not None:
            found, stats = self.match(anchored, labels)
        clusters = deterministic
        if found is not None:
            clusters = recluster_touched(
                deterministic,
                nodes,
                edges.unionByName(found),
                found,
                self.rules,
                hubs,
                self.never_link,
                self.traits,
                driver_max_edges=self.driver_max_edges,
            )
        return Resolution(clusters, labels, hubs, found, stats)
