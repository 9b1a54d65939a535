"""Experiment arms: deterministic, the configured share, independent between experiments."""

from __future__ import annotations

from lakecdp.decisioning.holdout import assign_arm, bucket


def test_same_customer_same_arm_every_time() -> None:
    arms = {assign_arm("cus_123", "salt-a", 0.1) for _ in range(5)}
    assert len(arms) == 1


def test_holdout_share_is_the_configured_share() -> None:
    ids = [f"cus_{i}" for i in range(20_000)]
    held = sum(assign_arm(c, "salt-a", 0.1) == "holdout" for c in ids)
    assert 0.09 < held / len(ids) < 0.11
    assert sum(assign_arm(c, "salt-a", 0.0) == "holdout" for c in ids) == 0


def test_salts_give_independent_arms() -> None:
    ids = [f"cus_{i}" for i in range(20_000)]
    a = {c for c in ids if assign_arm(c, "salt-a", 0.5) == "holdout"}
    b = {c for c in ids if assign_arm(c, "salt-b", 0.5) == "holdout"}
    overlap = len(a & b) / len(ids)
    assert 0.23 < overlap < 0.27  # independent halves overlap on a quarter
    assert 0 <= bucket("x", "y") < 1
