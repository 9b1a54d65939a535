"""What the demo shows of the unified profiles: one rich profile and the audience sizes."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from rich.console import Console
from rich.table import Table

from lakecdp.kernel.config import PROFILE_TRAITS, ProjectConfig
from lakecdp.kernel.delta import Lakehouse

AUDIENCES = ("aud_cart_abandoners_24h", "aud_high_value_lapsing", "aud_new_app_users_no_purchase")


def _gold(spark: SparkSession, config: ProjectConfig, table: str) -> Any:
    return Lakehouse(spark, config).table("gold", table).read()


def sample_profile(spark: SparkSession, config: ProjectConfig) -> dict[str, Any] | None:
    """The profile stitched from the most sources (then the most identifiers), as a dict."""
    rows = (
        _gold(spark, config, "dim_customers")
        .orderBy(
            F.size("seen_in_sources"),
            "identifier_count",
            "customer_id",
            ascending=[False, False, True],
        )
        .limit(1)
        .collect()
    )
    return rows[0].asDict(recursive=True) if rows else None


def audience_sizes(spark: SparkSession, config: ProjectConfig) -> dict[str, int]:
    return {name: _gold(spark, config, name).count() for name in AUDIENCES}


def print_profile(profile: dict[str, Any], config: ProjectConfig, console: Console) -> None:
    table = Table(title=f"Unified profile {profile['customer_id']}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("market", str(profile["market"]))
    table.add_row("seen in", ", ".join(profile["seen_in_sources"] or []))
    table.add_row("first / last seen", f"{profile['first_seen_at']} / {profile['last_seen_at']}")
    for id_type in config.identifier_types:
        values = profile.get(f"{id_type}s") or []
        if values:
            table.add_row(id_type, ", ".join(values))
    for trait in PROFILE_TRAITS:
        if profile.get(trait) is not None:
            table.add_row(
                trait, f"{profile[trait]}  [dim](from {profile[f'{trait}_source']})[/dim]"
            )
    consents = [
        f"{purpose}/{channel}: {profile[f'consent_{purpose}_{channel}']}"
        for purpose in config.consent.purposes
        for channel in config.consent.channels
        if profile[f"consent_{purpose}_{channel}"] != "unknown"
    ]
    table.add_row("consent", "; ".join(consents) or "none given")
    console.print(table)
