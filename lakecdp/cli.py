"""`lakecdp`: one command line for every step. Make targets and Airflow tasks call these."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from lakecdp.config import ConfigError, ProjectConfig, load_config

if TYPE_CHECKING:
    from expectations.gates import GateResult

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
collect_app = typer.Typer(no_args_is_help=True, help="Segment-compatible event collector.")
ingest_app = typer.Typer(no_args_is_help=True, help="Bronze ingestion (batch and micro-batch).")
app.add_typer(collect_app, name="collect")
identity_app = typer.Typer(no_args_is_help=True, help="Identity resolution (stable customer ids).")
app.add_typer(ingest_app, name="ingest")
app.add_typer(identity_app, name="identity")
features_app = typer.Typer(no_args_is_help=True, help="Feast features (feature_repo/).")
app.add_typer(features_app, name="features")
model_app = typer.Typer(no_args_is_help=True, help="Purchase-propensity models in MLflow (ml/).")
app.add_typer(model_app, name="model")
measure_app = typer.Typer(no_args_is_help=True, help="Measure outcomes of decisions.")
app.add_typer(measure_app, name="measure")
sql_app = typer.Typer(
    no_args_is_help=True, help="SQL access for analysts on the shared catalog (docs/catalog.md)."
)
app.add_typer(sql_app, name="sql")
console = Console()

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Project configuration (lakecdp.yaml).")
]


class _State:
    config_path: Path | None = None
    verbose: bool = False
    command: str = "lakecdp"
    log_started: bool = False


def _config() -> ProjectConfig:
    try:
        config = load_config(_State.config_path)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not _State.log_started:
        from lakecdp import run_log

        run_log.start(config.lakehouse.root, _State.command, verbose=_State.verbose)
        _State.log_started = True
    return config


@app.callback()
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Spark, dbt and library logs on the console, not in a file."
        ),
    ] = False,
) -> None:
    _State.config_path = config
    _State.verbose = verbose
    _State.command = ctx.invoked_subcommand or "lakecdp"


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="People in the world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same world.")] = 7,
    end: Annotated[str, typer.Option(help="Last day of activity (YYYY-MM-DD).")] = "2026-11-01",
    days: Annotated[int, typer.Option(min=1, help="Days of history.")] = 90,
    world: Annotated[Path | None, typer.Option(help="Where events and ground truth go.")] = None,
) -> None:
    """Generate a synthetic APAC world: sources into landing; events and truth kept apart."""
    from lakecdp.generate import generate_world
    from lakecdp.progress import progress_bar

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
    table = Table(title=f"world of {summary.customers:,} customers (seed {seed})")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("events (lines)", f"{summary.events:,}")
    for name, rows in summary.rows.items():
        table.add_row(f"source {name}", f"{rows:,}")
    for kind, count in sorted(summary.noise.items()):
        table.add_row(f"noise: {kind}", f"{count:,}")
    console.print(table)
    console.print(f"events and ground truth in {target}; summary in {summary.paths['summary']}")


def default_world_dir(cfg: ProjectConfig) -> Path:
    return Path(cfg.lakehouse.root) / "world"


@collect_app.command("serve")
def collect_serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start the HTTP collector (Segment Tracking API) on the configured host and port."""
    from lakecdp.collector.app import serve

    cfg = _config()
    console.print(
        f"collector listening on http://{host or cfg.collector.host}:{port or cfg.collector.port}"
    )
    serve(cfg, host, port)


