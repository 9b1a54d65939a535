"""Configuration: validated on load, errors name file and key, environment overrides win."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from lakecdp.kernel.config import (
    ConfigError,
    LakehouseConfig,
    LocalPath,
    ProjectConfig,
    load_config,
)
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


def test_profile_traits_follow_trait_columns_and_the_profile_mapping() -> None:
    """Trait columns named as a profile trait feed it, profile.traits maps the others (tier);
    a source without a profile block (pos) feeds none, other trait columns stay out."""
    sources = load_config(CONFIG_FILE, environ={}).sources
    assert sources["loyalty"].profile_traits == [
        "first_name",
        "last_name",
        "date_of_birth",
        "loyalty_tier",
    ]
    assert sources["marketplace"].profile_traits == ["postcode"]  # not buyer_name
    assert sources["pos"].profile_traits == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["sources"]["loyalty"]["profile"]["traits"].update({"tier": "tier"}),
            r"sources\.loyalty\.profile\.traits: .*unknown profile trait\(s\) tier",
        ),
        (
            lambda d: d["sources"]["loyalty"]["profile"]["traits"].update(
                {"loyalty_tier": "level"}
            ),
            r"sources\.loyalty: .*profile\.traits\.loyalty_tier: 'level' is not one of the "
            r"source's traits",
        ),
        (
            lambda d: d["sources"]["crm"].pop("record_id"),
            r"sources\.crm: .*profile: profiles key a source's records by record_id",
        ),
        (
            lambda d: d["sources"]["pos"].update(
                {"profile": {"model": "stg_pos__transactions", "observed_at": "transacted_at"}}
            ),
            r"sources\.pos: .*profile: no trait column feeds a profile trait",
        ),
        (
            lambda d: d["sources"]["crm"]["profile"].update({"model": "stg crm"}),
            r"sources\.crm\.profile\.model",
        ),
    ],
)
def test_a_bad_profile_block_names_file_and_key(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    data = base()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


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
            "decisioning.caps.fax: unknown consent channel 'fax'",
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


# -- path fields, found by their type -------------------------------------------------------------
# Relative paths used to be resolved from a hand-kept list of keys, so a new path field silently
# stayed relative to the working directory. These tests find the fields by their type instead.

_LOCAL_PATH_MARKER = get_args(LocalPath)[1]
KNOWN_PATH_FIELDS = {
    "lakehouse.root",
    "lakehouse.landing",
    "spark.jars_dir",
    "quality.root",
    "profiles.dbt_project_dir",
    "features.root",
    "models.artifact_root",
    "models.evaluation_root",
    "decisioning.log_dir",
}


def _path_fields_in(annotation: Any, metadata: list[Any], dotted: str) -> Iterator[str]:
    if annotation == LocalPath or _LOCAL_PATH_MARKER in metadata:
        yield dotted
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from path_fields(annotation, f"{dotted}.")
    elif get_origin(annotation) in (dict, list):
        # Every key or item of a mapping or list of sections: "*" in the dotted name.
        yield from _path_fields_in(get_args(annotation)[-1], [], f"{dotted}.*")
    elif get_origin(annotation) is Annotated:
        yield from _path_fields_in(get_args(annotation)[0], [], dotted)
    else:  # unions (X | None, str | MarketColumn)
        for arg in get_args(annotation):
            yield from _path_fields_in(arg, [], dotted)


def path_fields(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Dotted names of every LocalPath field under model, `*` for each key of a mapping."""
    for name, field in model.model_fields.items():
        yield from _path_fields_in(field.annotation, field.metadata, f"{prefix}{name}")


PATH_FIELDS = sorted(set(path_fields(ProjectConfig)))


def set_every(data: Any, dotted: str, value: str) -> int:
    """Set dotted (with `*` wildcards over existing keys) in data; how many places were set."""
    head, _, rest = dotted.partition(".")
    if head == "*":
        items = data.values() if isinstance(data, dict) else data
        return sum(set_every(item, rest, value) for item in items)
    if not rest:
        data[head] = value
        return 1
    return set_every(data.setdefault(head, {}), rest, value)


