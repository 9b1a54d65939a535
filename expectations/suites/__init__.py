"""Suites per gate stage: which tables a stage must leave in good shape, and how."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from expectations.suites.base import TableSuite
from expectations.suites.bronze import bronze_suites
from expectations.suites.gold import gold_suites
from expectations.suites.identity import identity_suites
from lakecdp.kernel.config import ProjectConfig

SuiteBuilder = Callable[[ProjectConfig, datetime], list[TableSuite]]

STAGE_SUITES: dict[str, SuiteBuilder] = {
    "bronze": bronze_suites,
    "identity": identity_suites,
    "gold": gold_suites,
}
STAGES = tuple(STAGE_SUITES)

__all__ = ["STAGES", "STAGE_SUITES", "TableSuite"]
