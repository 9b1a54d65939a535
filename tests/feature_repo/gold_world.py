"""A tiny gold/silver lakehouse written as Delta at its locations: the inputs of the feature
tables, without running identity and dbt (those have their own tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import SparkSession

from lakecdp.kernel.config import ProjectConfig

AS_OF = datetime(2026, 10, 31, 12, 0, 0)
CONSENT_COLUMNS = ("marketing", "personalization", "analytics")


def ago(days: float = 0, minutes: float = 0) -> datetime:
    return AS_OF - timedelta(days=days, minutes=minutes)


def _save(spark: SparkSession, config: ProjectConfig, layer: str, table: str, rows, schema) -> None:  # type: ignore[no-untyped-def]
    spark.createDataFrame(rows, schema).write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).save(config.table_path(layer, table))


def consent_row(config: ProjectConfig, granted: set[str]) -> list[str]:
    """Consent column values in the config's purpose x channel order: granted or denied."""
    return [
        "granted" if f"{p}_{c}" in granted else "denied"
        for p in config.consent.purposes
        for c in config.consent.channels
    ]


def write_gold_world(spark: SparkSession, config: ProjectConfig, history: int = 0) -> None:
    """Customers:
    - cus_a: buys every ~10 days (orders up to 3 days ago), consents to marketing email/push
    - cus_b: bought twice long ago, open cart 10 minutes ago, consents to everything
    - cus_c: never bought, denies everything
    - cus_old -> retired into cus_a (a merge)
    - `history` more (cus_00000 ...) with `order_history`, consenting to everything, e-mail
      h<i>@example.com: enough buyers and non-buyers to train on
    """
    orders = [("cus_a", ago(days=d), 40.0 + d) for d in (3, 13, 23, 33, 43, 53, 63, 73)]
    orders += [("cus_b", ago(days=120), 200.0), ("cus_b", ago(days=100), 150.0)]
    orders += [("cus_a", ago(days=-2), 55.0)]  # after the as-of time: a label, not a feature
    orders += order_history(history, seed=3)
    others = sorted({c for c, _, _ in orders} - {"cus_a", "cus_b", "cus_c"})
    _save(
        spark,
        config,
        "gold",
        "fct_orders",
        [(f"o{i}", c, "web", t, a, "USD") for i, (c, t, a) in enumerate(orders)],
        "order_key string, customer_id string, channel string, ordered_at timestamp, "
        "amount_reporting double, currency string",
    )
    events = [
        ("e1", "cus_b", "product_viewed", "app", ago(minutes=12)),
        ("e2", "cus_b", "product_added", "app", ago(minutes=10)),
        ("e3", "cus_a", "product_viewed", "web", ago(days=3, minutes=5)),
        ("e4", "cus_c", "product_viewed", "web", ago(days=1)),
    ]
    _save(
        spark,
        config,
        "gold",
        "fct_events",
        events,
        "event_id string, customer_id string, event_name string, channel string, "
        "occurred_at timestamp",
    )
    consent_cols = [
        f"consent_{p}_{c}" for p in config.consent.purposes for c in config.consent.channels
    ]
    everything = {f"{p}_{c}" for p in config.consent.purposes for c in config.consent.channels}
    profiles = [
        ("cus_a", "SG", *consent_row(config, {"marketing_email", "marketing_push"}), AS_OF),
        ("cus_b", "MY", *consent_row(config, everything), AS_OF),
        ("cus_c", "TH", *consent_row(config, set()), AS_OF),
        *((c, "SG", *consent_row(config, everything), AS_OF) for c in others),
    ]
    _save(
        spark,
        config,
        "gold",
        "dim_customers",
        profiles,
        "customer_id string, market string, "
        + ", ".join(f"{c} string" for c in consent_cols)
        + ", _built_at timestamp",
    )
    id_map = [
        ("email", "alice@example.com", "cus_a"),
        ("phone", "+6591234567", "cus_a"),
        ("device_id", "dev-b", "cus_b"),
        ("email", "carol@example.com", "cus_c"),
        *(("email", f"h{c.removeprefix('cus_')}@example.com", c) for c in others),
    ]
    _save(
        spark,
        config,
        "silver",
        "id_map",
        [(i, t, v, c, ago(days=1)) for i, (t, v, c) in enumerate(id_map)],
        "node long, id_type string, value string, customer_id string, updated_at timestamp",
    )
    _save(
        spark,
        config,
        "silver",
        "customer_ids",
        [
            ("cus_a", "active", "cus_a"),
            ("cus_b", "active", "cus_b"),
            ("cus_c", "active", "cus_c"),
            ("cus_old", "retired", "cus_a"),
            *((c, "active", c) for c in others),
        ],
        "customer_id string, status string, current_customer_id string",
    )


def order_history(customers: int, seed: int, days: int = 180) -> list[tuple]:
    """Orders of `customers` people with individual purchase rates (Poisson) that some of them
    stop (churn): past frequency and recency predict the next purchase, as in real retail."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows: list[tuple] = []
    for i in range(customers):
        rate = rng.gamma(shape=0.7, scale=1 / 20)  # orders per day
        churn_day = rng.uniform(0, days * 1.6)  # may never churn within the window
        day = rng.uniform(0, 30)
        while day < days + 40:  # 40 days past the as-of time give labels to the last cutoffs
            if day < churn_day:
                rows.append(
                    (f"cus_{i:05d}", AS_OF - timedelta(days=days - day), float(rng.gamma(2, 30)))
                )
            day += rng.exponential(1 / max(rate, 1e-3))
    return rows


def build_decision_lake(spark: SparkSession, config: ProjectConfig, history: int = 400) -> None:
    """The gold world with `history` trainable customers, its feature tables, a trained and
    promoted champion, and the online store materialized: what the endpoint serves from."""
    from lakecdp.decisioning.feature_store import materialize
    from ml.train import train_from_lakehouse
    from spark_jobs.features.job import build_feature_tables

    write_gold_world(spark, config, history=history)
    build_feature_tables(spark, config, AS_OF.isoformat())
    train_from_lakehouse(spark, config, AS_OF.isoformat())
    materialize(spark, config)
