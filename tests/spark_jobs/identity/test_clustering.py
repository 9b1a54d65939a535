"""Re-clustering only what probabilistic edges touch gives what clustering everything gives."""

from __future__ import annotations

import itertools
import random

import pytest

from lakecdp.identity.constrained import GIVEN_NAMES
from lakecdp.identity.rules import IdentityRules
from spark_jobs.identity.clustering import cluster_graph, recluster_touched

pytestmark = pytest.mark.spark

EDGE_SCHEMA = "src long, dst long, kind string, probability double, records long"
TYPES = ("loyalty_id", "email", "phone", "marketplace_buyer_id")


def random_graph(seed: int) -> tuple[list[tuple[int, str]], list[tuple], list[tuple]]:
    """Small profiles (a loyalty id or not, e-mails, phones) chained at random, and probabilistic
    edges between them, some of which join two loyalty ids (a limit the split must keep)."""
    rng = random.Random(seed)
    nodes: list[tuple[int, str]] = []
    deterministic: list[tuple] = []
    for profile in range(40):
        base = 100 * (profile + 1)
        # One type per node (node ids hash type and value); half the profiles hold a loyalty id.
        members = [(base, "loyalty_id" if rng.random() < 0.5 else rng.choice(TYPES[1:]))]
        members += [(base + k, rng.choice(TYPES[1:])) for k in range(1, rng.randrange(2, 5))]
        nodes.extend(members)
        for (a, _), (b, _) in itertools.pairwise(members):
            deterministic.append((a, b, "deterministic", None, rng.randrange(1, 4)))
    ids = [n for n, _ in nodes]
    probabilistic = [
        (a, b, "probabilistic", round(rng.uniform(0.95, 1.0), 3), 1)
        for a, b in (rng.sample(ids, 2) for _ in range(12))
    ]
    return nodes, deterministic, probabilistic


@pytest.mark.parametrize("seed", [3, 8])
def test_touched_components_only_gives_the_full_result(spark, lake, seed: int) -> None:
    rules = IdentityRules.from_config(lake)
    nodes_rows, det_rows, prob_rows = random_graph(seed)
    nodes = spark.createDataFrame(nodes_rows, "node long, id_type string")
    deterministic = spark.createDataFrame(det_rows, EDGE_SCHEMA)
    probabilistic = spark.createDataFrame(prob_rows, EDGE_SCHEMA)
    every = deterministic.unionByName(probabilistic)
    hubs = spark.createDataFrame([], "node long")

    first = cluster_graph(nodes, deterministic, rules, hubs)
    touched = recluster_touched(first, nodes, every, probabilistic, rules, hubs)
    full = cluster_graph(nodes, every, rules, hubs)

    def partition(result) -> dict[int, int]:  # type: ignore[no-untyped-def]
        return {r.node: r.cluster for r in result.assignments.collect()}

    def splits(result) -> set[tuple[int, str, int]]:  # type: ignore[no-untyped-def]
        return {(r.component, r.refused, r.clusters) for r in result.splits.collect()}

    assert partition(touched) == partition(full)
    assert splits(touched) == splits(full)
    # The case is not trivial: probabilistic edges merged profiles, and some merges broke a
    # limit (two loyalty ids, too many e-mails) that the split kept.
    assert len(set(partition(full).values())) < len(set(partition(first).values()))
    assert any(refused.startswith("limit:") for _, refused, _ in splits(full)), splits(full)


def traits_and_pairs(
    seed: int, nodes: list[tuple[int, str]]
) -> tuple[list[tuple[int, str, str]], list[tuple[int, int]]]:
    """Birth dates and given names on some nodes (some clashing), and a few never-link pairs."""
    rng = random.Random(seed)
    names = ["anna", "anne", "bob", "robert", "wei", "w", "siti", "j*n"]
    traits = []
    for node, _ in nodes:
        if rng.random() < 0.3:
            traits.append((node, "date_of_birth", rng.choice(["1990-01-01", "1985-05-05"])))
        if rng.random() < 0.5:
            traits.append((node, GIVEN_NAMES, rng.choice(names)))
    # Two identifiers of one profile (node // 100): the pair is held together until split.
    same_profile = [(a, b) for (a, _), (b, _) in itertools.pairwise(nodes) if a // 100 == b // 100]
    return traits, rng.sample(same_profile, 6)


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_the_driver_path_clusters_as_the_distributed_path(spark, lake, seed: int) -> None:
    """A small graph is clustered on the driver (no per-shuffle job overhead): every limit,
    never-link pair, trait clash and household name conflict must split it the same way."""
    rules = IdentityRules.from_config(lake)
    assert rules.household_shared, "the test needs a household-shared type (phone)"
    nodes_rows, det_rows, prob_rows = random_graph(seed)
    trait_rows, never_rows = traits_and_pairs(seed, nodes_rows)
    hub = nodes_rows[0][0]
    nodes = spark.createDataFrame(nodes_rows, "node long, id_type string")
    edges = spark.createDataFrame(det_rows + prob_rows, EDGE_SCHEMA)
    hubs = spark.createDataFrame([(hub,)], "node long")
    never = spark.createDataFrame(never_rows, "a long, b long")
    traits = spark.createDataFrame(trait_rows, "node long, trait string, value string")

    distributed = cluster_graph(nodes, edges, rules, hubs, never, traits, driver_max_edges=0)
    on_driver = cluster_graph(nodes, edges, rules, hubs, never, traits, driver_max_edges=10_000)

    def rows(result) -> tuple[set[tuple], set[tuple]]:  # type: ignore[no-untyped-def]
        return (
            {(r.node, r.component, r.cluster) for r in result.assignments.collect()},
            {(r.component, r.refused, r.clusters) for r in result.splits.collect()},
        )

    assert on_driver.rounds == 0 < distributed.rounds
    assert rows(on_driver) == rows(distributed)
    assignments, splits = rows(on_driver)
    assert hub not in {node for node, _, _ in assignments}  # hubs are left out on both paths
    refused = ",".join(reason for _, reason, _ in splits)
    for reason in ("limit:", "trait:", "never_link", "given_name"):
        assert reason in refused, splits
