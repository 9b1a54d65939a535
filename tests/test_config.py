"""Configuration: validated on load, errors name file and key, environment overrides win."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lakecdp.config import ConfigError, load_config
from tests.conftest import CONFIG_FILE


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "lakecdp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def base() -> dict:
    return yaml.safe_load(CONFIG_FILE.read_text())


def test_project_file_loads_with_every_source_declared() -> None:
    config = load_config(CONFIG_FILE, environ={})
    assert set(config.sources) == {"crm", "pos", "loyalty", "marketplace"}
    assert config.sources["crm"].identifiers == {"email": "email", "mobile": "phone"}
    assert config.market_codes == ["ID", "MY", "PH", "SG", "TH", "VN"]


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, base()), environ={})
    assert config.lakehouse.root == str(tmp_path / ".lakehouse")
    assert config.source_path("crm") == f"{tmp_path}/.lakehouse/landing/sources/crm"


def test_environment_overrides_locations_and_endpoints(tmp_path: Path) -> None:
    config = load_config(
        CONFIG_FILE,
        environ={
            "LAKECDP_LAKEHOUSE_ROOT": "s3a://bucket/cdp",
            "LAKECDP_SPARK_MASTER": "spark://spark-master:7077",
            "LAKECDP_COLLECTOR_PORT": "9999",
            "LAKECDP_WRITE_KEYS": "k1=web, k2=app",
            "LAKECDP__STREAMING__TRIGGER_SECONDS": "2.5",
        },
    )
    assert config.table_path("bronze", "events") == "s3a://bucket/cdp/tables/bronze/events"
    assert config.spark.master == "spark://spark-master:7077"
    assert config.collector.port == 9999
    assert config.collector.write_keys == {"k1": "web", "k2": "app"}
    assert config.streaming.trigger_seconds == 2.5


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    data = base()
    data["collector"]["prot"] = 1
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)
    assert "collector.prot" in str(info.value)


def test_bad_value_names_key(tmp_path: Path) -> None:
    data = base()
    data["collector"]["port"] = "not-a-port"
    with pytest.raises(ConfigError, match=r"collector\.port"):
        load_config(write(tmp_path, data), environ={})


def test_source_with_unknown_identifier_type_is_refused(tmp_path: Path) -> None:
    data = base()
    data["sources"]["crm"]["identifiers"]["email"] = "e-mail"
    with pytest.raises(ConfigError, match=r"sources\.crm\.identifiers\.email.*'e-mail'"):
        load_config(write(tmp_path, data), environ={})


@pytest.mark.parametrize("key", ["single_valued_traits", "conclusive_traits"])
def test_unknown_person_trait_is_refused(tmp_path: Path, key: str) -> None:
    data = base()
    data.setdefault("identity", {})[key] = ["date_of_birth", "passport"]
    with pytest.raises(ConfigError, match=rf"identity\.{key}.*passport"):
        load_config(write(tmp_path, data), environ={})


def test_source_without_identifier_is_refused(tmp_path: Path) -> None:
    data = base()
    data["sources"]["pos"]["identifiers"] = {}
    with pytest.raises(ConfigError, match="at least one identifier"):
        load_config(write(tmp_path, data), environ={})


def test_adding_a_source_is_configuration_only(tmp_path: Path) -> None:
    data = base()
    data["sources"]["call_centre"] = {
        "path": "sources/call_centre",
        "format": "csv",
        "timestamp": "called_at",
        "market": "PH",
        "identifiers": {"caller": "phone"},
        "traits": ["agent"],
    }
    config = load_config(write(tmp_path, data), environ={})
    assert config.sources["call_centre"].declared_columns == ["called_at", "caller", "agent"]


def test_malformed_write_keys_from_environment() -> None:
    with pytest.raises(ConfigError, match="write_keys"):
        load_config(CONFIG_FILE, environ={"LAKECDP_WRITE_KEYS": "just-a-key"})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["decisioning"]["caps"].update({"fax": {"max": 1}}),
            "decisioning.caps.fax: unknown consent channel",
        ),
        (
            lambda d: d["decisioning"].update({"experiment": "nope"}),
            "decisioning.experiment: 'nope' is not one of decisioning.experiments",
        ),
        (
            lambda d: d["decisioning"]["actions"]["cart_recovery"].update({"purpose": "spam"}),
            "decisioning.actions.cart_recovery.purpose: unknown consent purpose 'spam'",
        ),
        (
            lambda d: d["decisioning"]["actions"]["cart_recovery"].update({"channels": ["fax"]}),
            "decisioning.actions.cart_recovery.channels: unknown channel 'fax'",
        ),
        (
            lambda d: d["decisioning"]["actions"].update(
                {"no_action": {"purpose": "marketing", "channels": ["email"]}}
            ),
            "decisioning.actions.no_action: the name is reserved",
        ),
        (
            lambda d: d["decisioning"]["actions"]["winback_offer"].update({"min_score": 0.9}),
            "decisioning.actions.winback_offer: min_score is above max_score",
        ),
        (
            lambda d: d["features"].update({"online_store": "memcached"}),
            "features.online_store",
        ),
    ],
)
def test_decisioning_configuration_is_checked_at_load(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    data = base()
    change(data)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(write(tmp_path, data), environ={})


def test_online_store_and_tracking_follow_the_environment(tmp_path: Path) -> None:
    config = load_config(
        CONFIG_FILE,
        environ={
            "LAKECDP_LAKEHOUSE_ROOT": str(tmp_path),
            "LAKECDP_ONLINE_STORE": "redis",
            "LAKECDP_REDIS_URL": "cache.internal:6380,db=2",
            "LAKECDP_MLFLOW_TRACKING_URI": "http://mlflow.internal:5000",
        },
    )
    assert config.features.redis_host_port == ("cache.internal", 6380, 2)
    assert config.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert config.features_root == f"{tmp_path}/feast"
    assert config.decision_log_dir == f"{tmp_path}/landing/decisions"
