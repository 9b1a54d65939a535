"""Next best action: Feast features, MLflow models and promotion, actions, caps, experiments."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from lakecdp.kernel.config.paths import LocalPath
from lakecdp.kernel.config.section import Section


class FeaturesConfig(Section):
    """Feast (feature_repo/): offline store = Spark over the lakehouse's Delta tables; online
    store SQLite by default, Redis by configuration. Frequency caps live in the same store."""

    project: str = Field(default="lakecdp", pattern=r"^[a-z][a-z0-9_]*$")
    online_store: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str = Field(
        default="localhost:6379", description="Feast's connection string: host:port[,db=N]"
    )
    root: LocalPath | None = Field(
        default=None,
        description="local folder for the Feast registry and the SQLite online store; "
        "default <lakehouse root>/feast",
    )
    snapshot_every_days: int = Field(
        default=7, ge=1, description="days between point-in-time feature snapshots"
    )
    snapshots: int = Field(
        default=12, ge=1, description="snapshots kept back from the newest (training history)"
    )
    ttl_days: int = Field(
        default=400, ge=1, description="feature values older than this are not served"
    )

    @property
    def redis_host_port(self) -> tuple[str, int, int]:
        """(host, port, db) of redis_url, for the caps counters next to Feast's keys."""
        head, *options = self.redis_url.split(",")
        host, _, port = head.partition(":")
        db = 0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip() == "db":
                db = int(value)
        return host or "localhost", int(port or 6379), db


class PromotionConfig(Section):
    """When a challenger becomes champion: on the same held-out rows, better AUC and calibration
    (Brier score and expected calibration error) no worse, each by a configurable margin."""

    min_auc_gain: float = Field(default=0.0, ge=0, description="AUC the challenger must add")
    max_brier_increase: float = Field(
        default=0.0, ge=0, description="how much worse the Brier score (calibration) may get"
    )
    max_ece_increase: float = Field(
        default=0.02,
        ge=0,
        description="how much worse the expected calibration error may get (it is noisy on "
        "small held-out sets, so a little slack by default)",
    )


LabelKind = Literal["purchase", "no_purchase"]


class ModelConfig(Section):
    """One registered model: what it predicts, from which feature service, and its gate."""

    feature_service: str = Field(
        default="purchase_propensity_v1",
        description="the Feast feature service whose features are the model's inputs, in order",
    )
    label: LabelKind = Field(
        default="purchase",
        description="purchase: bought within horizon_days after the cutoff; no_purchase: did "
        "not (churn risk)",
    )
    horizon_days: int = Field(default=30, ge=1, description="label window after the cutoff")
    platform_trains: bool = Field(
        default=True,
        description="`lakecdp model train` fits the platform's own model families for it; "
        "false for a model only data scientists register",
    )
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    drift_max_psi: float = Field(
        default=0.25,
        gt=0,
        description="population stability index above which a feature or the score has drifted "
        "from the champion's training data (fails the training DAG's check)",
    )


class ModelsConfig(Section):
    """MLflow models (ml/): tracking, the registered models, held-out split, promotion gates."""

    tracking_uri: str | None = Field(
        default=None, description="default sqlite:///<lakehouse root>/mlflow/mlflow.db"
    )
    artifact_root: LocalPath | None = Field(
        default=None, description="default <lakehouse root>/mlflow/artifacts"
    )
    evaluation_root: LocalPath | None = Field(
        default=None,
        description="the promotion gate's held-out evaluation sets; default "
        "<lakehouse root>/mlflow/evaluation",
    )
    experiment: str = "purchase_propensity"
    registered: dict[str, ModelConfig] = Field(
        default_factory=lambda: {"purchase_propensity": ModelConfig()},
        min_length=1,
        description="registered model name -> what it predicts; the first one's score is a "
        "decision's `score` and what an action's min_score/max_score read",
    )
    holdout_share: float = Field(
        default=0.25, gt=0, lt=1, description="customers held out to evaluate and promote"
    )

    max_training_rows: int = Field(default=500_000, ge=100)
    seed: int = 7

    @field_validator("registered")
    @classmethod
    def _names_are_plain(cls, registered: dict[str, ModelConfig]) -> dict[str, ModelConfig]:
        for name in registered:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", name):
                raise ValueError(f"model name {name!r}: letters, digits, '_', '.', '-' only")
        return registered

    @property
    def registered_model(self) -> str:
        """The primary model: the first registered one."""
        return next(iter(self.registered))

    def model(self, name: str) -> ModelConfig:
        """The configuration of registered model `name`; a clear error for an unknown one."""
        try:
            return self.registered[name]
        except KeyError:
            raise KeyError(
                f"no registered model {name!r} in models.registered "
                f"(configured: {', '.join(self.registered)})"
            ) from None


