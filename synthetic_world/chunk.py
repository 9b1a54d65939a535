"""One chunk of the world: a few thousand people with everything they produce, in memory.

A chunk is a pure function of (context, chunk index): its people, file-source lines, events and
ground truth come from RNGs derived from the seed and the index alone. That is what makes worlds
reproducible byte for byte, keeps memory flat however many customers are asked for, and lets
chunks be generated in worker processes and written in order.

Outputs leave a chunk already encoded (one bytes block per file, one Arrow table per Parquet
source): handing a worker's result to the writing process then costs a copy, not the pickling
of hundreds of thousands of small strings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from synthetic_world.context import WorldContext
from synthetic_world.events import EventStream
from synthetic_world.people import make_people
from synthetic_world.records import csv_field, csv_lines, jsonl_lines, table_rows
from synthetic_world.rng import derive_rng
from synthetic_world.sources import BUILDERS, SourceRow

SERIALIZERS = {"csv": csv_lines, "jsonl": jsonl_lines}
# Parquet columns that carry numbers; every other column is a string.
NUMERIC_COLUMNS: dict[str, pa.DataType] = {"amount": pa.float64(), "item_count": pa.int64()}


@dataclass(frozen=True)
class Block:
    """Newline-terminated records, encoded: `lines` records in `data`."""

    data: bytes
    lines: int

    @classmethod
    def of(cls, lines: list[str] | list[bytes]) -> Block:
        if lines and isinstance(lines[0], str):
            return cls("".join(lines).encode(), len(lines))  # type: ignore[arg-type]
        return cls(b"".join(lines), len(lines))  # type: ignore[arg-type]


@dataclass
class ChunkOutput:
    index: int
    customers: int
    households: int = 0
    text: dict[str, Block] = field(default_factory=dict)  # csv/jsonl source -> lines
    tables: dict[str, pa.Table] = field(default_factory=dict)  # parquet source -> rows
    events: Block = Block(b"", 0)
    people: Block = Block(b"", 0)
    identifiers: Block = Block(b"", 0)
    records: Block = Block(b"", 0)
    event_truth: Block = Block(b"", 0)
    records_per_source: Counter[str] = field(default_factory=Counter)
    noise: dict[str, Counter[str]] = field(default_factory=dict)  # scope -> kind -> count


def parquet_schema(columns: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(c, NUMERIC_COLUMNS.get(c, pa.string())) for c in columns])


def generate_chunk(ctx: WorldContext, index: int, first: int, count: int) -> ChunkOutput:
    out = ChunkOutput(index=index, customers=count)
    out.noise["people"] = Counter()
    people = make_people(ctx, index, first, count, out.noise["people"])
    out.households = len({person.household_id for person in people})

    people_lines: list[str] = []
    identifier_lines: list[str] = []
    for person in people:
        plan = ctx.phones[person.market.code]
        person_id = person.person_id
        names = f"{csv_field(person.first_name)},{csv_field(person.last_name)}"
        people_lines.append(
            f"{person_id},{person.market.code},{person.household_id},{names},"
            f"{person.date_of_birth},{person.email},{plan.e164(person.phone)}\n"
        )
        # Identifier values never hold commas, quotes or newlines: no CSV quoting needed.
        identifier_lines.extend(
            f"{kind},{value},{person_id}\n" for kind, value in person.identifiers(plan)
        )
    out.people = Block.of(people_lines)
    out.identifiers = Block.of(identifier_lines)

    record_lines: list[str] = []
    for name, spec in ctx.sources.items():
        noise = out.noise.setdefault(name, Counter())
        rng = derive_rng(ctx.seed, f"source:{name}", index)
        build = BUILDERS[name]
        rows: list[SourceRow] = []
        for person in people:
            produced = build(ctx, rng, person, noise)
            seen: set[str] = set()
            for row in produced:
                if row.record_id not in seen:
                    seen.add(row.record_id)
                    record_lines.append(f"{name},{row.record_id},{person.person_id}\n")
            out.records_per_source[name] += len(seen)
            rows.extend(produced)
        rows.sort(key=lambda row: row.ms)
        if spec.format == "parquet":
            table = table_rows(spec, rows, rng, noise)
            out.tables[name] = pa.Table.from_pydict(
                {c: [row.get(c) for row in table] for c in spec.columns},
                schema=parquet_schema(spec.columns),
            )
        else:
            out.text[name] = Block.of(SERIALIZERS[spec.format](spec, rows, rng, noise))
    out.records = Block.of(record_lines)

    out.noise["events"] = Counter()
    stream = EventStream(ctx, index, out.noise["events"])
    for person in people:
        stream.person(person)
    out.events = Block.of(stream.sorted_lines())
    out.event_truth = Block.of(stream.truth)
    return out
