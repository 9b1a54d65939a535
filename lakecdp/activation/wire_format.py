"""lakecdp's own HTTP destination format (docs/activation.md, "HTTP destination wire format").

One JSON POST per batch. A retried request is byte-for-byte the same request: the same body,
the same `Idempotency-Key` and the same signature, so a receiver can drop a repeat it already
applied (a lost acknowledgement) and can check the body came from us and was not altered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from lakecdp.activation.changes import Change, HttpRequest

SIGNATURE_HEADER = "X-Lakecdp-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_REASON_CHARS = 500


def sign_body(body: bytes, secret: str) -> str:
    """The `X-Lakecdp-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the signature of exactly these body bytes (constant-time compare).
    Verify the raw bytes as received, before any JSON parsing re-serializes them."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), sign_body(body, secret).encode())


def request_idempotency_key(run_id: str, changes: Sequence[Change]) -> str:
    """sha256 of the run id and the sorted record idempotency keys.

    The same batch in the same run (a retry) always has the same key. The run id is part of it
    because record keys are content hashes: a key set back to an earlier value in a later run
    (A, then B, then A again) is a new write, and a receiver caching request keys must not
    answer it from the first run's cache.
    """
    digest = hashlib.sha256(run_id.encode())
    for key in sorted(change.idempotency_key for change in changes):
        digest.update(b"\n")
        digest.update(key.encode())
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    # Spark hands decimals as Decimal; a string keeps every digit (JSON numbers may not).
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    # The type only: the value is a record's and stays out of errors.
    raise TypeError(f"a field of type {type(value).__name__} is not JSON-serializable")


@dataclass(frozen=True)
class WireFormatCodec:
    """Encodes batches in our wire format for `url`; implements `Codec`.

    `auth_header` is sent as the `Authorization` header value as is (e.g. "Bearer ...");
    `signing_secret` signs every body. Both stay out of repr, logs and errors, and so does the
    URL (webhook URLs often carry a token in their path).
    """

    url: str = field(repr=False)
    sync: str
    auth_header: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    max_batch: int = 500
    one_op_per_batch: bool = False

    def encode(self, changes: Sequence[Change], run_id: str) -> HttpRequest:
        records = [
            {
                "op": change.op,
                "key": change.key,
                "fields": change.fields,
                "idempotency_key": change.idempotency_key,
            }
            for change in changes
        ]
        body = orjson.dumps(
            {"sync": self.sync, "run_id": run_id, "records": records}, default=_json_default
        )
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: request_idempotency_key(run_id, changes),
        }
        if self.auth_header:
            headers["Authorization"] = self.auth_header
        if self.signing_secret:
            headers[SIGNATURE_HEADER] = sign_body(body, self.signing_secret)
        return HttpRequest(method="POST", url=self.url, body=body, headers=headers)

    def rejected(self, status: int, body: bytes, changes: Sequence[Change]) -> dict[str, str]:
        """Keys listed in the answer's `rejected` list (of this batch only) and their reasons;
        any other answer body means none was refused."""
        try:
            answer = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return {}
        if not isinstance(answer, dict) or not isinstance(answer.get("rejected"), list):
            return {}
        sent = {change.key for change in changes}
        reasons: dict[str, str] = {}
        for item in answer["rejected"]:
            if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"] in sent:
                reason = item.get("reason")
                reasons[item["key"]] = (
                    str(reason)[:MAX_REASON_CHARS] if reason else f"rejected (HTTP {status})"
                )
        return reasons