@collect_app.command("send")
def collect_send(
    files: Annotated[list[Path], typer.Argument(help="JSONL files or folders of them.")],
    url: Annotated[str | None, typer.Option(help="Collector base URL.")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    historical: Annotated[
        bool,
        typer.Option(
            "--historical/--live",
            help="Replaying recorded history: drop sentAt so events keep their own time.",
        ),
    ] = False,
) -> None:
    """Send JSONL Segment messages to a collector over HTTP, batched and retried."""
    from lakecdp.collector.sender import send_files

    cfg = _config()
    paths = expand_jsonl(files)
    stats = send_files(
        paths,
        url or f"http://{cfg.collector.host}:{cfg.collector.port}",
        {source: key for key, source in cfg.collector.write_keys.items()},
        concurrency=concurrency,
        historical=historical,
    )
    console.print(stats)
    if stats.failed_requests:
        raise typer.Exit(1)


def expand_jsonl(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return out


@ingest_app.command("batch")
def ingest_batch(
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these.")] = None,
) -> None:
    """Ingest new files of every declared source into bronze; rerunning is a no-op."""
    from lakecdp.spark import get_spark
    from spark_jobs.ingest.batch import run_batch_ingest

    cfg = _config()
    started = time.monotonic()
    spark = get_spark(cfg, "lakecdp-ingest-batch")
    try:
        results = run_batch_ingest(spark, cfg, source)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    for result in results:
        console.print(result)
    console.print(f"batch ingestion took {time.monotonic() - started:.1f}s")


@ingest_app.command("stream")
def ingest_stream(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Process what has landed, then stop.")
    ] = False,
    trigger_seconds: Annotated[float | None, typer.Option(help="Micro-batch interval.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Micro-batch the collector's landing zone into bronze.events (exactly once)."""
    from lakecdp.spark import get_spark
    from spark_jobs.ingest.stream import StreamOptions, run_streams

    cfg = _config()
    spark = get_spark(cfg, "lakecdp-ingest-stream")
    run_streams(spark, cfg, StreamOptions(available_now, trigger_seconds, timeout))


@ingest_app.command("decisions")
def ingest_decisions_command() -> None:
    """Sealed decision-log segments into bronze.decisions (merged on decision_id)."""
    from lakecdp.spark import get_spark
    from spark_jobs.ingest.decisions import ingest_decisions

    cfg = _config()
    counts = ingest_decisions(get_spark(cfg, "lakecdp-ingest-decisions"), cfg)
    console.print(
        f"bronze.decisions: {counts['decisions']:,} new; quarantined {counts['quarantined']:,}"
    )


@measure_app.command("lift")
def measure_lift_command(
    experiment: Annotated[str, typer.Option(help="Experiment name (decisioning.experiments).")],
    window_days: Annotated[int, typer.Option(min=1, help="Attribution window after entry.")] = 7,
) -> None:
    """Conversion in treatment against holdout, with a 95% interval of the difference."""
    from lakecdp.spark import get_spark
    from ml.measure import measure_lift

    cfg = _config()
    lift = measure_lift(get_spark(cfg, "lakecdp-measure"), cfg, experiment, window_days)
    low, high = lift.interval
    table = Table(title=f"{experiment}: orders within {window_days} days of the first decision")
    for col in ("arm", "customers", "converted", "rate"):
        table.add_column(col, justify="left" if col == "arm" else "right")
    table.add_row(
        "treatment",
        f"{lift.treatment_customers:,}",
        f"{lift.treatment_conversions:,}",
        f"{lift.treatment_rate:.2%}",
    )
    table.add_row(
        "holdout",
        f"{lift.holdout_customers:,}",
        f"{lift.holdout_conversions:,}",
        f"{lift.holdout_rate:.2%}",
    )
    console.print(table)
    console.print(
        f"lift {lift.difference:+.2%} (95% CI {low:+.2%} to {high:+.2%}), "
        f"relative {lift.relative_lift:+.1%}"
    )


@identity_app.command("run")
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
    from lakecdp.spark import get_spark
    from spark_jobs.identity.job import run_identity

    cfg = _config()
    result = run_identity(
        get_spark(cfg, "lakecdp-identity"), cfg, full=full, probabilistic=probabilistic
    )
    print_identity_run(result.mode, result.run_id, result.stats)


def print_identity_run(mode: str, run_id: str, stats: dict) -> None:  # type: ignore[type-arg]
    table = Table(title=f"identity run {run_id} ({mode})")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in (
        "observations_read",
        "new_observations",
        "new_edges",
        "scope_identifiers",
        "identifiers",
        "customers",
        "hubs",
        "limit_splits",
        "cc_rounds",
        "seconds",
    ):
        if key in stats:
            table.add_row(
                key.replace("_", " "),
                f"{stats[key]:,}" if isinstance(stats[key], int) else str(stats[key]),
            )
    for action, count in sorted(stats.get("changes", {}).items()):
        table.add_row(f"profiles {action}d", f"{count:,}")
    for reason, count in sorted(stats.get("invalid_by_reason", {}).items()):
        table.add_row(f"excluded {reason}", f"{count:,}")
    prob = stats.get("probabilistic")
    if prob:
        table.add_row("probabilistic edges", f"{prob.get('edges', 0):,}")
    if "note" in stats:
        table.add_row("note", stats["note"])
    console.print(table)


@identity_app.command("report")
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

    from lakecdp.spark import get_spark
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


def print_identity_report(report: dict) -> None:  # type: ignore[type-arg]
    console.print(
        f"{report['identifiers']:,} identifiers in {report['profiles']:,} profiles; "
        f"guardrails: {report['guardrails']}; history: {report['merge_history']}"
    )
    for name in ("quality", "quality_deterministic_only"):
        if name not in report:
            continue
        table = Table(title=name.replace("_", " "))
        for col in (
            "records",
            "people",
            "profiles",
            "precision",
            "recall",
            "f1",
            "over-merged people",
            "under-merged people",
        ):
            table.add_column(col, justify="right")
        table.add_column("scope")
        for scope, m in report[name].items():
            if scope == "identifiers_per_profile":
                continue
            table.add_row(
                f"{m['records']:,}",
                f"{m['people']:,}",
                f"{m['profiles']:,}",
                f"{m['precision']:.4f}",
                f"{m['recall']:.4f}",
                f"{m['f1']:.4f}",
                f"{m['over_merged_people']:,}",
                f"{m['under_merged_people']:,}",
                scope,
            )
        console.print(table)
        console.print(f"identifiers per profile: {report[name]['identifiers_per_profile']}")


@identity_app.command("split")
def identity_split(
    first: Annotated[str, typer.Argument(help="TYPE:VALUE, e.g. email:ann@example.com")],
    second: Annotated[str, typer.Argument(help="TYPE:VALUE that must never share its profile")],
    reason: Annotated[str, typer.Option(help="Why (kept in the merge history).")] = "manual split",
) -> None:
    """Undo an over-merge: the two identifiers never share a profile from the next run on."""
    from lakecdp.spark import get_spark
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


@identity_app.command("resolve")
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
    from lakecdp.spark import get_spark
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


@app.command(
    "dbt",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def dbt_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="End of audience and metric windows: now, latest or an ISO time."
        ),
    ] = None,
) -> None:
    """Run dbt (build, run, test, docs generate, ...) in the platform's Spark session.

    Example: `lakecdp dbt build`, `lakecdp dbt build --select marts.audiences`.
    """
    from lakecdp.dbt_runner import DbtFailed, run_dbt

    if not ctx.args:
        console.print("[red]give a dbt command, e.g. `lakecdp dbt build`[/red]")
        raise typer.Exit(2)
    try:
        run = run_dbt(_config(), list(ctx.args), as_of=as_of)
    except DbtFailed as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"dbt {' '.join(ctx.args)}: {len(run.nodes)} nodes in {run.seconds:.0f} s")


@app.command()
def status() -> None:
    """Rows per lakehouse table and quarantined records by reason."""
    from lakecdp.report import print_lakehouse_summary
    from lakecdp.spark import get_spark

    cfg = _config()
    print_lakehouse_summary(get_spark(cfg, "lakecdp-status"), cfg, console)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=100)] = 5000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """End to end on embedded defaults: every layer on a synthetic world, with a step table."""
    from lakecdp import run_log
    from lakecdp.demo import run_demo
    from lakecdp.pipeline import StepFailed

    cfg = _config()
    try:
        run_demo(cfg, customers=customers, seed=seed, console=console)
    except StepFailed as failed:
        logging.getLogger("lakecdp.demo").error("step %r failed", failed.step, exc_info=failed)
        console.print(
            f"[red]✗ step '{failed.step}' failed:[/red] {failed.error}\n"
            f"  finished: {', '.join(failed.completed) or 'none'}\n"
            f"  full log: {run_log.current().describe()}"
        )
        raise typer.Exit(1) from None


AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="now, latest (newest event or order) or an ISO time."),
]


@features_app.command("build")
def features_build(as_of: AsOfOption = None) -> None:
    """Feature tables from gold and silver: snapshots, activity, identifier lookup."""
    from lakecdp.spark import get_spark
    from spark_jobs.features.job import FeatureInputMissing, build_feature_tables

    cfg = _config()
    try:
        built = build_feature_tables(get_spark(cfg, "lakecdp-features"), cfg, as_of)
    except FeatureInputMissing as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"features as of {built.as_of:%Y-%m-%d %H:%M}: {built.rows}")


@features_app.command("apply")
def features_apply() -> None:
    """Register the feature repository's definitions for this lakehouse."""
    from lakecdp.features import apply_definitions

    store = apply_definitions(_config())
    console.print(f"applied {len(store.list_feature_views())} feature views to {store.repo_path}")


@features_app.command("materialize")
def features_materialize() -> None:
    """Copy what changed since the last run into the online store (incremental)."""
    from lakecdp.features import materialize
    from lakecdp.spark import get_spark

    cfg = _config()
    done = materialize(get_spark(cfg, "lakecdp-materialize"), cfg)
    console.print(f"materialized {', '.join(done.views)} up to {done.end:%Y-%m-%d %H:%M} UTC")


