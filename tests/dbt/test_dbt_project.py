"""The dbt project's own rules, checked without Spark: it parses with the project
configuration, every model is documented and tested on its grain, and the SQL lints clean."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakecdp.kernel.config import load_config
from lakecdp.signals.dbt_runner import dbt_vars, project_dir
from tests.conftest import CONFIG_FILE, make_config

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
GRAIN_TESTS = {"unique", "unique_combination_of_columns"}
# Models without any column set that is unique in every build. Each says why in its yml
# (meta.no_unique_key); listing them here too makes a new keyless model a reviewed decision.
# None today: staging drops whole-row copies, so even the views over bronze file sources (which
# keep every row of every file) are unique on record id, source file and row hash.
KEYLESS_MODELS: set[str] = set()
# Column names that hold personal data; such a column must carry meta pii and pii_kind.
PII_COLUMN_PATTERNS = (
    r"(\w+_)?emails?",
    r"(\w+_)?(phones?|mobile)(_number)?",
    r"(\w+_)?(first|last|full|middle|given|family|buyer)_name",
    r"date_of_birth|birth_?date|dob",
    r"gender",
    r"(\w+_)?(postcode|post_code|postal_code|zip_?code)",
    r"city|(\w+_)?address(_line_?\d)?",
    r"(user|anonymous|device|member|loyalty|buyer|marketplace_buyer)_ids?",
    r"identifier_values?",
    r"ip",
    r"national_id|ssn|passport(_number)?|tax_id",
    r"traits_json|trait_value",
)
# Names those patterns catch that hold no personal data: consent state, flags, provenance.
NOT_PII_COLUMN_PATTERNS = (r"consent_\w+", r"is_\w+", r"\w+_source", r"\w+_count")
PII_KINDS = {"email", "phone", "name", "date_of_birth", "gender", "location", "identifier", "mixed"}
# Gold models read by Feast (feature_repo/data_sources.py), by the feature build behind it
# (spark_jobs/features) and by ml/: their columns and types are a contract.
CONTRACTED_MODELS = {"dim_customers", "fct_orders", "fct_events"}


def _parse(folder: Path, variables: dict[str, Any], target: Path) -> dict:
    """`dbt parse` of the project in `folder` with these vars (no Spark); the manifest."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            *("parse", "--project-dir", str(folder), "--profiles-dir", str(folder)),
            *("--target-path", str(target), "--log-path", str(target)),
            *("--vars", json.dumps(variables)),
        ]
    )
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    config = make_config(tmp_path_factory.mktemp("dbt-parse") / "lakehouse")
    return _parse(project_dir(config), dbt_vars(config), tmp_path_factory.mktemp("dbt-target"))


def test_dbt_parse_runs_alone_on_the_project_defaults(tmp_path: Path) -> None:
    """A dbt user's first command, without `lakecdp dbt` passing the configuration as vars."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            *("parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)),
            *("--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)),
        ]
    )
    assert result.success, result.exception
    assert (tmp_path / "target" / "manifest.json").exists()


def _models(manifest: dict) -> dict[str, dict]:
    return {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    """Generic data tests by the model they are declared on."""
    tests: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            tests.setdefault(node["attached_node"], []).append(node)
    return tests


def _grain_columns(test: dict) -> list[str]:
    kwargs = test["test_metadata"]["kwargs"]
    return list(kwargs["columns"]) if "columns" in kwargs else [kwargs["column_name"]]


def test_every_model_is_described_and_tested_on_its_grain(manifest: dict) -> None:
    """Every model, views and intermediate tables too, has a unique test on its grain and
    not_null on the grain's columns; the few that have no unique key say why (KEYLESS_MODELS)."""
    models = _models(manifest)
    assert len(models) >= 20
    names = {n["name"] for n in models.values()}
    assert not KEYLESS_MODELS - names, f"stale KEYLESS_MODELS: {KEYLESS_MODELS - names}"
    tests = _tests_by_model(manifest)
    for key, node in models.items():
        name = node["name"]
        assert node["description"].strip(), f"{name} has no description"
        model_tests = tests.get(key, [])
        not_null = {
            t["column_name"] for t in model_tests if t["test_metadata"]["name"] == "not_null"
        }
        assert not_null, f"{name} has no not_null test"
        grain = [t for t in model_tests if t["test_metadata"]["name"] in GRAIN_TESTS]
        reason = node["config"]["meta"].get("no_unique_key")
        if name in KEYLESS_MODELS:
            assert reason, f"{name} is in KEYLESS_MODELS without meta.no_unique_key saying why"
            assert not grain, f"{name} has a grain test now: take it out of KEYLESS_MODELS"
            continue
        assert not reason, f"{name} has meta.no_unique_key but is not in KEYLESS_MODELS"
        assert grain, f"{name}: no grain test (unique or unique_combination_of_columns)"
        for test in grain:
            missing = set(_grain_columns(test)) - not_null
            assert not missing, f"{name}: grain column(s) without not_null: {sorted(missing)}"


