"""`lakecdp generate`: the synthetic world every other step runs on."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.paths import default_world_dir, world_generator
from lakecdp.cli.render import print_world

app = typer.Typer()


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="People in the world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same world.")] = 7,
    end: Annotated[str, typer.Option(help="Last day of activity (YYYY-MM-DD).")] = "2026-11-01",
    days: Annotated[int, typer.Option(min=1, help="Days of history.")] = 90,
    world: Annotated[Path | None, typer.Option(help="Where events and ground truth go.")] = None,
) -> None:
    """Generate a synthetic APAC world: sources into landing; events and truth kept apart."""
    from lakecdp.cli.progress import progress_bar

    generate_world = world_generator()
    cfg = _config()
    target = world or default_world_dir(cfg)
    with progress_bar("generating customers", customers) as advance:
        summary = generate_world(
            cfg,
            target,
            customers,
            seed=seed,
            end=date.fromisoformat(end),
            days=days,
            progress=advance,
        )
    print_world(summary, seed, target)
