"""Experiment arms by a deterministic hash: the same customer is always in the same arm of an
experiment, on every replica and after restarts, with no state to share."""

from __future__ import annotations

import hashlib
from typing import Literal

Arm = Literal["treatment", "holdout"]


def bucket(customer_id: str, salt: str) -> float:
    """A uniform number in [0, 1) from sha256(salt:customer_id)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_arm(customer_id: str, salt: str, holdout_share: float) -> Arm:
    return "holdout" if bucket(customer_id, salt) < holdout_share else "treatment"
