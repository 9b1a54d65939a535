"""Spark jobs: each module reads, transforms (pure functions, unit-tested) and writes Delta."""
