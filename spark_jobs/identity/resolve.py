"""`lakecdp identity resolve`: the pipeline's identity rules on any CSV of person records.

Users judge identity resolution on their own labelled data, so this reads any CSV (every column
as text), maps columns to identifier types or person fields, and clusters the rows with exactly
the pipeline's pieces: the configured normalizers and blocklists, the co-occurrence graph, hub
detection, connected components, limit splits and Splink matching. Each row is also a node of
its own (type `_record`), so rows without any identifier still get a profile and probabilistic
matches link rows, not values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.rules import RECORD_TYPE, IdentityRules
from lakecdp.identity.spark_normalizers import (
    identifier_observations,
    normalize_observations,
    phone_regions,
)
from lakecdp.kernel.config import PERSON_FIELDS, ProjectConfig
from spark_jobs.identity.engine import IdentityEngine
from spark_jobs.identity.graph import co_occurrence_edges
from spark_jobs.identity.observations import node_id
from spark_jobs.identity.person_records import anchored_records, record_anchors, split_traits

SOURCE = "input"


class ResolveInputError(ValueError):
    """The CSV or the column mapping cannot be used; the message says which column and why."""


@dataclass
class ResolveSummary:
    records: int = 0
    profiles: int = 0
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    hubs: int = 0
    limit_splits: int = 0
    probabilistic: dict[str, Any] = field(default_factory=dict)


def parse_mapping(pairs: list[str], rules: IdentityRules) -> tuple[dict[str, str], dict[str, str]]:
    """`COLUMN=TYPE` pairs -> (column -> identifier type, person field -> column)."""
    identifiers: dict[str, str] = {}
    person: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column or not target:
            raise ResolveInputError(f"--map expects COLUMN=TYPE, got {pair!r}")
        if target in rules.types and target != RECORD_TYPE:
            identifiers[column] = target
        elif target in PERSON_FIELDS:
            person[target] = column
        else:
            known = sorted(t for t in rules.types if t != RECORD_TYPE)
            raise ResolveInputError(
                f"--map {pair}: {target!r} is neither an identifier type ({', '.join(known)}) "
                f"nor a person field ({', '.join(PERSON_FIELDS)})"
            )
    return identifiers, person


def read_input(spark: SparkSession, path: Path, columns: list[str]) -> DataFrame:
    if not path.exists():
        raise ResolveInputError(f"input file not found: {path}")
    df = (
        spark.read.option("header", True)
        .option("inferSchema", False)
        .option("multiLine", True)
        .option("escape", '"')
        # Rows end at "\n"; the "\r" of Windows lines is trailing white space, trimmed like the
        # padding of "a, b" files (FEBRL's among them). Without this, a file that mixes both
        # endings reads as one row and fails.
        .option("lineSep", "\n")
        .option("ignoreLeadingWhiteSpace", True)
        .option("ignoreTrailingWhiteSpace", True)
        .csv(str(path))
    )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ResolveInputError(
            f"{path}: no column(s) {', '.join(missing)}; the file has: {', '.join(df.columns)}"
        )
    return df


def resolve_records(
    spark: SparkSession,
    config: ProjectConfig,
    rows: DataFrame,
    id_column: str,
    identifiers: dict[str, str],
    person: dict[str, str],
    *,
    region: str | None = None,
    market_column: str | None = None,
    probabilistic: bool = False,
) -> tuple[DataFrame, ResolveSummary]:
    """record_id, customer_id for every row of `rows` (all text columns)."""
    rules = IdentityRules.from_config(config, with_record_type=True)
    summary = ResolveSummary()
    market = F.col(market_column) if market_column else F.lit(region)
    base = rows.select(
        F.trim(F.col(id_column)).alias("record_id"),
        F.upper(market).alias("market"),
        *[F.col(c).alias(f"__id_{i}") for i, c in enumerate(identifiers)],
        *[F.col(c).alias(f) for f, c in person.items()],
    ).where(F.col("record_id").isNotNull() & (F.col("record_id") != ""))
    observations = identifier_observations(
        base,
        source=F.lit(SOURCE),
        record_id=F.col("record_id"),
        record_ts=F.lit(None).cast("timestamp"),
        market=F.col("market"),
        identifiers=[
            (RECORD_TYPE, F.col("record_id")),
            *[(t, F.col(f"__id_{i}")) for i, t in enumerate(identifiers.values())],
        ],
    )
    regions = {**phone_regions(config), **({region.upper(): region.upper()} if region else {})}
    normalized = normalize_observations(observations, rules, regions).localCheckpoint(eager=True)
    summary.invalid_by_reason = {
        f"{r.id_type}:{r.reason}": r["count"]
        for r in normalized.where("value is null").groupBy("id_type", "reason").count().collect()
    }
    valid = (
        normalized.where("value is not null")
        .withColumn("node", node_id(F.col("id_type"), F.col("value")))
        .localCheckpoint(eager=True)
    )
    nodes = valid.select("node", "id_type", "value").distinct().localCheckpoint(eager=True)
    edges = co_occurrence_edges(valid).localCheckpoint(eager=True)
    record_nodes = valid.where(F.col("id_type") == RECORD_TYPE).select("record_id", "node")
    anchored = _anchored_records(rules, base, valid, record_nodes, person) if person else None
    traits = split_traits(anchored, config, rules) if anchored is not None else None
    engine = IdentityEngine(spark, config, rules, traits=traits)
    resolution = engine.resolve(nodes, edges, anchored, probabilistic=probabilistic)
    cluster = resolution.clusters
    summary.hubs = resolution.hubs.count()
    summary.probabilistic = resolution.match_stats
    summary.limit_splits = cluster.splits.count()
    result = (
        record_nodes.join(cluster.assignments, "node")
        .select(
            "record_id", F.concat(F.lit("c"), F.col("cluster").cast("string")).alias("customer_id")
        )
        .distinct()
    )
    summary.records = result.count()
    summary.profiles = result.select("customer_id").distinct().count()
    return result, summary


def _anchored_records(
    rules: IdentityRules,
    base: DataFrame,
    valid: DataFrame,
    record_nodes: DataFrame,
    person: dict[str, str],
) -> DataFrame:
    """Each row's person fields, anchored on the row's own node (a probabilistic edge links
    rows, not values), with its strongest identifier as `known_match`: rows sharing it are
    known matches, as records sharing an anchor are in the pipeline."""
    mapped = [f for f in PERSON_FIELDS if f in person]
    persons = base.select(F.lit(SOURCE).alias("source"), "record_id", *mapped)
    strongest = record_anchors(valid.where(F.col("id_type") != RECORD_TYPE), rules).select(
        "record_id", F.col("anchor").alias("known_match"), "phone"
    )
    anchors = record_nodes.select(
        F.lit(SOURCE).alias("source"), "record_id", F.col("node").alias("anchor")
    ).join(strongest, "record_id", "left")
    return anchored_records(persons, anchors).localCheckpoint(eager=True)


def resolve_csv(
    spark: SparkSession,
    config: ProjectConfig,
    input_path: Path,
    output_path: Path,
    id_column: str,
    mapping: list[str],
    *,
    region: str | None = None,
    market_column: str | None = None,
    probabilistic: bool = False,
) -> ResolveSummary:
    """Resolve `input_path` and write `record_id,customer_id` to `output_path`."""
    rules = IdentityRules.from_config(config, with_record_type=True)
    identifiers, person = parse_mapping(mapping, rules)
    if not identifiers and not (probabilistic and person):
        raise ResolveInputError(
            "nothing to match on: map at least one column to an identifier type, or person "
            "fields with --probabilistic"
        )
    needed = [
        id_column,
        *identifiers,
        *person.values(),
        *([market_column] if market_column else []),
    ]
    rows = read_input(spark, input_path, needed)
    result, summary = resolve_records(
        spark,
        config,
        rows,
        id_column,
        identifiers,
        person,
        region=region,
        market_column=market_column,
        probabilistic=probabilistic,
    )
    output_path.parent.mkdir(parents=True, exist_ok=True)
    result.orderBy("record_id").toPandas().to_csv(output_path, index=False)
    return summary
