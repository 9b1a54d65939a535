"""The decision log: every decision as one JSON line, in segments that the ingestion loads into
bronze.decisions, so outcomes can be measured against what was decided.

Lines go to an open segment (`_open/`), which a background thread flushes and fsyncs every
`flush_seconds` and seals by an atomic rename every `roll_seconds` (and on close); readers only
ever see sealed, complete segments, as with the collector's landing zone.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson


class DecisionLog:
    def __init__(self, folder: str, roll_seconds: float = 5.0, flush_seconds: float = 0.5) -> None:
        self.folder = Path(folder)
        self._open_dir = self.folder / "_open"
        self._open_dir.mkdir(parents=True, exist_ok=True)
        self._roll_seconds = roll_seconds
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handle: Any = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._dirty = False
        self._seal_leftovers()
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def _seal_leftovers(self) -> None:
        """Segments a crashed process left open hold complete lines up to its last flush."""
        for path in self._open_dir.glob("*.jsonl"):
            os.replace(path, self.folder / path.name)

    def _open(self) -> None:
        name = f"decisions-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
        self._path = self._open_dir / name
        self._handle = self._path.open("ab")
        self._opened_at = time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        line = orjson.dumps(record, option=orjson.OPT_NAIVE_UTC) + b"\n"
        with self._lock:
            if self._handle is None:
                self._open()
            self._handle.write(line)
            self._dirty = True

    def _flush(self, seal: bool) -> None:
        with self._lock:
            if self._handle is None:
                return
            if self._dirty:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._dirty = False
            if seal:
                self._handle.close()
                assert self._path is not None
                os.replace(self._path, self.folder / self._path.name)
                self._handle, self._path = None, None

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self._flush(seal=time.monotonic() - self._opened_at >= self._roll_seconds)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._flush(seal=True)