def get_every(obj: Any, dotted: str) -> list[Any]:
    head, _, rest = dotted.partition(".")
    if head == "*":
        items = obj.values() if isinstance(obj, dict) else obj
        return [v for item in items for v in get_every(item, rest)]
    value = getattr(obj, head)
    return get_every(value, rest) if rest else [value]


def test_path_fields_are_found_by_type() -> None:
    assert set(PATH_FIELDS) >= KNOWN_PATH_FIELDS
    # A source's path is under the landing root, not the file's folder: not a LocalPath.
    assert "sources.*.path" not in PATH_FIELDS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("rel/dir", "{config_dir}/rel/dir"),
        ("./rel/../other", "{config_dir}/other"),
        ("/abs/dir", "/abs/dir"),
        ("s3a://bucket/cdp", "s3a://bucket/cdp"),
    ],
)
@pytest.mark.parametrize("field", PATH_FIELDS)
def test_every_path_field_is_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str, expected: str
) -> None:
    config_dir = tmp_path / "project"
    config_dir.mkdir()
    monkeypatch.chdir(tmp_path)  # the working directory is not the file's folder
    data = base()
    assert set_every(data, field, value) >= 1, f"{field}: lakecdp.yaml has no entry to set"
    config = load_config(write(config_dir, data), environ={})
    assert set(get_every(config, field)) == {expected.format(config_dir=config_dir.resolve())}


@pytest.mark.parametrize("field", PATH_FIELDS)
def test_path_fields_built_in_code_stay_as_given(field: str) -> None:
    data = base()
    set_every(data, field, "rel/dir")
    config = ProjectConfig.model_validate(data)
    assert set(get_every(config, field)) == {"rel/dir"}


def test_path_field_of_a_section_built_in_code_stays_as_given() -> None:
    assert LakehouseConfig(root="rel/dir").root == "rel/dir"


def test_relative_paths_from_the_environment_are_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "project"
    config_dir.mkdir()
    monkeypatch.chdir(tmp_path)
    config = load_config(
        write(config_dir, base()),
        environ={
            "LAKECDP_LAKEHOUSE_ROOT": "rel/dir",
            "LAKECDP_JARS_DIR": "/opt/jars",
            "LAKECDP__QUALITY__ROOT": "rel/quality",
            "LAKECDP__FEATURES__ROOT": "s3a://bucket/feast",
        },
    )
    here = config_dir.resolve()
    assert config.lakehouse.root == f"{here}/rel/dir"
    assert config.table_path("gold", "dim_customers") == f"{here}/rel/dir/tables/gold/dim_customers"
    assert config.spark.jars_dir == "/opt/jars"
    assert config.quality.root == f"{here}/rel/quality"
    assert config.features_root == "s3a://bucket/feast"


def test_api_keys_from_the_environment_carry_caller_and_scopes() -> None:
    config = load_config(
        CONFIG_FILE,
        environ={"LAKECDP_API_KEYS": "k-0123456789abcdef=crm-app:decide+privacy:read"},
    )
    [grant] = config.auth.api_keys
    assert (grant.caller, grant.scopes) == ("crm-app", ("decide", "privacy:read"))
    assert "k-0123456789abcdef" not in repr(config)  # a key is a secret
    assert config.auth.key_for("privacy:read") == "k-0123456789abcdef"
    assert config.auth.key_for("privacy:write") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no-caller-0123456789", "key=caller:scope"),
        ("k-0123456789abcdef=app:admin", "unknown scopes"),
        ("tiny-key=app:decide", "shorter than 16"),
    ],
)
def test_bad_api_keys_are_refused_naming_the_problem(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config(CONFIG_FILE, environ={"LAKECDP_API_KEYS": value})
    assert value.split("=")[0] not in str(info.value)  # a key is a secret: never echoed
