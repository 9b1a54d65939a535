"""Delivery inside the Spark tasks (`deliver_in: executors`): each task opens the destination,
sends the changes of its partition and returns their outcomes as rows, so sending grows with
the executors and outcomes never pass through the driver.

Every task paces itself from the destination's shared budget in Redis (the configuration
requires `limits.shared_budget` for HTTP destinations), so N tasks together keep one pace. A
task that fails and is retried sends its changes again, which destinations apply as once
(keys in PostgreSQL, idempotency keys over HTTP, a file per task and slice).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.activation.outcomes import (
    OUTCOME_SCHEMA,
    changes_of,
    outcome_table,
    stats_table,
)


def deliver_in_executors(
    changes: DataFrame,
    config: ProjectConfig,
    sync: str,
    run_id: str,
    field_types: dict[str, str],
    *,
    slice_number: int,
    removes_by_payload: bool,
) -> DataFrame:
    """Outcome rows (OUTCOME_SCHEMA) of sending `changes` (CHANGE_COLUMNS) from the tasks that
    hold them, plus one STATS_OP row per task that sent. Lazy: an action runs the sends, so
    materialise it once (localCheckpoint) and read that."""

    def send_partition(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        from lakecdp.activation.destinations import destination_for

        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
        destination = None
        try:
            for batch in batches:
                if not batch.num_rows:
                    continue
                if destination is None:
                    destination = destination_for(
                        config,
                        sync,
                        run_id,
                        field_types,
                        sender=f"{slice_number:04d}-{partition:05d}",
                    )
                sent, tracked = changes_of(batch)
                outcomes = destination.send(sent)
                removal = getattr(destination, "removal_fields", None)
                table = outcome_table(
                    sync, sent, tracked, outcomes, removal if removes_by_payload else None
                )
                yield from table.to_batches()
            if destination is not None:
                stats = getattr(destination, "stats", None)
                if stats is not None:
                    yield from stats_table(sync, stats).to_batches()
        finally:
            if destination is not None:
                destination.close()

    return changes.mapInArrow(send_partition, OUTCOME_SCHEMA)