def _output_aliases(sql: str) -> set[str]:
    """Column names a model's SQL gives literally (`... as name`, `stack(...) as (a, b)`);
    names built by Jinja loops are not seen here (dim_customers lists them in its contract)."""
    plain = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", sql, flags=re.S).lower()
    names = set(re.findall(r"\bas\s+([a-z_][a-z0-9_]*)\b(?!\s*\()", plain))
    for group in re.findall(r"\)\s*as\s*\(([a-z0-9_,\s]+)\)", plain):
        names.update(n.strip() for n in group.split(",") if n.strip())
    return names


def _is_pii_name(column: str) -> bool:
    name = column.lower()
    if any(re.fullmatch(p, name) for p in NOT_PII_COLUMN_PATTERNS):
        return False
    return any(re.fullmatch(p, name) for p in PII_COLUMN_PATTERNS)


def _pii_problems(node: dict, columns: set[str]) -> list[str]:
    problems = []
    for column in sorted(columns):
        spec = node["columns"].get(column)
        meta: dict[str, Any] = spec["meta"] if spec else {}
        if meta.get("pii") is not True:
            problems.append(f"{node['name']}.{column}: no meta pii: true")
        elif meta.get("pii_kind") not in PII_KINDS:
            problems.append(f"{node['name']}.{column}: pii_kind not one of {sorted(PII_KINDS)}")
    return problems


def test_personal_data_columns_are_tagged_pii(manifest: dict) -> None:
    """A column whose name says personal data (documented, or aliased in the model's SQL) is
    documented with meta {pii: true, pii_kind}; a snapshot is tagged like the model it copies."""
    nodes = manifest["nodes"]
    problems: list[str] = []
    tagged: dict[str, set[str]] = {}
    for key, node in _models(manifest).items():
        named = set(node["columns"]) | _output_aliases(node["raw_code"])
        pii = {c for c in named if _is_pii_name(c)}
        pii |= {c for c, spec in node["columns"].items() if spec["meta"].get("pii")}
        problems += _pii_problems(node, pii)
        tagged[key] = pii
    snapshots = [n for n in nodes.values() if n["resource_type"] == "snapshot"]
    assert snapshots
    for node in snapshots:
        named = set(node["columns"]) | set(node["config"].get("check_cols") or [])
        pii = {c for c in named if _is_pii_name(c)}
        for parent in node["depends_on"]["nodes"]:
            pii |= tagged.get(parent, set())
        problems += _pii_problems(node, pii)
    assert problems == []
    assert {"emails", "phones", "first_name", "date_of_birth", "postcode"} <= tagged[
        "model.lakecdp.dim_customers"
    ]


def test_survivorship_rules_have_unit_tests(manifest: dict) -> None:
    """int_customer_traits_survived has dbt unit tests (run by `dbt build`) that set the rules
    through vars and expect a winner under each rule (most_recent, source_priority,
    most_frequent)."""
    tests = [
        u for u in manifest["unit_tests"].values() if u["model"] == "int_customer_traits_survived"
    ]
    assert len(tests) >= 4, [u["name"] for u in tests]
    rules = set()
    for test in tests:
        assert "survivorship" in (test["overrides"] or {}).get("vars", {}), test["name"]
        assert [g["input"] for g in test["given"]] == ["ref('int_customer_traits_unioned')"]
        rules |= {row["survivorship_rule"] for row in test["expect"]["rows"]}
    assert rules == {"most_recent", "source_priority", "most_frequent"}
    # Survivorship ranks whatever it is given: empty values are dropped one model earlier.
    assert any(u["model"] == "int_customer_traits_unioned" for u in manifest["unit_tests"].values())


def _dim_customers_columns(variables: dict[str, Any]) -> list[str]:
    """dim_customers' columns, in its SQL's order, for a set of vars (lakecdp.yaml)."""
    traits = variables["profile_traits"]
    return [
        *("customer_id", "market", "first_seen_at", "last_seen_at", "seen_in_sources"),
        *(f"{id_type}s" for id_type in variables["identifier_priorities"]),
        "identifier_count",
        *(column for trait in traits for column in (trait, f"{trait}_source")),
        *(
            f"consent_{purpose}_{channel}"
            for purpose in variables["consent_purposes"]
            for channel in variables["consent_channels"]
        ),
        *("consent_updated_at", "identity_updated_at", "_built_at"),
    ]


def test_gold_models_read_by_feast_and_ml_have_enforced_contracts(manifest: dict) -> None:
    contracted = {n["name"]: n for n in _models(manifest).values() if n["contract"]["enforced"]}
    assert set(contracted) == CONTRACTED_MODELS
    for name, node in contracted.items():
        untyped = [c for c, spec in node["columns"].items() if not spec["data_type"]]
        assert untyped == [], f"{name}: columns without data_type: {untyped}"


