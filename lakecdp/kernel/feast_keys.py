"""Feast's online-store keys, in Feast's own format (entity key serialization version 3,
feast/infra/key_encoding_utils.py), and Redis connection strings as Feast parses them.

In the kernel because two layers meet in the online store: the decision endpoint reads it
(lakecdp/decisioning/feast_online.py) and governance erases a person's keys from it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any

SERIALIZATION_VERSION = 3
# feast.types.Value.ValueType numbers of the entity key types encoded here.
BYTES, STRING, INT32, INT64 = 1, 2, 3, 4


class FeastFormatError(ValueError):
    """The registry or store holds something this reader does not read the way Feast would."""


def entity_key(join_keys: Sequence[tuple[str, int]], entity: Mapping[str, Any]) -> bytes:
    """Feast's serialize_entity_key (version 3) of `entity`'s values for `join_keys`, which are
    sorted by name as Feast sorts them."""
    out = [struct.pack("<I", len(join_keys))]
    for name, _ in join_keys:
        encoded = name.encode("utf8")
        out.append(struct.pack("<II", STRING, len(encoded)))
        out.append(encoded)
    for name, value_type in join_keys:
        value = entity[name]
        if value_type == STRING and isinstance(value, str):
            raw = value.encode("utf8")
        elif value_type == INT64 and isinstance(value, int):
            raw = struct.pack("<q", value)
        elif value_type == INT32 and isinstance(value, int):
            raw = struct.pack("<i", value)
        elif value_type == BYTES and isinstance(value, bytes):
            raw = value
        else:
            raise FeastFormatError(
                f"join key {name!r} of value type {value_type} cannot hold {value!r}"
            )
        out.append(struct.pack("<II", value_type, len(raw)))
        out.append(raw)
    return b"".join(out)


def redis_connection_kwargs(connection_string: str) -> dict[str, Any]:
    """Feast's Redis connection string ('host:port,db=0,ssl=true,password=...') as the keyword
    arguments Feast gives redis.Redis (values JSON-decoded where they parse, as Feast does)."""
    nodes = [part for part in connection_string.split(",") if "=" not in part]
    if len(nodes) != 1:
        raise FeastFormatError(f"one Redis host:port expected in {connection_string!r}")
    host, _, port = nodes[0].partition(":")
    kwargs: dict[str, Any] = {"host": host, "port": port or 6379}
    for part in connection_string.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            try:
                kwargs[key] = json.loads(value)
            except json.JSONDecodeError:
                kwargs[key] = value
    return kwargs
