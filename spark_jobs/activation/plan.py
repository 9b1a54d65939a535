"""A sync's plan: what to insert, update and delete, computed in Spark against its state.

The desired rows are the source's rows with consent (joined to the profile), mapped to the
destination's fields exactly as they will be sent; a row's payload hash is the SHA-256 of that
payload (null fields left out, fields in name order), so a change in an unmapped column, or a new
mapped field that is null, changes nothing. The state (`ops.sync_state`) holds, per key, the
hash the destination last *accepted*: a rejected or failed row keeps its old hash and is planned
again on the next run even when unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from lakecdp.kernel.config import MappedField, ProjectConfig, SyncConfig
from lakecdp.kernel.delta import Lakehouse

STATE = ("ops", "sync_state")
RUNS = ("ops", "sync_runs")
CHANGELOG = ("ops", "sync_changelog")
REJECTIONS = ("ops", "sync_rejections")
PROFILE = ("gold", "dim_customers")
PROFILE_PREFIX = "profile."
FIRST = "first"  # the one transform Spark applies itself: a list's first element

STATE_SCHEMA = (
    "sync string, key string, payload_hash string, mapping_version string, created boolean, "
    "last_status string, attempts int, last_run_id string, updated_at timestamp, "
    "sent_fields string"
)
# Destinations that remove a record by what was sent (an ad audience matches people by their
# hashed identifiers, not by our key): their state keeps the accepted payload for the delete.
REMOVE_BY_PAYLOAD = ("ad_audience",)
# tracked: the state already has a row for the key (else its outcome is appended, not merged).
CHANGE_COLUMNS = ("op", "key", "fields_json", "payload_hash", "why", "tracked")


class SyncPlanError(ValueError):
    """The sync cannot be planned as declared (a missing table or column); says which."""


@dataclass
class Plan:
    sync: str
    changes: DataFrame  # op (insert|update|delete), key, fields_json, payload_hash, why, tracked
    field_types: dict[str, str]  # destination field -> Spark SQL type of the sent value
    counts: dict[str, int] = field(default_factory=dict)
    invalid: DataFrame | None = None  # key, reason: rows not sent (null or duplicate key)

    @property
    def total(self) -> int:
        return sum(self.counts.get(k, 0) for k in ("insert", "update", "delete"))


def _source_column(name: str, source_columns: set[str], profile_columns: set[str]) -> Column:
    if name.startswith(PROFILE_PREFIX):
        column = name[len(PROFILE_PREFIX) :]
        if column not in profile_columns:
            raise SyncPlanError(f"profile column {column!r} is not in gold.dim_customers")
        return F.col(f"p.{column}")
    if name not in source_columns:
        raise SyncPlanError(f"column {name!r} is not in the source")
    return F.col(f"s.{name}")


def _transformed(names: list[str], value: Column, market: Column) -> Column:
    """`value` through the named transforms (lakecdp.activation.transforms), vectorized."""
    from lakecdp.activation.transforms import apply_transforms_series

    steps = list(names)

    @F.pandas_udf("string")  # type: ignore[call-overload]
    def run(values: pd.Series, markets: pd.Series) -> pd.Series:
        return apply_transforms_series(steps, values, markets)

    return run(value.cast("string"), market)


def mapped_fields(
    sync: SyncConfig, source_columns: set[str], profile_columns: set[str]
) -> dict[str, Column]:
    """Destination field -> the Column that computes it, in field-name order."""
    market = F.col("p.market") if "market" in profile_columns else F.lit(None).cast("string")
    out: dict[str, Column] = {}
    for name, spec in sorted(sync.fields.items()):
        out[name] = _field(name, spec, source_columns, profile_columns, market)
    return out


def _field(
    name: str,
    spec: MappedField,
    source_columns: set[str],
    profile_columns: set[str],
    market: Column,
) -> Column:
    if spec.constant is not None:
        return F.lit(spec.constant).alias(name)
    assert spec.column is not None
    try:
        column = _source_column(spec.column, source_columns, profile_columns)
    except SyncPlanError as exc:
        raise SyncPlanError(f"mapping.{name}: {exc}") from None
    steps = list(spec.transform)
    if steps[:1] == [FIRST]:  # a list column (a profile's emails): its first element
        column = F.try_element_at(column, F.lit(1))  # an empty list: null, not an error
        steps = steps[1:]
    if steps:
        from lakecdp.activation.transforms import check_transform_names

        try:
            check_transform_names(steps)
        except ValueError as exc:
            raise SyncPlanError(f"mapping.{name}.transform: {exc}") from None
        column = _transformed(steps, column, market)
    return column.alias(name)


def source_rows(
    spark: SparkSession, config: ProjectConfig, name: str
) -> tuple[DataFrame, dict[str, str], DataFrame]:
    """(rows, field types, invalid): one row per key of the source (key, consented,
    fields_json, payload_hash), the type of each field, and the rows that cannot be sent
    (key, reason)."""
    sync = config.syncs[name]
    lake = Lakehouse(spark, config)
    source_table = lake.table("gold", sync.source)
    if not source_table.exists():
        raise SyncPlanError(
            f"syncs.{name}.source: gold.{sync.source} does not exist (run `lakecdp dbt build`)"
        )
    source = source_table.read()
    source_columns = set(source.columns)
    for column, what in ((sync.primary_key, "primary_key"), (sync.customer_id_column, None)):
        if what and column not in source_columns:
            raise SyncPlanError(f"syncs.{name}.{what}: column {column!r} is not in the source")
    profile_needed = sync.consent is not None or any(
        (spec.column or "").startswith(PROFILE_PREFIX) for spec in sync.fields.values()
    )
    joined = source.alias("s")
    profile_columns: set[str] = set()
    if profile_needed:
        if sync.customer_id_column not in source_columns:
            raise SyncPlanError(
                f"syncs.{name}.customer_id_column: {sync.customer_id_column!r} is not in the "
                "source (consent and profile columns join the profile on it)"
            )
        profile = lake.table(*PROFILE).read(missing_hint="run `lakecdp dbt build` first")
        profile_columns = set(profile.columns)
        joined = joined.join(
            profile.alias("p"),
            F.col(f"s.{sync.customer_id_column}") == F.col("p.customer_id"),
            "left",
        )
    try:
        fields = mapped_fields(sync, source_columns, profile_columns)
    except SyncPlanError as exc:
        raise SyncPlanError(f"syncs.{name}.{exc}") from None
    if sync.consent is not None:
        consent_column = f"consent_{sync.consent.purpose}_{sync.consent.channel}"
        if consent_column not in profile_columns:
            raise SyncPlanError(
                f"syncs.{name}.consent: gold.dim_customers has no {consent_column} column"
            )
        consented = F.coalesce(F.col(f"p.{consent_column}") == F.lit("granted"), F.lit(False))
    else:
        consented = F.lit(True)
    payload = F.struct(*fields.values())
    rows = joined.select(
        F.col(f"s.{sync.primary_key}").cast("string").alias("key"),
        consented.alias("consented"),
        payload.alias("payload"),
    )
    field_types = {f.name: f.dataType.simpleString() for f in rows.schema["payload"].dataType}
    rows = rows.select(
        "key",
        "consented",
        F.to_json("payload").alias("fields_json"),
    ).withColumn("payload_hash", F.sha2(F.col("fields_json"), 256))
    # One row per key: a null key cannot be addressed; of duplicated keys one row is sent (the
    # lowest payload hash, so every run picks the same) and the others are reported.
    ranked = rows.where(F.col("key").isNotNull()).withColumn(
        "_n",
        F.row_number().over(Window.partitionBy("key").orderBy("payload_hash")),
    )
    invalid = (
        rows.where(F.col("key").isNull())
        .select("key", F.lit("null primary key").alias("reason"))
        .unionByName(
            ranked.where(F.col("_n") > 1).select(
                "key", F.lit("duplicate primary key in the source").alias("reason")
            )
        )
    )
    kept = ranked.where(F.col("_n") == 1).drop("_n")
    return kept, field_types, invalid


def last_runs(lake: Lakehouse) -> dict[str, Row]:
    """Each sync's newest row of ops.sync_runs (none before the first run)."""
    runs = lake.table(*RUNS)
    if not runs.exists():
        return {}
    newest = Window.partitionBy("sync").orderBy(F.desc("finished_at"))
    rows = runs.read().withColumn("_n", F.row_number().over(newest)).where("_n = 1").drop("_n")
    return {r.sync: r for r in rows.collect()}


