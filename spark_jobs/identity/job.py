"""`lakecdp identity run`: bronze -> identifier graph -> profiles with stable customer ids.

Read (bronze rows ingested since the last run, or all with `--full`) -> normalize -> graph
(observations, identifiers, edges) -> the identity engine (`engine.py`: hubs, clusters, splits,
probabilistic matches; on the components new data touches, or everything on a full run) ->
stable ids -> write. `identity resolve` runs the same engine on a CSV.

Tables (Delta, under the lakehouse root):
- silver.identifier_observations  source, record_id, id_type, value, node (one row per sighting)
- silver.identifiers              node, id_type, value, first/last seen, sources, status
- silver.identity_edges           src, dst, rule, kind, probability, records, first/last seen
- silver.id_map                   node, id_type, value, customer_id, component, updated_at
- silver.customer_ids             every id ever issued: status, current_customer_id (retired
                                  ids resolve through it), created/retired at
- ops.identity_merges             merges and splits: old id -> id, when, why
- ops.identity_exclusions         invalid, blocklisted and hub identifiers, limit splits
- ops.identity_never_link         pairs that must never share a profile (`identity split`)
- ops.identity_runs               one row per run: mode, watermarks, counts
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.rules import IdentityRules
from lakecdp.identity.spark_normalizers import normalize_observations, phone_regions
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from spark_jobs.identity.clustering import ClusterResult, detect_hubs, edges_within
from spark_jobs.identity.engine import IdentityEngine
from spark_jobs.identity.graph import (
    DETERMINISTIC,
    PROBABILISTIC,
    co_occurrence_edges,
    identifier_nodes,
)
from spark_jobs.identity.observations import node_id, raw_observations
from spark_jobs.identity.person_records import (
    compares_traits,
    person_records_with_anchors,
    split_traits,
)
from spark_jobs.identity.stable_ids import assign_customer_ids

log = logging.getLogger("lakecdp.identity")
OBSERVATIONS = ("silver", "identifier_observations")
IDENTIFIERS = ("silver", "identifiers")
EDGES = ("silver", "identity_edges")
ID_MAP = ("silver", "id_map")
CUSTOMER_IDS = ("silver", "customer_ids")
MERGES = ("ops", "identity_merges")
EXCLUSIONS = ("ops", "identity_exclusions")
NEVER_LINK = ("ops", "identity_never_link")
RUNS = ("ops", "identity_runs")

RUN_SCHEMA = (
    "run_id string, mode string, started_at timestamp, finished_at timestamp, "
    "watermarks string, stats string"
)
MERGE_SCHEMA = (
    "run_id string, at timestamp, action string, old_customer_id string, customer_id string, "
    "reason string"
)
EXCLUSION_SCHEMA = (
    "run_id string, at timestamp, id_type string, value string, node long, reason string, "
    "detail string, occurrences long"
)
NEVER_LINK_SCHEMA = "a string, b string, reason string, created_at timestamp"
REGISTRY_SCHEMA = (
    "customer_id string, status string, current_customer_id string, created_run string, "
    "created_at timestamp, retired_at timestamp"
)


@dataclass
class IdentityRunResult:
    run_id: str
    mode: str
    stats: dict[str, Any] = field(default_factory=dict)


class _Timer:
    """Seconds per step, logged as the run goes and kept in the run's stats."""

    def __init__(
        self, stats: dict[str, Any], on_step: Callable[[str, float], None] | None = None
    ) -> None:
        self.steps: dict[str, float] = {}
        stats["step_seconds"] = self.steps
        self.last = time.monotonic()
        self.on_step = on_step

    def __call__(self, name: str) -> None:
        now = time.monotonic()
        self.steps[name] = round(now - self.last, 1)
        self.last = now
        log.info("identity: %s (%.1f s)", name, self.steps[name])
        if self.on_step is not None:
            self.on_step(name, self.steps[name])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def run_identity(
    spark: SparkSession,
    config: ProjectConfig,
    *,
    full: bool = False,
    probabilistic: bool | None = None,
    on_step: Callable[[str, float], None] | None = None,
) -> IdentityRunResult:
    """One identity run; incremental unless `full` or nothing has run before.

    `on_step(name, seconds)` follows the run's steps as they finish (progress for a console)."""
    started = _now()
    clock = time.monotonic()
    lake = Lakehouse(spark, config)
    id_map = lake.table(*ID_MAP)
    rules = IdentityRules.from_config(config)
    last = None if full else _last_run(lake)
    # An id map written before deterministic clusters were kept cannot seed an incremental run.
    incremental = (
        last is not None and id_map.exists() and "deterministic_cluster" in id_map.read().columns
    )
    run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    result = IdentityRunResult(run_id, "incremental" if incremental else "full")
    stats = result.stats
    step = _Timer(stats, on_step)
    use_probabilistic = (
        config.identity.probabilistic.enabled if probabilistic is None else probabilistic
    )

    raw, read = raw_observations(spark, config, last.watermarks if incremental and last else None)
    marks = dict(last.watermarks) if last else {}
    if read:  # the newest ingestion time of every table read, in one job
        newest = reduce(
            DataFrame.unionByName,
            [
                rows.agg(F.lit(table).alias("table"), F.max("_ingested_at").alias("latest"))
                for table, rows in read.items()
            ],
        )
        marks.update({r.table: r.latest for r in newest.collect() if r.latest is not None})
    if raw is None:
        stats["note"] = "no bronze tables yet"
        return result

    # Earlier ids, pinned before anything is rewritten: stable ids are assigned against them.
    previous_map = id_map.read().localCheckpoint(eager=True) if id_map.exists() else None
    step("read previous id map")

    valid, exclusions = _normalize(raw, config, rules, run_id, started, stats)
    step("read and normalize observations")

    never = never_link_pairs(lake)
    if incremental:
        assert previous_map is not None  # an incremental run starts from an id map
        graph = _incremental_graph(lake, valid, never, previous_map, stats)
        step("write graph")
        if graph.scope.limit(1).count() == 0:
            stats["note"] = "no new identifiers or edges: nothing changed"
            _finish(lake, result, started, marks, clock, exclusions)
            return result
        observations, identifiers = graph.observations, graph.identifiers
    else:
        # Kept in memory: the identifiers, edges and person anchors are built from them, and
        # written once the engine has found hubs and probabilistic edges.
        observations = valid.localCheckpoint(eager=True)
        identifiers = identifier_nodes(observations).localCheckpoint(eager=True)
        graph_edges = co_occurrence_edges(observations).localCheckpoint(eager=True)
        step("build graph")

    # Person records with their anchors, read and joined once: the split traits and the
    # matcher both use them.
    anchored = (
        person_records_with_anchors(spark, config, rules, observations)
        if use_probabilistic or compares_traits(config, rules)
        else None
    )
    traits = split_traits(anchored, config, rules) if anchored is not None else None
    step("person traits")
    engine = IdentityEngine(spark, config, rules, never_link=never, traits=traits)

    if incremental:
        assert previous_map is not None
        scope, cluster, hubs, deterministic_labels = _resolve_incrementally(
            lake, engine, graph, previous_map, anchored if use_probabilistic else None, stats, step
        )
    else:
        resolution = engine.resolve(
            identifiers, graph_edges, anchored, probabilistic=use_probabilistic
        )
        cluster, hubs = resolution.clusters, resolution.hubs
        deterministic_labels = resolution.deterministic_labels
        found = resolution.probabilistic_edges
        if use_probabilistic:
            stats["probabilistic"] = resolution.match_stats
        stats["probabilistic_edges_changed"] = found.count() if found is not None else 0
        stats["probabilistic_edges_removed"] = 0
        step("clustering and matching")
        is_hub = hubs.select("node", F.lit("hub").alias("status"))
        identifiers = (
            identifiers.join(is_hub, "node", "left")
            .withColumn("status", F.coalesce("status", F.lit("active")))
            .select(*identifiers.columns, "status")
            .localCheckpoint(eager=True)
        )
        lake.table(*OBSERVATIONS).overwrite(observations)
        lake.table(*EDGES).overwrite(
            graph_edges if found is None else graph_edges.unionByName(found)
        )
        lake.table(*IDENTIFIERS).overwrite(identifiers)
        scope = identifiers.select("node")
        step("write graph")

    exclusions += _write_profiles(
        lake,
        run_id,
        started,
        previous_map=previous_map,
        scope=scope,
        cluster=cluster,
        hubs=hubs,
        identifiers=identifiers,
        deterministic_labels=deterministic_labels,
        incremental=incremental,
        stats=stats,
        step=step,
    )
    step("write id map, registry, history")
    _finish(lake, result, started, marks, clock, exclusions)
    return result


