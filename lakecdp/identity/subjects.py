"""Which subjects a raw record names: its identifiers, normalized by the identity rules and
hashed with the project's key (lakecdp/kernel/subjects.py).

Every door that checks the suppression list (the collector, the decision endpoint, the privacy
API taking a request) asks here, so an e-mail typed `Alice@Example.com` at the till and
`alice@example.com` in a request are the same subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from lakecdp.identity.rules import IdentityRules
from lakecdp.kernel.config import EVENT_COLUMNS, ProjectConfig
from lakecdp.kernel.subjects import subject_hash

# The bronze.events columns as paths into a raw Segment message (event_rules.to_bronze_events).
MESSAGE_PATHS = {
    "user_id": ("userId",),
    "anonymous_id": ("anonymousId",),
    "previous_id": ("previousId",),
    "group_id": ("groupId",),
    "device_id": ("context", "device", "id"),
}
CUSTOMER_ID = "customer_id"


class Unnormalizable(ValueError):
    """The value is not an identifier of its type (the reason says why)."""


def _walk(message: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = message
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


class SubjectHasher:
    """Normalize and hash identifiers the way silver.identifiers holds them."""

    def __init__(self, config: ProjectConfig) -> None:
        self.secret = config.governance.subject_key.get_secret_value()
        self.rules = IdentityRules.from_config(config)
        self.regions = {code: m.phone_region for code, m in config.markets.items()}
        self.fields = [
            (MESSAGE_PATHS[f] if f in EVENT_COLUMNS else tuple(f.split(".")), id_type)
            for f, id_type in config.identity.events.identifiers.items()
        ]

    def normalized(self, id_type: str, raw: object, market: str | None = None) -> str:
        """The normal form, or Unnormalizable with the reason."""
        if id_type == CUSTOMER_ID:
            value = str(raw).strip()
            if not value:
                raise Unnormalizable("empty customer id")
            return value
        region = self.regions.get((market or "").upper())
        result = self.rules.normalize(id_type, raw, region=region)
        if result.value is None:
            raise Unnormalizable(result.reason or "not an identifier")
        return result.value

    def hash(self, id_type: str, normalized: str) -> str:
        return subject_hash(self.secret, id_type, normalized)

    def identifier(self, id_type: str, raw: object, market: str | None = None) -> str:
        """The subject hash of a raw identifier (Unnormalizable if it has no normal form)."""
        return self.hash(id_type, self.normalized(id_type, raw, market))

    def customer(self, customer_id: str) -> str:
        return self.hash(CUSTOMER_ID, customer_id)

    def text(self, raw: str) -> set[str]:
        """Every subject hash a raw record could name (a quarantined payload, a rejected line):
        each candidate value tried as each identifier type (phones in every market) and as a
        customer id. Over-inclusive on purpose: it is matched against one person's closure."""
        out: set[str] = set()
        regions = sorted(set(self.regions.values())) or [None]
        for value in set(_leaves(raw)):
            if len(value) > 256:
                continue
            out.add(self.hash(CUSTOMER_ID, value))
            for id_type, rule in self.rules.types.items():
                for region in regions if rule.kind == "phone" else [None]:
                    result = self.rules.normalize(id_type, value, region=region)
                    if result.value is not None:
                        out.add(self.hash(id_type, result.value))
        return out

    def message(self, message: Mapping[str, Any]) -> Iterator[str]:
        """The subject hash of every identifier a raw Segment message carries (configured
        event fields; unusable values name nobody and are skipped)."""
        context = message.get("context")
        market = context.get("market") if isinstance(context, Mapping) else None
        for path, id_type in self.fields:
            raw = _walk(message, path)
            if raw is None or isinstance(raw, (dict, list)) or raw == "":
                continue
            try:
                yield self.identifier(id_type, raw, market if isinstance(market, str) else None)
            except Unnormalizable:
                continue


def _leaves(raw: str, depth: int = 0) -> Iterator[str]:
    """Candidate values of a raw record: the leaves of JSON (strings inside strings that hold
    JSON too), else the fields of a delimited line."""
    text = raw.strip()
    if text[:1] in ("{", "[") and depth < 3:
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if parsed is not None:
            stack = [parsed]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    stack.extend(node.values())
                elif isinstance(node, list):
                    stack.extend(node)
                elif isinstance(node, str):
                    yield from _leaves(node, depth + 1)
                elif isinstance(node, (int, float)) and not isinstance(node, bool):
                    yield str(node)
            return
    for field in re.split(r"[,;\t\r\n|{}\[\]\"]", text):
        field = field.strip()
        if field:
            yield field
            if ":" in field:  # `"key": value` of a torn JSON line
                yield field.rsplit(":", 1)[1].strip()
