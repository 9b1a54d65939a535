"""Durable, group-committed JSONL segments in the landing zone.

A request is acknowledged only after its lines are written and fsynced. Many concurrent
requests share one write + fsync (group commit), so durability costs one disk flush per
flush cycle, not one per request. Lines go to an open segment under `_open/` (Spark's file
source ignores paths starting with `_`); a segment is sealed by an atomic rename into the
visible folder once it is `roll_seconds` old or `roll_bytes` big, so the stream never reads a
half-written file. Segments left open by a crashed collector are sealed at the next start: every
acknowledged line in them was fsynced; a torn last line was never acknowledged (the client
retries it) and is quarantined as malformed by the stream job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

OPEN_DIR = "_open"


@dataclass
class _Pending:
    data: bytes
    future: asyncio.Future[None]


@dataclass
class SegmentStats:
    lines: int = 0
    bytes: int = 0
    flushes: int = 0
    sealed_segments: int = 0


@dataclass
class LandingWriter:
    """Appends newline-terminated records to the current open segment of one landing folder."""

    folder: Path
    roll_seconds: float = 1.0
    roll_bytes: int = 64 * 1024 * 1024
    fsync: bool = True
    stats: SegmentStats = field(default_factory=SegmentStats)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self._open_dir = self.folder / OPEN_DIR
        self._pending: list[_Pending] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._file: int | None = None
        self._file_path: Path | None = None
        self._file_opened_at = 0.0
        self._file_bytes = 0
        self._seq = 0
        self._prefix = f"{socket.gethostname()}-{os.getpid()}"
        self._closing = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._open_dir.mkdir(parents=True, exist_ok=True)
        self.seal_leftovers()
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"landing-writer:{self.folder.name}")

    async def close(self) -> None:
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        self._seal_current()

    def seal_leftovers(self) -> int:
        """Seal segments a previous (crashed) process left open; returns how many."""
        sealed = 0
        for leftover in sorted(self._open_dir.glob("*.jsonl")):
            if leftover.stat().st_size == 0:
                leftover.unlink()
                continue
            os.replace(leftover, self.folder / leftover.name)
            sealed += 1
        if sealed:
            _fsync_dir(self.folder)
        return sealed

    # -- writing -----------------------------------------------------------------------------
    async def append(self, lines: list[bytes]) -> None:
        """Resolve once `lines` are durably in the landing zone (written and fsynced)."""
        if not lines:
            return
        if self._wakeup is None or self._closing:
            raise RuntimeError("landing writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(b"".join(line + b"\n" for line in lines), future))
        self._wakeup.set()
        await future

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.roll_seconds / 2)
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if batch:
                data = b"".join(p.data for p in batch)
                try:
                    await loop.run_in_executor(None, self._write_durably, data)
                except OSError as exc:
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                else:
                    self.stats.lines += data.count(b"\n")
                    self.stats.bytes += len(data)
                    self.stats.flushes += 1
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_result(None)
            if self._file is not None and (
                time.monotonic() - self._file_opened_at >= self.roll_seconds
                or self._file_bytes >= self.roll_bytes
            ):
                await loop.run_in_executor(None, self._seal_current)
            if self._closing and not self._pending:
                return

    def _write_durably(self, data: bytes) -> None:
        if self._file is None:
            self._open_segment()
        assert self._file is not None
        view = memoryview(data)
        while view:
            written = os.write(self._file, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._file)
        self._file_bytes += len(data)

    def _open_segment(self) -> None:
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self._file_path = self._open_dir / f"{stamp}-{self._prefix}-{self._seq:06d}.jsonl"
        self._file = os.open(self._file_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self.fsync:
            _fsync_dir(self._open_dir)
        self._file_opened_at = time.monotonic()
        self._file_bytes = 0

    def _seal_current(self) -> None:
        if self._file is None or self._file_path is None:
            return
        os.close(self._file)
        os.replace(self._file_path, self.folder / self._file_path.name)
        if self.fsync:
            _fsync_dir(self.folder)
        self._file = None
        self._file_path = None
        self.stats.sealed_segments += 1


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
