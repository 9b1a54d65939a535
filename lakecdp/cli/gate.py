"""`lakecdp gate STAGE`: the quality gate between pipeline stages."""

from __future__ import annotations

from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console, print_gate

app = typer.Typer()


@app.command()
def gate(
    stage: Annotated[str, typer.Argument(help="Stage to check: bronze, identity or gold.")],
) -> None:
    """Quality gate (Great Expectations): exit 1 naming each failed expectation and table."""
    from expectations.gates import GateFailed, run_gate
    from lakecdp.kernel.spark import get_spark

    cfg = _config()
    try:
        result = run_gate(get_spark(cfg, f"lakecdp-gate-{stage}"), cfg, stage)
    except GateFailed as exc:
        print_gate(exc.result)
        console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    print_gate(result)
