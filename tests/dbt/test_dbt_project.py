"""The dbt project's own rules, checked without Spark: it parses with the project
configuration, every model is documented and tested on its grain, and the SQL lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakecdp.signals.dbt_runner import dbt_vars, project_dir
from tests.conftest import make_config

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from dbt.cli.main import dbtRunner

    config = make_config(tmp_path_factory.mktemp("dbt-parse") / "lakehouse")
    target = tmp_path_factory.mktemp("dbt-target")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(project_dir(config)),
            "--profiles-dir",
            str(project_dir(config)),
            "--target-path",
            str(target),
            "--vars",
            json.dumps(dbt_vars(config)),
        ]
    )
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


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


def test_every_model_is_described_and_tested_on_its_grain(manifest: dict) -> None:
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert len(models) >= 20
    tested: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            name = node["test_metadata"]["name"] if node.get("test_metadata") else "singular"
            for parent in node["depends_on"]["nodes"]:
                tested.setdefault(parent, set()).add(name)
    grain_tests = {"unique", "unique_combination_of_columns"}
    for key, node in models.items():
        assert node["description"].strip(), f"{node['name']} has no description"
        assert "not_null" in tested.get(key, set()), f"{node['name']} has no not_null test"
        if node["config"]["materialized"] != "view":
            folder = node["path"].split("/")[0]
            if folder == "marts" and not node["name"].startswith("dim_customers_"):
                assert tested.get(key, set()) & grain_tests, f"{node['name']}: no grain test"


def test_mart_names_follow_the_layout(manifest: dict) -> None:
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        layer = node["path"].split("/")[0]
        prefix = {"staging": ("stg_",), "intermediate": ("int_",)}.get(
            layer, ("dim_", "fct_", "aud_", "bridge_", "customer_")
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
