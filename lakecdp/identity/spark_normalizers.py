"""The identity rules applied to Spark columns: how an event's identifiers become observations
and how raw identifier values get their normal form. The identity pipeline uses them, and so
does any layer that meets raw identifiers in Spark (the feature push resolves events to
customers with them), so both give the same normal forms and the same reasons.

Normalization runs the same Python normalizers as the standalone resolver (a vectorized pandas
UDF: phone parsing has no built-in column function).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakecdp.identity.rules import IdentityRules
from lakecdp.kernel.config import EVENT_COLUMNS, ProjectConfig

NORMALIZED = StructType([StructField("value", StringType()), StructField("reason", StringType())])


def event_field(field: str) -> Column:
    """A bronze.events column, or a path into one of its JSON columns (`traits.email`)."""
    if field in EVENT_COLUMNS:
        return F.col(field)
    root, _, path = field.partition(".")
    return F.get_json_object(F.col(root), f"$.{path}")


def identifier_observations(
    rows: DataFrame,
    *,
    source: Column,
    record_id: Column,
    record_ts: Column,
    market: Column,
    identifiers: list[tuple[str, Column]],
) -> DataFrame:
    """source, record_id, record_ts, market, id_type, raw_value: one row per non-blank
    identifier (id type, column) of each row. Every reader of raw identifiers (bronze sources,
    events, a CSV for `identity resolve`) builds its observations here, in this one shape."""
    stacked = F.explode(
        F.array(
            *[
                F.struct(F.lit(id_type).alias("id_type"), column.cast("string").alias("raw"))
                for id_type, column in identifiers
            ]
        )
    ).alias("i")
    return (
        rows.select(
            source.alias("source"),
            record_id.alias("record_id"),
            record_ts.alias("record_ts"),
            market.alias("market"),
            stacked,
        )
        .select(
            "source",
            "record_id",
            "record_ts",
            "market",
            "i.id_type",
            F.col("i.raw").alias("raw_value"),
        )
        .where(F.col("raw_value").isNotNull() & (F.trim("raw_value") != ""))
    )


def event_observations(events: DataFrame, config: ProjectConfig) -> DataFrame:
    """One row per configured identifier field of each event (user id, device, traits.email)."""
    return identifier_observations(
        events,
        source=F.lit("events"),
        record_id=F.col("message_id"),
        record_ts=F.col("event_ts"),
        market=F.col("market"),
        identifiers=[
            (id_type, event_field(field))
            for field, id_type in config.identity.events.identifiers.items()
        ],
    )


MEMO_LIMIT = 500_000  # normal forms a task keeps (a few hundred bytes each)


def normalize_observations(
    observations: DataFrame, rules: IdentityRules, regions: dict[str, str]
) -> DataFrame:
    """Add `value` (normal form) and `reason` (why there is none), via the shared normalizers.

    The same identifier recurs in most of a customer's records (every event carries the
    anonymous and user id), so each task normalizes a (type, value, market) once: the memo
    lives as long as the task's copy of the function, and is bounded."""
    memo: dict[tuple[object, object, object], tuple[str | None, str | None]] = {}

    @F.pandas_udf(NORMALIZED)  # type: ignore[call-overload]
    def _normalize(id_type: pd.Series, raw: pd.Series, market: pd.Series) -> pd.DataFrame:
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        values: list[str | None] = []
        reasons: list[str | None] = []
        for key in zip(id_type, raw, market, strict=True):
            known = memo.get(key)
            if known is None:
                t, r, m = key
                result = rules.normalize(t, r, regions.get(m) if isinstance(m, str) else None)
                known = memo[key] = (result.value, result.reason)
            values.append(known[0])
            reasons.append(known[1])
        return pd.DataFrame({"value": values, "reason": reasons})

    normalized = _normalize(F.col("id_type"), F.col("raw_value"), F.col("market"))
    return observations.withColumn("_n", normalized).select(
        *observations.columns,
        F.col("_n.value").alias("value"),
        F.col("_n.reason").alias("reason"),
    )


def phone_regions(config: ProjectConfig) -> dict[str, str]:
    return {code: market.phone_region for code, market in config.markets.items()}
