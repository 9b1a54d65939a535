"""Subject hashes: how governance names a person's identifiers without storing them.

A subject hash is HMAC-SHA256, keyed with the project's secret (`governance.subject_key`), of
`<identifier type>:<normalized value>` (the identity rules' normal form, the one silver stores).
Keyed, so a leaked request ledger or suppression list cannot be reversed by hashing a list of
e-mail addresses; the same in Python (the collector, the endpoint, the privacy API) and in
Spark (ingestion and erasure joins), so a hash computed at one door matches every other.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column

BLOCK = 64  # SHA-256's block size: the HMAC construction's key padding


class SubjectKeyMissing(RuntimeError):
    """No `governance.subject_key`: nothing can be hashed, so no request can be honoured."""


def _key_bytes(secret: str) -> bytes:
    if not secret:
        raise SubjectKeyMissing(
            "governance.subject_key is empty: set LAKECDP_SUBJECT_KEY (a long random secret)"
        )
    key = secret.encode()
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    return key.ljust(BLOCK, b"\0")


def subject_hash(secret: str, id_type: str, normalized: str) -> str:
    """Hex HMAC-SHA256 of `type:value` under the project's secret."""
    message = f"{id_type}:{normalized}".encode()
    return hmac.new(_key_bytes(secret), message, hashlib.sha256).hexdigest()


def spark_subject_hash(secret: str, id_type: Column | str, normalized: Column | str) -> Column:
    """The same hash as a Spark column expression (no Python UDF): HMAC spelt out with sha2
    over binary concatenations, H((K ^ opad) || H((K ^ ipad) || message))."""
    from pyspark.sql import functions as F

    key = _key_bytes(secret)
    inner_pad = F.lit(bytes(b ^ 0x36 for b in key))
    outer_pad = F.lit(bytes(b ^ 0x5C for b in key))
    type_col = F.col(id_type) if isinstance(id_type, str) else id_type
    value_col = F.col(normalized) if isinstance(normalized, str) else normalized
    message = F.concat(type_col, F.lit(":"), value_col).cast("binary")
    inner = F.unhex(F.sha2(F.concat(inner_pad, message), 256))
    return F.sha2(F.concat(outer_pad, inner), 256)
