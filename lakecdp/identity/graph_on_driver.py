"""Clustering an identifier graph small enough for one process: components, rule checks, splits.

The Spark path (`spark_jobs.identity.clustering.cluster_graph`) finds the components that break
a rule with a dozen shuffles, each an adaptive-execution job of fixed overhead: on the graph of
a few thousand customers that overhead is most of an identity run. A graph of at most
`identity.driver_components_max_edges` edges is collected and clustered here instead, with the
same checks in the same order and `constrained.split_component` for the splits, so both paths
give the same profiles (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lakecdp.identity.constrained import GIVEN_NAMES, SPECIAL_TRAITS, Edge, split_component
from lakecdp.identity.person_fields import given_names_compatible
from lakecdp.identity.rules import IdentityRules


def smallest_in_component(
    u: np.ndarray, v: np.ndarray, extra_nodes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, label): every node of the edges (u, v) and of `extra_nodes`, sorted, with the
    smallest node of its connected component."""
    parts = [u, v] if extra_nodes is None else [u, v, extra_nodes]
    nodes, index = np.unique(np.concatenate(parts).astype(np.int64), return_inverse=True)
    graph = coo_matrix(
        (np.ones(len(u), dtype=np.int8), (index[: len(u)], index[len(u) : 2 * len(u)])),
        shape=(len(nodes), len(nodes)),
    )
    _, labels = connected_components(graph, directed=False)
    # `nodes` is sorted, so a label's first position holds its component's smallest node.
    _, first = np.unique(labels, return_index=True)
    return nodes, nodes[first][labels]


@dataclass(frozen=True)
class DriverClusters:
    assignments: pd.DataFrame  # node, component, cluster
    splits: pd.DataFrame  # component, refused, clusters (> 1)


def cluster_on_driver(
    nodes: pd.DataFrame,
    support: pd.DataFrame,
    rules: IdentityRules,
    never_link: pd.DataFrame | None = None,
    traits: pd.DataFrame | None = None,
) -> DriverClusters:
    """Profiles for `nodes` (node, id_type; hubs already out) joined by `support` (src, dst,
    deterministic, probability, records; both ends in `nodes`), as `cluster_graph` makes them:
    components named by their smallest node; those that break a limit, hold a never-link pair
    (a, b), hold two values of a single-valued trait or two conflicting given names where a
    household-shared identifier joins them, are split by the greedy pass."""
    node_ids = nodes["node"].to_numpy(np.int64)
    ordered, label = smallest_in_component(
        support["src"].to_numpy(np.int64), support["dst"].to_numpy(np.int64), node_ids
    )
    component_of = pd.Series(label, index=ordered)
    frame = pd.DataFrame(
        {
            "node": node_ids,
            "id_type": nodes["id_type"].to_numpy(),
            "component": component_of.reindex(node_ids).to_numpy(),
        }
    )

    limits = rules.limits
    violating: set[int] = set()
    if limits:
        typed = frame[frame["id_type"].isin(list(limits))]
        counts = typed.groupby(["component", "id_type"]).size().reset_index(name="n")
        over = counts["n"] > counts["id_type"].map(limits)
        violating |= set(counts.loc[over, "component"].tolist())

    pairs = pd.DataFrame({"component": [], "a": [], "b": []}, dtype=np.int64)
    if never_link is not None and len(never_link):
        of = frame[["node", "component"]]
        joined = (
            never_link[["a", "b"]]
            .merge(of.rename(columns={"node": "a", "component": "ca"}), on="a")
            .merge(of.rename(columns={"node": "b", "component": "cb"}), on="b")
        )
        same = joined[joined["ca"] == joined["cb"]]
        pairs = pd.DataFrame({"component": same["ca"], "a": same["a"], "b": same["b"]})
        violating |= set(pairs["component"].tolist())

    held = pd.DataFrame(columns=["node", "trait", "value", "component"])
    if traits is not None and len(traits):
        held = traits.merge(frame[["node", "component"]], on="node")
        plain = held[~held["trait"].isin(list(SPECIAL_TRAITS))]
        values = plain.groupby(["component", "trait"])["value"].nunique()
        violating |= set(values[values > 1].index.get_level_values("component").tolist())
        if rules.household_shared:
            violating |= _name_conflicts(frame, held, rules)

    return _split(frame, support, pairs, held, violating, rules)


