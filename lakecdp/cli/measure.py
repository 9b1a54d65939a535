"""`lakecdp measure`: outcomes of decisions, treatment against holdout."""

from __future__ import annotations

from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import print_lift

app = typer.Typer(no_args_is_help=True, help="Measure outcomes of decisions.")


@app.command("lift")
def measure_lift_command(
    experiment: Annotated[str, typer.Option(help="Experiment name (decisioning.experiments).")],
    window_days: Annotated[int, typer.Option(min=1, help="Attribution window after entry.")] = 7,
) -> None:
    """Conversion in treatment against holdout, with a 95% interval of the difference."""
    from lakecdp.kernel.spark import get_spark
    from ml.measure import measure_lift

    cfg = _config()
    lift = measure_lift(get_spark(cfg, "lakecdp-measure"), cfg, experiment, window_days)
    print_lift(lift, experiment, window_days)
