"""Chunks of the world, generated in worker processes and handed back in order.

Generation is pure Python and CPU-bound, so processes (not threads) are what scale it. Chunks are
pure functions of (context, index), so the output is byte-identical whatever the number of
workers. Only a few chunks are in flight at a time, which keeps memory flat for any world size.
Workers are spawned rather than forked: the caller may be running threads (a progress bar).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from synthetic_world.chunk import ChunkOutput, generate_chunk
from synthetic_world.context import WorldContext

MAX_WORKERS = 8
_CONTEXT: WorldContext | None = None  # set once per worker process by _init


def chunk_plan(customers: int, chunk_size: int) -> list[tuple[int, int, int]]:
    """(chunk index, first person index, people) for every chunk."""
    return [
        (index, first, min(chunk_size, customers - first))
        for index, first in enumerate(range(0, customers, chunk_size))
    ]


def default_workers(chunks: int) -> int:
    """One process per CPU, but none extra for small worlds (spawning costs about a second)."""
    if chunks <= 2:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS, chunks))


def _init(ctx: WorldContext) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def _run(task: tuple[int, int, int]) -> ChunkOutput:
    assert _CONTEXT is not None, "worker started without a world context"
    return generate_chunk(_CONTEXT, *task)


def generate_chunks(
    ctx: WorldContext, plan: list[tuple[int, int, int]], workers: int
) -> Iterator[ChunkOutput]:
    """Chunk outputs in plan order, from `workers` processes (inline when workers <= 1)."""
    if workers <= 1:
        for task in plan:
            yield generate_chunk(ctx, *task)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init,
        initargs=(ctx,),
    )
    try:
        tasks = iter(plan)
        pending: deque[Future[ChunkOutput]] = deque()
        for _ in range(2 * workers):
            task = next(tasks, None)
            if task is not None:
                pending.append(pool.submit(_run, task))
        while pending:
            result = pending.popleft().result()
            task = next(tasks, None)
            if task is not None:
                pending.append(pool.submit(_run, task))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
