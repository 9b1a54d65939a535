"""The promotion gate, for every model version whoever trained it.

`evaluate` scores a version on its model's held-out evaluation set (ml/evaluation_set.py) with
the metrics training reports (AUC, PR-AUC, Brier, ECE, calibration) and logs the evidence.
`promote` does the same for the challenger and the current champion on the same rows and moves
the `champion` alias only if the challenger beats the champion on AUC and is no worse calibrated
(Brier and ECE), by the model's configured margins; `force` overrides the verdict with a reason
that is recorded. `rollback` returns the alias to the champion before. Every move is appended to
the registered model's `champion_history` tag, so each alias move can be audited and undone.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from lakecdp.kernel.config import ProjectConfig
from ml.candidates import Candidate, ModelRefused, load_candidate
from ml.evaluation_set import EvaluationSet, read_evaluation_set
from ml.metrics import score_metrics
from ml.tracking import CHALLENGER, CHAMPION, mlflow_client

HISTORY_TAG = "champion_history"
HISTORY_MAX_CHARS = 4_800  # MLflow's SQL stores hold a registered model tag in 5,000


@dataclass(frozen=True)
class Evaluation:
    model: str
    version: str
    metrics: dict[str, float]
    evaluation_set: str
    unused_features: tuple[str, ...]


@dataclass(frozen=True)
class PromotionDecision:
    model: str
    challenger_version: str
    champion_version: str | None
    promoted: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None
    forced: bool = False


def judge(
    config: ProjectConfig,
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    model: str | None = None,
) -> tuple[bool, str]:
    """The rule alone: (promote?, why)."""
    rules = config.models.model(model or config.models.registered_model).promotion
    if not np.isfinite(challenger["auc"]):
        return False, "challenger AUC undefined (held-out rows hold one class)"
    if champion is None:
        return True, "no champion yet"
    auc_gain = challenger["auc"] - champion["auc"]
    brier_change = challenger["brier"] - champion["brier"]
    ece_change = challenger["ece"] - champion["ece"]
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
    if ece_change > rules.max_ece_increase:
        return False, (
            f"calibration error (ECE) {challenger['ece']:.4f} is worse than the champion's "
            f"{champion['ece']:.4f} by more than {rules.max_ece_increase}"
        )
    return True, (
        f"AUC +{auc_gain:.4f} ({champion['auc']:.4f} -> {challenger['auc']:.4f}), "
        f"Brier {brier_change:+.4f}, ECE {ece_change:+.4f}"
    )


def _candidate(config: ProjectConfig, name: str, version: str) -> tuple[Candidate, Any, Any]:
    described, rows = read_evaluation_set(config, name)
    candidate = load_candidate(config, name, version, described.features, described.feature_service)
    return candidate, described, rows


def _metrics(candidate: Candidate, rows: Any) -> dict[str, float]:
    return score_metrics(rows["label"].to_numpy(), candidate.probabilities(rows))


def _log_evidence(
    config: ProjectConfig,
    candidate: Candidate,
    described: EvaluationSet,
    evidence: dict[str, Any],
    artifact: str,
) -> None:
    """The evidence as a JSON artifact of the version's run (a run of its own when the version
    was registered without one) and its headline metrics as version tags."""
    import mlflow

    client = mlflow_client(config)
    run_id = candidate.run_id
    if run_id is None or _run_missing(client, run_id):
        with mlflow.start_run(run_name=f"gate {candidate.label}") as run:
            run_id = run.info.run_id
    client.log_dict(run_id, evidence, artifact)
    for key in ("auc", "brier", "ece"):
        value = evidence.get("metrics", {}).get(key)
        if value is not None and np.isfinite(value):
            client.set_model_version_tag(
                candidate.name, candidate.version, f"gate_{key}", f"{value:.6f}"
            )
    client.set_model_version_tag(
        candidate.name, candidate.version, "gate_evaluation_set", described.reference
    )


def _run_missing(client: Any, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException:
        return True
    return False


def _reference(
    config: ProjectConfig, candidate: Candidate, rows: Any, scores: np.ndarray
) -> dict[str, Any]:
    """Bins, no rows: the population the version will score (the newest feature snapshot at
    the training set's as-of time) and its scores on it; the held-out rows and their scores
    when the build stored no population. What monitoring compares later populations with.

    Not the training cutoffs themselves: those are at least a label horizon older than the
    population served, and features that age with the calendar (tenure, recency) would show
    the calendar as drift on the first day."""
    from ml.evaluation_set import read_population
    from ml.monitoring import reference

    inputs = list(candidate.inputs.inputs)
    population = read_population(config, candidate.name)
    if population is not None and set(inputs) <= set(population.columns) and len(population):
        return reference(population, inputs, candidate.probabilities(population))
    return reference(rows, inputs, scores)


def evaluate(config: ProjectConfig, name: str, version: str) -> Evaluation:
    """Score one version on the gate's held-out rows and log the evidence."""
    candidate, described, rows = _candidate(config, name, version)
    scores = candidate.probabilities(rows)
    metrics = score_metrics(rows["label"].to_numpy(), scores)
    result = Evaluation(
        name, candidate.version, metrics, described.reference, candidate.inputs.unused
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    _log_evidence(config, candidate, described, {**asdict(result)}, f"gate/evaluation-{stamp}.json")
    return result


def _log_reference(config: ProjectConfig, candidate: Candidate, rows: Any, scores: Any) -> None:
    client = mlflow_client(config)
    if candidate.run_id and not _run_missing(client, candidate.run_id):
        client.log_dict(
            candidate.run_id,
            _reference(config, candidate, rows, scores),
            "monitoring/reference.json",
        )


def current_champion(config: ProjectConfig, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(mlflow_client(config).get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def history(config: ProjectConfig, name: str) -> list[dict[str, str]]:
    """Every recorded move of the champion alias, oldest first."""
    model = mlflow_client(config).get_registered_model(name)
    return list(json.loads((model.tags or {}).get(HISTORY_TAG, "[]")))


def _record_move(config: ProjectConfig, name: str, entry: dict[str, str]) -> None:
    """Append a move; the oldest fall off so the tag stays within MLflow's 5,000 characters."""
    moves = [*history(config, name), {**entry, "at": datetime.now(UTC).isoformat("T", "seconds")}]
    text = json.dumps(moves, separators=(",", ":"))
    while len(text) > HISTORY_MAX_CHARS and len(moves) > 1:
        moves = moves[1:]
        text = json.dumps(moves, separators=(",", ":"))
    mlflow_client(config).set_registered_model_tag(name, HISTORY_TAG, text)


def promote(
    config: ProjectConfig, name: str, version: str, *, force_reason: str | None = None
) -> PromotionDecision:
    """Alias `version` as challenger, score it and the champion on the same held-out rows, and
    move the champion alias if the gate passes, or if `force_reason` overrides it."""
    client = mlflow_client(config)
    challenger, described, rows = _candidate(config, name, version)
    client.set_registered_model_alias(name, CHALLENGER, challenger.version)
    y = rows["label"].to_numpy()
    challenger_scores = challenger.probabilities(rows)
    challenger_metrics = score_metrics(y, challenger_scores)
    champion_version = current_champion(config, name)
    champion_metrics = None
    if champion_version is not None and champion_version != challenger.version:
        try:
            champion = load_candidate(
                config, name, champion_version, described.features, described.feature_service
            )
            champion_metrics = _metrics(champion, rows)
        except ModelRefused as exc:  # no bar to compare with: a person decides (--force)
            unscored = f"the champion v{champion_version} cannot be scored here ({exc})"
        else:
            unscored = None
    else:
        unscored = None
    promoted, reason = judge(config, challenger_metrics, champion_metrics, name)
    if unscored is not None:
        promoted, reason = False, f"{unscored}: promote with --force once checked"
    if champion_version == challenger.version:
        promoted, reason = False, "already the champion"
    forced = False
    if force_reason and not promoted and champion_version != challenger.version:
        promoted, forced = True, True
        reason = f"forced by {getpass.getuser()}: {force_reason} (the gate said: {reason})"
    decision = PromotionDecision(
        name,
        challenger.version,
        champion_version,
        promoted,
        reason,
        challenger_metrics,
        champion_metrics,
        forced,
    )
    evidence = {
        **asdict(decision),
        "rules": config.models.model(name).promotion.model_dump(),
        "evaluation_set": described.reference,
        "holdout_rows": len(rows),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    _log_evidence(
        config,
        challenger,
        described,
        {**evidence, "metrics": challenger_metrics},
        f"promotion/evidence-{stamp}.json",
    )
    verdict = "forced" if forced else ("promoted" if promoted else "rejected")
    if champion_version != challenger.version:
        client.set_model_version_tag(name, challenger.version, "promotion", verdict)
        client.set_model_version_tag(name, challenger.version, "promotion_reason", reason[:4000])
    if promoted:
        if "model_kind" not in challenger.tags:  # a data scientist's version: name its flavour
            client.set_model_version_tag(name, challenger.version, "model_kind", challenger.kind)
        _log_reference(config, challenger, rows, challenger_scores)
        move = {"version": challenger.version, "from": champion_version or "", "how": verdict}
        _record_move(config, name, {**move, "reason": reason[:200]})  # recorded, then moved
        client.set_registered_model_alias(name, CHAMPION, challenger.version)
    return decision


@dataclass(frozen=True)
class Rollback:
    model: str
    from_version: str
    to_version: str


def rollback(config: ProjectConfig, name: str, reason: str | None = None) -> Rollback:
    """Point the champion alias back at the champion before the current one."""
    config.models.model(name)
    current = current_champion(config, name)
    if current is None:
        raise ModelRefused(f"{name} has no champion to roll back")
    stack: list[str] = []
    for move in history(config, name):
        if move["how"] == "rollback" and stack:
            stack.pop()
        elif move["how"] != "rollback":
            stack.append(move["version"])
    if stack and stack[-1] == current:
        stack.pop()
    if not stack:
        raise ModelRefused(f"{name} v{current} has no earlier champion in its history")
    target = stack[-1]
    why = f"rolled back from v{current}" + (f": {reason}" if reason else "")
    move = {"version": target, "from": current, "how": "rollback", "reason": why[:200]}
    _record_move(config, name, move)
    mlflow_client(config).set_registered_model_alias(name, CHAMPION, target)
    return Rollback(name, current, target)
