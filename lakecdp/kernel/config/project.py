"""The whole project configuration: every section, the checks across sections, and the
locations derived from the lakehouse root."""

from __future__ import annotations

from collections.abc import Container, Iterable
from functools import cached_property

from pydantic import Field, model_validator

from lakecdp.kernel.config.activation import DestinationConfig, SyncConfig, SyncName
from lakecdp.kernel.config.collection import (
    CollectorConfig,
    MarketConfig,
    SourceConfig,
    SourceName,
    StreamingConfig,
)
from lakecdp.kernel.config.decisioning import DecisioningConfig, FeaturesConfig, ModelsConfig
from lakecdp.kernel.config.governance import AuthConfig, GovernanceConfig
from lakecdp.kernel.config.identity import IdentifierTypeConfig, IdentityConfig
from lakecdp.kernel.config.orchestration import AirflowConfig
from lakecdp.kernel.config.paths import is_absolute, join_path
from lakecdp.kernel.config.profiles import (
    PROFILE_TRAITS,
    ConsentConfig,
    ProfilesConfig,
    QualityConfig,
)
from lakecdp.kernel.config.section import Section
from lakecdp.kernel.config.storage import (
    LAYERS,
    CatalogConfig,
    LakehouseConfig,
    SparkConfig,
    SqlConfig,
)


