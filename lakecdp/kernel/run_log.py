"""Where a command's detail goes: one log file per command under the lakehouse, the console
keeping progress bars, step lines and summaries.

Spark's JVM writes to the file descriptors it inherits (log4j's console appender, the JVM's own
start-up warnings, Python workers' stderr), so the log file is handed to it as its stdout and
stderr when the gateway starts; Python logging and dbt's file log go to the same folder. With
`--verbose` nothing is redirected and Python logging also prints to the console.

Known third-party warnings are filtered by module and message, nothing broader: a warning we
have not seen before still reaches the console.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# (module regex, message regex, category): each one seen in a demo run, read and judged harmless.
KNOWN_WARNINGS: tuple[tuple[str, str, type[Warning]], ...] = (
    # Feast marks its Spark offline store and source "alpha" at every call; the version is
    # pinned and our tests cover what we use.
    (r"feast(\..*)?", r"The spark (data source|offline store)", RuntimeWarning),
)


# Loggers whose INFO lines say nothing a reader of the log needs (one line per HTTP request,
# Great Expectations registering its own API, py4j's socket chatter).
CHATTY_LOGGERS = ("httpx", "great_expectations._docs_decorators", "py4j")


@dataclass(frozen=True)
class RunLog:
    """The log file of this process, or None when everything goes to the console."""

    path: Path | None
    verbose: bool

    def describe(self) -> str:
        return str(self.path) if self.path else "the console (--verbose)"


_current = RunLog(None, True)


def current() -> RunLog:
    return _current


def filter_known_warnings() -> None:
    for module, message, category in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def log_dir(lakehouse_root: str) -> Path:
    """`<lakehouse>/logs` for a local lakehouse; `./logs` when the lakehouse is an object store
    (a log is a local file for the person at the terminal)."""
    if "://" in lakehouse_root and not lakehouse_root.startswith("file:"):
        return Path("logs").resolve()
    return Path(lakehouse_root.removeprefix("file:")) / "logs"


def start(lakehouse_root: str, name: str, *, verbose: bool) -> RunLog:
    """Send this process's detail to `<lakehouse>/logs/<name>.log` (appended), unless verbose."""
    global _current
    filter_known_warnings()
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        _current = RunLog(None, True)
        return _current
    folder = log_dir(lakehouse_root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings not filtered above land in the log, with context
    _current = RunLog(path, False)
    return _current


@contextmanager
def child_output() -> Iterator[None]:
    """While a child process starts (Spark's JVM), point this process's stdout and stderr at the
    log file so the child inherits them; restore them afterwards. A no-op when verbose."""
    if _current.path is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with _current.path.open("ab") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
