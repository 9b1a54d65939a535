"""Person records for probabilistic matching: traits of each record, with its anchor identifier.

A record's anchor is its highest-priority valid identifier: the node a probabilistic edge
attaches to. Records that say the same thing about the same anchor (a CRM row re-sent with each
edit, every login's identify call) are collapsed in Spark before anything reaches the driver,
where Splink (DuckDB backend) compares what is left.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.rules import IdentityRules
from lakecdp.identity.spark_normalizers import event_field
from lakecdp.kernel.config import PERSON_FIELDS, ProjectConfig
from spark_jobs.identity.observations import bronze_tables, read_bronze, record_id_column


def record_anchors(observations: DataFrame, rules: IdentityRules) -> DataFrame:
    """source, record_id, anchor (node), phone: each record's strongest identifier (and phone)."""
    priority = F.create_map(*[x for t, p in rules.priorities.items() for x in (F.lit(t), F.lit(p))])
    phone_types = [n for n, r in rules.types.items() if r.kind == "phone"]
    ranked = observations.withColumn("_p", priority[F.col("id_type")])
    return ranked.groupBy("source", "record_id").agg(
        F.max_by("node", F.struct(F.col("_p"), -F.col("node"))).alias("anchor"),
        F.max(F.when(F.col("id_type").isin(*phone_types), F.col("value"))).alias("phone"),
    )


def _fields(mapping: dict[str, str], column: callable) -> list[Column]:  # type: ignore[valid-type]
    return [
        (column(mapping[f]).cast("string") if f in mapping else F.lit(None).cast("string")).alias(f)
        for f in PERSON_FIELDS
    ]


def raw_person_records(spark: SparkSession, config: ProjectConfig) -> DataFrame | None:
    """source, record_id and every person field (text or null), from all bronze tables."""
    frames: list[DataFrame] = []
    for table in bronze_tables(spark, config):
        rows = read_bronze(spark, config, table, None)
        if table == "events":
            mapping = config.identity.events.person
            if not mapping:
                continue
            frame = rows.select(
                F.lit("events").alias("source"),
                F.col("message_id").alias("record_id"),
                *_fields(mapping, event_field),
            )
        else:
            source = config.sources[table]
            if not source.person:
                continue
            frame = rows.select(
                F.lit(table).alias("source"),
                record_id_column(source).alias("record_id"),
                *_fields(source.person, F.col),
            )
        present = [F.col(f).isNotNull() for f in PERSON_FIELDS if f != "phone_suffix"]
        if present:
            cond = present[0]
            for c in present[1:]:
                cond = cond | c
            frame = frame.where(cond)
        frames.append(frame)
    if not frames:
        return None
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def anchored_records(persons: DataFrame, anchors: DataFrame) -> DataFrame:
    """Person records (`raw_person_records`) with their anchor and phone (`record_anchors`):
    what the split traits and the matcher both read, so a run joins and keeps it once."""
    return persons.join(anchors, ["source", "record_id"])


def collapse_person_records(anchored: DataFrame, labels: DataFrame) -> pd.DataFrame:
    """One row per distinct (anchor, traits, phone), keyed `source|record_id`, with its cluster
    label and its anchor as `known_match` (rows sharing an anchor are one person's versions).
    `phone` (the record's phone identifier) tells the matcher whether a suffix can be it.

    `anchored` comes from `anchored_records` (person fields it lacks are null; a
    `known_match` column, when present, replaces the anchor as what groups known versions);
    `labels` maps nodes to the label of the cluster they are in (node, label).
    """
    traits = [*PERSON_FIELDS, "phone"]
    known = F.col("known_match") if "known_match" in anchored.columns else F.col("anchor")
    anchored = anchored.select(
        "source",
        "record_id",
        "anchor",
        known.cast("string").alias("known_match"),
        *[
            F.col(t) if t in anchored.columns else F.lit(None).cast("string").alias(t)
            for t in traits
        ],
    )
    # A record re-sent with other traits (a CRM edit) is one group per version: the key carries
    # a hash of the traits so it stays unique.
    grouped = anchored.groupBy("anchor", "known_match", *traits).agg(
        F.concat(
            F.min(F.concat_ws("|", "source", "record_id")),
            F.lit("#"),
            F.xxhash64("anchor", *traits).cast("string"),
        ).alias("record_key")
    )
    labelled = grouped.join(
        labels.select(F.col("node").alias("anchor"), F.col("label").alias("cluster")),
        "anchor",
        "left",
    )
    # Sorted: the matcher's output depends on nothing but its input, in any run mode.
    # Through Arrow: columnar, several times faster than toPandas' row-by-row conversion.
    out = (
        labelled.select(
            "record_key",
            "anchor",
            "cluster",
            "known_match",
            *traits,
        )
        .toArrow()
        .to_pandas()
    )
    return out.sort_values("record_key", ignore_index=True)


