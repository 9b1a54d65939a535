"""Default locations shared by commands and the demo (kept apart so neither imports the other)."""

from __future__ import annotations

from pathlib import Path

from lakecdp.config import ProjectConfig


def default_world_dir(cfg: ProjectConfig) -> Path:
    """Where `lakecdp generate` writes the synthetic world, and where its ground truth is read."""
    return Path(cfg.lakehouse.root) / "world"
