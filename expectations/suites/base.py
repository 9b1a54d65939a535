"""What a suite is: the expectations one lakehouse table must meet at one stage."""

from __future__ import annotations

from dataclasses import dataclass

from great_expectations.expectations import Expectation

META_RULE = "rule"


@dataclass(frozen=True)
class TableSuite:
    """Expectations on one Delta table.

    `optional`: an absent table is skipped rather than failed (a declared source that has not
    landed anything yet). `reads`: other tables the suite's queries join; without them the suite
    cannot run, and the missing table is reported by its own suite instead.
    """

    layer: str
    table: str
    expectations: tuple[Expectation, ...]
    optional: bool = False
    reads: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.table}"


def labelled(expectation: Expectation, rule: str, why: str) -> Expectation:
    """Attach the short rule name gate messages use and the reason data docs show."""
    expectation.meta = {**(expectation.meta or {}), META_RULE: rule}
    expectation.notes = why
    return expectation


def delta_path_ref(path: str) -> str:
    """A Delta table by location in Spark SQL, safe inside GX's `str.format`-ed queries."""
    return "delta.`" + path.replace("`", "``").replace("{", "{{").replace("}", "}}") + "`"