def _name_conflicts(frame: pd.DataFrame, held: pd.DataFrame, rules: IdentityRules) -> set[int]:
    """Components a household-shared identifier is part of that hold two given names which
    could not be one person's."""
    shared = set(frame.loc[frame["id_type"].isin(list(rules.household_shared)), "component"])
    names = held[
        (held["trait"] == GIVEN_NAMES) & held["component"].isin(shared) & held["value"].notna()
    ]
    found: set[int] = set()
    for component, values in names.groupby("component")["value"]:
        distinct = sorted(set(values))
        if any(
            not given_names_compatible(a, b, rules.given_name_conflict)
            for i, a in enumerate(distinct)
            for b in distinct[i + 1 :]
        ):
            found.add(int(component))
    return found


def _split(
    frame: pd.DataFrame,
    support: pd.DataFrame,
    pairs: pd.DataFrame,
    held: pd.DataFrame,
    violating: set[int],
    rules: IdentityRules,
) -> DriverClusters:
    cluster = frame["component"].to_numpy().copy()
    split_rows: list[tuple[int, str, int]] = []
    if violating:
        in_violating = frame["component"].isin(list(violating))
        members = frame[in_violating]
        edges = support.merge(
            frame[["node", "component"]].rename(columns={"node": "src"}), on="src"
        )
        edges = edges[edges["component"].isin(list(violating))]
        edges_by = dict(tuple(edges.groupby("component")))
        pairs_by = dict(tuple(pairs.groupby("component")))
        traits_by = dict(tuple(held[held["component"].isin(list(violating))].groupby("component")))
        labels: dict[int, int] = {}
        for component, part in members.groupby("component"):
            node_traits: dict[int, dict[str, frozenset[str]]] = {}
            own_traits = traits_by.get(component)
            rows = [] if own_traits is None else own_traits[["node", "trait", "value"]].to_numpy()
            for node, trait, value in rows:
                mine = node_traits.setdefault(int(node), {})
                mine[trait] = mine.get(trait, frozenset()) | {value}
            own_edges = edges_by.get(component)
            own_pairs = pairs_by.get(component)
            found, refused = split_component(
                dict(zip(part["node"].astype("int64"), part["id_type"], strict=True)),
                []
                if own_edges is None
                else [
                    Edge(int(a), int(b), bool(d), float(p), int(r))
                    for a, b, d, p, r in own_edges[
                        ["src", "dst", "deterministic", "probability", "records"]
                    ].itertuples(index=False)
                ],
                rules.priorities,
                rules.limits,
                []
                if own_pairs is None
                else [(int(a), int(b)) for a, b in own_pairs[["a", "b"]].itertuples(index=False)],
                node_traits,
                rules.household_shared,
                rules.given_name_conflict,
            )
            labels.update(found)
            clusters = len(set(found.values()))
            if clusters > 1:
                reason = ",".join(f"{k}={v}" for k, v in sorted(refused.items()))
                split_rows.append((int(component), reason, clusters))
        cluster[in_violating.to_numpy()] = (
            members["node"].map(labels).to_numpy(np.int64)  # every member has a label
        )
    assignments = pd.DataFrame(
        {
            "node": frame["node"].to_numpy(np.int64),
            "component": frame["component"].to_numpy(np.int64),
            "cluster": cluster.astype(np.int64),
        }
    )
    splits = pd.DataFrame(split_rows, columns=["component", "refused", "clusters"])
    return DriverClusters(assignments, splits)