class ProjectConfig(Section):
    """`lakecdp.yaml` as a whole. Checks that need two sections (an identifier type used by a
    source, a channel used by a cap) live here, so a bad reference fails at load, not mid-run."""

    project: str = "lakecdp"
    lakehouse: LakehouseConfig = Field(default_factory=LakehouseConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    collector: CollectorConfig = Field(default_factory=CollectorConfig)
    streaming: StreamingConfig = Field(default_factory=StreamingConfig)
    sql: SqlConfig = Field(default_factory=SqlConfig)
    markets: dict[str, MarketConfig] = Field(default_factory=dict)
    identifier_types: dict[str, IdentifierTypeConfig] = Field(default_factory=dict)
    sources: dict[SourceName, SourceConfig] = Field(default_factory=dict)
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    profiles: ProfilesConfig = Field(default_factory=ProfilesConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    decisioning: DecisioningConfig = Field(default_factory=DecisioningConfig)
    destinations: dict[SyncName, DestinationConfig] = Field(default_factory=dict)
    syncs: dict[SyncName, SyncConfig] = Field(default_factory=dict)
    airflow: AirflowConfig = Field(default_factory=AirflowConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    governance: GovernanceConfig = Field(default_factory=GovernanceConfig)

    @model_validator(mode="after")
    def _identity_rules_are_consistent(self) -> ProjectConfig:
        known = set(self.identifier_types)
        listing = ", ".join(sorted(known))
        for section in ("blocklist", "blocklist_patterns"):
            for id_type in getattr(self.identity, section):
                if id_type != "*" and id_type not in known:
                    raise ValueError(
                        f"identity.{section}.{id_type}: unknown identifier type "
                        f"(declared: {listing})"
                    )
        for field, id_type in self.identity.events.identifiers.items():
            if id_type not in known:
                raise ValueError(
                    f"identity.events.identifiers.{field}: unknown identifier type {id_type!r} "
                    f"(declared: {listing})"
                )
        for pair in self.identity.never_link:
            for ref in pair:
                id_type = ref.split(":", 1)[0]
                if id_type not in known:
                    raise ValueError(
                        f"identity.never_link: {ref!r} has unknown identifier type {id_type!r} "
                        f"(declared: {listing})"
                    )
        for name, spec in self.identifier_types.items():
            limit = spec.max_per_profile
            if limit is not None and limit > self.identity.max_cluster_size:
                raise ValueError(
                    f"identifier_types.{name}.max_per_profile: {limit} can never be reached, "
                    f"profiles are capped at identity.max_cluster_size="
                    f"{self.identity.max_cluster_size} identifiers"
                )
        return self

    @model_validator(mode="after")
    def _survivorship_is_consistent(self) -> ProjectConfig:
        known_sources = {*self.sources, "events"}
        rules = {"default_survivorship": self.profiles.default_survivorship}
        for trait, rule in self.profiles.survivorship.items():
            if trait not in PROFILE_TRAITS:
                raise ValueError(
                    f"profiles.survivorship.{trait}: unknown trait "
                    f"(known: {', '.join(PROFILE_TRAITS)})"
                )
            rules[f"survivorship.{trait}"] = rule
        for key, rule in rules.items():
            for source in rule.sources:
                if source not in known_sources:
                    raise ValueError(
                        f"profiles.{key}.sources: unknown source {source!r} "
                        f"(known: {', '.join(sorted(known_sources))})"
                    )
            if rule.rule == "source_priority" and not rule.sources:
                raise ValueError(f"profiles.{key}: rule source_priority needs a sources list")
        return self

    @model_validator(mode="after")
    def _sources_are_consistent(self) -> ProjectConfig:
        for name, source in self.sources.items():
            for column, id_type in source.identifiers.items():
                if id_type not in self.identifier_types:
                    known = ", ".join(sorted(self.identifier_types))
                    raise ValueError(
                        f"sources.{name}.identifiers.{column}: unknown identifier type "
                        f"{id_type!r} (declared: {known})"
                    )
            if isinstance(source.market, str):
                _require_known(f"sources.{name}.market", [source.market], self.markets, "market")
            if name == "events":
                raise ValueError("sources.events: 'events' is reserved for the event stream")
        return self

    @model_validator(mode="after")
    def _decisioning_is_consistent(self) -> ProjectConfig:
        d = self.decisioning
        purposes, channels = set(self.consent.purposes), set(self.consent.channels)
        if d.experiment not in d.experiments:
            raise ValueError(
                f"decisioning.experiment: {d.experiment!r} is not one of decisioning.experiments "
                f"({', '.join(sorted(d.experiments)) or 'none'})"
            )
        for channel in d.caps:
            _require_known(f"decisioning.caps.{channel}", [channel], channels, "consent channel")
        for market in d.unknown_consent_by_market:
            _require_known(
                f"decisioning.unknown_consent_by_market.{market}", [market], self.markets, "market"
            )
        for name, action in d.actions.items():
            key = f"decisioning.actions.{name}"
            if name in (d.fallback_action, d.holdout_action):
                raise ValueError(f"{key}: the name is reserved for the fallback/holdout action")
            if action.purpose not in {*purposes, "service"}:
                raise ValueError(
                    f"{key}.purpose: unknown consent purpose {action.purpose!r} "
                    f"(consent.purposes: {', '.join(sorted(purposes))})"
                )
            _require_known(f"{key}.channels", action.channels, channels, "channel")
            _require_known(f"{key}.markets", action.markets, self.markets, "market")
            if action.min_score > action.max_score:
                raise ValueError(f"{key}: min_score is above max_score")
            _require_known(f"{key}.scores", list(action.scores), self.models.registered, "model")
            for model, band in action.scores.items():
                if band.min > band.max:
                    raise ValueError(f"{key}.scores.{model}: min is above max")
        return self

    @model_validator(mode="after")
    def _syncs_are_consistent(self) -> ProjectConfig:
        purposes, channels = set(self.consent.purposes), set(self.consent.channels)
        for name, sync in self.syncs.items():
            key = f"syncs.{name}"
            _require_known(
                f"{key}.destination", [sync.destination], self.destinations, "destination"
            )
            if sync.consent is not None:
                gate = sync.consent
                _require_known(f"{key}.consent.purpose", [gate.purpose], purposes, "purpose")
                _require_known(f"{key}.consent.channel", [gate.channel], channels, "channel")
            destination = self.destinations[sync.destination]
            if destination.type == "ad_audience" and sync.mode == "update":
                raise ValueError(f"{key}.mode: an ad audience takes adds and removes, not updates")
            limits = getattr(destination, "limits", None)
            if sync.deliver_in == "executors" and limits is not None and not limits.shared_budget:
                raise ValueError(
                    f"{key}.deliver_in: executors send in parallel tasks, each pacing itself "
                    f"unless they share one budget; set destinations.{sync.destination}"
                    ".limits.shared_budget: true"
                )
        return self

    # -- locations ---------------------------------------------------------------------------
    def table_path(self, layer: str, table: str) -> str:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        return join_path(self.lakehouse.tables_root, layer, table)

    def source_path(self, name: str) -> str:
        path = self.sources[name].path
        return path if is_absolute(path) else join_path(self.lakehouse.landing_root, path)

    @property
    def events_landing(self) -> str:
        """Sealed JSONL segments of accepted events, written by the collector."""
        return join_path(self.lakehouse.landing_root, "events")

    @property
    def rejected_landing(self) -> str:
        """Records the collector refused, with their reason, on their way to ops.quarantine."""
        return join_path(self.lakehouse.landing_root, "rejected")

    def checkpoint_path(self, name: str) -> str:
        return join_path(self.lakehouse.checkpoints_root, name)

    @property
    def features_root(self) -> str:
        return self.features.root or join_path(self.lakehouse.root, "feast")

    @property
    def mlflow_tracking_uri(self) -> str:
        return self.models.tracking_uri or (
            f"sqlite:///{join_path(self.lakehouse.root, 'mlflow', 'mlflow.db')}"
        )

    @property
    def mlflow_artifact_root(self) -> str:
        return self.models.artifact_root or join_path(self.lakehouse.root, "mlflow", "artifacts")

    @property
    def evaluation_root(self) -> str:
        return self.models.evaluation_root or join_path(self.lakehouse.root, "mlflow", "evaluation")

    @property
    def decision_log_dir(self) -> str:
        return self.decisioning.log_dir or join_path(self.lakehouse.landing_root, "decisions")

    @property
    def governance_root(self) -> str:
        return self.governance.root or join_path(self.lakehouse.root, "governance")

    @cached_property
    def market_codes(self) -> list[str]:
        return sorted(self.markets)


def _require_known(key: str, values: Iterable[str], known: Container[str], what: str) -> None:
    """Raise a ValueError naming `key` for the first of `values` not in `known`."""
    for value in values:
        if value not in known:
            raise ValueError(f"{key}: unknown {what} {value!r}")
