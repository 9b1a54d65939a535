"""The identity job on real Delta tables: ids stay stable, merges keep the oldest id, splits
keep the larger part's id, guardrails exclude what would over-merge, reruns change nothing."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from lakecdp.kernel.config import ProjectConfig
from spark_jobs.identity.job import add_never_link, resolve_customer_id, run_identity
from tests.conftest import make_config
from tests.spark_jobs.identity.bronze_fixtures import append_events, append_pos

pytestmark = pytest.mark.spark

P1, P2 = "9123 4501", "9123 4502"
E164 = {P1: "+6591234501", P2: "+6591234502"}


def table(spark, config: ProjectConfig, layer: str, name: str):  # type: ignore[no-untyped-def]
    return spark.read.format("delta").load(config.table_path(layer, name))


def ids(spark, config: ProjectConfig) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """'type:value' -> customer id."""
    rows = table(spark, config, "silver", "id_map").collect()
    return {f"{r.id_type}:{r.value}": r.customer_id for r in rows}


def run(spark, config: ProjectConfig, full: bool = False):  # type: ignore[no-untyped-def]
    return run_identity(spark, config, full=full, probabilistic=False)


def test_profiles_from_shared_identifiers_and_a_rerun_changes_nothing(spark, spark_lake) -> None:
    append_pos(spark, spark_lake, [("T1", P1, "LY1"), ("T2", P1, None), ("T3", P2, "ly-2")])
    first = run(spark, spark_lake)
    assert first.mode == "full"
    before = ids(spark, spark_lake)
    assert before[f"phone:{E164[P1]}"] == before["loyalty_id:LY1"]
    assert before[f"phone:{E164[P2]}"] == before["loyalty_id:LY2"]
    assert before["loyalty_id:LY1"] != before["loyalty_id:LY2"]

    again = run(spark, spark_lake)
    assert again.mode == "incremental"
    assert ids(spark, spark_lake) == before
    assert table(spark, spark_lake, "ops", "identity_merges").count() == 0
    assert table(spark, spark_lake, "silver", "customer_ids").count() == 2


def test_merge_keeps_the_oldest_id_and_the_retired_id_still_resolves(spark, spark_lake) -> None:
    append_pos(spark, spark_lake, [("T1", P1, "LY1")])
    run(spark, spark_lake)
    oldest = ids(spark, spark_lake)["loyalty_id:LY1"]
    append_events(spark, spark_lake, [{"message_id": "m1", "user_id": "u2", "email": "b@shop.sg"}])
    run(spark, spark_lake)
    newer = ids(spark, spark_lake)["user_id:u2"]
    assert newer != oldest

    append_events(spark, spark_lake, [{"message_id": "m2", "user_id": "u2", "phone": P1}])
    result = run(spark, spark_lake)
    assert result.stats["changes"] == {"merge": 1}
    after = ids(spark, spark_lake)
    assert set(after.values()) == {oldest}
    merges = table(spark, spark_lake, "ops", "identity_merges").collect()
    assert [(m.action, m.old_customer_id, m.customer_id) for m in merges] == [
        ("merge", newer, oldest)
    ]
    assert resolve_customer_id(spark, spark_lake, newer) == oldest
    assert resolve_customer_id(spark, spark_lake, oldest) == oldest


def test_split_keeps_the_id_on_the_larger_part(spark, spark_lake) -> None:
    append_pos(spark, spark_lake, [("T1", P1, "LY1")])
    login = {"message_id": "m1", "user_id": "u1", "phone": P1, "email": "a@shop.sg"}
    append_events(spark, spark_lake, [login])
    run(spark, spark_lake)
    whole = ids(spark, spark_lake)
    assert len(set(whole.values())) == 1
    original = whole["user_id:u1"]

    add_never_link(spark, spark_lake, "loyalty_id:LY1", "user_id:u1", "two people at one till")
    result = run(spark, spark_lake)
    assert result.stats["changes"] == {"split": 1}
    after = ids(spark, spark_lake)
    assert after["user_id:u1"] == after["email:a@shop.sg"] == after[f"phone:{E164[P1]}"] == original
    assert after["loyalty_id:LY1"] != original
    split = table(spark, spark_lake, "ops", "identity_merges").where("action = 'split'").first()
    assert (split.old_customer_id, split.customer_id) == (original, after["loyalty_id:LY1"])


def test_a_configured_never_link_pair_splits_on_the_next_incremental_run(spark, spark_lake) -> None:
    append_pos(spark, spark_lake, [("T1", P1, "LY1")])
    login = {"message_id": "m1", "user_id": "u1", "phone": P1, "email": "a@shop.sg"}
    append_events(spark, spark_lake, [login])
    run(spark, spark_lake)
    original = ids(spark, spark_lake)["user_id:u1"]
    assert ids(spark, spark_lake)["loyalty_id:LY1"] == original

    pair = [("loyalty_id:LY1", "user_id:u1")]
    repaired = spark_lake.model_copy(
        update={"identity": spark_lake.identity.model_copy(update={"never_link": pair})}
    )
    result = run(spark, repaired)  # no new data, no --full: the configured pair alone
    assert result.mode == "incremental"
    assert result.stats["changes"] == {"split": 1}
    after = ids(spark, repaired)
    assert after["user_id:u1"] == after["email:a@shop.sg"] == original
    assert after["loyalty_id:LY1"] != original

    again = run(spark, repaired)
    assert "nothing changed" in again.stats["note"]
    assert ids(spark, repaired) == after


def test_a_phone_shared_by_many_profiles_is_a_hub_and_left_out(spark, spark_lake) -> None:
    store_phone = "6123 4567"  # typed at the till for every walk-in
    append_pos(spark, spark_lake, [(f"T{i}", store_phone, f"LY{i}") for i in range(7)])
    run(spark, spark_lake)
    mapped = ids(spark, spark_lake)
    assert "phone:+6561234567" not in mapped
    assert len({mapped[f"loyalty_id:LY{i}"] for i in range(7)}) == 7
    hub = table(spark, spark_lake, "ops", "identity_exclusions").where("reason = 'hub'").first()
    assert hub.value == "+6561234567" and "7 loyalty_id" in hub.detail


def test_a_family_phone_does_not_merge_two_user_ids(spark, spark_lake) -> None:
    append_events(
        spark,
        spark_lake,
        [
            {"message_id": "m1", "user_id": "parent", "phone": P1},
            {"message_id": "m2", "user_id": "parent", "phone": P1},
            {"message_id": "m3", "user_id": "child", "phone": P1},
        ],
    )
    result = run(spark, spark_lake)
    mapped = ids(spark, spark_lake)
    assert mapped["user_id:parent"] != mapped["user_id:child"]
    assert mapped[f"phone:{E164[P1]}"] == mapped["user_id:parent"]
    assert result.stats["limit_splits"] == 1


def test_given_names_keep_apart_what_only_the_family_phone_joins(spark, spark_lake) -> None:
    """No user ids, no birth dates: only the given names say that Johnny and Steven, who
    both give the family phone, are two people. A typo of one name ("Jon", "Jonny") is not."""
    append_events(
        spark,
        spark_lake,
        [
            {"message_id": "m1", "email": "johnny@x.com", "phone": P1, "firstName": "Johnny"},
            {"message_id": "m2", "email": "johnny@x.com", "phone": P1, "firstName": "Johnny"},
            {"message_id": "m3", "email": "steven@x.com", "phone": P1, "firstName": "Steven"},
            {"message_id": "m4", "email": "jon@x.com", "phone": P2, "firstName": "Jon"},
            {"message_id": "m5", "email": "jonny@x.com", "phone": P2, "firstName": "Jonny"},
        ],
    )
    result = run(spark, spark_lake)
    mapped = ids(spark, spark_lake)
    assert mapped["email:steven@x.com"] != mapped["email:johnny@x.com"]
    assert mapped[f"phone:{E164[P1]}"] == mapped["email:johnny@x.com"]
    assert mapped["email:jon@x.com"] == mapped["email:jonny@x.com"] == mapped[f"phone:{E164[P2]}"]
    assert result.stats["limit_splits"] == 1


def test_malformed_identifiers_are_counted_and_never_matched(spark, spark_lake) -> None:
    append_pos(
        spark, spark_lake, [("T1", "call me", "LY1"), ("T2", "9999 9999", "LY2"), ("T3", P1, None)]
    )
    result = run(spark, spark_lake)
    assert result.stats["invalid_by_reason"] == {"phone:unparsable": 1, "phone:blocklisted": 1}
    expected = ["loyalty_id:LY1", "loyalty_id:LY2", f"phone:{E164[P1]}"]
    assert sorted(ids(spark, spark_lake)) == expected


PHONES = [f"9123 45{i:02d}" for i in range(6)]
LOYALTY = [f"LY{i}" for i in range(6)]
record = st.tuples(st.sampled_from([*PHONES, None]), st.sampled_from([*LOYALTY, None])).filter(
    lambda r: r != (None, None)
)


def partition(spark, config: ProjectConfig) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    groups: dict[str, set[str]] = {}
    for key, customer in ids(spark, config).items():
        groups.setdefault(customer, set()).add(key)
    return {frozenset(g) for g in groups.values()}


@settings(
    max_examples=2,  # each example is four identity runs (about 40 s): the CI budget
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(record, min_size=2, max_size=14), st.data())
def test_incremental_equals_full_rebuild_whatever_the_order(
    spark, tmp_path: Path, records: list[tuple[str | None, str | None]], data: st.DataObject
) -> None:
    rows = [(f"T{i}", phone, loyalty) for i, (phone, loyalty) in enumerate(records)]
    cut = data.draw(st.integers(1, len(rows) - 1))
    run_dir = tmp_path / f"prop-{random.getrandbits(32):08x}"

    stepwise = make_config(run_dir / "stepwise")
    append_pos(spark, stepwise, rows[:cut])
    run(spark, stepwise)
    append_pos(spark, stepwise, rows[cut:])
    assert run(spark, stepwise).mode == "incremental"

    rebuilt = make_config(run_dir / "rebuilt")
    shuffled = data.draw(st.permutations(rows))
    append_pos(spark, rebuilt, list(shuffled))
    run(spark, rebuilt, full=True)

    assert partition(spark, stepwise) == partition(spark, rebuilt)
    assert (
        table(spark, stepwise, "silver", "identity_edges")
        .select("src", "dst", "rule", "records")
        .orderBy("src", "dst")
        .collect()
        == table(spark, rebuilt, "silver", "identity_edges")
        .select("src", "dst", "rule", "records")
        .orderBy("src", "dst")
        .collect()
    )
    customers = table(spark, stepwise, "silver", "id_map").select(F.countDistinct("customer_id"))
    assert customers.first()[0] == len(partition(spark, stepwise))