def _normalize(
    raw: DataFrame,
    config: ProjectConfig,
    rules: IdentityRules,
    run_id: str,
    started: datetime,
    stats: dict[str, Any],
) -> tuple[DataFrame, list[tuple[Any, ...]]]:
    """Valid observations with their node, one row per (record, identifier); and one exclusion
    row per invalid (type, reason), with an example value and how often it occurred."""
    normalized = normalize_observations(raw, rules, phone_regions(config)).localCheckpoint(
        eager=True
    )
    valid = (
        normalized.where(F.col("value").isNotNull())
        .withColumn("node", node_id(F.col("id_type"), F.col("value")))
        .groupBy("source", "record_id", "id_type", "value", "node")
        .agg(F.min("record_ts").alias("record_ts"), F.first("market").alias("market"))
    )
    invalid = (
        normalized.where(F.col("value").isNull())
        .groupBy("id_type", "reason")
        .agg(F.count("*").alias("occurrences"), F.first("raw_value").alias("value"))
        .collect()
    )
    stats["observations_read"] = normalized.count()
    stats["invalid_by_reason"] = {f"{r.id_type}:{r.reason}": r.occurrences for r in invalid}
    exclusions = [
        (
            run_id,
            started,
            r.id_type,
            r.value,
            None,
            r.reason,
            "example value; not matched",
            r.occurrences,
        )
        for r in invalid
    ]
    return valid, exclusions