def anchor_traits(
    anchored: DataFrame,
    traits: list[str],
    *,
    given_names: bool = False,
    conclusive: list[str] | None = None,
) -> DataFrame:
    """node, trait, value: the normalized single-valued traits each anchor's records state,
    with `given_names` every given name or initial they carry (trait `GIVEN_NAMES`), as the
    matcher reads them: a full name split, "J." kept as "j", a mask's visible letters, and
    the `conclusive` traits as "field=value" (trait `CONCLUSIVE`).

    One pass over the records: `normalize_person_frame` does what matching does.
    """
    from lakecdp.identity.constrained import CONCLUSIVE, GIVEN_NAMES
    from lakecdp.identity.person_fields import given_name_candidates, normalize_person_frame

    if not traits and not given_names:
        raise ValueError("anchor_traits needs at least one trait")
    conclusive = conclusive or []
    present = set(anchored.columns)
    needed = [
        *traits,
        *conclusive,
        *(("first_name", "last_name", "full_name") if given_names else ()),
    ]
    fields = [f for f in PERSON_FIELDS if f in needed and f in present]
    rows = anchored.select(
        F.col("anchor").alias("node"), *[F.col(f).cast("string") for f in fields]
    ).distinct()

    def values(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frame = normalize_person_frame(batch.assign(record_key=batch["node"].astype(str)))
            nodes = batch["node"].tolist()
            out: list[tuple[int, str, str]] = [
                (node, trait, value)
                for trait in traits
                for node, value in zip(nodes, frame[trait].tolist(), strict=True)
                if isinstance(value, str)
            ]
            out.extend(
                (node, CONCLUSIVE, f"{trait}={value}")
                for trait in conclusive
                for node, value in zip(nodes, frame[trait].tolist(), strict=True)
                if isinstance(value, str)
            )
            if given_names:
                out.extend(
                    (node, GIVEN_NAMES, name)
                    for node, first, hints in zip(
                        nodes, frame["first_name"], frame["given_hints"], strict=True
                    )
                    for name in given_name_candidates(first, hints)
                )
            yield pd.DataFrame(out, columns=["node", "trait", "value"])

    return rows.mapInPandas(values, "node long, trait string, value string").distinct()


def split_traits(
    anchored: DataFrame, config: ProjectConfig, rules: IdentityRules
) -> DataFrame | None:
    """What the limit split compares, from whichever person columns `anchored` (person records
    with their anchor, `anchored_records`) has: the
    `identity.single_valued_traits`, given names when a household-shared identifier type
    needs them, and the `identity.conclusive_traits` that overrule both. Materialized: the
    split reads it once per component batch."""
    present = set(anchored.columns)
    wanted = [t for t in config.identity.single_valued_traits if t in present]
    names = bool(rules.household_shared) and bool({"first_name", "full_name"} & present)
    if not wanted and not names:
        return None
    conclusive = [t for t in config.identity.conclusive_traits if t in present]
    return anchor_traits(
        anchored, wanted, given_names=names, conclusive=conclusive
    ).localCheckpoint(eager=True)


def compares_traits(config: ProjectConfig, rules: IdentityRules) -> bool:
    """Does the limit split compare person traits (so bronze person records must be read)?"""
    return bool(config.identity.single_valued_traits) or bool(rules.household_shared)


def person_records_with_anchors(
    spark: SparkSession, config: ProjectConfig, rules: IdentityRules, observations: DataFrame
) -> DataFrame | None:
    """Every bronze person record with its anchor node and phone, materialized (None when no
    source maps person fields)."""
    persons = raw_person_records(spark, config)
    if persons is None:
        return None
    return anchored_records(persons, record_anchors(observations, rules)).localCheckpoint(
        eager=True
    )


def single_valued_traits(
    spark: SparkSession, config: ProjectConfig, rules: IdentityRules, observations: DataFrame
) -> DataFrame | None:
    """node, trait, value on each record's anchor (`split_traits`), for callers without a run."""
    if not compares_traits(config, rules):
        return None  # nothing to compare: bronze is not read
    anchored = person_records_with_anchors(spark, config, rules, observations)
    return None if anchored is None else split_traits(anchored, config, rules)
