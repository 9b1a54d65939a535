"""Loading `lakecdp.yaml`: find the file, read YAML, apply environment overrides, validate.

Everything that says *where* (lakehouse root, Spark master, ports, keys) can be overridden by an
environment variable so that the same file runs on a laptop and on a cluster.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lakecdp.kernel.config.paths import CONFIG_DIR
from lakecdp.kernel.config.project import ProjectConfig

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
    "LAKECDP_API_KEYS": "auth.api_keys",
    "LAKECDP_SUBJECT_KEY": "governance.subject_key",
    "LAKECDP_PRIVACY_PORT": "governance.port",
}
# Generic override for any key: LAKECDP__SECTION__KEY=value (double underscores separate levels).
GENERIC_ENV_PREFIX = "LAKECDP__"


class ConfigError(ValueError):
    """The configuration file cannot be used; the message names the file and the key at fault."""


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
    """Write environment values into the file's data (in place): named variables first, then
    `LAKECDP__SECTION__KEY`, whose values are parsed as YAML so numbers and lists keep types."""
    for env_name, dotted in ENV_OVERRIDES.items():
        if environ.get(env_name):
            _set_dotted(data, dotted, environ[env_name])
    for env_name, value in environ.items():
        if env_name.startswith(GENERIC_ENV_PREFIX):
            dotted = env_name[len(GENERIC_ENV_PREFIX) :].lower().replace("__", ".")
            _set_dotted(data, dotted, yaml.safe_load(value) if value else value)
    return data


def _format_errors(exc: ValidationError, path: Path) -> str:
    """One line per error as `dotted.key: message`, the way the key is written in the file."""
    lines = [f"invalid configuration in {path}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def find_config_file(explicit: str | Path | None = None) -> Path:
    """--config, then $LAKECDP_CONFIG, then the nearest lakecdp.yaml up from the cwd, so a
    command works from any folder of the project."""
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
    # Overrides go in before validation, so a relative path from the environment is relative to
    # the file's folder too, like one written in the file (LocalPath resolves both).
    data = apply_env_overrides(raw, dict(os.environ if environ is None else environ))
    try:
        return ProjectConfig.model_validate(data, context={CONFIG_DIR: file.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, file)) from None


def config_as_json(config: ProjectConfig) -> str:
    """The resolved configuration as JSON that `load_config` reads back to the same config,
    secrets included: for a child process (it goes to a private temporary file, never a log).
    """
    import json

    from pydantic import SecretStr

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        return value

    data = reveal(config.model_dump(mode="python", by_alias=True))
    return json.dumps(data, default=str)