def _write_profiles(
    lake: Lakehouse,
    run_id: str,
    started: datetime,
    *,
    previous_map: DataFrame | None,
    scope: DataFrame,
    cluster: ClusterResult,
    hubs: DataFrame,
    identifiers: DataFrame,
    deterministic_labels: DataFrame,
    incremental: bool,
    stats: dict[str, Any],
    step: _Timer,
) -> list[tuple[Any, ...]]:
    """Stable ids for the clusters of `scope`, then the id map, the id registry and the merge
    history; returns the hub and limit-split exclusions to record."""
    spark = lake.spark
    id_map = lake.table(*ID_MAP)
    registry = lake.table(*CUSTOMER_IDS).read(empty=REGISTRY_SCHEMA)
    prior = (
        previous_map.join(scope, "node", "left_semi")
        if previous_map is not None
        else spark.createDataFrame([], "node long, customer_id string")
    )
    ids = assign_customer_ids(cluster.assignments, prior, registry, run_id)
    step("stable ids")
    id_rows = (
        ids.id_map.join(identifiers.select("node", "id_type", "value"), "node")
        .join(deterministic_labels, "node", "left")
        .select(
            "node",
            "id_type",
            "value",
            "customer_id",
            "component",
            "deterministic_cluster",
            F.lit(started).alias("updated_at"),
            F.lit(run_id).alias("run_id"),
        )
    )
    changes = ids.changes.localCheckpoint(eager=True)
    stats["changes"] = {r.action: r["count"] for r in changes.groupBy("action").count().collect()}
    if incremental:
        id_map.delete_matching(scope, ["node"])
        id_map.append(id_rows)
    else:
        id_map.overwrite(id_rows)
    if incremental:  # a full run wrote every identifier with its status
        _mark_hubs(lake, hubs)
    _write_registry(lake, ids.new_ids, changes, run_id, started)
    lake.table(*MERGES).append(
        changes.select(
            F.lit(run_id).alias("run_id"),
            F.lit(started).alias("at"),
            "action",
            "old_customer_id",
            "customer_id",
            F.when(F.col("action") == "merge", F.lit("identifiers of both profiles now connect"))
            .otherwise(F.lit("identifiers moved to another profile (limit, never-link or hub)"))
            .alias("reason"),
        )
    )
    exclusions = [
        (run_id, started, h.id_type, h.value, h.node, "hub", h.detail, h.profiles)
        for h in hubs.where(F.col("detail").isNotNull()).collect()
    ]
    exclusions += [
        (run_id, started, None, None, s.component, "limit_split", s.refused, s.clusters)
        for s in cluster.splits.collect()
    ]
    stats["hubs"] = sum(1 for e in exclusions if e[5] == "hub")
    stats["limit_splits"] = sum(1 for e in exclusions if e[5] == "limit_split")
    stats["cc_rounds"] = cluster.rounds
    stats["scope_identifiers"] = scope.count()
    if not incremental:  # the tables hold exactly what this run wrote: no need to read them back
        stats["identifiers"] = stats["scope_identifiers"]
        stats["customers"] = ids.id_map.select("customer_id").distinct().count()
    return exclusions


