"""Suites follow the project config: thresholds, consent columns, blocklists (no Spark)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from expectations.gates import GateResult, Outcome, data_docs_dir
from expectations.suites.bronze import bronze_suites
from expectations.suites.gold import consent_columns, gold_suites
from expectations.suites.identity import blocklist_expectations, cluster_ceiling
from lakecdp.kernel.config import ProjectConfig
from tests.conftest import make_config

NOW = datetime(2026, 11, 25, 12, 0)


def regexes_for(config: ProjectConfig, id_type: str) -> list[str]:
    """The regexes the gate applies to values of `id_type` ('*' entries apply to all)."""
    out: list[str] = []
    for e in blocklist_expectations(config):
        condition = e.row_condition
        if condition is None or getattr(condition, "parameter", None) == id_type:
            out.extend(e.regex_list)
    return out


def test_blocklist_regexes_catch_every_listed_value_in_any_case(lake: ProjectConfig) -> None:
    for id_type, values in lake.identity.blocklist.items():
        for value in values:
            regexes = regexes_for(lake, "email" if id_type == "*" else id_type)
            for variant in (value, value.upper()):
                assert any(re.search(r, variant) for r in regexes), (id_type, variant)


def test_blocklist_regexes_leave_real_identifiers_alone(lake: ProjectConfig) -> None:
    assert not any(re.search(r, "ann.lee@example.com") for r in regexes_for(lake, "email"))
    assert not any(re.search(r, "+6591234567") for r in regexes_for(lake, "phone"))
    assert any(re.search(r, "+6577777777") for r in regexes_for(lake, "phone"))
    # typed entries stay with their type: a phone placeholder is a fine loyalty number
    assert not any(re.search(r, "12345678") for r in regexes_for(lake, "loyalty_id"))


def test_thresholds_come_from_the_quality_config(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        LAKECDP__QUALITY__FUTURE_TOLERANCE_HOURS="2",
        LAKECDP__QUALITY__GOLD_MAX_AGE_HOURS="6",
        LAKECDP__QUALITY__MAX_CLUSTER_SIZE="50",
    )
    [crm] = [s for s in bronze_suites(config, NOW) if s.table == "crm"]
    [future] = [e for e in crm.expectations if e.expectation_type.endswith("_be_between")]
    assert future.max_value == NOW + timedelta(hours=2)
    dim = gold_suites(config, NOW)[0]
    [fresh] = [e for e in dim.expectations if e.expectation_type.endswith("max_to_be_between")]
    assert fresh.min_value == NOW - timedelta(hours=6)
    assert cluster_ceiling(config) == 50
    assert cluster_ceiling(make_config(tmp_path)) == 200  # identity.max_cluster_size


def test_consent_columns_are_purposes_by_channels(lake: ProjectConfig) -> None:
    columns = consent_columns(lake)
    assert len(columns) == len(lake.consent.purposes) * len(lake.consent.channels)
    assert "consent_marketing_whatsapp" in columns


def test_gate_results_need_a_local_folder(tmp_path: Path) -> None:
    assert data_docs_dir(make_config(tmp_path)) == tmp_path / "quality" / "data_docs"
    remote = make_config(tmp_path, LAKECDP_LAKEHOUSE_ROOT="s3a://bucket/cdp")
    with pytest.raises(ValueError, match=r"quality\.root"):
        data_docs_dir(remote)
    local = make_config(
        tmp_path, LAKECDP_LAKEHOUSE_ROOT="s3a://bucket/cdp", LAKECDP__QUALITY__ROOT="/q"
    )
    assert data_docs_dir(local) == Path("/q/data_docs")


def test_failure_message_names_expectation_table_column_and_observation() -> None:
    result = GateResult(
        "identity",
        (
            Outcome(
                "silver.id_map",
                "expect_column_values_to_match_regex",
                "value",
                "phone in E.164",
                False,
                "1 unexpected, e.g. ['9123']",
            ),
            Outcome(
                "silver.id_map",
                "expect_column_values_to_not_be_null",
                "customer_id",
                "customer_id not null",
                True,
                "as expected",
            ),
        ),
        "/lake/quality/data_docs/index.html",
        1.0,
    )
    assert not result.success
    assert result.by_table() == {"silver.id_map": (1, 2)}
    assert result.failure_message() == (
        "quality gate 'identity' failed: 1 of 2 expectations not met\n"
        "  - silver.id_map.value: expect_column_values_to_match_regex (phone in E.164): "
        "observed 1 unexpected, e.g. ['9123']\n"
        "data docs: /lake/quality/data_docs/index.html"
    )