def test_dim_customers_contract_follows_the_project_configuration(
    manifest: dict, tmp_path: Path
) -> None:
    """The contract lists the configured identifier types, traits and consent purposes x
    channels in the model's order (a contract reorders the table's columns to its own)."""
    config = make_config(tmp_path / "lakehouse")
    columns = list(manifest["nodes"]["model.lakecdp.dim_customers"]["columns"])
    assert columns == _dim_customers_columns(dbt_vars(config))
    defaults = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]
    assert columns == _dim_customers_columns(defaults)


def test_customer_snapshot_checks_every_configured_trait_and_consent(
    manifest: dict, tmp_path: Path
) -> None:
    """History records a change of the market, any trait or its source, and any consent purpose
    x channel of the configuration (it once checked 6 of the 12 consent columns)."""
    variables = dbt_vars(make_config(tmp_path / "lakehouse"))
    traits = variables["profile_traits"]
    expected = {
        "market",
        *traits,
        *(f"{trait}_source" for trait in traits),
        *(
            f"consent_{purpose}_{channel}"
            for purpose in variables["consent_purposes"]
            for channel in variables["consent_channels"]
        ),
    }
    snapshot = manifest["nodes"]["snapshot.lakecdp.dim_customers_snapshot"]
    assert set(snapshot["config"]["check_cols"]) == expected


def test_var_defaults_mirror_the_configured_sources(tmp_path: Path) -> None:
    """`dbt parse` alone and sqlfluff (dbt/lint_context) read dbt_project.yml's defaults: for
    the source-driven vars they are what `lakecdp dbt` passes for lakecdp.yaml."""
    variables = dbt_vars(make_config(tmp_path / "lakehouse"))
    defaults = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]
    for name in ("bronze_columns", "trait_sources", "profile_traits", "identifier_priorities"):
        assert defaults[name] == variables[name], name


def test_traits_union_reads_every_source_configured_to_feed_profiles(
    manifest: dict, tmp_path: Path
) -> None:
    variables = dbt_vars(make_config(tmp_path / "lakehouse"))
    node = manifest["nodes"]["model.lakecdp.int_customer_traits_unioned"]
    expected = {spec["model"] for spec in variables["trait_sources"].values()}
    assert expected == {"stg_crm__contacts", "stg_loyalty__members", "stg_marketplace__orders"}
    assert set(node["depends_on"]["nodes"]) == {
        "model.lakecdp.int_records_resolved",
        "model.lakecdp.stg_events__events",
        *(f"model.lakecdp.{model}" for model in expected),
    }


def test_a_new_source_feeds_profiles_with_configuration_and_a_staging_model(
    tmp_path: Path,
) -> None:
    """A source declared in lakecdp.yaml with a `profile` block and its staging model reaches
    int_customer_traits_unioned; no intermediate SQL changes."""
    project = tmp_path / "dbt"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    staging = project / "models" / "staging" / "call_centre"
    staging.mkdir()
    (staging / "stg_call_centre__calls.sql").write_text(
        "select\n    'k1' as call_id,\n    current_timestamp() as called_at,\n"
        "    'Ann' as first_name,\n    'calls.csv' as source_file,\n    'h' as row_hash\n"
    )
    data = yaml.safe_load(CONFIG_FILE.read_text())
    data["sources"]["call_centre"] = {
        "path": "sources/call_centre",
        "format": "csv",
        "record_id": "call_id",
        "timestamp": "called_at",
        "market": "PH",
        "identifiers": {"caller": "phone"},
        "traits": ["first_name", "agent"],
        "profile": {"model": "stg_call_centre__calls", "observed_at": "called_at"},
    }
    config_file = tmp_path / "lakecdp.yaml"
    config_file.write_text(yaml.safe_dump(data))
    config = load_config(config_file, environ={"LAKECDP_LAKEHOUSE_ROOT": str(tmp_path / "lake")})
    variables = dbt_vars(config)
    assert variables["trait_sources"]["call_centre"] == {
        "model": "stg_call_centre__calls",
        "record_id": "call_id",
        "observed_at": "called_at",
        "traits": ["first_name"],
    }
    parsed = _parse(project, variables, tmp_path / "target")
    node = parsed["nodes"]["model.lakecdp.int_customer_traits_unioned"]
    assert "model.lakecdp.stg_call_centre__calls" in node["depends_on"]["nodes"]


def test_mart_names_follow_the_layout(manifest: dict) -> None:
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        layer = node["path"].split("/")[0]
        prefix = {"staging": ("stg_",), "intermediate": ("int_",)}.get(
            layer, ("dim_", "fct_", "aud_", "bridge_")
        )
        assert node["name"].startswith(prefix), f"{node['path']} breaks the naming layout"


def test_sql_lints_clean_with_the_sparksql_dialect() -> None:
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqlfluff",
            "lint",
            "models",
            "snapshots",
            "--config",
            ".sqlfluff",
            "--format",
            "json",
        ],
        cwd=DBT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    files = json.loads(lint.stdout)
    problems = [
        f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}"
        for f in files
        for v in f["violations"]
    ]
    assert len(files) >= 20
    assert problems == []
