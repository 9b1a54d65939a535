"""Project configuration: one YAML file, validated on load, with environment overrides.

Everything that says *where* (lakehouse root, Spark master, ports, keys) can be overridden by an
environment variable so that the same file runs on a laptop and on a cluster. Everything that
says *what* (sources, identifier types, consent purposes) lives in the file, so adding a source
is a configuration change, not code.

The sections live in one module per concern; this package re-exports them so that importers
say `from lakecdp.kernel.config import ProjectConfig` whatever module a name lives in.
"""

from lakecdp.kernel.config.activation import (
    AFTER_GOLD,
    AdAudienceDestination,
    DestinationConfig,
    FileDestination,
    HttpDestination,
    HttpLimits,
    MappedField,
    PostgresDestination,
    SyncConfig,
)
from lakecdp.kernel.config.collection import (
    CollectorConfig,
    MarketColumn,
    MarketConfig,
    SourceConfig,
    SourceName,
    SourceProfile,
    StreamingConfig,
)
from lakecdp.kernel.config.decisioning import (
    ActionConfig,
    ActionKind,
    CapConfig,
    DecisioningConfig,
    ExperimentConfig,
    FeaturesConfig,
    LabelKind,
    ModelConfig,
    ModelsConfig,
    PromotionConfig,
    ScoreBand,
)
from lakecdp.kernel.config.governance import (
    SCOPES,
    ApiKey,
    AuthConfig,
    GovernanceConfig,
    RegulationConfig,
)
from lakecdp.kernel.config.identity import (
    EVENT_COLUMNS,
    EVENT_JSON_COLUMNS,
    IDENTIFIER_KINDS,
    PERSON_FIELDS,
    EventIdentityConfig,
    IdentifierTypeConfig,
    IdentityConfig,
    ProbabilisticConfig,
)
from lakecdp.kernel.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    ENV_OVERRIDES,
    GENERIC_ENV_PREFIX,
    ConfigError,
    apply_env_overrides,
    config_as_json,
    find_config_file,
    load_config,
)
from lakecdp.kernel.config.orchestration import AirflowConfig
from lakecdp.kernel.config.paths import CONFIG_DIR, LocalPath, is_absolute, join_path
from lakecdp.kernel.config.profiles import (
    PROFILE_TRAITS,
    ConsentConfig,
    ProfilesConfig,
    QualityConfig,
    SurvivorshipRule,
    TraitSurvivorship,
)
from lakecdp.kernel.config.project import ProjectConfig
from lakecdp.kernel.config.section import Section
from lakecdp.kernel.config.storage import (
    LAYERS,
    CatalogConfig,
    LakehouseConfig,
    SparkConfig,
    SqlConfig,
)

__all__ = [
    "AFTER_GOLD",
    "CONFIG_DIR",
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "ENV_OVERRIDES",
    "EVENT_COLUMNS",
    "EVENT_JSON_COLUMNS",
    "GENERIC_ENV_PREFIX",
    "IDENTIFIER_KINDS",
    "LAYERS",
    "PERSON_FIELDS",
    "PROFILE_TRAITS",
    "SCOPES",
    "ActionConfig",
    "ActionKind",
    "AdAudienceDestination",
    "AirflowConfig",
    "ApiKey",
    "AuthConfig",
    "CapConfig",
    "CatalogConfig",
    "CollectorConfig",
    "ConfigError",
    "ConsentConfig",
    "DecisioningConfig",
    "DestinationConfig",
    "EventIdentityConfig",
    "ExperimentConfig",
    "FeaturesConfig",
    "FileDestination",
    "GovernanceConfig",
    "HttpDestination",
    "HttpLimits",
    "IdentifierTypeConfig",
    "IdentityConfig",
    "LabelKind",
    "LakehouseConfig",
    "LocalPath",
    "MappedField",
    "MarketColumn",
    "MarketConfig",
    "ModelConfig",
    "ModelsConfig",
    "PostgresDestination",
    "ProbabilisticConfig",
    "ProfilesConfig",
    "ProjectConfig",
    "PromotionConfig",
    "QualityConfig",
    "RegulationConfig",
    "ScoreBand",
    "Section",
    "SourceConfig",
    "SourceName",
    "SourceProfile",
    "SparkConfig",
    "SqlConfig",
    "StreamingConfig",
    "SurvivorshipRule",
    "SyncConfig",
    "TraitSurvivorship",
    "apply_env_overrides",
    "config_as_json",
    "find_config_file",
    "is_absolute",
    "join_path",
    "load_config",
]