@dataclass(frozen=True)
class _IncrementalGraph:
    observations: DataFrame  # every observation, this run's included
    identifiers: DataFrame  # every identifier, as the table holds it
    touched: DataFrame  # node: new identifiers, ends of new edges, violated never-link pairs
    scope: DataFrame  # node: every node of every component the touched nodes are in


def _incremental_graph(
    lake: Lakehouse,
    valid: DataFrame,
    never: DataFrame,
    previous_map: DataFrame,
    stats: dict[str, Any],
) -> _IncrementalGraph:
    """Add this run's observations, identifiers and edges to the graph tables; the scope of
    the run is every component they touch."""
    known = lake.table(*OBSERVATIONS).read()
    new_obs = valid.join(
        known.select("source", "record_id", "node"),
        ["source", "record_id", "node"],
        "left_anti",
    ).localCheckpoint(eager=True)
    touched_records = new_obs.select("source", "record_id").distinct()
    record_obs = (
        known.join(touched_records, ["source", "record_id"])
        .select(*valid.columns)
        .unionByName(new_obs)
    )
    new_edges = co_occurrence_edges(record_obs, new=new_obs).localCheckpoint(eager=True)
    stats["new_observations"] = new_obs.count()
    stats["new_edges"] = new_edges.count()
    lake.table(*EDGES).merge(
        new_edges,
        ["src", "dst", "rule"],
        {
            "records": "t.records + s.records",
            "first_seen": "least(t.first_seen, s.first_seen)",
            "last_seen": "greatest(t.last_seen, s.last_seen)",
        },
    )
    lake.table(*IDENTIFIERS).merge(
        identifier_nodes(new_obs).withColumn("status", F.lit("active")),
        ["node"],
        {
            "first_seen": "least(t.first_seen, s.first_seen)",
            "last_seen": "greatest(t.last_seen, s.last_seen)",
            "sources": "array_sort(array_union(t.sources, s.sources))",
            "records": "t.records + s.records",
        },
    )
    lake.table(*OBSERVATIONS).append(new_obs.select(*valid.columns))
    touched = (
        new_obs.select("node")
        .union(new_edges.select(F.col("src").alias("node")))
        .union(new_edges.select(F.col("dst").alias("node")))
        .union(_violated_never_link_nodes(never, previous_map))
        .distinct()
    )
    identifiers = lake.table(*IDENTIFIERS).read()
    return _IncrementalGraph(
        lake.table(*OBSERVATIONS).read(),
        identifiers,
        touched,
        _scope(identifiers, previous_map, touched),
    )


