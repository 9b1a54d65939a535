"""The quality report's pair counts equal counting every pair by hand, and a record counts as
attributable only when it carries evidence of its person."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest

from spark_jobs.identity.quality import attributable_records, pairwise_metrics


def counted_by_hand(items: list[tuple[str, str, str | None]]) -> dict[str, dict[str, Any]]:
    """The same metrics from every pair of records, one scope at a time."""
    out: dict[str, dict[str, Any]] = {}
    for scope in sorted({s for s, _, _ in items}):
        rows = [(p, lab or f"nobody-{i}") for i, (s, p, lab) in enumerate(items) if s == scope]
        tp = predicted = true = 0
        for (p1, l1), (p2, l2) in itertools.combinations(rows, 2):
            tp += p1 == p2 and l1 == l2
            predicted += l1 == l2
            true += p1 == p2
        labels_of: dict[str, set[str]] = defaultdict(set)
        people_of: dict[str, set[str]] = defaultdict(set)
        for person, label in rows:
            labels_of[person].add(label)
            people_of[label].add(person)
        out[scope] = {
            "records": len(rows),
            "people": len(labels_of),
            "profiles": len(people_of),
            "precision": round(tp / predicted, 5) if predicted else 1.0,
            "recall": round(tp / true, 5) if true else 1.0,
            "true_pairs": true,
            "predicted_pairs": predicted,
            "over_merged_people": len({p for ps in people_of.values() if len(ps) > 1 for p in ps}),
            "under_merged_people": sum(len(ls) > 1 for ls in labels_of.values()),
            "unresolved_records": sum(1 for s, _, lab in items if s == scope and lab is None),
        }
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_pairwise_metrics_count_every_pair(seed: int) -> None:
    rng = random.Random(seed)
    items: list[tuple[str, str, str | None]] = []
    for scope in ("all", "some"):
        for _ in range(rng.randrange(20, 40)):
            label = None if rng.random() < 0.15 else f"c{rng.randrange(6)}"
            items.append((scope, f"p{rng.randrange(8)}", label))
    frame = pd.DataFrame(items, columns=["scope", "person_id", "label"])

    got = pairwise_metrics(frame)

    expected = counted_by_hand(items)
    assert set(got) == set(expected)
    for scope, want in expected.items():
        assert {k: got[scope][k] for k in want} == want, scope
        assert 0.0 <= got[scope]["f1"] <= 1.0


def test_only_records_with_evidence_of_their_person_are_attributable() -> None:
    truth = pd.DataFrame(
        [
            ("pos", "r1", "A"),  # the household phone only: A or B?
            ("pos", "r2", "B"),  # the household phone only
            ("crm", "r3", "A"),  # A's own e-mail
            ("crm", "r4", "B"),  # the household phone, but with B's name on it
            ("pos", "r5", "A"),  # nothing valid at all (a placeholder was dropped)
            ("pos", "r6", "C"),  # a phone nobody else's records carry, seen once
        ],
        columns=["source", "record_id", "person_id"],
    )
    household_phone, email_a, phone_c = 1, 2, 3
    observations = pd.DataFrame(
        [
            ("pos", "r1", household_phone),
            ("pos", "r2", household_phone),
            ("crm", "r3", email_a),
            ("crm", "r3", household_phone),
            ("crm", "r4", household_phone),
            ("pos", "r6", phone_c),
        ],
        columns=["source", "record_id", "node"],
    )
    persons = pd.DataFrame(
        [("crm", "r4", "Bea", None), ("pos", "r2", None, "4011")],  # a postcode is the household's
        columns=["source", "record_id", "first_name", "postcode"],
    )

    got = set(attributable_records(truth, observations, persons).itertuples(index=False, name=None))

    assert got == {("crm", "r3"), ("crm", "r4"), ("pos", "r6")}
    alone = attributable_records(truth, observations, None)
    assert set(alone.itertuples(index=False, name=None)) == {
        ("crm", "r3"),
        ("pos", "r6"),
    }
