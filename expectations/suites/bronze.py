"""Bronze: every table has the columns its source declares, the fields a record cannot do without,
and no timestamp from the future (a wrong clock or zone would shift every window downstream).

Columns are the bronze contract as the source config declares it (lakecdp.yaml `sources`), not
as the ingestion code happens to write it: the gate checks the producer, so it must not copy it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites.base import TableSuite, labelled
from lakecdp.kernel.config import ProjectConfig

# Added by batch ingestion to every source row.
SOURCE_META_COLUMNS = ("_event_ts", "_market", "_source", "_source_file", "_ingested_at", "_run_id")
# bronze.events: the flattened Segment envelope plus ingestion metadata.
EVENT_COLUMNS = (
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "previous_id",
    "group_id",
    "name",
    "traits",
    "properties",
    "context",
    "channel",
    "market",
    "device_id",
    "event_ts",
    "original_timestamp",
    "sent_at",
    "received_at",
    "event_date",
    "_source",
    "_ingested_at",
)
EVENTS_RECORD_ID = "message_id"
EVENTS_TIMESTAMP = "event_ts"


def bronze_suites(config: ProjectConfig, now: datetime) -> list[TableSuite]:
    """One suite per declared source table and one for bronze.events."""
    horizon = now + timedelta(hours=config.quality.future_tolerance_hours)
    suites = [
        TableSuite(
            "bronze",
            name,
            table_expectations(
                [*source.declared_columns, *SOURCE_META_COLUMNS],
                [c for c in (source.record_id, "_event_ts") if c],
                "_event_ts",
                horizon,
            ),
            optional=True,
        )
        for name, source in config.sources.items()
    ]
    suites.append(
        TableSuite(
            "bronze",
            "events",
            table_expectations(
                list(EVENT_COLUMNS), [EVENTS_RECORD_ID, EVENTS_TIMESTAMP], EVENTS_TIMESTAMP, horizon
            ),
            optional=True,
        )
    )
    return suites


def table_expectations(
    columns: list[str], required: list[str], timestamp: str, horizon: datetime
) -> tuple[Expectation, ...]:
    return (
        labelled(
            gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=False),
            "expected columns present",
            "Downstream models select these columns by name; a renamed or dropped source "
            "column must stop the pipeline, not turn into nulls.",
        ),
        *(
            labelled(
                gxe.ExpectColumnValuesToNotBeNull(column=column),
                "required field not null",
                "A record without its id or time cannot be deduplicated or placed in a window.",
            )
            for column in required
        ),
        labelled(
            gxe.ExpectColumnValuesToBeOfType(column=timestamp, type_="TimestampType"),
            "timestamp typed",
            "Times are compared as instants; text would sort, not compare.",
        ),
        labelled(
            gxe.ExpectColumnValuesToBeBetween(column=timestamp, max_value=horizon),
            "timestamp not in the future",
            "A future time means a wrong clock or zone; it would sit at the top of every "
            "'most recent' rule. quality.future_tolerance_hours allows for honest clock skew.",
        ),
    )
