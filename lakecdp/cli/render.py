"""Console renderers shared by the commands and the demo.

They live apart from the command modules so that the demo prints what the commands print
without importing a command (which is what made `cli -> demo -> cli` a cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from expectations.gates import GateResult
    from lakecdp.cli.dag_runs import DagRun
    from ml.measure import Lift
    from ml.monitor import ModelMonitoring
    from ml.promotion import Evaluation, PromotionDecision
    from ml.train import TrainingResult
    from synthetic_world import WorldSummary

console = Console()


def print_world(summary: WorldSummary, seed: int, target: Path) -> None:
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


def print_lift(lift: Lift, experiment: str, window_days: int) -> None:
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


def print_dag_run(run: DagRun, out: Console) -> None:
    """A DAG run's tasks in the order they ran: state, tries and seconds."""
    table = Table(
        title=f"{run.dag_id} ({run.run_id}): {run.state} in {run.wall_seconds:.1f} s, "
        f"tasks {run.task_seconds:.1f} s, Airflow {run.overhead_seconds:.1f} s"
    )
    table.add_column("task")
    table.add_column("state")
    table.add_column("tries", justify="right")
    table.add_column("seconds", justify="right")
    for task in run.tasks:
        colour = "green" if task.state == "success" else "red"
        table.add_row(
            task.task_id, f"[{colour}]{task.state}[/{colour}]", str(task.tries), f"{task.seconds}"
        )
    out.print(table)


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


def _metric_cells(m: dict[str, float]) -> list[str]:
    return [f"{m[k]:.4f}" for k in ("auc", "pr_auc", "brier", "ece")]


def print_training(result: TrainingResult) -> None:
    table = Table(
        title=f"{result.model}, {result.rows:,} training rows as of {result.as_of:%Y-%m-%d}"
    )
    for col in ("version", "model", "AUC", "PR-AUC", "Brier", "ECE"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for v in result.versions:
        table.add_row(v.version, v.kind, *_metric_cells(v.metrics))
    console.print(table)
    if result.promotion:
        print_promotion(result.promotion)
    elif result.challenger:
        console.print(
            f"{result.model} v{result.challenger} is the challenger: "
            f"`lakecdp model promote {result.model} --version challenger` judges it"
        )


def print_evaluation(result: Evaluation) -> None:
    table = Table(title=f"{result.model} v{result.version} on the {result.evaluation_set}")
    for col in ("AUC", "PR-AUC", "Brier", "ECE", "base rate"):
        table.add_column(col, justify="right")
    table.add_row(*_metric_cells(result.metrics), f"{result.metrics['base_rate']:.3f}")
    console.print(table)
    if result.unused_features:
        console.print(f"features the model does not use: {', '.join(result.unused_features)}")


def print_promotion(p: PromotionDecision) -> None:
    table = Table(title=f"{p.model}: promotion gate")
    for col in ("", "version", "AUC", "PR-AUC", "Brier", "ECE"):
        table.add_column(col, justify="left" if not col else "right")
    table.add_row("challenger", p.challenger_version, *_metric_cells(p.challenger))
    if p.champion is not None:
        table.add_row("champion", p.champion_version or "", *_metric_cells(p.champion))
    console.print(table)
    if p.forced:
        verdict = "[yellow]forced to champion[/]"
    else:
        verdict = "[green]promoted to champion[/]" if p.promoted else "[yellow]not promoted[/]"
    console.print(f"{p.model} v{p.challenger_version}: {verdict} ({p.reason})")


def print_monitoring(results: list[ModelMonitoring]) -> list[str]:
    """One table per monitored champion; returns 'model: names' of what drifted."""
    drifted = []
    for r in results:
        if r.skipped:
            console.print(f"{r.model}: not monitored ({r.skipped})")
            continue
        table = Table(title=f"{r.model} v{r.version} as of {r.as_of:%Y-%m-%d %H:%M}")
        for col in ("kind", "name", "PSI", "bound", "rows", ""):
            table.add_column(col, justify="right" if col in ("PSI", "bound", "rows") else "left")
        for row in r.drift:
            flag = "[red]drifted[/]" if row.drifted else ""
            table.add_row(
                row.kind, row.name, f"{row.psi:.3f}", f"{row.threshold:g}", f"{row.rows:,}", flag
            )
        console.print(table)
        if r.ece is not None:
            console.print(f"calibration on {r.outcomes:,} outcomes: ECE {r.ece:.3f}")
        else:
            console.print("calibration: no decision's label horizon has passed yet")
        if r.drifted:
            drifted.append(f"{r.model}: {', '.join(r.drifted)}")
    return drifted


def print_monitoring_history(name: str, history: Any) -> None:
    newest = history[history["as_of"] == history["as_of"].max()]
    runs = history["as_of"].nunique()
    table = Table(title=f"{name}: newest of {runs} monitoring runs ({newest['as_of'].iloc[0]})")
    for col in ("kind", "name", "PSI / ECE", "bound", "rows", ""):
        table.add_column(col)
    for row in newest.itertuples():
        value = row.value if row.kind == "calibration" else row.psi
        bound = (
            "" if row.threshold != row.threshold or row.threshold is None else f"{row.threshold:g}"
        )
        table.add_row(
            row.kind,
            row.name,
            f"{value:.3f}",
            bound,
            f"{row.rows:,}",
            "drifted" if row.drifted is True else "",
        )
    console.print(table)


def print_backtest(report: dict[str, Any], cutoff: str, horizon_days: int, folds: int) -> None:
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


def print_sync_counts(title: str, counts: dict[str, int]) -> None:
    """A sync's plan or run counts, in the order a run goes: source, plan, delivery."""
    table = Table(title=title)
    table.add_column("")
    table.add_column("rows", justify="right")
    for key in (
        "source_rows",
        "unconsented",
        "invalid",
        "held",
        "insert",
        "update",
        "delete",
        "sent",
        "accepted",
        "rejected",
        "failed",
        "requests",
        "retried_requests",
        "throttled_requests",
        "split_batches",
    ):
        if key in counts:
            table.add_row(key.replace("_", " "), f"{counts[key]:,}")
    console.print(table)
