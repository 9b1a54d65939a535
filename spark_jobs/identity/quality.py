"""Identity quality against ground truth: pairwise precision/recall, over- and under-merges.

The unit is the record (a CRM contact, a transaction, a loyalty member, an order, an event):
two records are a predicted pair when they resolve to one customer and a true pair when the
generator says one person made them. Records whose every identifier was excluded (invalid,
blocklisted, hub) resolve to nobody and count as singletons, so exclusions cost recall here.

Every scope is also scored on its *attributable* records: those that carry evidence of their
person, i.e. a personal trait (a given name, a birth date, a national id; not a surname or an
address, which a household shares) or an identifier that, in ground truth, only one person's
records carry. A till receipt that holds nothing but the phone a household shares says nothing
about which member made it; no matcher can place it better than chance, so the attributable
scope measures the matcher and the full scope the data.

Spark reads the tables; the scoring runs on the driver in pandas. The inputs are columns of
ids (a 5k-customer world: 175k sightings, 79k records; a 100k world: a few million rows, a
few hundred MB), and a dozen joins and aggregations of them cost a few hundred milliseconds in
pandas where Spark spent over ten seconds in job and stage overhead.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from pyarrow import csv
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.ground_truth import EVENTS, RECORDS, TruthFile
from lakecdp.identity.rules import IdentityRules
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from spark_jobs.identity.observations import bronze_tables, read_bronze, record_id_column
from spark_jobs.identity.person_records import raw_person_records

SIZE_BUCKETS = ((1, 1), (2, 5), (6, 10), (11, 50), (51, 200), (201, 10**12))
KEY = ["source", "record_id"]
# Person fields one person has and the rest of the household does not.
PERSONAL_TRAITS = ("first_name", "full_name", "date_of_birth", "national_id")


def _pandas(frame: DataFrame) -> pd.DataFrame:
    """A Spark frame on the driver, through Arrow."""
    return frame.toArrow().to_pandas()


def record_labels(
    observations: pd.DataFrame, labels: pd.DataFrame, rules: IdentityRules
) -> pd.DataFrame:
    """source, record_id, label: each record takes the label of its highest-priority identifier
    that has one (ties: the lowest node; hubs and excluded identifiers have no label)."""
    ranked = observations.merge(labels, on="node")
    ranked["_p"] = ranked["id_type"].map(rules.priorities).fillna(0)
    ranked = ranked.sort_values(["_p", "node"], ascending=[False, True], kind="stable")
    return ranked.drop_duplicates(KEY)[[*KEY, "label"]]


def _read_truth(truth_dir: Path) -> pd.DataFrame:
    """source, record_id, person_id of every record the ground truth names (its two CSV files,
    in the format of `lakecdp.identity.ground_truth`)."""

    def read(file: TruthFile) -> pd.DataFrame:
        columns = list(file.columns)
        options = csv.ConvertOptions(
            include_columns=columns, column_types={c: pa.string() for c in columns}
        )
        return csv.read_csv(truth_dir / file.name, convert_options=options).to_pandas()

    records = read(RECORDS)[["source", "record_id", "person_id"]]
    events = read(EVENTS).rename(columns={"message_id": "record_id"})[["record_id", "person_id"]]
    events.insert(0, "source", "events")
    return pd.concat([records, events], ignore_index=True).drop_duplicates()


def bronze_record_ids(spark: SparkSession, config: ProjectConfig) -> pd.DataFrame:
    """source, record_id of every record bronze holds."""
    frames = [
        read_bronze(spark, config, table, None).select(
            F.lit(table).alias("source"),
            (
                F.col("message_id")
                if table == "events"
                else record_id_column(config.sources[table])
            ).alias("record_id"),
        )
        for table in bronze_tables(spark, config)
    ]
    if not frames:
        return pd.DataFrame(columns=KEY, dtype=object)
    return _pandas(reduce(DataFrame.unionByName, frames)).drop_duplicates()


def attributable_records(
    truth: pd.DataFrame, observations: pd.DataFrame, persons: pd.DataFrame | None
) -> pd.DataFrame:
    """source, record_id of the records that carry evidence of their person: a personal trait
    (in `persons`, raw person fields per record), or an identifier that only one person's
    records carry (`truth`: source, record_id, person_id)."""
    sightings = observations[[*KEY, "node"]].merge(truth[[*KEY, "person_id"]], on=KEY)
    people = sightings.groupby("node")["person_id"].nunique()
    owned = sightings[sightings["node"].isin(people.index[people == 1])][KEY]
    stated = [c for c in PERSONAL_TRAITS if persons is not None and c in persons.columns]
    if persons is not None and stated:
        personal = persons[persons[stated].notna().any(axis=1)][KEY]
        owned = pd.concat([owned, personal], ignore_index=True)
    return owned.drop_duplicates(ignore_index=True)


def pairwise_metrics(items: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 over record pairs; over- and under-merged people; per scope.

    `items`: scope, person_id (truth) and label (prediction; null = resolved to nobody). A record
    may sit in several scopes; all scopes are scored in one pass, from cells (scope, label,
    person: how many records).
    """
    if items.empty:
        return {}
    unresolved = items["label"].isna()
    labelled = items.assign(
        unresolved=unresolved.astype(int),
        label=items["label"].where(
            ~unresolved, "unresolved:" + pd.Series(range(len(items)), index=items.index).astype(str)
        ),
    )
    cells = (
        labelled.groupby(["scope", "label", "person_id"], sort=False)
        .agg(n=("unresolved", "size"), unresolved=("unresolved", "sum"))
        .reset_index()
    )

    def pairs(n: pd.Series) -> pd.Series:
        return n * (n - 1) // 2

    by_label = cells.groupby(["scope", "label"]).agg(n=("n", "sum"), people=("person_id", "size"))
    by_person = cells.groupby(["scope", "person_id"]).agg(n=("n", "sum"), labels=("label", "size"))
    merged = by_label[by_label["people"] > 1].reset_index()[["scope", "label"]]
    over_merged = cells.merge(merged, on=["scope", "label"])
    table = pd.DataFrame(
        {
            "tp": pairs(cells["n"]).groupby(cells["scope"]).sum(),
            "unresolved_records": cells.groupby("scope")["unresolved"].sum(),
            "predicted": pairs(by_label["n"]).groupby(level="scope").sum(),
            "profiles": by_label.groupby(level="scope").size(),
            "true": pairs(by_person["n"]).groupby(level="scope").sum(),
            "people": by_person.groupby(level="scope").size(),
            "records": by_person.groupby(level="scope")["n"].sum(),
            "under_merged_people": (by_person["labels"] > 1).groupby(level="scope").sum(),
            "over_merged_people": over_merged.groupby("scope")["person_id"].nunique(),
        }
    ).fillna(0)
    return {
        str(scope): _metrics({k: int(v) for k, v in row.items()}) for scope, row in table.iterrows()
    }


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    tp, predicted, true = (row.get(k) or 0 for k in ("tp", "predicted", "true"))
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": int(row["records"]),
        "people": int(row["people"]),
        "profiles": int(row["profiles"]),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "true_pairs": int(true),
        "predicted_pairs": int(predicted),
        "over_merged_people": int(row.get("over_merged_people") or 0),
        "under_merged_people": int(row["under_merged_people"]),
        "unresolved_records": int(row["unresolved_records"] or 0),
    }


