"""Project configuration: one YAML file, validated on load, with environment overrides.

Everything that says *where* (lakehouse root, Spark master, ports, keys) can be overridden by an
environment variable so that the same file runs on a laptop and on a cluster. Everything that
says *what* (sources, identifier types, consent purposes) lives in the file, so adding a source
is a configuration change, not code.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_FILE = "lakecdp.yaml"
CONFIG_ENV = "LAKECDP_CONFIG"

# Named overrides: environment variable -> dotted key in the configuration.
ENV_OVERRIDES: dict[str, str] = {
    "LAKECDP_LAKEHOUSE_ROOT": "lakehouse.root",
    "LAKECDP_LANDING_ROOT": "lakehouse.landing",
    "LAKECDP_SPARK_MASTER": "spark.master",
    "LAKECDP_SPARK_DRIVER_MEMORY": "spark.driver_memory",
    "LAKECDP_JARS_DIR": "spark.jars_dir",
    "LAKECDP_CATALOG": "catalog.kind",
    "LAKECDP_METASTORE_URL": "catalog.metastore_url",
    "LAKECDP_METASTORE_USER": "catalog.metastore_user",
    "LAKECDP_METASTORE_PASSWORD": "catalog.metastore_password",
    "LAKECDP_SQL_HOST": "sql.host",
    "LAKECDP_SQL_PORT": "sql.port",
    "LAKECDP_COLLECTOR_HOST": "collector.host",
    "LAKECDP_COLLECTOR_PORT": "collector.port",
    "LAKECDP_WRITE_KEYS": "collector.write_keys",
    "LAKECDP_STREAM_TRIGGER_SECONDS": "streaming.trigger_seconds",
    "LAKECDP_ONLINE_STORE": "features.online_store",
    "LAKECDP_REDIS_URL": "features.redis_url",
    "LAKECDP_MLFLOW_TRACKING_URI": "models.tracking_uri",
    "LAKECDP_SERVE_HOST": "decisioning.host",
    "LAKECDP_SERVE_PORT": "decisioning.port",
}
# Generic override for any key: LAKECDP__SECTION__KEY=value (double underscores separate levels).
GENERIC_ENV_PREFIX = "LAKECDP__"

LAYERS = ("bronze", "silver", "gold", "ops")
IDENTIFIER_KINDS = (
    "email",
    "phone",
    "device_id",
    "anonymous_id",
    "user_id",
    "loyalty_id",
    "marketplace_buyer_id",
    "custom",
)


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LakehouseConfig(_Strict):
    root: str = ".lakehouse"
    landing: str | None = Field(
        default=None, description="Landing zone; defaults to <root>/landing."
    )

    @property
    def landing_root(self) -> str:
        return self.landing or join_path(self.root, "landing")

    @property
    def tables_root(self) -> str:
        return join_path(self.root, "tables")

    @property
    def checkpoints_root(self) -> str:
        return join_path(self.root, "_checkpoints")

    @property
    def warehouse(self) -> str:
        return join_path(self.root, "warehouse")


class SparkConfig(_Strict):
    master: str = "local[2]"
    app_name: str = "lakecdp"
    driver_memory: str = "4g"
    shuffle_partitions: int = Field(default=8, ge=1)
    jars_dir: str = ".cache/jars"
    ui_enabled: bool = False
    conf: dict[str, str] = Field(default_factory=dict)


class CatalogConfig(_Strict):
    """How processes share table names. Tables are always addressed by location; the catalog
    only maps names to locations (see docs/catalog.md)."""

    kind: Literal["embedded", "hive-postgres"] = "embedded"
    metastore_url: str | None = None
    metastore_user: str | None = None
    metastore_password: str | None = None

    @model_validator(mode="after")
    def _metastore_needs_url(self) -> CatalogConfig:
        if self.kind == "hive-postgres" and not self.metastore_url:
            raise ValueError("catalog.kind 'hive-postgres' needs catalog.metastore_url")
        return self


class CollectorConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    write_keys: dict[str, str] = Field(
        default_factory=dict, description="write key -> source name recorded on each event"
    )
    max_message_bytes: int = Field(default=32 * 1024, ge=1024)
    max_request_bytes: int = Field(default=500 * 1024, ge=1024)
    segment_roll_seconds: float = Field(default=1.0, gt=0)
    segment_roll_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    fsync: bool = True

    @field_validator("write_keys", mode="before")
    @classmethod
    def _parse_key_list(cls, value: Any) -> Any:
        # From the environment: "key1=web,key2=app".
        if isinstance(value, str):
            pairs = [p.strip() for p in value.split(",") if p.strip()]
            parsed: dict[str, str] = {}
            for pair in pairs:
                key, sep, source = pair.partition("=")
                if not sep or not key or not source:
                    raise ValueError(f"expected 'key=source' pairs, got {pair!r}")
                parsed[key] = source
            return parsed
        return value


class SqlConfig(_Strict):
    """The analysts' SQL endpoint (`lakecdp sql serve`): a HiveServer2 (Spark Thrift) server.

    It always runs on the shared hive-postgres catalog (docs/catalog.md), whatever
    `catalog.kind` says, so that jobs, dbt and analysts' tools see the same names.
    """

    host: str = Field(default="localhost", description="address the Thrift server binds to")
    port: int = Field(default=10000, ge=1, le=65535)
    rescan_seconds: float = Field(
        default=30.0, gt=0, description="how often new table folders get their catalog names"
    )


class StreamingConfig(_Strict):
    trigger_seconds: float = Field(default=5.0, gt=0)
    max_files_per_trigger: int = Field(default=200, ge=1)


class IdentifierTypeConfig(_Strict):
    kind: Literal[IDENTIFIER_KINDS] = "custom"  # type: ignore[valid-type]
    priority: int = Field(default=50, ge=0)
    max_per_profile: int | None = Field(default=None, ge=1)
    hub_max_profiles: int | None = Field(
        default=None, ge=1, description="overrides identity.hub_max_profiles for this type"
    )
    household_shared: bool = Field(
        default=False,
        description="families share it (the home phone): records joined only through it whose "
        "given names conflict stay two profiles (identity.given_name_conflict)",
    )


PERSON_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "postcode",
    "city",
    "address",
    "national_id",
    "phone_suffix",
)


class ProbabilisticConfig(_Strict):
    """Fellegi-Sunter matching on person traits for records no identifier links (Splink)."""

    enabled: bool = True
    threshold: float = Field(default=0.95, gt=0, lt=1)
    seed: int = Field(default=7, ge=1, description="Splink's sampling seed (0 means unseeded)")


EVENT_COLUMNS = ("user_id", "anonymous_id", "previous_id", "device_id", "group_id")
EVENT_JSON_COLUMNS = ("traits", "context", "properties")


class EventIdentityConfig(_Strict):
    """Which fields of bronze.events are identifiers or person traits.

    A field is a bronze.events column (`user_id`, `device_id`, ...) or a path into one of its JSON
    columns (`traits.email`, `context.traits.phone`).
    """

    identifiers: dict[str, str] = Field(
        default_factory=lambda: {
            "user_id": "user_id",
            "anonymous_id": "anonymous_id",
            "previous_id": "anonymous_id",
            "device_id": "device_id",
            "traits.email": "email",
            "traits.phone": "phone",
        }
    )
    person: dict[str, str] = Field(
        default_factory=lambda: {"first_name": "traits.firstName", "last_name": "traits.lastName"}
    )

    @field_validator("identifiers", "person")
    @classmethod
    def _fields_exist(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        fields = value if info.field_name == "identifiers" else {v: k for k, v in value.items()}
        for field in fields:
            root = field.split(".", 1)[0]
            if field not in EVENT_COLUMNS and root not in EVENT_JSON_COLUMNS:
                raise ValueError(
                    f"{field!r} is neither an event column ({', '.join(EVENT_COLUMNS)}) nor a "
                    f"path into {', '.join(EVENT_JSON_COLUMNS)}"
                )
        if info.field_name == "person":
            unknown = sorted(set(value) - set(PERSON_FIELDS))
            if unknown:
                raise ValueError(f"unknown person field(s): {', '.join(unknown)}")
        return value


class IdentityConfig(_Strict):
    """Guardrails and matching rules of identity resolution (see docs/identity.md)."""

    email_provider_rules: bool = True
    hub_max_profiles: int = Field(
        default=5,
        ge=1,
        description="an identifier seen with identifiers of more than this many profiles is a hub",
    )
    max_cluster_size: int = Field(
        default=200, ge=2, description="identifiers per profile above which a profile is flagged"
    )
    blocklist: dict[str, list[str]] = Field(
        default_factory=dict, description="identifier type (or '*') -> placeholder values"
    )
    blocklist_patterns: dict[str, list[str]] = Field(
        default_factory=dict, description="identifier type (or '*') -> regex on the normal form"
    )
    never_link: list[tuple[str, str]] = Field(
        default_factory=list, description="pairs of 'type:value' never to be in one profile"
    )
    given_name_conflict: float = Field(
        default=0.8,
        ge=0,
        lt=1,
        description="given names both known and this different (Jaro-Winkler, no shared token or "
        "initial) are two people: never a probabilistic link, never joined through a "
        "household_shared identifier; 0 = off",
    )
    single_valued_traits: list[str] = Field(
        default_factory=lambda: ["date_of_birth"],
        description="person traits one profile has one value of: records that disagree on one "
        "are kept apart, like a limit (a shared family phone does not join parent and child)",
    )
    conclusive_traits: list[str] = Field(
        default_factory=lambda: ["national_id"],
        description="person traits that, stated alike on two records, outweigh what else they "
        "disagree on: a single-valued trait or a given name typed wrong no longer keeps them "
        "apart (they still need an identifier or a probabilistic match to link)",
    )
    driver_components_max_edges: int = Field(
        default=2_000_000,
        ge=0,
        description="an identifier graph of at most this many edges gets its connected "
        "components on the driver (about 16 bytes an edge) instead of in Spark rounds whose fixed "
        "cost dominates small graphs; 0 = always in Spark",
    )
    events: EventIdentityConfig = Field(default_factory=EventIdentityConfig)
    probabilistic: ProbabilisticConfig = Field(default_factory=ProbabilisticConfig)

    @field_validator("blocklist_patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for id_type, patterns in value.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{id_type}: invalid pattern {pattern!r}: {exc}") from None
        return value

    @field_validator("single_valued_traits", "conclusive_traits")
    @classmethod
    def _traits_known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - (set(PERSON_FIELDS) - {"full_name"}))
        if unknown:
            raise ValueError(f"unknown person field(s): {', '.join(unknown)}")
        return value

    @field_validator("never_link")
    @classmethod
    def _pairs_are_typed(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for pair in value:
            for ref in pair:
                if ":" not in ref:
                    raise ValueError(f"never_link entries are 'type:value', got {ref!r}")
        return value


class MarketConfig(_Strict):
    currency: str
    phone_region: str
    timezone: str


class MarketColumn(_Strict):
    column: str


class SourceConfig(_Strict):
    """A declared file source: where it lands, how to read it, what its columns mean."""

    path: str = Field(description="Folder under the landing root (or an absolute URI).")
    format: Literal["csv", "jsonl", "parquet"]
    record_id: str | None = None
    timestamp: str
    market: str | MarketColumn
    identifiers: dict[str, str] = Field(description="column -> identifier type")
    traits: list[str] = Field(default_factory=list)
    person: dict[str, str] = Field(
        default_factory=dict,
        description="person field (first_name, date_of_birth, ...) -> column, for probabilistic "
        "matching",
    )
    columns: list[str] = Field(
        default_factory=list, description="other columns kept in bronze (amounts, items, ...)"
    )
    description: str = ""

    @field_validator("person")
    @classmethod
    def _known_person_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PERSON_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown person field(s) {', '.join(unknown)}; known: {', '.join(PERSON_FIELDS)}"
            )
        return value

    @field_validator("identifiers")
    @classmethod
    def _some_identifier(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a source needs at least one identifier column")
        return value

    @property
    def declared_columns(self) -> list[str]:
        """Every column bronze keeps, in a stable order and without repeats."""
        cols: list[str] = []
        market_col = [self.market.column] if isinstance(self.market, MarketColumn) else []
        for col in [
            *([self.record_id] if self.record_id else []),
            self.timestamp,
            *market_col,
            *self.identifiers,
            *self.traits,
            *self.person.values(),
            *self.columns,
        ]:
            if col not in cols:
                cols.append(col)
        return cols


class ConsentConfig(_Strict):
    purposes: list[str] = Field(
        default_factory=lambda: ["analytics", "personalization", "marketing"]
    )
    channels: list[str] = Field(default_factory=lambda: ["email", "sms", "push", "whatsapp"])


class QualityConfig(_Strict):
    """Thresholds of the quality gates (expectations/): what a stage must satisfy to go on."""

    future_tolerance_hours: float = Field(
        default=24.0,
        ge=0,
        description="timestamps later than now plus this are refused as in the future "
        "(room for client clocks and time zones, not for bad data)",
    )
    gold_max_age_hours: float = Field(
        default=24.0, gt=0, description="gold.dim_customers must have been built within this"
    )
    max_cluster_size: int | None = Field(
        default=None, ge=2, description="identifiers per customer_id; default identity's ceiling"
    )
    root: str | None = Field(
        default=None,
        description="local folder for gate results and their HTML report (data_docs/); "
        "default <lakehouse root>/quality",
    )


# Traits the unified profile resolves; dbt gets them as var profile_traits (lakecdp dbt).
PROFILE_TRAITS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "city",
    "postcode",
    "loyalty_tier",
)
SurvivorshipRule = Literal["most_recent", "source_priority", "most_frequent"]


class TraitSurvivorship(_Strict):
    """How one profile trait is chosen when sources disagree."""

    rule: SurvivorshipRule = "most_recent"
    sources: list[str] = Field(
        default_factory=list, description="most trusted first; used by source_priority and ties"
    )


class ProfilesConfig(_Strict):
    """Unified profiles (dbt marts): survivorship per trait, reporting currency, as-of time."""

    dbt_project_dir: str | None = Field(
        default=None, description="the dbt project; defaults to the dbt/ folder of this repo"
    )
    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    as_of: str = Field(
        default="now",
        description="'now', 'latest' (the newest event in the lakehouse) or an ISO timestamp; "
        "windows such as 'last 24 hours' are measured back from it",
    )
    survivorship: dict[str, TraitSurvivorship] = Field(default_factory=dict)
    default_survivorship: TraitSurvivorship = Field(default_factory=TraitSurvivorship)

    def rule_for(self, trait: str) -> TraitSurvivorship:
        return self.survivorship.get(trait, self.default_survivorship)


class FeaturesConfig(_Strict):
    """Feast (feature_repo/): offline store = Spark over the lakehouse's Delta tables; online
    store SQLite by default, Redis by configuration. Frequency caps live in the same store."""

    project: str = Field(default="lakecdp", pattern=r"^[a-z][a-z0-9_]*$")
    online_store: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str = Field(
        default="localhost:6379", description="Feast's connection string: host:port[,db=N]"
    )
    root: str | None = Field(
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


class PromotionConfig(_Strict):
    """When a challenger becomes champion: better held-out AUC and calibration no worse."""

    min_auc_gain: float = Field(default=0.0, ge=0, description="AUC the challenger must add")
    max_brier_increase: float = Field(
        default=0.0, ge=0, description="how much worse the Brier score (calibration) may get"
    )


class ModelsConfig(_Strict):
    """MLflow propensity models (ml/): tracking, registry name, label horizon, promotion gate."""

    tracking_uri: str | None = Field(
        default=None, description="default sqlite:///<lakehouse root>/mlflow/mlflow.db"
    )
    artifact_root: str | None = Field(
        default=None, description="default <lakehouse root>/mlflow/artifacts"
    )
    experiment: str = "purchase_propensity"
    registered_model: str = "purchase_propensity"
    horizon_days: int = Field(default=30, ge=1, description="label: a purchase within this")
    holdout_share: float = Field(
        default=0.25, gt=0, lt=1, description="customers held out to evaluate and promote"
    )
    max_training_rows: int = Field(default=500_000, ge=100)
    seed: int = 7
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)


ActionKind = Literal["commercial", "service", "content"]


class ActionConfig(_Strict):
    """One next best action: who may get it, on which channels, for which consent purpose."""

    kind: ActionKind = "commercial"
    purpose: str = Field(
        description="consent purpose this action needs (consent.purposes), or 'service' for "
        "messages a customer gets without opting in (order and account service)"
    )
    channels: list[str] = Field(description="channels it can be delivered on, in preference")
    min_score: float = Field(default=0.0, ge=0, le=1)
    max_score: float = Field(default=1.0, ge=0, le=1)
    requires: list[Literal["open_cart", "purchased_before", "no_purchase"]] = Field(
        default_factory=list, description="eligibility conditions on the customer's features"
    )
    markets: list[str] = Field(default_factory=list, description="empty means every market")
    suppress_after_purchase: bool = Field(
        default=True, description="not within suppression.recent_purchase_days of a purchase"
    )
    description: str = ""


class CapConfig(_Strict):
    max: int = Field(ge=0, description="deliveries allowed per customer in the window")
    hours: float = Field(default=24.0, gt=0)


class ExperimentConfig(_Strict):
    """A holdout experiment: a fixed share of customers, by hash of customer_id and salt, gets
    no action so that lift can be measured."""

    salt: str = Field(min_length=1)
    holdout_share: float = Field(default=0.1, ge=0, lt=1)


class DecisioningConfig(_Strict):
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
    log_dir: str | None = Field(
        default=None, description="decision log segments; default <landing>/decisions"
    )


SourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ProjectConfig(_Strict):
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
            if isinstance(source.market, str) and source.market not in self.markets:
                raise ValueError(f"sources.{name}.market: unknown market {source.market!r}")
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
            if channel not in channels:
                raise ValueError(f"decisioning.caps.{channel}: unknown consent channel")
        for market in d.unknown_consent_by_market:
            if market not in self.markets:
                raise ValueError(f"decisioning.unknown_consent_by_market.{market}: unknown market")
        for name, action in d.actions.items():
            key = f"decisioning.actions.{name}"
            if name in (d.fallback_action, d.holdout_action):
                raise ValueError(f"{key}: the name is reserved for the fallback/holdout action")
            if action.purpose not in {*purposes, "service"}:
                raise ValueError(
                    f"{key}.purpose: unknown consent purpose {action.purpose!r} "
                    f"(consent.purposes: {', '.join(sorted(purposes))})"
                )
            for channel in action.channels:
                if channel not in channels:
                    raise ValueError(f"{key}.channels: unknown channel {channel!r}")
            for market in action.markets:
                if market not in self.markets:
                    raise ValueError(f"{key}.markets: unknown market {market!r}")
            if action.min_score > action.max_score:
                raise ValueError(f"{key}: min_score is above max_score")
        return self

    # -- locations ---------------------------------------------------------------------------
    def table_path(self, layer: str, table: str) -> str:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
        return join_path(self.lakehouse.tables_root, layer, table)

    def source_path(self, name: str) -> str:
        path = self.sources[name].path
        return path if _is_absolute(path) else join_path(self.lakehouse.landing_root, path)

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
    def decision_log_dir(self) -> str:
        return self.decisioning.log_dir or join_path(self.lakehouse.landing_root, "decisions")

    @cached_property
    def market_codes(self) -> list[str]:
        return sorted(self.markets)


def join_path(base: str, *parts: str) -> str:
    """Join path parts for local folders and object-store URIs alike."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def _is_absolute(path: str) -> bool:
    return path.startswith("/") or "://" in path


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def apply_env_overrides(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    for env_name, dotted in ENV_OVERRIDES.items():
        if environ.get(env_name):
            _set_dotted(data, dotted, environ[env_name])
    for env_name, value in environ.items():
        if env_name.startswith(GENERIC_ENV_PREFIX):
            dotted = env_name[len(GENERIC_ENV_PREFIX) :].lower().replace("__", ".")
            _set_dotted(data, dotted, yaml.safe_load(value) if value else value)
    return data


def _format_errors(exc: ValidationError, path: Path) -> str:
    lines = [f"invalid configuration in {path}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def _resolve_relative(cfg_data: dict[str, Any], base: Path) -> None:
    """Relative local paths in the file are relative to the file's folder, not the cwd."""
    for dotted in (
        "lakehouse.root",
        "lakehouse.landing",
        "spark.jars_dir",
        "quality.root",
        "profiles.dbt_project_dir",
        "features.root",
        "models.artifact_root",
        "decisioning.log_dir",
    ):
        node: Any = cfg_data
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            value = node[keys[-1]]
            if not _is_absolute(value):
                node[keys[-1]] = str((base / value).resolve())


def find_config_file(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_FILE
        if candidate.exists():
            return candidate
    raise ConfigError(
        f"no {DEFAULT_CONFIG_FILE} in {here} or its parents; set {CONFIG_ENV} or pass --config"
    )


def load_config(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> ProjectConfig:
    """Load, override from the environment, validate. Raises ConfigError naming file and key."""
    file = find_config_file(path)
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {file}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {file} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {file} must hold a mapping at the top level")
    data = apply_env_overrides(raw, dict(os.environ if environ is None else environ))
    _resolve_relative(data, file.resolve().parent)
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, file)) from None
