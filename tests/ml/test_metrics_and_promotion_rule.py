"""Score metrics and the promotion rule (the registry side is in test_training.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lakecdp.kernel.config import ProjectConfig
from ml.metrics import expected_calibration_error, score_metrics
from ml.promotion import judge
from tests.conftest import make_config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:
    return make_config(
        tmp_path_factory.mktemp("promotion"),
        LAKECDP__MODELS__REGISTERED__PURCHASE_PROPENSITY__PROMOTION=(
            '{"min_auc_gain": 0.01, "max_brier_increase": 0.002, "max_ece_increase": 0.02}'
        ),
    )


def test_calibrated_scores_have_small_ece_and_overconfident_ones_large() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0, 1, 50_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01
    assert expected_calibration_error(y, np.where(p > 0.5, 1.0, 0.0)) > 0.2
    metrics = score_metrics(y, p)
    assert 0.8 < metrics["auc"] < 0.86 and metrics["base_rate"] == pytest.approx(0.5, abs=0.01)


def test_one_class_gives_undefined_auc_not_an_error() -> None:
    metrics = score_metrics(np.zeros(10, dtype=int), np.full(10, 0.2))
    assert np.isnan(metrics["auc"]) and metrics["brier"] == pytest.approx(0.04)


def test_judge_needs_auc_gain_and_calibration_no_worse(config: ProjectConfig) -> None:
    champion = {"auc": 0.80, "brier": 0.150, "ece": 0.05}
    assert judge(config, {"auc": 0.70, "brier": 0.1, "ece": 0.1}, None) == (
        True,
        "no champion yet",
    )
    small_gain = judge(config, {"auc": 0.805, "brier": 0.140, "ece": 0.05}, champion)
    assert not small_gain[0] and "by more than 0.01" in small_gain[1]
    worse_calibrated = judge(config, {"auc": 0.83, "brier": 0.155, "ece": 0.05}, champion)
    assert not worse_calibrated[0] and "Brier" in worse_calibrated[1]
    worse_ece = judge(config, {"auc": 0.83, "brier": 0.151, "ece": 0.08}, champion)
    assert not worse_ece[0] and "ECE" in worse_ece[1]
    better = judge(config, {"auc": 0.83, "brier": 0.151, "ece": 0.06}, champion)
    assert better[0] and "AUC +0.0300" in better[1]
    assert not judge(config, {"auc": float("nan"), "brier": 0.1, "ece": 0.1}, None)[0]