@features_app.command("push")
def features_push(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Push what is in bronze, then stop.")
    ] = False,
    trigger_seconds: Annotated[float | None, typer.Option(min=0.1)] = None,
) -> None:
    """Micro-batch: new bronze.events -> customers' recent activity -> the online store."""
    from lakecdp.spark import get_spark
    from spark_jobs.features.activity_push import run_activity_push

    cfg = _config()
    stats = run_activity_push(
        get_spark(cfg, "lakecdp-push"),
        cfg,
        available_now=available_now,
        trigger_seconds=trigger_seconds,
    )
    console.print(f"pushed activity of {stats.customers:,} customers in {stats.batches} batches")


@model_app.command("train")
def model_train(as_of: AsOfOption = None) -> None:
    """Train, log and register the models; promote the best if it beats the champion."""
    from lakecdp.spark import get_spark
    from ml.train import train_from_lakehouse
    from ml.training_set import NotEnoughHistory

    cfg = _config()
    try:
        result = train_from_lakehouse(get_spark(cfg, "lakecdp-train"), cfg, as_of)
    except NotEnoughHistory as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print_training(result)


def print_training(result) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"purchase propensity, {result.rows:,} training rows")
    for col in ("version", "model", "AUC", "PR-AUC", "Brier", "ECE"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for v in result.versions:
        m = v.metrics
        table.add_row(
            v.version,
            v.kind,
            f"{m['auc']:.4f}",
            f"{m['pr_auc']:.4f}",
            f"{m['brier']:.4f}",
            f"{m['ece']:.4f}",
        )
    console.print(table)
    if result.promotion:
        p = result.promotion
        verdict = "[green]promoted to champion[/]" if p.promoted else "[yellow]not promoted[/]"
        console.print(f"challenger v{p.challenger_version}: {verdict} ({p.reason})")


@model_app.command("backtest")
def model_backtest(
    transactions: Annotated[Path, typer.Option("--transactions", help="CSV, one row an order.")],
    customer_column: Annotated[str, typer.Option("--customer-column")],
    time_column: Annotated[str, typer.Option("--time-column")],
    cutoff: Annotated[str, typer.Option(help="Features before, labels after (ISO date).")],
    amount_column: Annotated[str | None, typer.Option("--amount-column")] = None,
    horizon_days: Annotated[int, typer.Option("--horizon-days", min=1)] = 30,
    folds: Annotated[int, typer.Option(min=2)] = 5,
    time_format: Annotated[
        str | None, typer.Option(help="Spark datetime pattern, e.g. 'M/d/yyyy H:mm'.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSON report.")] = None,
) -> None:
    """Repeat-purchase backtest on any transaction log: our models against recency,
    frequency and BG/NBD, k-fold on held-out customers (AUC, PR-AUC, Brier)."""
    import json

    from lakecdp.spark import get_spark
    from ml.backtest import BacktestInputError, TransactionColumns, run_backtest

    cfg = _config()
    if not transactions.exists():
        console.print(f"[red]no such file: {transactions}[/red]")
        raise typer.Exit(2)
    try:
        report = run_backtest(
            get_spark(cfg, "lakecdp-backtest"),
            str(transactions.resolve()),
            TransactionColumns(customer_column, time_column, amount_column, time_format),
            cutoff=datetime.fromisoformat(cutoff),
            horizon_days=horizon_days,
            folds=folds,
            seed=cfg.models.seed,
        )
    except BacktestInputError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    stats = report["input"]
    console.print(
        f"{stats['rows']:,} rows; dropped: {stats['missing_customer']:,} without customer, "
        f"{stats['unparsable_time']:,} with an unparsable time; {report['customers']:,} "
        f"customers bought before {cutoff}, {report['repeat_rate']:.1%} again within "
        f"{horizon_days} days"
    )
    table = Table(title=f"backtest, {folds}-fold on held-out customers")
    for col in ("method", "AUC", "PR-AUC", "Brier", "ECE"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, m in report["methods"].items():
        table.add_row(
            method, f"{m['auc']:.4f}", f"{m['pr_auc']:.4f}", f"{m['brier']:.4f}", f"{m['ece']:.4f}"
        )
    console.print(table)
    console.print(
        f"best model {report['best_model']}: AUC {report['best_model_auc_minus_bg_nbd']:+.4f} "
        "against BG/NBD"
    )
    if output:
        output.write_text(json.dumps(report, indent=2))
        console.print(f"written to {output}")


@app.command("serve")
def serve_decisions(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """The decision endpoint: POST /v1/decide, /health, /metrics, /docs."""
    from ml.serving.app import serve

    cfg = _config()
    console.print(
        f"decisions on http://{host or cfg.decisioning.host}:{port or cfg.decisioning.port}"
    )
    serve(cfg, host, port)


@sql_app.command("serve")
def sql_serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default sql.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default sql.port, 10000).")] = None,
) -> None:
    """HiveServer2 endpoint (JDBC jdbc:hive2://HOST:PORT) until Ctrl-C; new tables appear."""
    from lakecdp.sql_server import SqlAccessError, serve

    try:
        serve(_config(), host, port, log=lambda line: console.print(line, markup=False))
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


@sql_app.command("init-metastore")
def sql_init_metastore() -> None:
    """Create the Hive metastore schema in PostgreSQL once (skipped when it is there)."""
    from lakecdp.sql_server import SqlAccessError, init_metastore, sql_config

    try:
        cfg = sql_config(_config())
        created = init_metastore(cfg)
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    state = "created" if created else "already there"
    console.print(f"metastore schema in {cfg.catalog.metastore_url}: {state}")


@sql_app.command("shell")
def sql_shell(
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one query and exit.")
    ] = None,
) -> None:
    """`spark-sql` on the shared catalog (its own Spark driver; no server needed)."""
    import subprocess
    import tempfile

    from lakecdp.sql_server import SqlAccessError, init_metastore, shell_command

    cfg = _config()
    try:
        init_metastore(cfg)
        with tempfile.TemporaryDirectory(prefix="lakecdp-sql-shell-") as workdir:
            code = subprocess.call(shell_command(cfg, Path(workdir), execute))
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@sql_app.command("beeline")
def sql_beeline(
    execute: Annotated[
        str | None, typer.Option("--execute", "-e", help="Run one query (CSV out) and exit.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="JDBC URL (default from sql.*).")] = None,
) -> None:
    """Hive's beeline client (from pyspark's jars) connected to the SQL endpoint."""
    import subprocess

    from lakecdp.sql_server import SqlAccessError, beeline_command

    try:
        command = beeline_command(_config(), url, execute)
    except SqlAccessError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    raise typer.Exit(subprocess.call(command))


@app.command()
def gate(
    stage: Annotated[str, typer.Argument(help="Stage to check: bronze, identity or gold.")],
) -> None:
    """Quality gate (Great Expectations): exit 1 naming each failed expectation and table."""
    from expectations.gates import GateFailed, run_gate
    from lakecdp.spark import get_spark

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


def print_gate(result: GateResult) -> None:
    """One row per table: expectations met, and the rules that failed."""
    status = "passed" if result.success else "FAILED"
    table = Table(title=f"quality gate {result.stage}: {status} in {result.seconds:.1f}s")
    table.add_column("table")
    table.add_column("met", justify="right")
    table.add_column("failed")
    for name, (met, total) in result.by_table().items():
        failed = sorted({o.rule for o in result.failures if o.table == name})
        table.add_row(name, f"{met}/{total}", ", ".join(failed))
    for note in result.skipped:
        table.add_row(note, "-", "skipped")
    console.print(table)
    console.print(f"data docs: {result.data_docs}", markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
