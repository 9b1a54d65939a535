"""Large-star / small-star connected components against a union-find reference."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_jobs.identity.components import connected_components
from tests.spark_jobs.identity.union_find import union_find_components

pytestmark = pytest.mark.spark


def spark_components(  # type: ignore[no-untyped-def]
    spark, edges, nodes=(), *, on_driver: bool = False
) -> dict[int, int]:
    edge_df = spark.createDataFrame(list(edges) or [], "src long, dst long")
    node_df = spark.createDataFrame([(n,) for n in nodes], "node long") if nodes else None
    result = connected_components(edge_df, node_df, driver_max_edges=10_000 if on_driver else 0)
    # Rounds run in Spark unless the graph was labelled on the driver (or has no edge).
    assert (result.rounds > 0) == (not on_driver and any(a != b for a, b in edges))
    return {r.node: r.component for r in result.components.collect()}


def test_long_chain_giant_star_and_isolated_nodes(spark) -> None:
    chain = [(i, i + 1) for i in range(200, 260)]  # a long path converges in few rounds
    star = [(1000, 1000 + i) for i in range(1, 80)]  # a hub with many spokes
    bridge = [(259, 1050)]  # joins the path to the star
    other = [(5, 7), (7, 5), (7, 7), (9, 5)]  # repeats, reversed edges and a self-loop
    edges = chain + star + bridge + other
    got = spark_components(spark, edges, nodes=[42, 5])
    assert got == union_find_components(edges, nodes=[42, 5])
    assert got[1079] == 200 and got[9] == 5 and got[42] == 42
    # A small graph labelled on the driver gets the same labels (smallest node per component).
    assert spark_components(spark, edges, nodes=[42, 5], on_driver=True) == got


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_partition_matches_union_find_and_ignores_input_order(
    spark, edges, rnd: random.Random
) -> None:
    shuffled = [(b, a) if rnd.random() < 0.5 else (a, b) for a, b in edges]
    rnd.shuffle(shuffled)
    expected = union_find_components(edges)
    expected = {n: c for n, c in expected.items() if any(n in e for e in edges if e[0] != e[1])}
    assert spark_components(spark, edges) == expected
    assert spark_components(spark, shuffled) == expected
    assert spark_components(spark, shuffled, on_driver=True) == expected
