"""Erasure in the files the platform keeps: landing segments (events, rejected lines, decision
log), the source drops (CSV, JSON lines, Parquet, gzip or not) and the evaluation sets.

A file that holds a line or row naming the person is rewritten without it, atomically (a
temporary file beside it, fsynced, renamed over it), so a reader sees the old file or the new,
never half of one. Files that name nobody are not touched. Rewritten landing segments are not
read again by the stream (it tracks paths); a rewritten source drop is re-ingested by the next
batch run, which replaces that file's rows with what is left.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from lakecdp.governance.certificate import StoreResult
from lakecdp.identity.subjects import CUSTOMER_ID, SubjectHasher, Unnormalizable
from lakecdp.kernel.config import ProjectConfig, SourceConfig
from lakecdp.kernel.config.paths import is_absolute


def _visible(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files under `root` a reader would see (not under `_open/` or dot folders)."""
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(p.startswith(("_", ".")) for p in rel) or not path.is_file():
            continue
        if path.name.lower().endswith(suffixes):
            yield path


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _replace(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    tmp = path.with_name(f".{path.name}.erasure.tmp")
    with tmp.open("wb") as raw:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
                write(zipped)  # type: ignore[arg-type]
        else:
            write(raw)
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp, path)


class Matcher:
    """Does a line or a record name the person? Precise where the record's shape is known,
    over-inclusive (every value tried as every identifier type) where it is not."""

    def __init__(self, config: ProjectConfig, hashes: set[str]) -> None:
        self.hasher = SubjectHasher(config)
        self.hashes = hashes

    def text(self, line: str) -> bool:
        return bool(self.hasher.text(line) & self.hashes)

    def event_line(self, line: str) -> bool:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            return self.text(line)
        if not isinstance(message, dict):
            return self.text(line)
        return any(h in self.hashes for h in self.hasher.message(message))

    def decision_line(self, line: str) -> bool:
        try:
            decision = orjson.loads(line)
        except orjson.JSONDecodeError:
            return self.text(line)
        customer = decision.get("customer_id") if isinstance(decision, dict) else None
        if isinstance(customer, str) and self.hasher.customer(customer) in self.hashes:
            return True
        return (
            self.text(orjson.dumps(decision.get("context")).decode())
            if isinstance(decision, dict) and decision.get("context")
            else False
        )

    def record(self, row: dict[str, Any], source: SourceConfig) -> bool:
        market = source.market if isinstance(source.market, str) else row.get(source.market.column)
        for column, id_type in source.identifiers.items():
            raw = row.get(column)
            if raw is None or raw == "":
                continue
            try:
                subject = self.hasher.identifier(id_type, raw, str(market) if market else None)
            except Unnormalizable:
                continue
            if subject in self.hashes:
                return True
        return False

    def customer(self, customer_id: object) -> bool:
        return isinstance(customer_id, str) and (
            self.hasher.hash(CUSTOMER_ID, customer_id) in self.hashes
        )


