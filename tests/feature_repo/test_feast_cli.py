"""Feast's own CLI reads the repository as a data scientist runs it: `feast plan` and
`feast apply` in feature_repo/ find every entity, source, feature view and service, built from
the project configuration; the registry they write is the one the platform serves from.

The lakehouse here is empty, so source validation (Feast reading each Delta source with Spark)
is skipped; reading the sources offline and online is what tests/feature_repo/test_features.py
does on a built lakehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from lakecdp.decisioning.feature_store import REPO_DIR, store_settings
from tests.conftest import CONFIG_FILE, make_config

FEAST = Path(sys.executable).with_name("feast")
VIEWS = ("customer_transactions", "customer_profile", "customer_activity", "identifier_lookup")
SERVICES = ("purchase_propensity_v1", "churn_risk_v1", "decision_context_v1")


def feast(lakehouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The Feast CLI in feature_repo/, on this test's lakehouse (its resolved feature_store.yaml
    and LAKECDP_LAKEHOUSE_ROOT, as a user would pass them for a lakehouse of their own)."""
    settings = lakehouse / "feature_store.yaml"
    settings.write_text(yaml.safe_dump(store_settings(make_config(lakehouse))))
    env = {
        **os.environ,
        "LAKECDP_CONFIG": str(CONFIG_FILE),
        "LAKECDP_LAKEHOUSE_ROOT": str(lakehouse),
    }
    return subprocess.run(
        [str(FEAST), "-f", str(settings), *args],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_feast_plan_in_the_repository_lists_every_definition(tmp_path: Path) -> None:
    lakehouse = tmp_path / "lakehouse"
    lakehouse.mkdir()

    plan = feast(lakehouse, "plan", "--skip-source-validation")

    assert plan.returncode == 0, plan.stderr[-2000:]
    listed = [
        "Created project lakecdp",
        *(f"Created entity {name}" for name in ("customer", "identifier")),
        *(f"Created feature view {name}" for name in VIEWS),
        *(f"Created feature service {name}" for name in SERVICES),
    ]
    for line in listed:
        assert line in plan.stdout, f"{line!r} missing from feast plan:\n{plan.stdout}"
    assert "No project found" not in plan.stdout


def test_feast_apply_registers_what_the_platform_serves(tmp_path: Path) -> None:
    from feast import FeatureStore, RepoConfig

    lakehouse = tmp_path / "lakehouse"
    lakehouse.mkdir()

    applied = feast(lakehouse, "apply", "--skip-source-validation")

    assert applied.returncode == 0, applied.stderr[-2000:]
    settings = store_settings(make_config(lakehouse))
    store = FeatureStore(config=RepoConfig(repo_path=lakehouse, **settings))
    assert {v.name for v in store.list_feature_views()} == set(VIEWS)
    assert {s.name for s in store.list_feature_services()} == set(SERVICES)
    sources = {s.name: s for s in store.list_data_sources()}
    assert store.config.offline_store.spark_conf["spark.sql.extensions"].startswith("io.delta")
    assert sources["gold_dim_customers"].path == make_config(lakehouse).table_path(  # type: ignore[attr-defined]
        "gold", "dim_customers"
    )


def test_feast_plan_after_the_platform_applied_creates_and_deletes_nothing(tmp_path: Path) -> None:
    """`lakecdp features apply` and `feast apply` register the same objects, project included:
    after the platform's apply, a data scientist's `feast plan` has nothing to create or delete
    (Feast may still list views as updated: it compares their sources' registration times)."""
    from lakecdp.decisioning.feature_store import apply_definitions

    lakehouse = tmp_path / "lakehouse"
    lakehouse.mkdir()
    apply_definitions(make_config(lakehouse))

    plan = feast(lakehouse, "plan", "--skip-source-validation")

    assert plan.returncode == 0, plan.stderr[-2000:]
    kinds = ("project", "entity", "feature view", "feature service", "data source")
    changed = [
        line.strip()
        for line in plan.stdout.splitlines()
        if line.strip().startswith(
            tuple(f"{verb} {kind}" for verb in ("Created", "Deleted") for kind in kinds)
        )
    ]
    assert changed == [], plan.stdout[-3000:]
    assert "Updated feature view customer_profile" in plan.stdout  # the plan did compare them
