"""The world's time window and fast ISO-8601 rendering of instants inside it.

Every instant is an integer (epoch milliseconds) until it is written: integers are cheap to draw,
compare and sort, and a world of ten million events formats a few tens of millions of timestamps,
so formatting avoids building a `datetime` per value (the calendar day is cached).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from synthetic_world.rng import below

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Window:
    """[start, end] in epoch milliseconds: `days` whole UTC days ending at midnight of `end`."""

    start_ms: int
    end_ms: int

    @classmethod
    def ending(cls, end: date, days: int) -> Window:
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        end_dt = datetime(end.year, end.month, end.day, tzinfo=UTC)
        start_dt = end_dt - timedelta(days=days)
        return cls(int(start_dt.timestamp() * 1000), int(end_dt.timestamp() * 1000))

    @property
    def span_ms(self) -> int:
        return self.end_ms - self.start_ms

    def instant(self, rng: random.Random, margin_ms: int = 0) -> int:
        """A uniformly drawn instant that leaves `margin_ms` before the end of the window."""
        return self.start_ms + below(rng, max(1, self.span_ms - margin_ms))

    def clamp(self, ms: int) -> int:
        return min(max(ms, self.start_ms), self.end_ms)


@lru_cache(maxsize=4096)
def _day(epoch_day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=epoch_day)).isoformat()


_MINUTES: dict[int, str] = {}


def _minute(epoch_minute: int) -> str:
    """'2026-10-03T08:15:' for an epoch minute (a 90-day window has 130k of them)."""
    text = _MINUTES.get(epoch_minute)
    if text is None:
        if len(_MINUTES) > 1_000_000:
            _MINUTES.clear()
        day, in_day = divmod(epoch_minute, 1440)
        hour, minute = divmod(in_day, 60)
        text = _MINUTES[epoch_minute] = f"{_day(day)}T{hour:02d}:{minute:02d}:"
    return text


def iso_utc_ms(ms: int) -> str:
    """'2026-10-03T08:15:00.123Z', as Segment SDKs send timestamps."""
    minute, in_minute = divmod(ms, 60_000)
    second, milli = divmod(in_minute, 1000)
    return f"{_MINUTES.get(minute) or _minute(minute)}{second:02d}.{milli:03d}Z"


def iso_utc(ms: int) -> str:
    """'2026-10-03T08:15:00Z' (whole seconds)."""
    seconds = ms // 1000
    day, in_day = divmod(seconds, 86400)
    hour, rest = divmod(in_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"


def iso_local(ms: int, offset_minutes: int, suffix: str) -> str:
    """'2026-10-03T16:15:00+08:00': local wall time with its zone offset, as store systems write."""
    seconds = ms // 1000 + offset_minutes * 60
    day, in_day = divmod(seconds, 86400)
    hour, rest = divmod(in_day, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day(day)}T{hour:02d}:{minute:02d}:{second:02d}{suffix}"


def unparsable(rng: random.Random, ms: int, offset_minutes: int) -> str:
    """A timestamp as broken exports write them: no zone, day-first, or a placeholder."""
    local = iso_local(ms, offset_minutes, "")
    day, clock = local.split("T")
    year, month, dom = day.split("-")
    choice = below(rng, 5)
    if choice == 0:
        return f"{day} {clock}"  # no zone: the instant is ambiguous
    if choice == 1:
        return f"{dom}/{month}/{year} {clock[:5]}"
    if choice == 2:
        return f"{year}-{month}-{int(dom) + 31:02d}T{clock}Z"  # impossible day
    if choice == 3:
        return "N/A"
    return "0000-00-00 00:00:00"
