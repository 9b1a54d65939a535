"""What every `make bench-*` script shares: a throwaway lakehouse with its Spark session, and
results written as `<name>-<time>.json` plus `<name>-latest.json` under benchmarks/results/."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakecdp.config import ProjectConfig

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def bench_session(name: str) -> tuple[Path, ProjectConfig, SparkSession]:
    """A fresh temporary folder, the project configuration pointed at a lakehouse inside it, and
    the Spark session of that configuration."""
    from lakecdp.config import load_config
    from lakecdp.spark import get_spark

    root = Path(mkdtemp(prefix=f"lakecdp-bench-{name}-"))
    os.environ["LAKECDP_LAKEHOUSE_ROOT"] = str(root / "lakehouse")
    config = load_config(REPO / "lakecdp.yaml")
    return root, config, get_spark(config, f"lakecdp-bench-{name}")


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write `results` twice (timestamped and latest); return the latest file."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    text = json.dumps({"finished_at": stamp, **results}, indent=2, default=str)
    for file_name in (f"{name}-{stamp}.json", f"{name}-latest.json"):
        (RESULTS / file_name).write_text(text)
    return RESULTS / f"{name}-latest.json"
