"""The suppression list every door reads: subject hashes of people whose data must not enter.

Governance writes it (lakecdp/governance/ledger.py) as one small JSON file replaced atomically
whenever a request suppresses or lifts; the collector, the ingestion jobs, the decision endpoint
and the syncs read it. A reader looks at the file's modification time at most every
`refresh_seconds` and reloads only when it changed, so checking a message costs a set lookup.
Hashes only (lakecdp/kernel/subjects.py): the list names nobody.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import orjson

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path

FILE_NAME = "suppression.json"


def suppression_file(config: ProjectConfig) -> Path:
    return Path(join_path(config.governance_root, FILE_NAME))


def write_suppression_list(path: Path, hashes: Iterable[str], version: int) -> None:
    """Replace the list atomically (readers see the old file or the new, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(orjson.dumps({"version": version, "hashes": sorted(set(hashes))}))
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class SuppressionList:
    """A door's view of the list, reloaded when the file changes (checked at most every
    `refresh_seconds`). Thread-safe: the endpoint's worker threads share one."""

    def __init__(self, path: Path, refresh_seconds: float) -> None:
        self.path = path
        self.refresh_seconds = refresh_seconds
        self._hashes: frozenset[str] = frozenset()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.version = 0

    @classmethod
    def from_config(cls, config: ProjectConfig) -> SuppressionList:
        return cls(suppression_file(config), config.governance.suppression_refresh_seconds)

    def hashes(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self._checked >= self.refresh_seconds:
            with self._lock:
                if now - self._checked >= self.refresh_seconds:
                    self._reload()
                    self._checked = now
        return self._hashes

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._hashes, self._stamp, self.version = frozenset(), None, 0
            return
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        data = orjson.loads(self.path.read_bytes())
        self._hashes = frozenset(data["hashes"])
        self.version = int(data["version"])
        self._stamp = stamp

    def any_suppressed(self, hashes: Iterable[str]) -> bool:
        current = self.hashes()
        return bool(current) and any(h in current for h in hashes)
