"""Quality gates: run a stage's suites as Great Expectations checkpoints and stop on failure.

Suites are code (expectations/suites), rebuilt from the project config on every run, so the
context is ephemeral: nothing to initialise on a fresh clone and no stored suite to drift from
the config. Tables are read by location with the caller's Spark session and handed to GX as
DataFrames, so a gate works wherever the lakehouse lives. One checkpoint per table (GX passes one
set of batch parameters, i.e. one DataFrame, to all validations of a checkpoint); the gate is the
conjunction. The HTML report (data docs) is written to a local folder under the lakehouse.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import great_expectations as gx
from great_expectations.checkpoint.checkpoint import CheckpointResult
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent import SparkDatasource
from pyspark.sql import DataFrame, SparkSession

from expectations.suites import STAGE_SUITES, STAGES, TableSuite
from expectations.suites.base import META_RULE
from lakecdp.kernel.config import ProjectConfig, join_path
from lakecdp.kernel.delta import Lakehouse

SITE = "lakecdp"
MISSING_TABLE = "delta_table_exists"
OBSERVED_CHARS = 240
# COMPLETE, because only then does UnexpectedRowsExpectation return the offending rows; GX's Spark
# metrics cap every list at 200 values (MAX_RESULT_RECORDS), so results stay bounded.
RESULT_FORMAT: Final = "COMPLETE"


class GateFailed(RuntimeError):
    """A stage's data broke expectations; the message names each one, its table and column."""

    def __init__(self, result: GateResult) -> None:
        super().__init__(result.failure_message())
        self.result = result


@dataclass(frozen=True)
class Outcome:
    """One expectation's verdict on one table."""

    table: str
    expectation: str
    column: str | None
    rule: str
    success: bool
    observed: str
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table

    def describe(self) -> str:
        detail = f"error: {self.error}" if self.error else f"observed {self.observed}"
        return f"{self.where}: {self.expectation} ({self.rule}): {detail}"


@dataclass(frozen=True)
class GateResult:
    stage: str
    outcomes: tuple[Outcome, ...]
    data_docs: str
    seconds: float
    skipped: tuple[str, ...] = field(default=())

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    def by_table(self) -> dict[str, tuple[int, int]]:
        """table -> (expectations met, expectations checked)."""
        counts: dict[str, tuple[int, int]] = {}
        for o in self.outcomes:
            met, total = counts.get(o.table, (0, 0))
            counts[o.table] = (met + o.success, total + 1)
        return counts

    def failure_message(self) -> str:
        lines = [
            f"quality gate '{self.stage}' failed: {len(self.failures)} of "
            f"{len(self.outcomes)} expectations not met"
        ]
        lines += [f"  - {o.describe()}" for o in self.failures]
        lines.append(f"data docs: {self.data_docs}")
        return "\n".join(lines)


def quality_root(config: ProjectConfig) -> Path:
    """Local folder of gate results: quality.root, else <lakehouse root>/quality.

    GX writes its stores and the HTML report with local file I/O, so an object-store lakehouse
    needs an explicit local folder.
    """
    folder = config.quality.root or join_path(config.lakehouse.root, "quality")
    if "://" in folder:
        raise ValueError(
            f"gate results need a local folder, not {folder}: set quality.root "
            "(LAKECDP__QUALITY__ROOT)"
        )
    return Path(folder)


def data_docs_dir(config: ProjectConfig) -> Path:
    return quality_root(config) / "data_docs"


