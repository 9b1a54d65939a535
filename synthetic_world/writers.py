"""Streaming writers that split output into numbered part files of bounded size.

Parts are written under a hidden name (".name.tmp") and renamed when complete: the ingestion
jobs skip hidden files, so a reader never sees half a part even while a large world is still
being generated. Part files are bounded in rows so that downstream readers can parallelize
and a failed run is easy to inspect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from synthetic_world.chunk import Block

_BUFFER = 1 << 20


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


class PartedTextWriter:
    """Newline-terminated records into parts of at most `max_lines` (plus a header in each)."""

    def __init__(
        self, folder: Path, name: Callable[[int], str], max_lines: int | None, header: str = ""
    ) -> None:
        self.folder = folder
        self.name = name
        self.max_lines = max_lines
        self.header = header.encode()
        self.paths: list[Path] = []
        self.lines = 0
        self._file: BinaryIO | None = None
        self._in_part = 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, block: Block) -> None:
        data, remaining, start = memoryview(block.data), block.lines, 0
        while remaining:
            if self._file is None:
                self._open()
            assert self._file is not None
            room = remaining
            if self.max_lines is not None:
                room = min(room, self.max_lines - self._in_part)
            if room == remaining:
                stop = len(data)
            else:
                stop = start
                for _ in range(room):
                    stop = block.data.index(b"\n", stop) + 1
            self._file.write(data[start:stop])
            self._in_part += room
            self.lines += room
            remaining -= room
            start = stop
            if self.max_lines is not None and self._in_part >= self.max_lines:
                self._seal()

    def close(self) -> list[Path]:
        if self._file is None and not self.paths:
            self._open()  # an empty source still gets a (header-only) file
        if self._file is not None:
            self._seal()
        return self.paths

    def _open(self) -> None:
        path = self.folder / self.name(len(self.paths) + 1)
        self._file = open(_tmp(path), "wb", buffering=_BUFFER)  # noqa: SIM115 - closed in _seal
        self._file.write(self.header)
        self._in_part = 0
        self.paths.append(path)

    def _seal(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        path = self.paths[-1]
        os.replace(_tmp(path), path)


class PartedParquetWriter:
    """Rows into Parquet parts of at most `max_rows`, one row group per chunk written."""

    def __init__(
        self, folder: Path, name: Callable[[int], str], schema: pa.Schema, max_rows: int
    ) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.max_rows = max_rows
        self.paths: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_part = 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, table: pa.Table) -> None:
        start = 0
        while start < table.num_rows:
            if self._writer is None:
                self._open()
            assert self._writer is not None
            room = min(table.num_rows - start, self.max_rows - self._in_part)
            self._writer.write_table(table.slice(start, room))
            self._in_part += room
            self.rows += room
            start += room
            if self._in_part >= self.max_rows:
                self._seal()

    def close(self) -> list[Path]:
        if self._writer is None and not self.paths:
            self._open()
        if self._writer is not None:
            self._seal()
        return self.paths

    def _open(self) -> None:
        path = self.folder / self.name(len(self.paths) + 1)
        self._writer = pq.ParquetWriter(_tmp(path), self.schema, compression="snappy")
        self._in_part = 0
        self.paths.append(path)

    def _seal(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._writer = None
        path = self.paths[-1]
        os.replace(_tmp(path), path)
