"""Files as a sync destination: each run's changes as CSV or Parquet files in a folder or
under an object-store prefix.

A consumer that reads files (a partner's SFTP pickup, a data share, a bucket another team
reads) gets what changed, one file per delivered chunk under `<path>/<sync>/run_id=<run>/`: the
operation, the key and the mapped fields as columns. A reader never sees half a file, so a chunk
counts as accepted only once its file is complete: locally a file is written under a temporary
name, flushed and renamed; on an object store an upload is visible only once it has completed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

from lakecdp.activation.changes import Change, DeliveryStats, Outcome

OBJECT_STORE_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}


def object_store(path: str, endpoint_url: str | None = None) -> tuple[pa_fs.FileSystem, str]:
    """The filesystem and bucket-relative path of an object-store URI (`s3a://` is Hadoop's
    name for S3 and means the same bucket). Credentials come from the store's usual
    environment (AWS_ACCESS_KEY_ID, ...); `endpoint_url` points at an S3-compatible server."""
    parts = urlsplit(path)
    scheme = OBJECT_STORE_SCHEMES.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(
            f"file destination {path!r}: a local folder, file://, s3://, s3a:// or gs:// URI"
        )
    where = f"{parts.netloc}{parts.path}".rstrip("/")
    if scheme == "s3":
        options: dict[str, str] = {}
        if endpoint_url:
            endpoint = urlsplit(endpoint_url)
            options = {"endpoint_override": endpoint.netloc, "scheme": endpoint.scheme or "https"}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return pa_fs.S3FileSystem(region=region, **options), where  # type: ignore[arg-type]
    return pa_fs.GcsFileSystem(), where


class FileDrop:
    """`Destination` writing `changes` files under `path`: a local folder (or file:// URI) or an
    object-store URI (s3://, s3a://, gs://)."""

    def __init__(
        self,
        path: str,
        *,
        sync: str,
        run_id: str,
        fields: Sequence[str],
        file_format: str,
        endpoint_url: str | None = None,
        sender: str | None = None,
    ) -> None:
        run_folder = f"{sync}/run_id={run_id}"
        self.store: pa_fs.FileSystem | None = None
        if "://" in path and not path.startswith("file://"):
            self.store, prefix = object_store(path, endpoint_url)
            self.prefix = f"{prefix}/{run_folder}"
        else:
            self.folder = Path(path.removeprefix("file://")) / run_folder
        self.fields = sorted(fields)
        self.file_format = file_format
        self.parts = 0
        self.part_prefix = f"part-{sender}-" if sender else "part-"
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
        name = f"{self.part_prefix}{self.parts:05d}.{self.file_format}"
        try:
            if self.store is not None:
                self._upload(table, f"{self.prefix}/{name}")
            else:
                self._write_locally(table, name)
        except OSError as exc:
            return [Outcome(c.key, c.op, "failed", error_class=type(exc).__name__) for c in changes]
        self.parts += 1
        self.stats.requests += 1
        return [Outcome(c.key, c.op, "accepted") for c in changes]

    def _encode(self, table: pa.Table) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        if self.file_format == "parquet":
            pq.write_table(table, sink)
        else:
            pa_csv.write_csv(table, sink)
        return sink.getvalue()

    def _write_locally(self, table: pa.Table, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        partial = final.with_name(f".{name}.partial")
        with partial.open("wb") as out:
            out.write(self._encode(table))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)

    def _upload(self, table: pa.Table, key: str) -> None:
        assert self.store is not None
        # Encoded in full first, then written in one go: the object appears when the stream
        # closes, so a failure while encoding uploads nothing and a kill mid-upload leaves an
        # unfinished upload the store never shows.
        body = self._encode(table)
        with self.store.open_output_stream(key) as sink:
            sink.write(body)

    def close(self) -> None:
        return None