def _rewrite_lines(
    store: str, root: Path, names: Callable[[str], bool], result: StoreResult
) -> StoreResult:
    for path in _visible(root, (".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        with _open_text(path) as handle:
            lines = handle.read().splitlines(keepends=True)
        keep = [line for line in lines if not (line.strip() and names(line))]
        removed = len(lines) - len(keep)
        if removed:
            _replace(path, lambda out, keep=keep: out.write("".join(keep).encode()))
            result.rows_found += removed
            result.rows_removed += removed
            result.files_rewritten += 1
    after = sum(
        1
        for path in _visible(root, (".jsonl", ".jsonl.gz", ".json", ".json.gz"))
        for line in _open_text(path).read().splitlines()
        if line.strip() and names(line)
    )
    result.rows_after = after
    result.verification = f"lines naming the person in {store} after: {after}"
    return result


def erase_landing(config: ProjectConfig, matcher: Matcher) -> list[StoreResult]:
    """The collector's event and rejected segments and the decision log (sealed segments;
    an open one is sealed within a second and caught by the next run)."""
    out = []
    for store, root, names in (
        ("landing:events", config.events_landing, matcher.event_line),
        ("landing:rejected", config.rejected_landing, matcher.text),
        ("landing:decisions", config.decision_log_dir, matcher.decision_line),
    ):
        if is_absolute(root) and "://" in root:
            out.append(StoreResult(store, root, "object store: not supported yet", residual=[root]))
            continue
        result = StoreResult(store, root, "segments rewritten without the person's lines")
        out.append(_rewrite_lines(store, Path(root), names, result))
    return out


SOURCE_SUFFIXES = {
    "csv": (".csv", ".csv.gz"),
    "jsonl": (".jsonl", ".jsonl.gz", ".json", ".json.gz"),
    "parquet": (".parquet",),
}


def _source_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "csv":
        with _open_text(path) as handle:
            return list(csv.DictReader(handle))
    if fmt == "jsonl":
        with _open_text(path) as handle:
            return [orjson.loads(line) for line in handle.read().splitlines() if line.strip()]
    import pyarrow.parquet as pq

    return list(pq.read_table(path).to_pylist())


def _source_writer(path: Path, fmt: str, keep: list[bool]) -> Callable[[IO[bytes]], None]:
    """Writes the file again with only the rows `keep` marks, in its own format."""
    if fmt == "csv":
        with _open_text(path) as handle:
            reader = csv.DictReader(handle)
            fields, rows = list(reader.fieldnames or []), list(reader)

        def write_csv(out: IO[bytes]) -> None:
            text = io.StringIO(newline="")
            writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r, k in zip(rows, keep, strict=True) if k)
            out.write(text.getvalue().encode())

        return write_csv
    if fmt == "jsonl":
        with _open_text(path) as handle:
            lines = [line for line in handle.read().splitlines(keepends=True) if line.strip()]
        kept = "".join(line for line, k in zip(lines, keep, strict=True) if k)
        return lambda out: out.write(kept.encode())  # type: ignore[func-returns-value]
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return lambda out: pq.write_table(table.filter(pa.array(keep)), out)


def erase_sources(config: ProjectConfig, matcher: Matcher) -> list[StoreResult]:
    """Every declared source's drops, in its own format."""
    out = []
    for name, source in config.sources.items():
        root = config.source_path(name)
        result = StoreResult(f"landing:sources/{name}", root, f"{source.format} files rewritten")
        out.append(result)
        if "://" in root:
            result.method = "object store: not supported yet"
            result.residual.append(root)
            continue
        suffixes = SOURCE_SUFFIXES[source.format]
        for path in _visible(Path(root), suffixes):
            keep = [not matcher.record(r, source) for r in _source_rows(path, source.format)]
            removed = keep.count(False)
            if removed:
                _replace(path, _source_writer(path, source.format, keep))
                result.rows_found += removed
                result.rows_removed += removed
                result.files_rewritten += 1
        result.rows_after = sum(
            1
            for path in _visible(Path(root), suffixes)
            for row in _source_rows(path, source.format)
            if matcher.record(row, source)
        )
        result.verification = f"rows naming the person in {name}'s drops after: {result.rows_after}"
    return out


def erase_evaluation_sets(config: ProjectConfig, matcher: Matcher) -> list[StoreResult]:
    """The models' held-out sets (customer ids with features and labels)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(config.evaluation_root)
    result = StoreResult("mlflow:evaluation_sets", str(root), "parquet rewritten")
    for path in _visible(root, (".parquet",)):
        table = pq.read_table(path)
        if CUSTOMER_ID not in table.column_names:
            continue
        mask = [not matcher.customer(c) for c in table.column(CUSTOMER_ID).to_pylist()]
        removed = mask.count(False)
        if removed:
            _replace(path, lambda o, t=table, m=mask: pq.write_table(t.filter(pa.array(m)), o))
            result.rows_found += removed
            result.rows_removed += removed
            result.files_rewritten += 1
    result.rows_after = sum(
        1
        for path in _visible(root, (".parquet",))
        if CUSTOMER_ID in pq.read_schema(path).names
        for c in pq.read_table(path, columns=[CUSTOMER_ID]).column(0).to_pylist()
        if matcher.customer(c)
    )
    result.verification = f"rows naming the person after: {result.rows_after}"
    return [result]
