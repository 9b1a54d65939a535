"""Access and portability: everything the platform holds about the person, as JSON lines.

The export reads what an erasure would delete: every Delta table's rows that name the person,
found by the same column rules (erase_tables.families), so its per-table counts are the rows an
erasure of the same closure finds. Each line is `{"table": "layer.name", "row": {...}}`: the
identifiers, events, consent signals, decisions with their reasons, profiles and features.

The file (`<governance root>/exports/<id>.jsonl.gz`) holds the person's data, so it does not
stay: it expires after `governance.export_ttl_days` (each `privacy run` removes expired ones),
and an erasure of the same person removes it at once.
"""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path
from spark_jobs.governance.closure import Closure
from spark_jobs.governance.erase_tables import ClosureFrames, families, local_keys, matching_rows

EXPORT_SUFFIX = ".jsonl.gz"


def export_folder(config: ProjectConfig) -> Path:
    return Path(join_path(config.governance_root, "exports"))


def export_path(config: ProjectConfig, request_id: str) -> Path:
    return export_folder(config) / f"{request_id}{EXPORT_SUFFIX}"


def export_subject(
    spark: SparkSession,
    config: ProjectConfig,
    closure: Closure,
    request_id: str,
    tables: list[tuple[str, str]],
) -> dict[str, Any]:
    """Write the export; returns its manifest (path, expiry, rows per table; no value)."""
    frames = ClosureFrames(spark, config, closure)
    path = export_path(config, request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    counts: dict[str, int] = {}
    try:
        with gzip.open(tmp, "wb") as out:
            for layer, name in tables:
                rows = spark.read.format("delta").load(config.table_path(layer, name))
                found = [local_keys(frames, f) for f in families(frames, layer, name, rows)]
                if not found:
                    continue
                lines = matching_rows(rows, found).toJSON().collect()
                for line in lines:
                    out.write(f'{{"table": "{layer}.{name}", "row": {line}}}\n'.encode())
                if lines:
                    counts[f"{layer}.{name}"] = len(lines)
        os.replace(tmp, path)
    finally:
        frames.unpersist()
        tmp.unlink(missing_ok=True)
    expires = datetime.now(UTC) + timedelta(days=config.governance.export_ttl_days)
    return {
        "export": str(path),
        "expires_time": expires.isoformat(),
        "rows": sum(counts.values()),
        "tables": counts,
    }


def remove_expired_exports(
    config: ProjectConfig, manifests: dict[str, dict[str, Any]]
) -> list[str]:
    """Delete exports past their expiry; returns the request ids whose export went."""
    now = datetime.now(UTC)
    gone = []
    for request_id, manifest in manifests.items():
        expires = manifest.get("expires_time")
        path = export_path(config, request_id)
        if expires and datetime.fromisoformat(expires) <= now and path.exists():
            path.unlink()
            gone.append(request_id)
    return gone
