"""`lakecdp model backtest`: how well would our propensity model have predicted repeat purchase
on *any* transaction log, against the baselines a retailer would otherwise use?

The features are production's own (spark_jobs/features/transactions.py) on orders before the
cutoff; the label is a purchase within the horizon after it. Customers (one row each) are split
into k folds; every method is fitted on k-1 folds and scores the held-out one, so every customer
is scored once out of fold. Methods: our two model families, recency and frequency (each
calibrated to a probability by a one-feature logistic fit on the training folds), and BG/NBD
(lifetimes), whose expected purchases in the horizon become P(at least one) = 1 - exp(-E[N]).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ml.metrics import score_metrics
from ml.models import MODEL_KINDS, make_model
from spark_jobs.features.transactions import FEATURE_COLUMNS, cutoff_frame, labelled_features

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

METHODS = (*MODEL_KINDS, "recency", "frequency", "bg_nbd")


class BacktestInputError(ValueError):
    """The transaction log cannot be backtested; the message says which column or why."""


@dataclass(frozen=True)
class TransactionColumns:
    customer: str
    time: str
    amount: str | None = None
    time_format: str | None = None


def read_transactions(
    spark: SparkSession, path: str, columns: TransactionColumns
) -> tuple[DataFrame, dict[str, int]]:
    """The CSV as orders (customer_id, ordered_at, amount), every column read as text; rows
    whose customer or time is missing or unparsable are dropped and counted, never fatal."""
    from pyspark.sql import functions as F

    raw = spark.read.option("header", True).option("inferSchema", False).csv(path)
    wanted = [columns.customer, columns.time, *([columns.amount] if columns.amount else [])]
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise BacktestInputError(
            f"{path}: no column {', '.join(map(repr, missing))}; columns: {', '.join(raw.columns)}"
        )
    parsed_time = (
        F.try_to_timestamp(F.col(columns.time), F.lit(columns.time_format))
        if columns.time_format
        else F.try_to_timestamp(F.col(columns.time))
    )
    orders = raw.select(
        F.trim(F.col(columns.customer)).alias("customer_id"),
        parsed_time.alias("ordered_at"),
        (F.col(columns.amount).try_cast("double") if columns.amount else F.lit(0.0)).alias(
            "amount"
        ),
    ).cache()
    counts = orders.agg(
        F.count("*").alias("rows"),
        F.count(F.when(F.col("customer_id").isNull() | (F.col("customer_id") == ""), 1)).alias(
            "missing_customer"
        ),
        F.count(F.when(F.col("ordered_at").isNull(), 1)).alias("unparsable_time"),
        F.count(F.when(F.col("amount").isNull(), 1)).alias("unparsable_amount"),
    ).first()
    stats = {k: int(v) for k, v in counts.asDict().items()}
    valid = orders.where(
        F.col("customer_id").isNotNull()
        & (F.col("customer_id") != "")
        & F.col("ordered_at").isNotNull()
    )
    return valid, stats


def _calibrated_baseline(
    train_score: np.ndarray, y_train: np.ndarray, score: np.ndarray
) -> np.ndarray:
    model = LogisticRegression().fit(train_score.reshape(-1, 1), y_train)
    return model.predict_proba(score.reshape(-1, 1))[:, 1]


def _bg_nbd(train: pd.DataFrame, test: pd.DataFrame, horizon_days: int) -> np.ndarray:
    from lifetimes import BetaGeoFitter

    # Repeat purchases on distinct days, ages in weeks: lifetimes' hypergeometric terms
    # overflow on long histories counted in days.
    def inputs(frame: pd.DataFrame) -> tuple[Any, Any, Any]:
        repeat = (frame["purchase_days"] - 1).clip(lower=0)
        span = (frame["tenure_days"] - frame["recency_days"]).clip(lower=0) / 7.0
        recency = span.where(repeat > 0, 0.0)  # same-day orders are one purchase
        return repeat, recency, (frame["tenure_days"] / 7.0).clip(lower=1 / 7)

    # A fold's fit can land on parameters whose terms overflow (NaN) for one-time buyers; a
    # stronger penalty keeps them finite, so try the weakest that scores every customer.
    probability = np.full(len(test), np.nan)
    for penalizer in (0.001, 0.01, 0.1, 1.0):
        fitter = BetaGeoFitter(penalizer_coef=penalizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(*inputs(train))
            expected = fitter.conditional_expected_number_of_purchases_up_to_time(
                horizon_days / 7.0, *inputs(test)
            )
        probability = 1.0 - np.exp(-np.clip(np.asarray(expected, dtype=float), 0, None))
        if not np.isnan(probability).any():
            break
    # should a term still overflow, that customer gets the training folds' repeat rate, and
    # the report counts them
    return probability


def out_of_fold_scores(
    frame: pd.DataFrame, horizon_days: int, folds: int, seed: int
) -> tuple[dict[str, np.ndarray], int]:
    """Every method's out-of-fold P(purchase in horizon) for every row of `frame`, and how many
    rows BG/NBD could not score (they get the training base rate)."""
    y = frame["label"].to_numpy()
    scores = {m: np.zeros(len(frame)) for m in METHODS}
    undefined = 0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    x = frame[list(FEATURE_COLUMNS)]
    for train_idx, test_idx in splitter.split(x, y):
        x_train, x_test, y_train = x.iloc[train_idx], x.iloc[test_idx], y[train_idx]
        for kind in MODEL_KINDS:
            model = make_model(kind, seed).fit(x_train, y_train)
            scores[kind][test_idx] = model.predict_proba(x_test)[:, 1]
        for name, column, sign in (
            ("recency", "recency_days", -1.0),
            ("frequency", "frequency", 1.0),
        ):
            train_score = sign * np.log1p(x_train[column].to_numpy())
            test_score = sign * np.log1p(x_test[column].to_numpy())
            scores[name][test_idx] = _calibrated_baseline(train_score, y_train, test_score)
        bg = _bg_nbd(frame.iloc[train_idx], frame.iloc[test_idx], horizon_days)
        undefined += int(np.isnan(bg).sum())
        scores["bg_nbd"][test_idx] = np.where(np.isnan(bg), y_train.mean(), bg)
    return scores, undefined


def run_backtest(
    spark: SparkSession,
    path: str,
    columns: TransactionColumns,
    *,
    cutoff: datetime,
    horizon_days: int,
    folds: int = 5,
    seed: int = 7,
) -> dict[str, Any]:
    orders, input_stats = read_transactions(spark, path, columns)
    labelled = labelled_features(orders, cutoff_frame(spark, [cutoff]), horizon_days)
    frame = labelled.select("customer_id", "label", *FEATURE_COLUMNS).toPandas()
    if len(frame) < folds * 2 or frame["label"].nunique() < 2:
        raise BacktestInputError(
            f"{len(frame)} customers bought before {cutoff:%Y-%m-%d}, "
            f"{int(frame['label'].sum()) if len(frame) else 0} of them again within "
            f"{horizon_days} days: need buyers and non-buyers in every one of {folds} folds"
        )
    scores, bg_nbd_undefined = out_of_fold_scores(frame, horizon_days, folds, seed)
    y = frame["label"].to_numpy()
    methods = {m: score_metrics(y, s) for m, s in scores.items()}
    best_model = max(MODEL_KINDS, key=lambda k: methods[k]["auc"])
    return {
        "input": {**input_stats, "path": path},
        "cutoff": cutoff.isoformat(),
        "horizon_days": horizon_days,
        "folds": folds,
        "customers": len(frame),
        "repeat_rate": float(y.mean()),
        "methods": methods,
        "bg_nbd_undefined": bg_nbd_undefined,
        "best_model": best_model,
        "best_model_auc_minus_bg_nbd": methods[best_model]["auc"] - methods["bg_nbd"]["auc"],
    }
