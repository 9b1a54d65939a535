"""Files as a sync destination: each run's changes as CSV or Parquet files in a folder.

A consumer that reads files (a partner's SFTP pickup, a data share) gets what changed, one file
per delivered chunk under `<path>/<sync>/run_id=<run>/`: the operation, the key and the mapped
fields as columns. A file is written under a temporary name, flushed and renamed, so a reader
never sees half a file and a chunk counts as accepted only once its file is complete.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from lakecdp.activation.changes import Change, DeliveryStats, Outcome


class FileDrop:
    """`Destination` writing `changes` files; `path` is a local folder (or file:// URI)."""

    def __init__(
        self, path: str, *, sync: str, run_id: str, fields: Sequence[str], file_format: str
    ) -> None:
        if "://" in path and not path.startswith("file://"):
            raise ValueError(
                f"file destination {path!r}: only local folders (or file://) are supported yet"
            )
        self.folder = Path(path.removeprefix("file://")) / sync / f"run_id={run_id}"
        self.fields = sorted(fields)
        self.file_format = file_format
        self.parts = 0
        self.stats = DeliveryStats()

    def send(self, changes: Sequence[Change]) -> list[Outcome]:
        if not changes:
            return []
        table = pa.table(
            {
                "op": [c.op for c in changes],
                "key": [c.key for c in changes],
                "idempotency_key": [c.idempotency_key for c in changes],
                **{
                    f: [None if c.fields.get(f) is None else str(c.fields[f]) for c in changes]
                    for f in self.fields
                },
            }
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"part-{self.parts:05d}.{self.file_format}"
        partial = final.with_name(f".{final.name}.partial")
        try:
            if self.file_format == "parquet":
                pq.write_table(table, partial)
            else:
                pa_csv.write_csv(table, partial)
            with partial.open("rb") as written:
                os.fsync(written.fileno())
            os.replace(partial, final)
        except OSError as exc:
            return [Outcome(c.key, c.op, "failed", error_class=type(exc).__name__) for c in changes]
        self.parts += 1
        self.stats.requests += 1
        return [Outcome(c.key, c.op, "accepted") for c in changes]

    def close(self) -> None:
        return None