def sync_state(spark: SparkSession, config: ProjectConfig, name: str) -> DataFrame:
    return (
        Lakehouse(spark, config).table(*STATE).read(empty=STATE_SCHEMA).where(F.col("sync") == name)
    )


def plan_sync(spark: SparkSession, config: ProjectConfig, name: str) -> Plan:
    """The changes that make the destination hold the desired rows, by the sync's mode."""
    sync = config.syncs[name]
    rows, field_types, invalid = source_rows(spark, config, name)
    state = sync_state(spark, config, name).select(
        "key", F.col("payload_hash").alias("held_hash"), "created", "sent_fields"
    )
    r, s = rows.alias("r"), state.alias("s")
    both = r.join(s, F.col("r.key") == F.col("s.key"), "full_outer").select(
        F.coalesce("r.key", "s.key").alias("key"),
        F.col("r.key").isNotNull().alias("in_source"),
        F.coalesce(F.col("r.consented"), F.lit(False)).alias("consented"),
        F.when(F.col("r.consented"), F.col("r.fields_json")).alias("fields_json"),
        F.when(F.col("r.consented"), F.col("r.payload_hash")).alias("payload_hash"),
        F.col("s.held_hash"),
        F.coalesce(F.col("s.created"), F.lit(False)).alias("created"),
        F.col("s.sent_fields"),
        F.col("s.key").isNotNull().alias("tracked"),
    )
    both = both.withColumn("withdrawn", F.col("in_source") & ~F.col("consented"))
    wanted = F.col("payload_hash").isNotNull()
    held = F.col("held_hash").isNotNull()
    new = wanted & ~held
    changed = wanted & held & (F.col("payload_hash") != F.col("held_hash"))
    gone = ~wanted & held & F.col("created")
    inserts_allowed = sync.mode in ("insert", "upsert", "mirror")
    updates_allowed = sync.mode in ("update", "upsert", "mirror")
    op = (
        F.when(new, F.lit("insert" if inserts_allowed else "update"))
        .when(changed & F.lit(updates_allowed), F.lit("update"))
        # Consent withdrawn: removed whatever the mode; left the audience: mirror only.
        .when(gone & F.col("withdrawn"), F.lit("delete"))
        .when(gone & F.lit(sync.mode == "mirror"), F.lit("delete"))
    )
    why = (
        F.when(new, F.lit("new"))
        .when(changed, F.lit("changed"))
        .when(F.col("withdrawn"), F.lit("consent withdrawn"))
        .otherwise(F.lit("left the source"))
    )
    # A delete carries what was sent, where the destination removes by it (else nothing).
    fields_json = F.when(op == "delete", F.col("sent_fields")).otherwise(F.col("fields_json"))
    planned = both.select(
        op.alias("op"),
        "key",
        fields_json.alias("fields_json"),
        "payload_hash",
        why.alias("why"),
        "in_source",
        "consented",
        "held_hash",
        "tracked",
    ).localCheckpoint(eager=True)
    # Every count in one pass over the plan.
    totals = planned.agg(
        *[F.sum((F.col("op") == o).cast("long")).alias(o) for o in ("insert", "update", "delete")],
        F.sum(F.col("consented").cast("long")).alias("desired"),
        F.sum((F.col("in_source") & ~F.col("consented")).cast("long")).alias("unconsented"),
        F.sum(F.col("held_hash").isNotNull().cast("long")).alias("held"),
    ).first()
    counts: dict[str, int] = {k: int(v or 0) for k, v in totals.asDict().items()}  # type: ignore[union-attr]
    invalid = invalid.localCheckpoint(eager=True)
    counts["invalid"] = invalid.count()
    counts["source_rows"] = counts["desired"] + counts["unconsented"] + counts["invalid"]
    changes = planned.where(F.col("op").isNotNull()).select(*CHANGE_COLUMNS)
    return Plan(name, changes, field_types, counts, invalid)