def _resolve_incrementally(
    lake: Lakehouse,
    engine: IdentityEngine,
    graph: _IncrementalGraph,
    previous_map: DataFrame,
    anchored: DataFrame | None,
    stats: dict[str, Any],
    step: _Timer,
) -> tuple[DataFrame, ClusterResult, DataFrame, DataFrame]:
    """The engine's steps on the components new data touches: (scope, clusters, hubs,
    deterministic labels of every node).

    Matching still compares every person record (its result depends on them all); the
    components of every probabilistic edge it adds, removes or re-scores join the scope.
    """

    def recluster(scope: DataFrame, hubs: DataFrame, *, deterministic: bool) -> ClusterResult:
        edges = edges_within(lake.table(*EDGES).read(), scope)
        if deterministic:
            edges = edges.where(F.col("kind") == DETERMINISTIC)
        return engine.cluster(graph.identifiers.join(scope, "node", "left_semi"), edges, hubs)

    scope = graph.scope
    hubs = _hubs(lake, engine.rules, graph.identifiers, scope)
    cluster = recluster(scope, hubs, deterministic=True)
    labels = (
        cluster.assignments.select("node", F.col("cluster").alias("deterministic_cluster"))
        .unionByName(
            previous_map.join(scope, "node", "left_anti").select("node", "deterministic_cluster")
        )
        .localCheckpoint(eager=True)
    )
    step("deterministic clustering")
    found: DataFrame | None = None
    if anchored is not None:
        found, stats["probabilistic"] = engine.match(anchored, labels)
    rescored = _replace_probabilistic_edges(lake, found, stats)
    if anchored is not None:
        step("probabilistic matching")
    # The table's probabilistic edges are now exactly `found` (none when it is None).
    if found is not None or stats["probabilistic_edges_changed"]:
        scope = _scope(graph.identifiers, previous_map, graph.touched.union(rescored))
        hubs = _hubs(lake, engine.rules, graph.identifiers, scope)
        cluster = recluster(scope, hubs, deterministic=False)
    return scope, cluster, hubs, labels


@dataclass(frozen=True)
class _LastRun:
    started: datetime
    watermarks: dict[str, datetime]


def last_run_row(lake: Lakehouse) -> Row | None:
    """The newest row of ops.identity_runs (none before the first run)."""
    if not lake.table(*RUNS).exists():
        return None
    rows = lake.table(*RUNS).read().orderBy(F.desc("finished_at")).limit(1).collect()
    return rows[0] if rows else None


def _last_run(lake: Lakehouse) -> _LastRun | None:
    row = last_run_row(lake)
    if row is None:
        return None
    marks = {k: datetime.fromisoformat(v) for k, v in json.loads(row.watermarks).items()}
    return _LastRun(row.started_at, marks)


def _finish(
    lake: Lakehouse,
    result: IdentityRunResult,
    started: datetime,
    marks: dict[str, datetime],
    clock: float,
    exclusions: list[tuple[Any, ...]],
) -> None:
    if exclusions:
        lake.table(*EXCLUSIONS).append(lake.spark.createDataFrame(exclusions, EXCLUSION_SCHEMA))
    if "identifiers" not in result.stats:
        result.stats["identifiers"] = lake.table(*IDENTIFIERS).read().count()
        result.stats["customers"] = (
            lake.table(*ID_MAP).read().select("customer_id").distinct().count()
        )
    result.stats["seconds"] = round(time.monotonic() - clock, 1)
    row = (
        result.run_id,
        result.mode,
        started,
        _now(),
        json.dumps({k: v.isoformat() for k, v in marks.items()}),
        json.dumps(result.stats, default=str),
    )
    lake.table(*RUNS).append(lake.spark.createDataFrame([row], RUN_SCHEMA))


def _scope(
    identifiers: DataFrame, previous_map: DataFrame | None, touched: DataFrame | None
) -> DataFrame:
    """Nodes to recluster: all on a full run; else every component new data touches."""
    if touched is None or previous_map is None:
        return identifiers.select("node").distinct().localCheckpoint(eager=True)
    components = previous_map.join(touched, "node", "left_semi").select("component").distinct()
    return (
        previous_map.join(components, "component", "left_semi")
        .select("node")
        .union(touched)
        .distinct()
        .localCheckpoint(eager=True)
    )


