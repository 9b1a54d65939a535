"""A Meta-like Custom Audiences endpoint on loopback, for tests of ad-audience syncs: adds on
POST, removes on DELETE, members by hash; it keeps every raw body so a test can check that no
raw value was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import free_port, wait_for

TOKEN = "test-access-token"


class FakeAudience:
    """What a Meta-like audience holds: member hashes (email, phone) and every raw body."""

    def __init__(self) -> None:
        self.members: set[tuple[str, str]] = set()
        self.bodies: list[bytes] = []
        self.throttle_next = 0

    async def users(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": {"code": 190, "message": "bad token"}}, status_code=401)
        if self.throttle_next:
            self.throttle_next -= 1
            return JSONResponse({"error": {"code": 80003}}, 429, headers={"Retry-After": "0"})
        body = await request.body()
        self.bodies.append(body)
        rows = [tuple(r) for r in json.loads(body)["payload"]["data"]]
        if request.method == "POST":
            self.members.update(rows)  # type: ignore[arg-type]
        else:
            self.members.difference_update(rows)  # type: ignore[arg-type]
        return JSONResponse({"num_received": len(rows), "num_invalid_entries": 0})


@contextmanager
def running_audience() -> Iterator[tuple[FakeAudience, str]]:
    """A FakeAudience served on loopback (users endpoint of audience "aud1"), and its base URL."""
    fake = FakeAudience()
    app = Starlette(routes=[Route("/aud1/users", fake.users, methods=["POST", "DELETE"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
