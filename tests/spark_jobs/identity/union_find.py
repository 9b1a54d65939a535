"""A plain union-find: the reference partition the Spark components job is checked against."""

from __future__ import annotations

from collections.abc import Iterable


def union_find_components(
    edges: Iterable[tuple[int, int]], nodes: Iterable[int] = ()
) -> dict[int, int]:
    """node -> smallest node id of its component."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    for node in nodes:
        find(node)
    return {node: find(node) for node in list(parent)}
