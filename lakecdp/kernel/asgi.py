"""How every `lakecdp` HTTP server runs: uvicorn with the same quiet, lean settings.

Access logs stay off (request lines carry identifier values in paths and queries, which never
go into logs) and no websocket stack is loaded (no server has websocket routes), so a server's
start-up pays only for what it serves.
"""

from __future__ import annotations

from typing import Any


def run_asgi(app: Any, host: str, port: int, **options: Any) -> None:
    """Serve `app` until stopped; `options` add uvicorn settings (e.g. a faster event loop)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ws="none",
        **options,
    )
