"""The greedy limit split: strongest evidence binds first, limits and never-links refuse."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lakecdp.identity.constrained import CONCLUSIVE, GIVEN_NAMES, Edge, split_component

PRIORITIES = {"user_id": 100, "loyalty_id": 90, "email": 80, "phone": 70, "device_id": 40}
LIMITS = {"user_id": 1, "loyalty_id": 1, "email": 3}


def groups(labels: dict[int, int]) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for node, label in labels.items():
        out.setdefault(label, set()).add(node)
    return {frozenset(g) for g in out.values()}


def test_shared_family_phone_goes_to_the_person_with_most_evidence() -> None:
    # parent: user 1, email 2; child: user 3, email 4; family phone 5
    types = {1: "user_id", 2: "email", 3: "user_id", 4: "email", 5: "phone"}
    edges = [
        Edge(1, 2, records=4),
        Edge(3, 4, records=2),
        Edge(2, 5, records=6),  # the parent types the phone at every store visit
        Edge(4, 5, records=1),  # the child gave it once
    ]
    labels, refused = split_component(types, edges, PRIORITIES, LIMITS)
    assert groups(labels) == {frozenset({1, 2, 5}), frozenset({3, 4})}
    assert refused == {"limit:user_id": 1}


def test_never_link_pair_ends_in_two_profiles() -> None:
    types = {1: "email", 2: "phone", 3: "email"}
    edges = [Edge(1, 2, records=3), Edge(2, 3, records=1)]
    labels, refused = split_component(types, edges, PRIORITIES, LIMITS, never_link=[(1, 3)])
    assert labels[1] != labels[3]
    assert labels[2] == labels[1]  # the phone stays with its stronger side
    assert refused["never_link"] == 1


def test_deterministic_evidence_binds_before_probabilistic() -> None:
    types = {1: "loyalty_id", 2: "email", 3: "loyalty_id"}
    edges = [Edge(2, 3, deterministic=False, probability=0.99, records=9), Edge(1, 2)]
    labels, _ = split_component(types, edges, PRIORITIES, LIMITS)
    assert labels[2] == labels[1] and labels[3] != labels[1]


def test_component_within_limits_stays_whole() -> None:
    types = {1: "user_id", 2: "email", 3: "email", 4: "phone", 5: "device_id"}
    edges = [Edge(1, 2), Edge(1, 3), Edge(3, 4), Edge(4, 5)]
    labels, refused = split_component(types, edges, PRIORITIES, LIMITS)
    assert set(labels.values()) == {1} and not refused


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 14), st.integers(0, 14), st.integers(1, 4)),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_split_is_independent_of_edge_order_and_respects_limits(
    raw: list[tuple[int, int, int]], rnd: random.Random
) -> None:
    kinds = list(PRIORITIES)
    types = {n: kinds[n % len(kinds)] for n in range(15)}
    edges = [Edge(a, b, records=r) for a, b, r in raw if a != b]
    labels, _ = split_component(types, edges, PRIORITIES, LIMITS)
    shuffled = [Edge(e.dst, e.src, records=e.records) if rnd.random() < 0.5 else e for e in edges]
    rnd.shuffle(shuffled)
    again, _ = split_component(types, shuffled, PRIORITIES, LIMITS)
    assert groups(labels) == groups(again)
    for group in groups(labels):
        for id_type, limit in LIMITS.items():
            assert sum(1 for n in group if types[n] == id_type) <= limit


def test_different_birth_dates_keep_a_shared_phone_from_joining_two_people() -> None:
    # parent: email 1 (born 1970); child: email 2 (born 2005); both typed the family phone 3
    types = {1: "email", 2: "email", 3: "phone"}
    edges = [Edge(1, 3, records=3), Edge(2, 3, records=1)]
    traits = {
        1: {"date_of_birth": frozenset({"1970-01-01"})},
        2: {"date_of_birth": frozenset({"2005-02-02"})},
    }
    labels, refused = split_component(types, edges, PRIORITIES, LIMITS, node_traits=traits)
    assert groups(labels) == {frozenset({1, 3}), frozenset({2})}
    assert refused == {"trait:date_of_birth": 1}
    same = {1: traits[1], 2: {"date_of_birth": frozenset({"1970-01-01"})}}
    labels, refused = split_component(types, edges, PRIORITIES, LIMITS, node_traits=same)
    assert len(groups(labels)) == 1 and not refused


def test_one_national_id_joins_what_a_mistyped_birth_date_would_keep_apart() -> None:
    # two records of one person: the same national id, a birth date keyed wrong on one
    types = {1: "record", 2: "record"}
    edges = [Edge(1, 2, deterministic=False, probability=0.99)]
    dates = {
        1: {"date_of_birth": frozenset({"1965-06-15"})},
        2: {"date_of_birth": frozenset({"1907-11-20"})},
    }

    def split(ids: tuple[str, str]) -> tuple[set[frozenset[int]], object]:
        traits = {
            n: {**dates[n], CONCLUSIVE: frozenset({f"national_id={i}"})}
            for n, i in zip((1, 2), ids, strict=True)
        }
        labels, refused = split_component(types, edges, PRIORITIES, LIMITS, node_traits=traits)
        return groups(labels), refused

    assert split(("9233472", "9233472")) == ({frozenset({1, 2})}, {})
    assert split(("9233472", "1451137")) == (
        {frozenset({1}), frozenset({2})},
        {"trait:date_of_birth": 1},
    )


def test_a_cluster_holding_a_date_and_its_typo_joins_either_in_any_edge_order() -> None:
    """1 and 2 share a national id (2's birth date is a typo); 3 states the right date and 4
    another person's: 3 joins whichever way the edges run, 4 never does."""
    types = {1: "record", 2: "record", 3: "record", 4: "record"}
    traits = {
        1: {"date_of_birth": frozenset({"1965-06-15"}), CONCLUSIVE: frozenset({"national_id=9"})},
        2: {"date_of_birth": frozenset({"1907-11-20"}), CONCLUSIVE: frozenset({"national_id=9"})},
        3: {"date_of_birth": frozenset({"1965-06-15"})},
        4: {"date_of_birth": frozenset({"1990-01-01"})},
    }
    for order in ((1, 3), (3, 1)):
        edges = [
            Edge(1, 2, records=3),
            Edge(*order, deterministic=False, probability=0.99),
            Edge(2, 4, deterministic=False, probability=0.98),
        ]
        labels, refused = split_component(types, edges, PRIORITIES, LIMITS, node_traits=traits)
        assert groups(labels) == {frozenset({1, 2, 3}), frozenset({4})}, order
        assert refused == {"trait:date_of_birth": 1}


def test_a_shared_national_id_outweighs_given_names_through_a_household_phone() -> None:
    # one person's two records, a name typed differently on one, both with the family phone
    types = {1: "email", 2: "email", 3: "phone"}
    edges = [Edge(1, 3, records=2), Edge(2, 3, records=1)]
    names = {1: {GIVEN_NAMES: frozenset({"samuel"})}, 2: {GIVEN_NAMES: frozenset({"matthew"})}}

    def split(ids: tuple[str, str]) -> set[frozenset[int]]:
        traits = {
            n: {**names[n], CONCLUSIVE: frozenset({f"national_id={i}"})}
            for n, i in zip((1, 2), ids, strict=True)
        }
        labels, _ = split_component(
            types,
            edges,
            PRIORITIES,
            LIMITS,
            node_traits=traits,
            household_shared=frozenset({"phone"}),
            given_name_conflict=0.8,
        )
        return groups(labels)

    assert split(("5538479", "5538479")) == {frozenset({1, 2, 3})}
    assert split(("5538479", "5538480")) == {frozenset({1, 3}), frozenset({2})}


def test_given_names_keep_apart_only_what_a_household_identifier_joins() -> None:
    """Johnny's loyalty id and Steven's e-mail both carry the family phone; neither states a
    birth date the other contradicts, but their given names clearly differ. A shared e-mail
    with a nickname on one record ("Bob" for Robert) is strong evidence and still joins."""
    types = {1: "loyalty_id", 2: "email", 3: "phone", 4: "email"}
    edges = [Edge(1, 3, records=5), Edge(2, 3, records=2), Edge(1, 4, records=1)]
    names = {
        1: {GIVEN_NAMES: frozenset({"johnny"})},
        2: {GIVEN_NAMES: frozenset({"steven", "s/s"})},
        4: {GIVEN_NAMES: frozenset({"bob"})},
    }

    def split(shared: frozenset[str], threshold: float) -> tuple[set[frozenset[int]], object]:
        labels, refused = split_component(
            types,
            edges,
            PRIORITIES,
            LIMITS,
            node_traits=names,
            household_shared=shared,
            given_name_conflict=threshold,
        )
        return groups(labels), refused

    assert split(frozenset({"phone"}), 0.8) == (
        {frozenset({1, 3, 4}), frozenset({2})},
        {"given_name": 1},
    )
    # "J." on Steven's side could be Johnny: no conflict, one profile.
    names[2] = {GIVEN_NAMES: frozenset({"j"})}
    assert split(frozenset({"phone"}), 0.8) == ({frozenset({1, 2, 3, 4})}, {})
    names[2] = {GIVEN_NAMES: frozenset({"steven"})}
    assert split(frozenset(), 0.8)[0] == {frozenset({1, 2, 3, 4})}  # phone not household-shared
    assert split(frozenset({"phone"}), 0.0)[0] == {frozenset({1, 2, 3, 4})}  # guard off
