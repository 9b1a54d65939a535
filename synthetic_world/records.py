"""Dirt and serialization for file-source rows: what happens between a system and its export file.

Which columns hold emails, phones, identifiers and the timestamp comes from the source's
declaration in the configuration, so the same defects reach every source wherever they apply:
placeholder contacts, unparsable timestamps, rows with no identifier left, and format-specific
breakage (a truncated CSV row, an unquoted comma, a JSON line cut short). Rows are sorted by time
within a chunk, as an export would write them, and a few are written twice.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TypeVar

import orjson

from synthetic_world.clock import unparsable
from synthetic_world.context import SourceSpec
from synthetic_world.noise import (
    BROKEN_QUOTING,
    DUPLICATE_ROW,
    DUPLICATE_ROW_RATE,
    NO_IDENTIFIER,
    NOT_JSON,
    PLACEHOLDER,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONES,
    PLACEHOLDER_RATE,
    UNPARSABLE_TIMESTAMP,
    WRONG_COLUMN_COUNT,
    pick_malformation,
)
from synthetic_world.rng import between, pick
from synthetic_world.sources import SourceRow, Value

T = TypeVar("T")
_SPECIAL = frozenset(',"\r\n')
_PLACEHOLDERS = {"email": PLACEHOLDER_EMAILS, "phone": PLACEHOLDER_PHONES}
_COMMA_TAILS = (", Jr", ", Sr", ", Blk 123", ", West", ", 2nd Floor", ", Unit 5")


def csv_field(value: Value) -> str:
    """One field as Python's csv module writes it with QUOTE_MINIMAL."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def csv_header(spec: SourceSpec) -> str:
    return ",".join(csv_field(c) for c in spec.columns) + "\n"


def _dirty(spec: SourceSpec, row: SourceRow, rng: random.Random, noise: Counter[str]) -> str | None:
    """Damage `row` in place; returns the malformation it got, if any.

    Value-level defects (timestamp, identifiers) are applied here; the serializer applies the
    line-level ones (truncated row, broken quoting, cut JSON).
    """
    values = row.values
    for column, kind in spec.identifier_types.items():
        placeholders = _PLACEHOLDERS.get(kind)
        if placeholders and values.get(column) and rng.random() < PLACEHOLDER_RATE:
            values[column] = pick(rng, placeholders)
            noise[PLACEHOLDER] += 1
    fmt = spec.format if spec.format in ("csv", "jsonl") else "parquet"
    kind = pick_malformation(rng.random(), fmt)
    if kind is None:
        return None
    if kind == NO_IDENTIFIER and not spec.identifier_columns:
        kind = UNPARSABLE_TIMESTAMP
    noise[kind] += 1
    if kind == UNPARSABLE_TIMESTAMP:
        values[spec.timestamp] = unparsable(rng, row.ms, row.offset_minutes)
    elif kind == NO_IDENTIFIER:
        for column in spec.identifier_columns:
            values[column] = None
    return kind


def _broken_quoting_line(spec: SourceSpec, values: dict[str, Value], rng: random.Random) -> str:
    """An unquoted comma (one column too many) or unescaped quotes inside a quoted field."""
    candidates = [c for c in spec.text_columns if values.get(c)]
    column = pick(rng, candidates) if candidates else spec.columns[-1]
    text = str(values.get(column) or "n/a")
    if rng.random() < 0.6:
        broken = f"{text.replace(',', ' ')}{pick(rng, _COMMA_TAILS)}".replace('"', "")
    else:
        words = text.replace('"', "").split(" ", 1)
        nick = pick(rng, ("Ah Boy", "Boy", "Nene", "Jun", "Bambang", "Lek"))
        inner = f'{words[0]} "{nick}"' + (f" {words[1]}" if len(words) > 1 else "")
        broken = f'"{inner}"'
    fields = [broken if c == column else csv_field(values.get(c)) for c in spec.columns]
    return ",".join(fields) + "\n"


def csv_lines(
    spec: SourceSpec, rows: list[SourceRow], rng: random.Random, noise: Counter[str]
) -> list[str]:
    """Serialized CSV lines (without header) for one chunk's rows of a CSV source."""
    lines: list[str] = []
    clean: list[bool] = []
    columns = spec.columns
    for row in rows:
        problem = _dirty(spec, row, rng, noise)
        values = row.values
        if problem == WRONG_COLUMN_COUNT:
            keep = between(rng, 2, len(columns) - 1)
            lines.append(",".join(csv_field(values.get(c)) for c in columns[:keep]) + "\n")
        elif problem == BROKEN_QUOTING:
            lines.append(_broken_quoting_line(spec, values, rng))
        else:
            lines.append(",".join([csv_field(values.get(c)) for c in columns]) + "\n")
        clean.append(problem is None)
    return _with_duplicates(lines, clean, rng, noise)


def jsonl_lines(
    spec: SourceSpec, rows: list[SourceRow], rng: random.Random, noise: Counter[str]
) -> list[str]:
    """Serialized JSON lines for one chunk's rows; missing values are null, present ones strings."""
    lines: list[str] = []
    clean: list[bool] = []
    for row in rows:
        problem = _dirty(spec, row, rng, noise)
        obj = {c: row.values.get(c) for c in spec.columns}
        text = orjson.dumps(obj).decode()
        if problem == NOT_JSON:
            text = text[: between(rng, 5, len(text) - 1)]
        lines.append(text + "\n")
        clean.append(problem is None)
    return _with_duplicates(lines, clean, rng, noise)


def table_rows(
    spec: SourceSpec, rows: list[SourceRow], rng: random.Random, noise: Counter[str]
) -> list[dict[str, Value]]:
    """Rows for a columnar file: typed values, only value-level defects (no broken syntax)."""
    out: list[dict[str, Value]] = []
    clean: list[bool] = []
    for row in rows:
        clean.append(_dirty(spec, row, rng, noise) is None)
        out.append({c: row.values.get(c) for c in spec.columns})
    return _with_duplicates(out, clean, rng, noise)


def _with_duplicates(
    items: list[T], clean: list[bool], rng: random.Random, noise: Counter[str]
) -> list[T]:
    """Re-export a few rows: the copies land later in the same file, as a re-run extract does.

    Only well-formed rows are repeated, so each malformed kind counts exactly the records that
    show it in the files.
    """
    copies = [
        item
        for item, ok in zip(items, clean, strict=True)
        if ok and rng.random() < DUPLICATE_ROW_RATE
    ]
    noise[DUPLICATE_ROW] += len(copies)
    return items + copies
