"""A skops archive (how MLflow saves our scikit-learn models) read as plain data.

`skops.io.load` rebuilds the estimators, which needs scikit-learn, and importing skops alone
imports every scikit-learn module (its trusted-type list calls `all_estimators()`): several
seconds of start-up for the decision endpoint. The archive is a zip of `schema.json` (a tree of
typed nodes) and `.npy` arrays; this module reads that tree into dicts, lists, numpy arrays and
`Instance`s (a class name with its saved attributes) without importing or constructing anything
the file names, so reading an untrusted file cannot run code. ml/serving/scorer.py scores
from that data.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PROTOCOLS = (2,)  # skops' schema protocol versions this reader knows


class SkopsFormatError(ValueError):
    """The archive holds something this reader does not read."""


@dataclass(frozen=True)
class Instance:
    """An object of class `type` (module.Class) as saved: its attributes, never constructed."""

    type: str
    attrs: dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """A function or type saved by name (module.name)."""

    name: str


@dataclass(frozen=True)
class Opaque:
    """A node this reader leaves unread (random generators, Cython loss objects, ...): a scorer
    that needs one must refuse the model."""

    type: str
    loader: str


def read_skops(path: str | Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        if schema.get("protocol") not in PROTOCOLS:
            raise SkopsFormatError(
                f"{path}: skops protocol {schema.get('protocol')} (known: {PROTOCOLS})"
            )
        return _Reader(archive, str(path)).node(schema)


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, path: str) -> None:
        self.archive = archive
        self.path = path

    def node(self, state: dict[str, Any]) -> Any:
        loader = state.get("__loader__")
        kind = f"{state.get('__module__')}.{state.get('__class__')}"
        if loader == "JsonNode":
            return json.loads(state["content"])
        if loader == "ListNode":
            return [self.node(item) for item in state["content"]]
        if loader == "TupleNode":
            return tuple(self.node(item) for item in state["content"])
        if loader == "DictNode":
            return self.mapping(state)
        if loader == "ObjectNode" and "__reduce__" not in state:
            content = state.get("content", {})
            attrs = self.mapping(content) if content.get("__loader__") == "DictNode" else {}
            return Instance(kind, attrs)
        if loader == "NdArrayNode":
            return self.array(state, kind)
        if loader in ("FunctionNode", "TypeNode"):
            return Reference(kind)
        return Opaque(kind, str(loader))

    def mapping(self, state: dict[str, Any]) -> dict[Any, Any]:
        key_types = [self.node(t) for t in state.get("key_types", {}).get("content", [])]
        out: dict[Any, Any] = {}
        for n, (key, value) in enumerate(state["content"].items()):
            key_type = key_types[n].name if n < len(key_types) else "builtins.str"
            if key_type == "builtins.int":
                key = int(key)
            elif key_type != "builtins.str":
                raise SkopsFormatError(f"{self.path}: dict key {key!r} of type {key_type}")
            out[key] = self.node(value)
        return out

    def array(self, state: dict[str, Any], kind: str) -> Any:
        if state.get("type") == "json":  # object arrays (feature names): their items
            return [self.node(item) for item in state["content"]]
        if state.get("type") != "numpy":
            raise SkopsFormatError(f"{self.path}: array of storage {state.get('type')}")
        array = np.load(io.BytesIO(self.archive.read(state["file"])), allow_pickle=False)
        if kind == "numpy.ndarray":
            return array
        scalar = getattr(np, kind.removeprefix("numpy."), None)
        if not (isinstance(scalar, type) and issubclass(scalar, np.generic)):
            raise SkopsFormatError(f"{self.path}: array saved as {kind}")
        return scalar(array)
