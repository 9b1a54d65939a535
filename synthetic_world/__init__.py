"""Deterministic synthetic customer worlds: file sources, Segment events and their ground truth."""

from synthetic_world.world import WorldSummary, generate_world

__all__ = ["WorldSummary", "generate_world"]
