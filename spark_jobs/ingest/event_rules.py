"""The event envelope contract as Spark column expressions (pure: DataFrame in, DataFrame out).

Mirrors `lakecdp.kernel.contracts.events.validate_message`, which the collector applies at the edge;
`tests/kernel/contracts/event_vectors.py` holds the cases both must agree on.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakecdp.kernel.contracts.events import EVENT_TYPES, Reason

CORRUPT = "_corrupt_record"
_ENVELOPE_FIELDS = (
    "messageId",
    "type",
    "event",
    "userId",
    "anonymousId",
    "previousId",
    "groupId",
    "name",
    "traits",
    "properties",
    "context",
    "integrations",
    "timestamp",
    "sentAt",
    "originalTimestamp",
    "receivedAt",
    "_source",
)
# Every field is read as text: objects keep their raw JSON, so nothing is lost in bronze.
ENVELOPE_SCHEMA = StructType(
    [StructField(name, StringType()) for name in _ENVELOPE_FIELDS]
    + [StructField(CORRUPT, StringType())]
)
_ZONED_TS = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"


def _blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def _not_object(col: Column) -> Column:
    return col.isNotNull() & ~F.trim(col).startswith("{")


def _is_structured(col: Column) -> Column:
    return F.trim(col).startswith("{") | F.trim(col).startswith("[")


def _bad_ts(col: Column) -> Column:
    return col.isNotNull() & (~col.rlike(_ZONED_TS) | F.try_to_timestamp(col).isNull())


def rejection_reason(m: str = "m") -> Column:
    """The first broken rule for parsed envelope struct column `m`, or null when valid."""
    f = lambda name: F.col(f"{m}.{name}")  # noqa: E731
    id_fields = ("userId", "anonymousId", "messageId", "previousId", "groupId")
    return (
        F.when(F.col(m).isNull() | f(CORRUPT).isNotNull(), F.lit(Reason.MALFORMED_JSON.value))
        .when(
            reduce(or_, [f(n).isNotNull() & _is_structured(f(n)) for n in id_fields]),
            F.lit(Reason.INVALID_FIELD_TYPE.value),
        )
        .when(
            _not_object(f("traits"))
            | _not_object(f("properties"))
            | _not_object(f("context"))
            | _not_object(f("integrations")),
            F.lit(Reason.INVALID_FIELD_TYPE.value),
        )
        .when(_blank(f("messageId")), F.lit(Reason.MISSING_MESSAGE_ID.value))
        .when(~f("type").isin(*EVENT_TYPES) | f("type").isNull(), F.lit(Reason.UNKNOWN_TYPE.value))
        .when(_blank(f("userId")) & _blank(f("anonymousId")), F.lit(Reason.MISSING_IDENTITY.value))
        .when((f("type") == "track") & _blank(f("event")), F.lit(Reason.MISSING_EVENT_NAME.value))
        .when(
            (f("type") == "alias") & _blank(f("previousId")),
            F.lit(Reason.MISSING_PREVIOUS_ID.value),
        )
        .when((f("type") == "group") & _blank(f("groupId")), F.lit(Reason.MISSING_GROUP_ID.value))
        .when(
            _bad_ts(f("timestamp")) | _bad_ts(f("sentAt")) | _bad_ts(f("originalTimestamp")),
            F.lit(Reason.INVALID_TIMESTAMP.value),
        )
    )


def parse_event_lines(lines: DataFrame, value_col: str = "value") -> DataFrame:
    """Parse raw JSONL lines into envelope struct `m` plus `reason` (null when valid).

    Blank lines are not records and are dropped.
    """
    parsed = lines.where(F.trim(F.col(value_col)) != "").withColumn(
        "m",
        F.from_json(
            F.col(value_col),
            ENVELOPE_SCHEMA,
            {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT},
        ),
    )
    return parsed.withColumn("reason", rejection_reason("m"))


def _ts(col: Column) -> Column:
    return F.try_to_timestamp(col)


def to_bronze_events(valid: DataFrame, keep: tuple[str, ...] = ()) -> DataFrame:
    """Flatten valid envelopes into bronze.events columns; `keep` columns pass through.

    `event_ts` corrects the client clock as Segment does: receivedAt - (sentAt - timestamp).
    """
    m = lambda name: F.col(f"m.{name}")  # noqa: E731
    client_ts = _ts(F.coalesce(m("timestamp"), m("originalTimestamp")))
    sent_at = _ts(m("sentAt"))
    received_at = _ts(m("receivedAt"))
    skew_corrected = F.timestamp_micros(
        F.unix_micros(received_at) - (F.unix_micros(sent_at) - F.unix_micros(client_ts))
    )
    event_ts = F.when(
        client_ts.isNotNull() & sent_at.isNotNull() & received_at.isNotNull(), skew_corrected
    ).otherwise(F.coalesce(client_ts, received_at))
    return valid.select(
        m("messageId").alias("message_id"),
        m("type").alias("type"),
        m("event").alias("event"),
        m("userId").alias("user_id"),
        m("anonymousId").alias("anonymous_id"),
        m("previousId").alias("previous_id"),
        m("groupId").alias("group_id"),
        m("name").alias("name"),
        m("traits").alias("traits"),
        m("properties").alias("properties"),
        m("context").alias("context"),
        F.get_json_object(m("context"), "$.channel").alias("channel"),
        F.upper(F.get_json_object(m("context"), "$.market")).alias("market"),
        F.get_json_object(m("context"), "$.device.id").alias("device_id"),
        event_ts.alias("event_ts"),
        client_ts.alias("original_timestamp"),
        sent_at.alias("sent_at"),
        received_at.alias("received_at"),
        F.to_date(event_ts).alias("event_date"),
        m("_source").alias("_source"),
        *keep,
    )
