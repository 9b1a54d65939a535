"""How a propensity score is judged: ranking (AUC, PR-AUC) and calibration (Brier, ECE).

Calibration matters as much as ranking here: the decision rules compare scores with fixed
thresholds (min_score/max_score of an action), so a model that ranks well but is overconfident
would send the wrong action.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(labels[mask].mean() - scores[mask].mean())
    return float(total / len(labels))


def score_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC, Brier, log loss, ECE and the base rate; AUCs are NaN with one class only."""
    labels = np.asarray(labels, dtype=int)
    scores = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    two_classes = len(np.unique(labels)) == 2
    return {
        "auc": float(roc_auc_score(labels, scores)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(labels, scores)),
        "log_loss": float(log_loss(labels, np.clip(scores, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "ece": expected_calibration_error(labels, scores),
        "base_rate": float(labels.mean()),
        "rows": float(len(labels)),
    }
