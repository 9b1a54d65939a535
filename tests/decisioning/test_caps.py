"""Frequency caps counted in the online store's backend: SQLite, and a real Redis server."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from lakecdp.decisioning.caps import CapCounter, RedisCaps, SqliteCaps
from lakecdp.kernel.config import CapConfig


@pytest.fixture(params=["sqlite", "redis"])
def caps(request: pytest.FixtureRequest, tmp_path: Path) -> CapCounter:
    if request.param == "sqlite":
        return SqliteCaps(str(tmp_path / "caps.db"))
    counter = RedisCaps("localhost", 6379, prefix=f"test-{uuid.uuid4().hex[:8]}")
    counter._redis.ping()  # make services starts it; a missing server fails here, loudly
    return counter


def test_deliveries_count_per_customer_and_channel(caps: CapCounter) -> None:
    window = {"email": CapConfig(max=2, hours=24), "push": CapConfig(max=3, hours=24)}
    for _ in range(2):
        caps.record("cus_1", "email", window["email"])
    caps.record("cus_1", "push", window["push"])
    caps.record("cus_2", "email", window["email"])
    assert caps.counts("cus_1", window) == {"email": 2, "push": 1}
    assert caps.counts("cus_2", window) == {"email": 1, "push": 0}
    assert caps.counts("cus_3", window) == {"email": 0, "push": 0}


def test_deliveries_leave_the_window(caps: CapCounter) -> None:
    short = {"sms": CapConfig(max=1, hours=0.5 / 3600)}  # half a second
    caps.record("cus_1", "sms", short["sms"])
    assert caps.counts("cus_1", short) == {"sms": 1}
    time.sleep(0.7)
    assert caps.counts("cus_1", short) == {"sms": 0}
