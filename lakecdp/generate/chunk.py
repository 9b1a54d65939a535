"""One chunk of the world: a few thousand people with everything they produce, in memory.

A chunk is a pure function of (context, chunk index): its people, file-source lines, events and
ground truth come from RNGs derived from the seed and the index alone. That is what makes worlds
reproducible byte for byte, lets memory stay flat however many customers are asked for, and would
let chunks be generated in parallel and written in order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lakecdp.generate.context import WorldContext
from lakecdp.generate.events import EventStream
from lakecdp.generate.people import make_people
from lakecdp.generate.records import csv_field, csv_lines, jsonl_lines, table_rows
from lakecdp.generate.rng import derive_rng
from lakecdp.generate.sources import BUILDERS, SourceRow, Value

SERIALIZERS = {"csv": csv_lines, "jsonl": jsonl_lines}


@dataclass
class ChunkOutput:
    index: int
    customers: int
    households: int = 0
    text: dict[str, list[str]] = field(default_factory=dict)  # csv/jsonl source -> lines
    tables: dict[str, list[dict[str, Value]]] = field(default_factory=dict)  # parquet sources
    events: list[bytes] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    event_truth: list[str] = field(default_factory=list)
    noise: dict[str, Counter[str]] = field(default_factory=dict)  # scope -> kind -> count


def _csv(*values: str) -> str:
    return ",".join(csv_field(v) for v in values) + "\n"


def generate_chunk(ctx: WorldContext, index: int, first: int, count: int) -> ChunkOutput:
    out = ChunkOutput(index=index, customers=count)
    out.noise["people"] = Counter()
    people = make_people(ctx, index, first, count, out.noise["people"])
    out.households = len({person.household_id for person in people})

    for person in people:
        plan = ctx.phones[person.market.code]
        out.people.append(
            _csv(
                person.person_id, person.market.code, person.household_id, person.first_name,
                person.last_name, person.date_of_birth, person.email, plan.e164(person.phone),
            )
        )
        person_id = person.person_id
        # Identifier values never hold commas, quotes or newlines: no CSV quoting needed.
        out.identifiers.extend(
            f"{kind},{value},{person_id}\n" for kind, value in person.identifiers(plan)
        )

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
                    out.records.append(f"{name},{row.record_id},{person.person_id}\n")
            rows.extend(produced)
        rows.sort(key=lambda row: row.ms)
        if spec.format == "parquet":
            out.tables[name] = table_rows(spec, rows, rng, noise)
        else:
            out.text[name] = SERIALIZERS[spec.format](spec, rows, rng, noise)

    out.noise["events"] = Counter()
    stream = EventStream(ctx, index, out.noise["events"])
    for person in people:
        stream.person(person)
    out.events = stream.sorted_lines()
    out.event_truth = stream.truth
    return out
