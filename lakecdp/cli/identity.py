"""`lakecdp identity`: stitching, quality against ground truth, splits and ad-hoc resolution."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.paths import default_world_dir
from lakecdp.cli.render import console, print_identity_report, print_identity_run

app = typer.Typer(no_args_is_help=True, help="Identity resolution (stable customer ids).")


@app.command("run")
def identity_run(
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild the graph from all of bronze.")
    ] = False,
    probabilistic: Annotated[
        bool | None,
        typer.Option("--probabilistic/--no-probabilistic", help="Override the configuration."),
    ] = None,
) -> None:
    """Stitch bronze identifiers into profiles with stable customer ids (incremental by default)."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.identity.job import run_identity

    cfg = _config()
    result = run_identity(
        get_spark(cfg, "lakecdp-identity"), cfg, full=full, probabilistic=probabilistic
    )
    print_identity_run(result.mode, result.run_id, result.stats)


@app.command("report")
def identity_report(
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth folder (default: the generated world's).")
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also score deterministic-only.")
    ] = True,
    output: Annotated[Path | None, typer.Option(help="Write the report as JSON here.")] = None,
) -> None:
    """Profiles, guardrail hits and, against ground truth, pairwise precision and recall."""
    import json

    from lakecdp.kernel.spark import get_spark
    from spark_jobs.identity.quality import identity_report as build_report

    cfg = _config()
    truth_dir = truth or default_world_dir(cfg) / "ground_truth"
    if not (truth_dir / "records.csv").exists():
        console.print(f"no ground truth in {truth_dir}: reporting without quality metrics")
        truth_dir = None  # type: ignore[assignment]
    report = build_report(
        get_spark(cfg, "lakecdp-identity-report"), cfg, truth_dir, deterministic_baseline=baseline
    )
    print_identity_report(report)
    target = output or Path(cfg.lakehouse.root) / "identity-report.json"
    target.write_text(json.dumps(report, indent=2, default=str))
    console.print(f"report written to {target}")


@app.command("split")
def identity_split(
    first: Annotated[str, typer.Argument(help="TYPE:VALUE, e.g. email:ann@example.com")],
    second: Annotated[str, typer.Argument(help="TYPE:VALUE that must never share its profile")],
    reason: Annotated[str, typer.Option(help="Why (kept in the merge history).")] = "manual split",
) -> None:
    """Undo an over-merge: the two identifiers never share a profile from the next run on."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.identity.job import add_never_link

    cfg = _config()
    try:
        a, b, holders = add_never_link(
            get_spark(cfg, "lakecdp-identity-split"), cfg, first, second, reason
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"never link {a} and {b} ({reason}); now in: "
        f"{', '.join(sorted(set(holders))) or 'no profile'}"
    )
    console.print(
        "the next `lakecdp identity run` splits them and records it in ops.identity_merges"
    )


@app.command("resolve")
def identity_resolve(
    input_file: Annotated[Path, typer.Argument(help="CSV of person records (read as text).")],
    id_column: Annotated[str, typer.Option("--id-column", help="The record id column.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where record_id,customer_id go.")],
    mapping: Annotated[
        list[str],
        typer.Option("--map", help="COLUMN=TYPE: an identifier type or a person field (repeat)."),
    ],
    probabilistic: Annotated[
        bool, typer.Option("--probabilistic", help="Also match on person fields.")
    ] = False,
    region: Annotated[
        str | None, typer.Option(help="Country for phones without a country code.")
    ] = None,
    market_column: Annotated[
        str | None, typer.Option(help="Column with each row's country.")
    ] = None,
) -> None:
    """Resolve any CSV of person records with the pipeline's rules; writes record_id,customer_id."""
    from lakecdp.kernel.spark import get_spark
    from spark_jobs.identity.resolve import ResolveInputError, resolve_csv

    cfg = _config()
    started = time.monotonic()
    try:
        summary = resolve_csv(
            get_spark(cfg, "lakecdp-identity-resolve"),
            cfg,
            input_file,
            output,
            id_column,
            mapping,
            region=region,
            market_column=market_column,
            probabilistic=probabilistic,
        )
    except ResolveInputError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"{summary.records:,} records -> {summary.profiles:,} profiles in "
        f"{time.monotonic() - started:.1f}s; hubs {summary.hubs}, limit splits "
        f"{summary.limit_splits}, invalid {summary.invalid_by_reason}; written to {output}"
    )
