"""The ground-truth format identity quality is scored against: which person made each record.

Whoever knows the answer writes these CSV files (with a header) into one folder: the synthetic
world generator (`synthetic_world/`), or a team that labelled a sample of its own records.
`spark_jobs.identity.quality` reads them; the format belongs here, with the identity rules,
so that the scorer does not depend on the generator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TruthFile:
    name: str
    columns: tuple[str, ...]

    @property
    def header(self) -> str:
        return ",".join(self.columns) + "\n"


# One row per file record: the bronze source it lands in, its record id, its person.
RECORDS = TruthFile("records.csv", ("source", "record_id", "person_id"))
# One row per behavioural event: its message id, its person.
EVENTS = TruthFile("events.csv", ("message_id", "person_id"))
