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
    import pandas as pd
    from pyspark.sql import SparkSession

    from lakecdp.kernel.config import ProjectConfig

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def bench_session(name: str) -> tuple[Path, ProjectConfig, SparkSession]:
    """A fresh temporary folder, the project configuration pointed at a lakehouse inside it, and
    the Spark session of that configuration."""
    from lakecdp.kernel.config import load_config
    from lakecdp.kernel.spark import get_spark

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


def machine(config: ProjectConfig) -> dict[str, Any]:
    """Where a benchmark ran, for its results file."""
    return {"cpus": os.cpu_count(), "master": config.spark.master}


def pair_scores(resolved: pd.DataFrame) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of a resolver's output (`customer_id`) against the
    true `person` of each row, with the counts behind them."""

    def pairs(sizes: pd.Series) -> float:
        return float((sizes * (sizes - 1) / 2).sum())

    tp = pairs(resolved.groupby(["customer_id", "person"]).size())
    predicted = pairs(resolved.groupby("customer_id").size())
    true = pairs(resolved.groupby("person").size())
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    return {
        "records": len(resolved),
        "people": int(resolved["person"].nunique()),
        "profiles": int(resolved["customer_id"].nunique()),
        "true_pairs": int(true),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if tp else 0.0,
    }