ActionKind = Literal["commercial", "service", "content"]


class ScoreBand(Section):
    """An action's eligibility band on one model's score."""

    min: float = Field(default=0.0, ge=0, le=1)
    max: float = Field(default=1.0, ge=0, le=1)


class ActionConfig(Section):
    """One next best action: who may get it, on which channels, for which consent purpose."""

    kind: ActionKind = "commercial"
    purpose: str = Field(
        description="consent purpose this action needs (consent.purposes), or 'service' for "
        "messages a customer gets without opting in (order and account service)"
    )
    channels: list[str] = Field(description="channels it can be delivered on, in preference")
    min_score: float = Field(default=0.0, ge=0, le=1, description="band on the primary score")
    max_score: float = Field(default=1.0, ge=0, le=1)
    scores: dict[str, ScoreBand] = Field(
        default_factory=dict,
        description="bands on other registered models' scores (models.registered), e.g. "
        "churn_risk: {min: 0.6}; every band must hold",
    )
    requires: list[Literal["open_cart", "purchased_before", "no_purchase"]] = Field(
        default_factory=list, description="eligibility conditions on the customer's features"
    )
    markets: list[str] = Field(default_factory=list, description="empty means every market")
    suppress_after_purchase: bool = Field(
        default=True, description="not within suppression.recent_purchase_days of a purchase"
    )
    description: str = ""


class CapConfig(Section):
    max: int = Field(ge=0, description="deliveries allowed per customer in the window")
    hours: float = Field(default=24.0, gt=0)


class ExperimentConfig(Section):
    """A holdout experiment: a fixed share of customers, by hash of customer_id and salt, gets
    no action so that lift can be measured."""

    salt: str = Field(min_length=1)
    holdout_share: float = Field(default=0.1, ge=0, lt=1)


class DecisioningConfig(Section):
    """The decision endpoint (`lakecdp serve`): rules applied after scoring."""

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    model_refresh_seconds: float = Field(
        default=30.0, gt=0, description="how often the champion alias is checked for a new version"
    )
    experiment: str = Field(default="nba_default", description="the active experiment")
    experiments: dict[str, ExperimentConfig] = Field(
        default_factory=lambda: {"nba_default": ExperimentConfig(salt="nba-default")}
    )
    recent_purchase_days: float = Field(
        default=2.0, ge=0, description="days after a purchase without commercial actions"
    )
    unknown_consent: Literal["deny", "allow"] = Field(
        default="deny", description="what 'unknown' consent means (opt-in markets: deny)"
    )
    unknown_consent_by_market: dict[str, Literal["deny", "allow"]] = Field(default_factory=dict)
    caps: dict[str, CapConfig] = Field(default_factory=dict, description="channel -> cap")
    actions: dict[str, ActionConfig] = Field(default_factory=dict, description="in priority order")
    fallback_action: str = Field(
        default="generic_content",
        description="what to do when nothing personal can be decided (unknown person, no "
        "features, no consent): content that needs no personal data",
    )
    holdout_action: str = "no_action"
    log_dir: LocalPath | None = Field(
        default=None, description="decision log segments; default <landing>/decisions"
    )