def _hubs(
    lake: Lakehouse,
    rules: IdentityRules,
    identifiers: DataFrame,
    scope: DataFrame,
) -> DataFrame:
    """node, id_type, value, profiles, detail: hubs found now (detail set) or earlier (null),
    for an incremental run (a full run finds them as it writes the graph).

    Only deterministic edges count: whether an identifier is a hub does not depend on what
    probabilistic matching found, so it is the same in every run mode."""
    edges = lake.table(*EDGES).read().where(F.col("kind") == DETERMINISTIC)
    nodes = identifiers.select("node", "id_type", "value")
    incident = (
        edges.join(scope.withColumnRenamed("node", "src"), "src", "left_semi")
        .unionByName(edges.join(scope.withColumnRenamed("node", "dst"), "dst", "left_semi"))
        .select("src", "dst")
        .distinct()
    )
    found = detect_hubs(nodes, incident, rules).join(scope, "node", "left_semi")
    earlier = identifiers.where(F.col("status") == "hub").select(
        "node",
        "id_type",
        "value",
        F.lit(None).cast("long").alias("profiles"),
        F.lit(None).cast("string").alias("detail"),
    )
    return (
        found.join(earlier.select("node"), "node", "left_anti")
        .unionByName(earlier)
        .localCheckpoint(eager=True)
    )


def _mark_hubs(lake: Lakehouse, hubs: DataFrame) -> None:
    lake.table(*IDENTIFIERS).update_matching(hubs.select("node"), ["node"], {"status": "'hub'"})


def _violated_never_link_nodes(never: DataFrame, previous_map: DataFrame | None) -> DataFrame:
    """Both nodes of every never-link pair (configured or from `identity split`) that the current
    id map still puts in one profile: an incremental run reclusters their component, so a pair
    takes effect on the next run however it was added, and a rerun after the split is a no-op."""
    if previous_map is None:
        return never.select(F.col("a").alias("node")).limit(0)
    held = previous_map.select("node", "customer_id")
    shared = (
        never.join(held.toDF("a", "ca"), "a")
        .join(held.toDF("b", "cb"), "b")
        .where(F.col("ca") == F.col("cb"))
    )
    return shared.select(F.col("a").alias("node")).union(shared.select(F.col("b").alias("node")))


def _node_of_ref(column: str) -> Any:
    return node_id(
        F.substring_index(F.col(column), ":", 1),
        F.expr(f"substring({column}, instr({column}, ':') + 1)"),
    )


def never_link_pairs(lake: Lakehouse) -> DataFrame:
    """(a, b) node pairs from the configuration and from `identity split`."""
    configured = [(a, b) for a, b in lake.config.identity.never_link]
    pairs = lake.spark.createDataFrame(configured, "a string, b string")
    if lake.table(*NEVER_LINK).exists():
        pairs = pairs.unionByName(lake.table(*NEVER_LINK).read().select("a", "b"))
    return pairs.select(_node_of_ref("a").alias("a"), _node_of_ref("b").alias("b")).distinct()


def _write_registry(
    lake: Lakehouse, new_ids: DataFrame, changes: DataFrame, run_id: str, at: datetime
) -> None:
    fresh = new_ids.select(
        "customer_id",
        F.lit("active").alias("status"),
        F.col("customer_id").alias("current_customer_id"),
        F.lit(run_id).alias("created_run"),
        F.lit(at).alias("created_at"),
        F.lit(None).cast("timestamp").alias("retired_at"),
    )
    registry = lake.table(*CUSTOMER_IDS)
    registry.append(fresh)
    merges = changes.where(F.col("action") == "merge").select("old_customer_id", "customer_id")
    if merges.limit(1).count() == 0:
        return
    # A retired id, and every id retired into it before, now resolve to the survivor.
    registry.update_matching(
        merges,
        "t.current_customer_id = s.old_customer_id",
        {"current_customer_id": "s.customer_id"},
    )
    registry.update_matching(
        merges, "t.customer_id = s.old_customer_id", {"status": "'merged'", "retired_at": F.lit(at)}
    )


