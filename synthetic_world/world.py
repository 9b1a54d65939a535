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

from lakecdp.identity.ground_truth import EVENTS, RECORDS
from lakecdp.kernel.config import ProjectConfig
from synthetic_world.chunk import ChunkOutput, parquet_schema
from synthetic_world.clock import iso_utc
from synthetic_world.context import SOURCE_STEMS, WorldContext, build_context
from synthetic_world.parallel import chunk_plan, default_workers, generate_chunks
from synthetic_world.records import csv_header
from synthetic_world.sources import COLUMNS
from synthetic_world.writers import PartedParquetWriter, PartedTextWriter

CHUNK_SIZE = 5_000
SOURCE_PART_ROWS = 500_000
EVENT_PART_LINES = 1_000_000
TRUTH_FILES = {
    "people": (
        "people.csv",
        "person_id,market,household_id,first_name,last_name,date_of_birth,email,phone_e164\n",
    ),
    "identifiers": ("identifiers.csv", "identifier_type,raw_value,person_id\n"),
    "records": (RECORDS.name, RECORDS.header),
    "events": (EVENTS.name, EVENTS.header),
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
    *,
    workers: int | None = None,
) -> WorldSummary:
    """Generate the world and return its summary; `progress(done, total)` follows each chunk.

    `workers` processes generate chunks (default: one per CPU for worlds of more than two
    chunks); the files are the same for any number of workers. Workers are spawned, so a script
    that calls this at import time needs the usual `if __name__ == "__main__":` guard. Files of
    an earlier world in the same places are replaced, so a regenerated world never mixes with
    parts of an older one.
    """
    ctx = build_context(config, customers, seed, end, days)
    for name, spec in ctx.sources.items():
        unknown = [c for c in spec.columns if c not in COLUMNS[name]]
        if unknown:
            raise ValueError(
                f"sources.{name} declares columns the generator cannot fill: {', '.join(unknown)}"
            )
    world_dir = Path(world_dir).resolve()
    landing_root = _local(config.lakehouse.landing_root, "lakehouse landing root")
    if world_dir == landing_root or landing_root in world_dir.parents:
        raise ValueError(
            f"world folder {world_dir} is inside the landing zone {landing_root}; ground truth and "
            "events must live apart from the data the platform ingests"
        )
    folders = {
        name: _local(config.source_path(name), f"sources.{name}.path") for name in ctx.sources
    }
    outputs = _Outputs(ctx, folders, world_dir)
    plan = chunk_plan(customers, CHUNK_SIZE)
    done = 0
    for chunk in generate_chunks(ctx, plan, workers or default_workers(len(plan))):
        outputs.write(chunk)
        done += chunk.customers
        if progress is not None:
            progress(done, customers)
    files = outputs.close()

    summary_path = world_dir / "summary.json"
    totals: Counter[str] = Counter()
    for counts in outputs.noise.values():
        totals.update(counts)
    summary = WorldSummary(
        customers=customers,
        households=outputs.households,
        seed=seed,
        window_start=iso_utc(ctx.window.start_ms),
        window_end=iso_utc(ctx.window.end_ms),
        events=outputs.events.lines,
        distinct_messages=outputs.truth["events"].lines,
        rows={name: outputs.rows(name) for name in ctx.sources},
        records={name: outputs.records[name] for name in ctx.sources},
        noise=dict(sorted(totals.items())),
        noise_by_scope={s: dict(sorted(c.items())) for s, c in sorted(outputs.noise.items())},
        paths={
            **{name: str(folder) for name, folder in folders.items()},
            "events": str(outputs.events.folder),
            "ground_truth": str(world_dir / "ground_truth"),
            "summary": str(summary_path),
        },
        files=files,
    )
    summary_path.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    return summary


class _Outputs:
    """The open part writers of one world, and the tallies the summary reports."""

    def __init__(self, ctx: WorldContext, folders: dict[str, Path], world_dir: Path) -> None:
        self.sources = list(ctx.sources)
        self.text: dict[str, PartedTextWriter] = {}
        self.tables: dict[str, PartedParquetWriter] = {}
        for name, spec in ctx.sources.items():
            folder = folders[name]
            stem, ext = SOURCE_STEMS[name], spec.format  # the format names the file extension
            _remove(folder, f"{stem}_*.{ext}")

            def part_name(n: int, stem: str = stem, ext: str = ext) -> str:
                return f"{stem}_{n:04d}.{ext}"

            if spec.format == "parquet":
                self.tables[name] = PartedParquetWriter(
                    folder, part_name, parquet_schema(spec.columns), SOURCE_PART_ROWS
                )
            else:
                header = csv_header(spec) if spec.format == "csv" else ""
                self.text[name] = PartedTextWriter(folder, part_name, SOURCE_PART_ROWS, header)
        events_dir = world_dir / "events"
        _remove(events_dir, "events-*.jsonl")
        self.events = PartedTextWriter(
            events_dir, lambda n: f"events-{n:04d}.jsonl", EVENT_PART_LINES
        )
        self.truth = {
            key: PartedTextWriter(world_dir / "ground_truth", lambda _n, f=file: f, None, header)
            for key, (file, header) in TRUTH_FILES.items()
        }
        self.noise: dict[str, Counter[str]] = {}
        self.records: Counter[str] = Counter()
        self.households = 0

    def write(self, chunk: ChunkOutput) -> None:
        for name, block in chunk.text.items():
            self.text[name].write(block)
        for name, table in chunk.tables.items():
            self.tables[name].write(table)
        self.events.write(chunk.events)
        self.truth["people"].write(chunk.people)
        self.truth["identifiers"].write(chunk.identifiers)
        self.truth["records"].write(chunk.records)
        self.truth["events"].write(chunk.event_truth)
        for scope, counts in chunk.noise.items():
            self.noise.setdefault(scope, Counter()).update(counts)
        self.records.update(chunk.records_per_source)
        self.households += chunk.households

    def rows(self, name: str) -> int:
        return self.tables[name].rows if name in self.tables else self.text[name].lines

    def close(self) -> dict[str, list[str]]:
        files: dict[str, list[str]] = {}
        for name in self.sources:
            writer = self.tables.get(name) or self.text[name]
            files[name] = [str(p) for p in writer.close()]
        files["events"] = [str(p) for p in self.events.close()]
        files["ground_truth"] = [str(p) for w in self.truth.values() for p in w.close()]
        return files


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
