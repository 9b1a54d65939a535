"""`generate_world`: a synthetic APAC retail customer base, written where the platform reads it.

File sources go into the landing zone exactly as declared in the configuration, behavioural
events go to `<world>/events` (to be replayed through the collector like real SDK traffic), and
the ground truth (who is who) goes to `<world>/ground_truth`, never next to the data, so that
identity resolution can be scored against it without being able to peek.

The world is generated in chunks of people and streamed to open part files, so memory stays flat
from a thousand to a million customers, and it is a pure function of (seed, customers, end,
days): the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from lakecdp.config import ProjectConfig
from lakecdp.generate.chunk import generate_chunk
from lakecdp.generate.clock import iso_utc
from lakecdp.generate.context import SOURCE_STEMS, build_context
from lakecdp.generate.records import csv_header
from lakecdp.generate.writers import PartedParquetWriter, PartedTextWriter

CHUNK_SIZE = 5_000
SOURCE_PART_ROWS = 500_000
EVENT_PART_LINES = 1_000_000
_EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
TRUTH_FILES = {
    "people": ("people.csv", "person_id,market,household_id,first_name,last_name,"
               "date_of_birth,email,phone_e164\n"),
    "identifiers": ("identifiers.csv", "identifier_type,raw_value,person_id\n"),
    "records": ("records.csv", "source,record_id,person_id\n"),
    "events": ("events.csv", "message_id,person_id\n"),
}


@dataclass(frozen=True)
class WorldSummary:
    """What was generated and where; also written to `<world>/summary.json`."""

    customers: int
    households: int
    seed: int
    window_start: str
    window_end: str
    events: int  # lines written, including re-sent duplicates and broken lines
    distinct_messages: int
    rows: dict[str, int]  # file source -> rows (lines) written, duplicates and broken included
    records: dict[str, int]  # file source -> distinct record ids
    noise: dict[str, int]  # noise kind -> count, all sources together
    noise_by_scope: dict[str, dict[str, int]]  # "people", each source, "events" -> kind -> count
    paths: dict[str, str]  # each source's landing folder, "events", "ground_truth", "summary"
    files: dict[str, list[str]]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def generate_world(
    config: ProjectConfig,
    world_dir: Path,
    customers: int,
    seed: int = 7,
    end: date = date(2026, 11, 1),
    days: int = 90,
    progress: Callable[[int, int], None] | None = None,
) -> WorldSummary:
    """Generate the world and return its summary; `progress(done, total)` follows each chunk.

    Files of an earlier world in the same places (same names) are replaced, so a regenerated
    world never mixes with parts of an older, larger one.
    """
    ctx = build_context(config, customers, seed, end, days)
    world_dir = Path(world_dir).resolve()
    landing_root = _local(config.lakehouse.landing_root, "lakehouse landing root")
    if world_dir == landing_root or landing_root in world_dir.parents:
        raise ValueError(
            f"world folder {world_dir} is inside the landing zone {landing_root}; ground truth and "
            "events must live apart from the data the platform ingests"
        )
    events_dir, truth_dir = world_dir / "events", world_dir / "ground_truth"

    text_writers: dict[str, PartedTextWriter] = {}
    table_writers: dict[str, PartedParquetWriter] = {}
    folders: dict[str, Path] = {}
    for name, spec in ctx.sources.items():
        folder = _local(config.source_path(name), f"sources.{name}.path")
        stem, ext = SOURCE_STEMS[name], _EXTENSIONS[spec.format]
        _remove(folder, f"{stem}_*.{ext}")
        folders[name] = folder

        def part_name(n: int, stem: str = stem, ext: str = ext) -> str:
            return f"{stem}_{n:04d}.{ext}"

        if spec.format == "parquet":
            table_writers[name] = PartedParquetWriter(
                folder, part_name, spec.columns, SOURCE_PART_ROWS
            )
        else:
            header = csv_header(spec) if spec.format == "csv" else ""
            text_writers[name] = PartedTextWriter(folder, part_name, SOURCE_PART_ROWS, header)
    _remove(events_dir, "events-*.jsonl")
    event_writer = PartedTextWriter(events_dir, lambda n: f"events-{n:04d}.jsonl", EVENT_PART_LINES)
    truth_writers = {
        key: PartedTextWriter(truth_dir, lambda _n, f=file: f, None, header)
        for key, (file, header) in TRUTH_FILES.items()
    }

    noise: dict[str, Counter[str]] = {}
    records: Counter[str] = Counter()
    households = 0
    for index, first in enumerate(range(0, customers, CHUNK_SIZE)):
        count = min(CHUNK_SIZE, customers - first)
        chunk = generate_chunk(ctx, index, first, count)
        for name, lines in chunk.text.items():
            text_writers[name].write(lines)
        for name, rows in chunk.tables.items():
            table_writers[name].write(rows)
        event_writer.write(chunk.events)
        truth_writers["people"].write(chunk.people)
        truth_writers["identifiers"].write(chunk.identifiers)
        truth_writers["records"].write(chunk.records)
        truth_writers["events"].write(chunk.event_truth)
        for scope, counts in chunk.noise.items():
            noise.setdefault(scope, Counter()).update(counts)
        records.update(line.split(",", 1)[0] for line in chunk.records)
        households += chunk.households
        if progress is not None:
            progress(first + count, customers)

    rows = {name: w.lines for name, w in text_writers.items()}
    rows.update({name: w.rows for name, w in table_writers.items()})
    files = {name: [str(p) for p in w.close()] for name, w in text_writers.items()}
    files.update({name: [str(p) for p in w.close()] for name, w in table_writers.items()})
    files["events"] = [str(p) for p in event_writer.close()]
    files["ground_truth"] = [str(p) for w in truth_writers.values() for p in w.close()]
    summary_path = world_dir / "summary.json"
    totals: Counter[str] = Counter()
    for counts in noise.values():
        totals.update(counts)
    summary = WorldSummary(
        customers=customers,
        households=households,
        seed=seed,
        window_start=iso_utc(ctx.window.start_ms),
        window_end=iso_utc(ctx.window.end_ms),
        events=event_writer.lines,
        distinct_messages=truth_writers["events"].lines,
        rows={name: rows[name] for name in ctx.sources},
        records={name: records[name] for name in ctx.sources},
        noise=dict(sorted(totals.items())),
        noise_by_scope={scope: dict(sorted(c.items())) for scope, c in sorted(noise.items())},
        paths={
            **{name: str(folder) for name, folder in folders.items()},
            "events": str(events_dir),
            "ground_truth": str(truth_dir),
            "summary": str(summary_path),
        },
        files={name: files[name] for name in (*ctx.sources, "events", "ground_truth")},
    )
    summary_path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


def _local(location: str, what: str) -> Path:
    """A local folder for a configured location; object-store URIs are not written to here."""
    if location.startswith("file://"):
        location = location[len("file://") :]
    elif "://" in location:
        raise ValueError(
            f"{what} is {location!r}: the generator writes local files; generate into a local "
            "lakehouse root and copy the landing zone to the object store"
        )
    return Path(location).resolve()


def _remove(folder: Path, pattern: str) -> None:
    if folder.is_dir():
        for path in [*folder.glob(pattern), *folder.glob(f".{pattern}.tmp")]:
            path.unlink()
