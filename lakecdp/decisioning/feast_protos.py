"""Feast's own generated protobuf modules, loaded without importing Feast.

The decision endpoint reads Feast's registry and online store in Feast's storage format, so it
uses Feast's generated `_pb2` modules: the wire format then cannot drift from what Feast writes.
Importing them the normal way (`feast.protos...`) runs `feast/__init__.py`, which imports the
whole SDK (pandas, pyarrow, SQLAlchemy, ...: about ten seconds). The generated modules
themselves need only the protobuf runtime; they import one another as `feast.protos.<name>`, so
each one is executed with an `__import__` that serves those names from this loader and
everything else from the ordinary import system.

The descriptors land in protobuf's default pool, as they would with Feast; if the process
imports Feast later (tests do), Feast's modules register byte-identical files, which protobuf
accepts, and both see the same message classes.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

_PACKAGE = "feast.protos."
_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}


def _protos_dir() -> Path:
    # find_spec of a top-level package locates it without executing its __init__
    spec = importlib.util.find_spec("feast")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the feast package is not installed: its protobuf modules are needed")
    return Path(next(iter(spec.submodule_search_locations))) / "protos"


def proto_module(name: str) -> ModuleType:
    """Feast's generated module `name` (as under feast.protos, e.g. 'feast.types.Value_pb2')."""
    if "feast" in sys.modules:  # Feast is imported already: share its modules
        return importlib.import_module(_PACKAGE + name)
    with _lock:
        module = _loaded.get(name)
        if module is None:
            module = _execute(name)
            _loaded[name] = module
        return module


def _execute(name: str) -> ModuleType:
    path = _protos_dir().joinpath(*name.split(".")).with_suffix(".py")
    module = ModuleType(f"{__name__}.{name}")
    module.__file__ = str(path)
    namespace = module.__dict__
    namespace["__builtins__"] = {**vars(builtins), "__import__": _import}
    exec(compile(path.read_bytes(), str(path), "exec"), namespace)
    return module


def _import(
    name: str,
    globals: dict[str, Any] | None = None,  # the signature of __import__
    locals: dict[str, Any] | None = None,
    fromlist: tuple[str, ...] | list[str] | None = (),
    level: int = 0,
) -> Any:
    """`from feast.protos.<package> import X_pb2` from inside a generated module; anything else
    goes to the real __import__."""
    if level == 0 and name.startswith(_PACKAGE) and fromlist:
        package = name.removeprefix(_PACKAGE)
        return SimpleNamespace(**{item: proto_module(f"{package}.{item}") for item in fromlist})
    return builtins.__import__(name, globals, locals, fromlist or (), level)
