"""The synthetic world as commands and the demo find it (kept apart so neither imports the
other): where it goes, and its generator, an optional extra of the platform."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakecdp.kernel.config import ProjectConfig


def default_world_dir(cfg: ProjectConfig) -> Path:
    """Where `lakecdp generate` writes the synthetic world, and where its ground truth is read."""
    return Path(cfg.lakehouse.root) / "world"


def world_generator() -> Callable[..., Any]:
    """`synthetic_world.generate_world`, or a clear error when the demo extra is not installed
    (the generator is demo and test tooling, not a dependency of the runtime)."""
    try:
        from synthetic_world import generate_world
    except ModuleNotFoundError as exc:
        raise SystemExit(
            f"the synthetic world generator needs the `demo` extra ({exc.name} is missing): "
            "`make install`, `uv sync --extra demo` or `pip install 'lakecdp[demo]'`"
        ) from exc
    return generate_world