def _replace_probabilistic_edges(
    lake: Lakehouse, found: DataFrame | None, stats: dict[str, Any]
) -> DataFrame:
    """Make the probabilistic edges of silver.identity_edges exactly `found` (none if None).

    Returns the endpoints of every edge added, removed or re-scored: their components are
    reclustered, which is what keeps an incremental run equal to a full rebuild when a new
    record changes what matches (or the model learnt from it changes a probability).
    """
    edges = lake.table(*EDGES)
    keys = "src long, dst long, probability double"
    new = (
        found.select("src", "dst", "probability")
        if found is not None
        else lake.spark.createDataFrame([], keys)
    )
    old = edges.read().where(F.col("kind") == PROBABILISTIC).select("src", "dst", "probability")
    differ = (
        old.alias("o")
        .join(new.alias("n"), ["src", "dst"], "full_outer")
        .where(~F.col("o.probability").eqNullSafe(F.col("n.probability")))
        .select("src", "dst", F.col("n.probability").isNull().alias("removed"))
        .localCheckpoint(eager=True)
    )
    stats["probabilistic_edges_changed"] = differ.count()
    removed = differ.where("removed").select("src", "dst")
    stats["probabilistic_edges_removed"] = (
        removed.count() if stats["probabilistic_edges_changed"] else 0
    )
    if stats["probabilistic_edges_removed"]:
        edges.delete_matching(
            removed, f"t.src = s.src AND t.dst = s.dst AND t.kind = '{PROBABILISTIC}'"
        )
    if found is not None:
        edges.merge(
            found,
            ["src", "dst", "rule"],
            {"probability": "s.probability", "last_seen": "s.last_seen"},
        )
    return differ.select(F.col("src").alias("node")).union(
        differ.select(F.col("dst").alias("node"))
    )


def add_never_link(
    spark: SparkSession, config: ProjectConfig, a: str, b: str, reason: str
) -> tuple[str, str, list[str]]:
    """Record that identifiers `a` and `b` ('type:raw value') must never share a profile.

    Values are normalized with the pipeline's rules; the next run splits any profile holding
    both and records the split in ops.identity_merges. Returns the two normal forms and the
    customer ids that currently hold them.
    """
    rules = IdentityRules.from_config(config)
    refs = []
    for ref in (a, b):
        id_type, sep, raw = ref.partition(":")
        if not sep or not raw:
            raise ValueError(f"expected TYPE:VALUE, got {ref!r}")
        region = (
            next(iter(phone_regions(config).values()), None) if len(config.markets) == 1 else None
        )
        normal = rules.normalize(id_type, raw, region)
        if normal.value is None:
            raise ValueError(f"{ref}: not a usable {id_type} ({normal.reason})")
        refs.append(f"{id_type}:{normal.value}")
    lake = Lakehouse(spark, config)
    row = spark.createDataFrame([(refs[0], refs[1], reason, _now())], NEVER_LINK_SCHEMA)
    lake.table(*NEVER_LINK).append(row)
    holders: list[str] = []
    if lake.table(*ID_MAP).exists():
        id_map = lake.table(*ID_MAP).read()
        for ref in refs:
            id_type, _, value = ref.partition(":")
            holders += [
                r.customer_id
                for r in id_map.where((F.col("id_type") == id_type) & (F.col("value") == value))
                .select("customer_id")
                .collect()
            ]
    return refs[0], refs[1], holders


def resolve_customer_id(spark: SparkSession, config: ProjectConfig, customer_id: str) -> str | None:
    """The current id of `customer_id` (itself when active, the survivor when it was merged)."""
    lake = Lakehouse(spark, config)
    rows = (
        lake.table(*CUSTOMER_IDS)
        .read(empty=REGISTRY_SCHEMA)
        .where(F.col("customer_id") == customer_id)
        .select("current_customer_id")
        .collect()
    )
    return rows[0].current_customer_id if rows else None
