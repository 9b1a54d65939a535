"""Person records for probabilistic matching: traits of each record, with its anchor identifier.

A record's anchor is its highest-priority valid identifier: the node a probabilistic edge
attaches to. Records that say the same thing about the same anchor (a CRM row re-sent with each
edit, every login's identify call) are collapsed in Spark before anything reaches the driver,
where Splink (DuckDB backend) compares what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.config import PERSON_FIELDS, ProjectConfig
from lakecdp.identity.rules import IdentityRules
from spark_jobs.identity.observations import (
    bronze_tables,
    event_field,
    read_bronze,
    record_id_column,
)


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


def collapse_person_records(
    persons: DataFrame, anchors: DataFrame, labels: DataFrame
) -> pd.DataFrame:
    """One row per distinct (anchor, traits), keyed `source|record_id`, with its cluster label
    and its anchor as `known_match` (rows sharing an anchor are one person's versions).

    `labels` maps nodes to the label of the cluster they are in (node, label).
    """
    with_anchor = persons.join(anchors, ["source", "record_id"])
    filled = with_anchor.withColumn(
        "phone_suffix", F.coalesce("phone_suffix", F.substring("phone", -4, 4))
    )
    # A record re-sent with other traits (a CRM edit) is one group per version: the key carries
    # a hash of the traits so it stays unique.
    grouped = filled.groupBy("anchor", *PERSON_FIELDS).agg(
        F.concat(
            F.min(F.concat_ws("|", "source", "record_id")),
            F.lit("#"),
            F.xxhash64("anchor", *PERSON_FIELDS).cast("string"),
        ).alias("record_key")
    )
    labelled = grouped.join(
        labels.select(F.col("node").alias("anchor"), F.col("label").alias("cluster")),
        "anchor",
        "left",
    )
    # Sorted: the matcher's output depends on nothing but its input, in any run mode.
    out = labelled.select(
        "record_key",
        "anchor",
        "cluster",
        F.col("anchor").cast("string").alias("known_match"),
        *PERSON_FIELDS,
    ).toPandas()
    return out.sort_values("record_key", ignore_index=True)


def anchor_traits(
    persons: DataFrame, anchors: DataFrame, traits: list[str], *, given_names: bool = False
) -> DataFrame:
    """node, trait, value: the normalized single-valued traits each anchor's records state,
    and with `given_names` the given names they carry (`anchor_given_names`)."""
    from lakecdp.identity import person_fields as pf

    normalizers = {
        "first_name": pf.normalize_name,
        "last_name": pf.normalize_name,
        "date_of_birth": pf.normalize_date_of_birth,
        "postcode": pf.normalize_postcode,
        "city": pf.normalize_place,
        "address": pf.normalize_place,
        "national_id": pf.normalize_national_id,
        "phone_suffix": pf.normalize_phone_suffix,
    }

    def udf_for(normalize: Callable[[pd.Series], pd.Series]) -> Callable[..., Column]:
        @F.pandas_udf("string")  # type: ignore[call-overload]
        def _normal(values: pd.Series) -> pd.Series:
            out = normalize(values).astype(object)
            return out.where(out.notna(), None)

        return _normal  # type: ignore[no-any-return]

    frames = []
    for trait in traits:
        _normal = udf_for(normalizers[trait])
        frames.append(
            persons.where(F.col(trait).isNotNull())
            .join(anchors, ["source", "record_id"])
            .select(
                F.col("anchor").alias("node"),
                F.lit(trait).alias("trait"),
                _normal(F.col(trait)).alias("value"),
            )
            .where(F.col("value").isNotNull())
        )
    if given_names:
        frames.append(anchor_given_names(persons, anchors))
    if not frames:
        raise ValueError("anchor_traits needs at least one trait")
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out.distinct()


def anchor_given_names(persons: DataFrame, anchors: DataFrame) -> DataFrame:
    """node, trait (`GIVEN_NAMES`), value: every given name or initial an anchor's records
    carry, normalized as the matcher sees them (a full name split, "J." kept as "j")."""
    from lakecdp.identity.constrained import GIVEN_NAMES
    from lakecdp.identity.person_fields import given_name_candidates, normalize_person_frame

    named = [c for c in ("first_name", "last_name", "full_name") if c in persons.columns]
    given = [c for c in ("first_name", "full_name") if c in named]
    if not given:
        return persons.sparkSession.createDataFrame([], "node long, trait string, value string")
    rows = (
        persons.where(F.coalesce(*[F.col(c) for c in given]).isNotNull())
        .join(anchors, ["source", "record_id"])
        .select(F.col("anchor").alias("node"), *[F.col(c).cast("string") for c in named])
        .distinct()
    )

    def candidates(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frame = normalize_person_frame(batch.assign(record_key=batch["node"].astype(str)))
            pairs = [
                (node, name)
                for node, first, hints in zip(
                    batch["node"], frame["first_name"], frame["given_hints"], strict=True
                )
                for name in given_name_candidates(first, hints)
            ]
            yield pd.DataFrame(pairs, columns=["node", "value"])

    return rows.mapInPandas(candidates, "node long, value string").select(
        "node", F.lit(GIVEN_NAMES).alias("trait"), "value"
    )
