"""The certificate of a request: per store, what was found, removed and verified, and where
copies remain until when. JSON, written next to the ledger; it names no value of the person
(subject hashes and counts only), so it can be kept as long as the controller needs proof.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path


@dataclass
class StoreResult:
    """One store's part of the certificate."""

    store: str
    location: str
    method: str
    rows_found: int = 0
    rows_removed: int = 0
    files_rewritten: int = 0
    files_removed: int = 0
    version_before: int | None = None
    version_after: int | None = None
    verification: str = ""
    rows_after: int = 0
    residual: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def certificate_path(config: ProjectConfig, request_id: str) -> Path:
    return Path(join_path(config.governance_root, "certificates", f"{request_id}.json"))


def write_certificate(
    config: ProjectConfig,
    request: Any,
    closure_summary: dict[str, Any],
    stores: list[StoreResult],
    started: datetime,
) -> dict[str, Any]:
    """Write (atomically) and return the certificate of a finished request."""
    finished = datetime.now(UTC)
    body = {
        "certificate_version": 1,
        "controller_id": config.governance.controller_id,
        "subject_request_id": request.request_id,
        "subject_request_type": request.type.value,
        "regulation": request.regulation,
        "received_time": request.received_time.isoformat(),
        "due_time": request.due_time.isoformat(),
        "started_time": started.isoformat(),
        "completed_time": finished.isoformat(),
        "seconds": round((finished - started).total_seconds(), 1),
        "within_deadline": finished <= request.due_time,
        "suppressed_after": bool(request.suppress),
        "closure": {k: v for k, v in closure_summary.items() if k != "hashes"},
        "subject_hashes": closure_summary.get("hashes", []),
        "totals": {
            "stores": len(stores),
            "rows_found": sum(s.rows_found for s in stores),
            "rows_removed": sum(s.rows_removed for s in stores),
            "rows_after": sum(s.rows_after for s in stores),
        },
        "stores": [s.as_dict() for s in stores],
    }
    path = certificate_path(config, request.request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return body


def read_certificate(config: ProjectConfig, request_id: str) -> dict[str, Any] | None:
    path = certificate_path(config, request_id)
    return orjson.loads(path.read_bytes()) if path.exists() else None