def size_distribution(labels: pd.DataFrame) -> dict[str, int]:
    """Profiles by how many identifiers they hold (`labels`: node, label)."""
    sizes = labels.groupby("label").size()
    out: dict[str, int] = {}
    for low, high in SIZE_BUCKETS:
        name = f"{low}" if low == high else (f"{low}-{high}" if high < 10**12 else f">{low - 1}")
        out[name] = int(((sizes >= low) & (sizes <= high)).sum())
    return out


def scored_records(
    spark: SparkSession, config: ProjectConfig, truth_dir: Path, observations: pd.DataFrame
) -> pd.DataFrame:
    """source, record_id, person_id, attributable: the ground-truth records that reached bronze
    (`observations`: source, record_id, node, id_type)."""
    truth = _read_truth(truth_dir).merge(bronze_record_ids(spark, config), on=KEY)
    persons = raw_person_records(spark, config)
    stated = None
    if persons is not None:
        traits = [c for c in PERSONAL_TRAITS if c in persons.columns]
        if traits:
            has_trait = reduce(lambda a, b: a | b, [F.col(c).isNotNull() for c in traits])
            stated = _pandas(persons.where(has_trait).select(*KEY, *traits))
    attributable = attributable_records(truth, observations, stated)
    marked = truth.merge(attributable, on=KEY, how="left", indicator=True)
    return marked.assign(attributable=marked.pop("_merge") == "both")


