"""Splitting a connected component that breaks a limit: strongest evidence binds first.

A component that holds two user ids (limit one) or a configured "never link" pair is the graph
saying two people were joined by something they share: the family phone, the home tablet. It is
re-clustered here by a greedy, Kruskal-like pass: edges are taken strongest first
(deterministic before probabilistic, more supporting records first, then higher identifier
priority), and an edge that would give a cluster more identifiers of a type than its limit, or
join a never-link pair, is refused. The shared identifier ends up with the person whose evidence
for it is strongest; the other person keeps everything else.

Person traits on the records refuse edges too: two clusters that state different dates of birth
are two people, and so are two clusters whose given names clearly differ when the edge runs
through an identifier households share (the home phone). A shared e-mail or loyalty id with
"Bob" on one record and "Robert" on another still joins: names only overrule a weak link.
Two clusters that share a conclusive trait (the same national id) are one person whatever
else they disagree on: a birth date or a name typed wrong does not outweigh it.

Components are small once hubs are removed, so this runs per component (in Spark, one
`applyInPandas` group each) and only for components that break a rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lakecdp.identity.person_fields import given_names_conflict

GIVEN_NAMES = "given_names"  # the trait holding given-name candidates, compared fuzzily
# The trait holding "field=value" of conclusive traits (a national id): clusters that share one
# are one person whatever else they disagree on (a birth date typed wrong).
CONCLUSIVE = "conclusive"
SPECIAL_TRAITS = frozenset({GIVEN_NAMES, CONCLUSIVE})


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int
    deterministic: bool = True
    probability: float = 1.0
    records: int = 1


def edge_order(
    edge: Edge, priority: Mapping[int, int]
) -> tuple[int, float, int, int, int, int, int]:
    high = max(priority[edge.src], priority[edge.dst])
    low = min(priority[edge.src], priority[edge.dst])
    return (
        0 if edge.deterministic else 1,
        -edge.probability,
        -edge.records,
        -high,
        -low,
        min(edge.src, edge.dst),
        max(edge.src, edge.dst),
    )


def split_component(
    node_types: Mapping[int, str],
    edges: Iterable[Edge],
    priorities: Mapping[str, int],
    limits: Mapping[str, int],
    never_link: Iterable[tuple[int, int]] = (),
    node_traits: Mapping[int, Mapping[str, frozenset[str]]] | None = None,
    household_shared: frozenset[str] = frozenset(),
    given_name_conflict: float = 0.0,
) -> tuple[dict[int, int], Counter[str]]:
    """Cluster label (smallest node of its cluster) per node, and refused edges by reason.

    `node_traits` holds single-valued person traits seen on each node's records (a date of
    birth): two clusters whose values for a trait differ are two people and are not joined.
    Its `GIVEN_NAMES` trait holds given-name candidates instead: an edge touching a node of a
    `household_shared` type is refused when the two clusters' names conflict at
    `given_name_conflict` (see `person_fields.given_names_conflict`). Its `CONCLUSIVE` trait
    holds "field=value" of conclusive traits: clusters sharing one skip both checks.
    """
    parent = {node: node for node in node_types}
    traits: dict[int, dict[str, frozenset[str]]] = {
        node: dict((node_traits or {}).get(node, {})) for node in node_types
    }
    counts = {node: Counter({id_type: 1}) for node, id_type in node_types.items()}
    members: dict[int, set[int]] = {node: {node} for node in node_types}
    forbidden: dict[int, set[int]] = {}
    for a, b in never_link:
        if a in parent and b in parent:
            forbidden.setdefault(a, set()).add(b)
            forbidden.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    priority = {node: priorities.get(t, 0) for node, t in node_types.items()}
    refused: Counter[str] = Counter()
    for edge in sorted(edges, key=lambda e: edge_order(e, priority)):
        ra, rb = find(edge.src), find(edge.dst)
        if ra == rb:
            continue
        merged = counts[ra] + counts[rb]
        over = sorted(t for t, n in merged.items() if t in limits and n > limits[t])
        if over:
            refused.update(f"limit:{t}" for t in over)
            continue
        none: frozenset[str] = frozenset()
        conclusive = bool(traits[ra].get(CONCLUSIVE, none) & traits[rb].get(CONCLUSIVE, none))
        # A clash: both state the trait and neither's values include the other's (a cluster
        # that a conclusive trait joined may hold a birth date and its typo).
        clash = sorted(
            t
            for t, v in traits[ra].items()
            if t not in SPECIAL_TRAITS
            and t in traits[rb]
            and not (v <= traits[rb][t] or traits[rb][t] <= v)
        )
        if clash and not conclusive:
            refused.update(f"trait:{t}" for t in clash)
            continue
        if (
            not conclusive
            and given_name_conflict
            and (
                node_types[edge.src] in household_shared or node_types[edge.dst] in household_shared
            )
            and given_names_conflict(
                traits[ra].get(GIVEN_NAMES, ()),
                traits[rb].get(GIVEN_NAMES, ()),
                given_name_conflict,
            )
        ):
            refused["given_name"] += 1
            continue
        small, large = (ra, rb) if len(members[ra]) <= len(members[rb]) else (rb, ra)
        if any(forbidden.get(n, set()) & members[large] for n in members[small]):
            refused["never_link"] += 1
            continue
        parent[small] = large
        counts[large] = merged
        for t, v in traits.pop(small).items():
            traits[large][t] = traits[large].get(t, frozenset()) | v
        members[large] |= members.pop(small)
        counts.pop(small)
    labels = {root: min(nodes) for root, nodes in members.items()}
    return {node: labels[find(node)] for node in node_types}, refused
