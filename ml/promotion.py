"""The promotion gate: a challenger becomes `champion` only if, on the same held-out rows, it
beats the current champion on AUC and is no worse calibrated (Brier). The evidence (both
models' metrics, the thresholds, the verdict) is logged to the challenger's run and its
version's tags either way, so every alias move can be audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lakecdp.kernel.config import ProjectConfig
from ml.metrics import score_metrics
from ml.tracking import CHALLENGER, CHAMPION, mlflow_client, model_uri

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PromotionDecision:
    challenger_version: str
    champion_version: str | None
    promoted: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None


def judge(
    config: ProjectConfig, challenger: dict[str, float], champion: dict[str, float] | None
) -> tuple[bool, str]:
    """The rule alone: (promote?, why)."""
    rules = config.models.promotion
    if not np.isfinite(challenger["auc"]):
        return False, "challenger AUC undefined (held-out rows hold one class)"
    if champion is None:
        return True, "no champion yet"
    auc_gain = challenger["auc"] - champion["auc"]
    brier_change = challenger["brier"] - champion["brier"]
    if auc_gain <= rules.min_auc_gain:
        return False, (
            f"AUC {challenger['auc']:.4f} does not beat the champion's {champion['auc']:.4f} "
            f"by more than {rules.min_auc_gain}"
        )
    if brier_change > rules.max_brier_increase:
        return False, (
            f"Brier {challenger['brier']:.4f} is worse than the champion's "
            f"{champion['brier']:.4f} by more than {rules.max_brier_increase}"
        )
    return True, (
        f"AUC +{auc_gain:.4f} ({champion['auc']:.4f} -> {challenger['auc']:.4f}), "
        f"Brier {brier_change:+.4f}"
    )


def promote(
    config: ProjectConfig,
    version: str,
    run_id: str,
    x_holdout: pd.DataFrame,
    y_holdout: np.ndarray,
) -> PromotionDecision:
    """Alias `version` as challenger, score it and the champion on the held-out rows, and move
    the champion alias only if `judge` says so."""
    import mlflow
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    client = mlflow_client(config)
    name = config.models.registered_model
    client.set_registered_model_alias(name, CHALLENGER, version)
    challenger_model = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    challenger = score_metrics(y_holdout, challenger_model.predict_proba(x_holdout)[:, 1])
    champion_version: str | None = None
    champion: dict[str, float] | None = None
    try:
        champion_version = str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        champion_version = None
    if champion_version is not None:
        champion_model = mlflow.sklearn.load_model(model_uri(config, CHAMPION))
        champion = score_metrics(y_holdout, champion_model.predict_proba(x_holdout)[:, 1])
    promoted, reason = judge(config, challenger, champion)
    if champion_version == version:
        promoted, reason = False, "already the champion"
    decision = PromotionDecision(version, champion_version, promoted, reason, challenger, champion)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_dict(
            {
                **decision.__dict__,
                "rules": config.models.promotion.model_dump(),
                "holdout_rows": len(y_holdout),
            },
            "promotion/evidence.json",
        )
    client.set_model_version_tag(name, version, "promotion", "promoted" if promoted else "rejected")
    client.set_model_version_tag(name, version, "promotion_reason", reason)
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    return decision