def evaluate_many(
    records: pd.DataFrame,
    labelings: dict[str, pd.DataFrame],
    observations: pd.DataFrame,
    rules: IdentityRules,
) -> dict[str, dict[str, Any]]:
    """Metrics for each node -> label assignment (`labelings`: name -> node, label), overall and
    per kind, each on all its records and on the attributable ones (`records`: from
    `scored_records`)."""
    events = records["source"] == "events"
    kinds = {"all": pd.Series(True, index=records.index), "file_records": ~events, "events": events}
    scopes = {
        **kinds,
        **{f"{k}_attributable": m & records["attributable"] for k, m in kinds.items()},
    }
    reports: dict[str, dict[str, Any]] = {}
    for labeling, labels in labelings.items():
        labels = labels.astype({"label": str})
        predicted = records.merge(record_labels(observations, labels, rules), on=KEY, how="left")
        items = pd.concat(
            [
                predicted.loc[mask.to_numpy(), ["person_id", "label"]].assign(scope=name)
                for name, mask in scopes.items()
            ],
            ignore_index=True,
        )
        metrics = pairwise_metrics(items)
        nothing = {
            "records": 0,
            "people": 0,
            "profiles": 0,
            "under_merged_people": 0,
            "unresolved_records": 0,
        }
        report: dict[str, Any] = {name: metrics.get(name, _metrics(nothing)) for name in scopes}
        report["identifiers_per_profile"] = size_distribution(labels)
        reports[labeling] = report
    return reports


def _deterministic_labels(
    spark: SparkSession, config: ProjectConfig, rules: IdentityRules, id_map: DataFrame
) -> DataFrame:
    """node, label of deterministic matching alone. Every run keeps them in the id map (they
    are what probabilistic matching compares across), so the baseline costs a read; an id map
    from before they were kept is clustered again from the deterministic edges."""
    if "deterministic_cluster" in id_map.columns:
        return id_map.where(F.col("deterministic_cluster").isNotNull()).select(
            "node", F.col("deterministic_cluster").alias("label")
        )
    from spark_jobs.identity.engine import IdentityEngine
    from spark_jobs.identity.graph import DETERMINISTIC
    from spark_jobs.identity.person_records import single_valued_traits

    def table(layer: str, name: str) -> DataFrame:
        return Table(spark, config, layer, name).read()

    identifiers = table("silver", "identifiers")
    observations = table("silver", "identifier_observations")
    edges = table("silver", "identity_edges").where(F.col("kind") == DETERMINISTIC)
    traits = single_valued_traits(spark, config, rules, observations)
    engine = IdentityEngine(spark, config, rules, traits=traits)
    hubs = engine.hubs(identifiers, edges).localCheckpoint(eager=True)
    result = engine.cluster(identifiers, edges, hubs)
    return result.assignments.select("node", F.col("cluster").alias("label"))


def identity_report(
    spark: SparkSession,
    config: ProjectConfig,
    truth_dir: Path | None,
    *,
    deterministic_baseline: bool = True,
) -> dict[str, Any]:
    """The state of identity: profiles, guardrail hits of the last run and, with ground truth,
    quality of the current id map and of deterministic matching alone."""

    def table(layer: str, name: str) -> DataFrame:
        return Table(spark, config, layer, name).read()

    id_map = table("silver", "id_map")
    observations = table("silver", "identifier_observations")
    runs = table("ops", "identity_runs").orderBy(F.desc("finished_at"))
    last = runs.first()
    exclusions = table("ops", "identity_exclusions")
    report: dict[str, Any] = {
        "last_run": {"run_id": last.run_id, "mode": last.mode} if last else None,
        "identifiers": id_map.count(),
        "profiles": id_map.select("customer_id").distinct().count(),
        "guardrails": {
            r.reason: int(r.n)
            for r in exclusions.where(F.col("run_id") == (last.run_id if last else ""))
            .groupBy("reason")
            .agg(F.sum("occurrences").alias("n"))
            .collect()
        },
        "merge_history": {
            r.action: r["count"]
            for r in table("ops", "identity_merges").groupBy("action").count().collect()
        },
    }
    if truth_dir is None:
        return report
    rules = IdentityRules.from_config(config)
    sightings = _pandas(observations.select(*KEY, "node", "id_type"))
    records = scored_records(spark, config, truth_dir, sightings)
    labelings = {"quality": _pandas(id_map.select("node", F.col("customer_id").alias("label")))}
    if deterministic_baseline:
        labelings["quality_deterministic_only"] = _pandas(
            _deterministic_labels(spark, config, rules, id_map)
        )
    report.update(evaluate_many(records, labelings, sightings, rules))
    return report