def run_gate(
    spark: SparkSession,
    config: ProjectConfig,
    stage: str,
    *,
    now: datetime | None = None,
    raise_on_failure: bool = True,
) -> GateResult:
    """Validate the stage's tables; raise GateFailed (or return the result) if any check fails.

    `now` (default: the clock) anchors 'not in the future' and 'fresh'; the data docs are
    rebuilt either way, so a failed gate leaves its evidence behind.
    """
    if stage not in STAGE_SUITES:
        raise ValueError(f"unknown gate stage {stage!r}; expected one of {', '.join(STAGES)}")
    started = time.monotonic()
    docs = data_docs_dir(config)
    context = _context(quality_root(config))
    datasource = context.data_sources.add_spark(name="lakehouse", persist=False)
    outcomes: list[Outcome] = []
    skipped: list[str] = []
    lake = Lakehouse(spark, config)
    for suite in STAGE_SUITES[stage](config, _local_naive(now)):
        table = lake.table(suite.layer, suite.table)
        missing_reads = [".".join(t) for t in suite.reads if not lake.table(*t).exists()]
        if not table.exists():
            if suite.optional:
                skipped.append(f"{suite.name} (no table yet)")
            else:
                outcomes.append(_missing(suite.name, table.path))
        elif missing_reads:
            skipped.append(f"{suite.name} checks (need {', '.join(missing_reads)})")
        else:
            # GX runs a Spark job per metric: read the table once, not once per expectation.
            frame = table.read().cache()
            try:
                outcomes.extend(_run_checkpoint(context, datasource, stage, suite, frame))
            finally:
                frame.unpersist()
    if not outcomes:
        outcomes.append(
            Outcome(stage, MISSING_TABLE, None, "some table to check", False, "no table exists")
        )
    context.build_data_docs(site_names=[SITE])
    result = GateResult(
        stage,
        tuple(outcomes),
        str(docs / "index.html"),
        round(time.monotonic() - started, 1),
        tuple(skipped),
    )
    if raise_on_failure and not result.success:
        raise GateFailed(result)
    return result


def _context(root: Path) -> AbstractDataContext:
    """A GX context built from code on every run, with no usage analytics.

    Suites and validation results are kept in files under `root` (suites/, validations/): the
    data docs site lists what its stores hold and deletes other pages, so in-memory stores would
    erase every earlier gate's report on each build.
    """
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = copy.deepcopy(defaults.stores)
    for store, folder in (
        (defaults.expectations_store_name, "suites"),
        (defaults.validation_results_store_name, "validations"),
    ):
        stores[store]["store_backend"] = _folder_backend(root / folder)
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={
            SITE: {
                "class_name": "SiteBuilder",
                "store_backend": _folder_backend(root / "data_docs"),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _folder_backend(folder: Path) -> dict[str, str]:
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(folder)}


def _run_checkpoint(
    context: AbstractDataContext,
    datasource: SparkDatasource,
    stage: str,
    suite: TableSuite,
    frame: DataFrame,
) -> list[Outcome]:
    name = f"{stage}.{suite.name}"
    batch = datasource.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=name, expectations=list(suite.expectations))
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=gx_suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=[validation], result_format=RESULT_FORMAT)
    )
    result: CheckpointResult = checkpoint.run(batch_parameters={"dataframe": frame})
    return [
        _outcome(suite.name, r)
        for validation_result in result.run_results.values()
        for r in validation_result.results
    ]


def _outcome(table: str, r: ExpectationValidationResult) -> Outcome:
    cfg = r.expectation_config
    assert cfg is not None
    column = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list") or []) or None
    rule = (cfg.meta or {}).get(META_RULE) or cfg.type.replace("_", " ")
    error = _exception_message(r.exception_info)
    return Outcome(table, cfg.type, column, rule, bool(r.success), _observed(r.result), error)


def _observed(result: dict[str, Any]) -> str:
    """A short rendering of what GX saw: offending rows or values first, else the observation."""
    details = result.get("details") or {}
    if "unexpected_rows" in details:
        text = f"{result.get('observed_value')} rows, e.g. {details['unexpected_rows']}"
    elif "mismatched" in details:
        missing = details["mismatched"].get("missing") or []
        text = f"missing columns {missing}" if missing else "all present"
    elif result.get("unexpected_count"):
        sample = result.get("partial_unexpected_list")
        text = f"{result['unexpected_count']} unexpected, e.g. {sample}"
    elif "observed_value" in result:
        text = str(result["observed_value"])
    else:
        text = "as expected" if "unexpected_count" in result else "-"
    return text if len(text) <= OBSERVED_CHARS else text[: OBSERVED_CHARS - 3] + "..."


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GX reports either one exception or one per failed metric; keep the messages."""
    if not info:
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info["raised_exception"] else None
    messages = {
        v.get("exception_message")
        for v in info.values()
        if isinstance(v, dict) and v.get("raised_exception")
    }
    return "; ".join(sorted(m for m in messages if m)) or None


def _missing(table: str, path: str) -> Outcome:
    return Outcome(table, MISSING_TABLE, None, "table present", False, f"no Delta table at {path}")


def _local_naive(now: datetime | None) -> datetime:
    """Spark hands timestamps to Python as naive local times; thresholds must be alike."""
    if now is None:
        return datetime.now()
    return now.astimezone().replace(tzinfo=None) if now.tzinfo else now
